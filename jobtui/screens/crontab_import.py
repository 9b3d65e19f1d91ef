"""Import a crontab from the dashboard (the palette's "Import crontab", `i` on the job list,
the new-job wizard's offer while there is no job): what each entry becomes, what is
refused and why, then create on `y`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from jobtui.engine import CrontabPlan, Engine, JobtuiError, describe_schedule
from jobtui.widgets.fmt import inert


@dataclass
class PlanRead(Message):
    source: str
    plan: CrontabPlan | None
    error: str = ""


@dataclass
class JobsCreated(Message):
    names: list[str]
    errors: list[str] = field(default_factory=list)


def plan_text(plan: CrontabPlan, source: str) -> Text:
    text = Text()
    if not plan.entries and not plan.refused:
        text.append(f"{source}: no entry to import\n")
        return text
    for entry in plan.entries:
        spec = entry.spec
        zone = spec["schedule"].get("timezone")
        text.append(f"line {entry.line_no:<4} ", style="dim")
        text.append(f"{spec['name']}", style="bold")
        text.append(f"  {describe_schedule(spec['schedule'])}" + (f" ({zone})" if zone else ""))
        text.append(f"\n          {inert(spec['command']['argv'][-1])}\n", style="dim")
    for refusal in plan.refused:
        text.append(f"line {refusal.line_no:<4} ", style="dim")
        text.append("✗ not imported: ", style="bold")
        text.append(f"{inert(refusal.reason)}\n          {inert(refusal.line.strip())}\n")
    return text


class CrontabImportScreen(ModalScreen[str | None]):
    """Dismissed with what was created (for a toast), None when closed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="crontab.close"),
        Binding("y", "create", "Create the jobs", id="crontab.create"),
    ]

    def __init__(self, engine: Engine, workspace: str = "default") -> None:
        super().__init__()
        self.engine = engine
        self.workspace = workspace
        self.plan: CrontabPlan | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label("Import a crontab as command jobs", classes="dialog-title")
            yield Input(
                placeholder="empty: your crontab (crontab -l); or a file, enter reads it",
                id="crontab-source",
            )
            with VerticalScroll(id="text-body"):
                yield Static("reading…", id="crontab-plan")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create the jobs (y)", id="create", variant="primary")
                yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#create", Button).disabled = True
        self.query_one("#create", Button).focus()
        self.read("")

    @work(thread=True, exclusive=True, group="crontab", exit_on_error=False)
    def read(self, source: str) -> None:
        label = source or "crontab -l"
        try:
            if source:
                text = Path(source).expanduser().read_text(encoding="utf-8", errors="replace")
            else:
                text = self.engine.user_crontab()
            plan = self.engine.crontab_plan(text, workspace=self.workspace)
        except OSError as exc:
            self.post_message(PlanRead(label, None, f"{source}: {exc.strerror}"))
            return
        except JobtuiError as exc:
            self.post_message(PlanRead(label, None, str(exc)))
            return
        self.post_message(PlanRead(label, plan))

    @on(PlanRead)
    def _read(self, message: PlanRead) -> None:
        self.plan = message.plan
        body = self.query_one("#crontab-plan", Static)
        button = self.query_one("#create", Button)
        if message.plan is None:
            body.update(Text(message.error))
            button.disabled = True
            self.query_one("#crontab-source", Input).focus()  # name a file instead
            return
        body.update(plan_text(message.plan, message.source))
        count = len(message.plan.entries)
        button.label = f"Create {count} job{'' if count == 1 else 's'} (y)"
        button.disabled = count == 0
        if count:
            button.focus()  # y creates; the source box would take the y as text
        else:
            self.query_one("#crontab-source", Input).focus()

    @on(Input.Submitted, "#crontab-source")
    def _source(self, event: Input.Submitted) -> None:
        self.query_one("#crontab-plan", Static).update("reading…")
        self.read(event.value.strip())

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_create()
        else:
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_create(self) -> None:
        if self.plan is not None and self.plan.entries and not self.busy:
            self.busy = True
            self.create(self.plan)

    @work(thread=True, exclusive=True, group="crontab", exit_on_error=False)
    def create(self, plan: CrontabPlan) -> None:
        names, errors = [], []
        for entry in plan.entries:
            try:
                names.append(self.engine.create_job(entry.spec, "imported from a crontab").name)
            except JobtuiError as exc:
                errors.append(f"line {entry.line_no}: {exc}")
        self.post_message(JobsCreated(names, errors))

    @on(JobsCreated)
    def _created(self, message: JobsCreated) -> None:
        self.busy = False
        count = len(message.names)
        note = f"Created {count} job{'' if count == 1 else 's'} from the crontab"
        if message.errors:
            note += "; not created: " + "; ".join(message.errors)
        self.dismiss(note)


def open_crontab_import(
    app: App[object],
    engine: Engine,
    workspace: str = "default",
    created: Callable[[], object] | None = None,
) -> None:
    """The dialog, from the palette, `i` on the job list or the new-job wizard's offer.
    `created` runs once jobs were made (the wizard closes: the list shows them)."""

    def done(note: str | None) -> None:
        if not note:
            return
        if created is not None:
            created()
        app.notify(note, title="Crontab", timeout=6)
        poll = getattr(app.screen, "poll_now", None)  # the screen below shows the new jobs
        if callable(poll):
            poll()

    app.push_screen(CrontabImportScreen(engine, workspace), done)

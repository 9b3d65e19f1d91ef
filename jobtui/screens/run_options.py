"""Run with options: a title, the job's typed parameters, `since`, and custom arguments."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from jobtui.engine import Job


def parse_since(text: str) -> datetime | None:
    """`2026-03-01`, `2026-03-01 12:00` (UTC unless a zone is given), or empty."""
    text = text.strip()
    if not text:
        return None
    value = datetime.fromisoformat(text.replace(" ", "T", 1))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class RunOptionsScreen(ModalScreen[dict[str, Any] | None]):
    """Dismissed with `{"title", "parameters", "since", "options"}` for `Engine.queue_run`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="run_options.cancel"),
        Binding("ctrl+s", "submit", "Run", id="run_options.submit"),
    ]

    def __init__(self, job: Job):
        super().__init__()
        self.job = job
        self.declared: dict[str, Any] = dict(job.spec.get("parameters") or {})

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide", id="run-options"):
            yield Label(f"Run {self.job.qualified_name} with options", classes="dialog-title")
            with VerticalScroll(id="run-options-fields"):
                yield Label("Title")
                yield Input(placeholder="why this run (shown in history)", id="ro-title")
                for name, decl in self.declared.items():
                    kind = decl.get("type", "string") if isinstance(decl, dict) else "string"
                    default = decl.get("default") if isinstance(decl, dict) else decl
                    yield Label(f"Parameter {name} ({kind})")
                    yield Input(
                        "" if default is None else str(default),
                        placeholder=f"default: {default}",
                        id=f"ro-param-{name}",
                        classes="ro-param",
                    )
                yield Label("Since (records newer than; ISO date or date time, UTC)")
                yield Input(placeholder="2026-03-01 12:00", id="ro-since")
                # Placeholders show what an empty box leaves in force: the job's own setting.
                if self.job.kind.value == "command":
                    argv = (self.job.spec.get("command") or {}).get("argv") or []
                    configured = shlex.join(argv[1:]) if len(argv) > 1 else "none"
                    yield Label("Arguments (shell words; replace the configured ones)")
                    yield Input(placeholder=f"configured: {configured}", id="ro-args")
                elif self.job.kind.value == "pipeline":
                    yield Label("Override for this run (path=value)")
                    yield Input(
                        placeholder="e.g. transformers[0].options.expr=qty > 5", id="ro-set"
                    )
                else:
                    datagen = self.job.spec.get("datagen") or {}
                    records = datagen.get("max_records", 1000)
                    seed = datagen.get("seed")
                    yield Label("Records per dataset (empty: the job's setting)")
                    yield Input(
                        placeholder=f"the job's: {records}", id="ro-max-records", type="integer"
                    )
                    yield Label("Random seed (empty: the job's setting)")
                    yield Input(
                        placeholder=f"the job's: {'random' if seed is None else seed}",
                        id="ro-seed",
                        type="integer",
                    )
                yield Label("", id="ro-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run (ctrl+s)", id="run", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#ro-title", Input).focus()

    def _value(self, name: str, decl: Any, text: str) -> Any:
        kind = decl.get("type", "string") if isinstance(decl, dict) else "string"
        if kind in ("int", "integer"):
            return int(text)
        if kind in ("float", "number"):
            return float(text)
        if kind in ("bool", "boolean"):
            return text.strip().lower() in ("1", "true", "yes", "on")
        if kind in ("json", "object", "list", "array"):
            return json.loads(text)
        return text

    def collect(self) -> dict[str, Any]:
        parameters: dict[str, Any] = {}
        for name, decl in self.declared.items():
            text = self.query_one(f"#ro-param-{name}", Input).value
            if text == "":
                continue
            try:
                parameters[name] = self._value(name, decl, text)
            except ValueError as exc:
                raise ValueError(f"parameter {name}: {exc}") from None
        try:
            since = parse_since(self.query_one("#ro-since", Input).value)
        except ValueError:
            raise ValueError("since: use a date like 2026-03-01 or 2026-03-01 12:00") from None
        options: dict[str, Any] = {}
        if self.job.kind.value == "command":
            try:
                args = shlex.split(self.query_one("#ro-args", Input).value)
            except ValueError as exc:
                raise ValueError(f"arguments: {exc}") from None
            if args:
                options["args"] = args
        elif self.job.kind.value == "pipeline":
            text = self.query_one("#ro-set", Input).value.strip()
            if text:
                path, sep, value = text.partition("=")
                if not sep or not path.strip():
                    raise ValueError("override: write path=value")
                options[path.strip()] = value
        else:
            for key, box in (("max_records", "#ro-max-records"), ("seed", "#ro-seed")):
                text = self.query_one(box, Input).value.strip()
                if text:
                    try:
                        options[key] = int(text)
                    except ValueError:
                        raise ValueError(f"{key.replace('_', ' ')}: a whole number") from None
        return {
            "title": self.query_one("#ro-title", Input).value.strip(),
            "parameters": parameters or None,
            "since": since,
            "options": options or None,
        }

    def action_submit(self) -> None:
        try:
            result = self.collect()
        except ValueError as exc:
            self.query_one("#ro-error", Label).update(str(exc))
            return
        self.dismiss(result)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

"""One job: its definition in words, the next fires, versions, the current run and stats."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Label, ProgressBar, Static

from jobtui.engine import (
    Alerts,
    Engine,
    Fire,
    Job,
    JobtuiError,
    JobVersion,
    Run,
    RunTask,
    mask_secrets,
)
from jobtui.screens.base import ActionDone, JobtuiScreen, ShowText, Undo
from jobtui.screens.confirm import ConfirmScreen
from jobtui.widgets.bars import StatusBadge
from jobtui.widgets.fmt import (
    fmt_abs,
    fmt_count,
    fmt_duration,
    fmt_relative,
    inert,
    percentile,
    state_label,
)
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.tables import KeyTable
from jobtui.widgets.trend import RateTrend, RunTrend

STATS_RUNS = 100


@dataclass
class DetailData:
    job: Job
    fires: list[Fire] = field(default_factory=list)
    versions: list[JobVersion] = field(default_factory=list)
    current: Run | None = None
    recent: list[Run] = field(default_factory=list)
    total_runs: int = 0
    smtp_missing: bool = False  # the job has alert emails and no SMTP server is set


@dataclass
class DetailLoaded(Message):
    data: DetailData


def describe_spec(
    job: Job, fires: list[Fire], utc: bool, now: float, smtp_missing: bool = False
) -> Text:
    """The spec as a reader wants it: schedule in words, policies, what goes where."""
    spec: dict[str, Any] = mask_secrets(job.spec)
    text = Text()

    def head(title: str) -> None:
        text.append(f"\n{title}\n", style="bold underline")

    def item(key: str, value: Any) -> None:
        text.append(f"  {key}: ", style="bold")
        text.append(inert(str(value)) + "\n")

    text.append(inert(job.description or "(no description)") + "\n")
    if job.tags:
        item("tags", ", ".join(job.tags))
    item("kind", job.kind.value)
    item("queue", spec.get("queue", "local"))
    head("Schedule")
    item("when", job.schedule_text or "Manual")
    schedule = spec.get("schedule") or {}
    if schedule:
        item("timezone", schedule.get("timezone") or "machine's local zone")
        for key in ("start", "end", "max_runs"):
            if schedule.get(key) is not None:
                item(key.replace("_", " "), schedule[key])
    if not job.active:
        item("state", "paused (inactive): no fires until resumed")
    if fires:
        text.append("  next fires:\n", style="bold")
        for fire in fires[:5]:
            note = f"  ({fire.note})" if fire.note else ""
            text.append(f"    {fmt_abs(fire.at, utc, now)}  {fmt_relative(fire.at, now)}{note}\n")
    elif schedule:
        text.append("  no upcoming fires\n")
    policies = spec.get("policies") or {}
    if policies:
        head("Policies")
        retry = policies.get("retry")
        if isinstance(retry, dict):
            item(
                "retry",
                f"{retry.get('attempts', 0)} tries in all, {retry.get('delay', '—')} apart",
            )
        if policies.get("timeout"):
            item("timeout", policies["timeout"])
        if policies.get("overlap"):
            item("overlap", policies["overlap"])
        misfire = policies.get("misfire")
        if isinstance(misfire, dict):
            item("after downtime", f"{misfire.get('policy')} (cap {misfire.get('cap', '—')})")
    if spec.get("parameters"):
        head("Parameters")
        for name, decl in spec["parameters"].items():
            item(name, json.dumps(decl, default=str))
    datagen = spec.get("datagen")
    if datagen:
        head("Data")
        item("datasets", ", ".join(datagen.get("datasets", [])))
        item("records", datagen.get("max_records", "—"))
        generator = datagen.get("generator") or {}
        options = generator.get("options") or {}
        opts = ", ".join(f"{k}={v}" for k, v in options.items())
        item("format", f"{generator.get('format', 'jsonl')}{f' ({opts})' if opts else ''}")
        for key in ("seed", "locale", "threads"):
            if datagen.get(key) is not None:
                item(key, datagen[key])
        replay = datagen.get("replay") or {}
        if replay.get("enabled"):
            item("replay", f"keeps the output of the last {replay.get('keep', 3)} runs")
        for i, sink in enumerate(datagen.get("sinks", []), 1):
            if "preset" in sink:
                item(f"sink {i}", f"preset {sink['preset']}")
            else:
                opts = ", ".join(f"{k}={v}" for k, v in (sink.get("options") or {}).items())
                item(f"sink {i}", f"{sink.get('type')}{f' ({opts})' if opts else ''}")
    pipeline = spec.get("pipeline")
    if pipeline:
        head("Pipeline")
        for part in ("readers", "transformers", "writers"):
            for i, step in enumerate(pipeline.get(part) or [], 1):
                if "preset" in step:
                    item(f"{part[:-1]} {i}", f"preset {step['preset']}")
                    continue
                opts = ", ".join(f"{k}={v}" for k, v in (step.get("options") or {}).items())
                item(f"{part[:-1]} {i}", f"{step.get('type')}{f' ({opts})' if opts else ''}")
        if pipeline.get("max_errors") is not None:
            item("max errors", pipeline["max_errors"])
        marks = job.offsets.get("0")
        item("since", fmt_abs(job.watermark, utc, now) if job.watermark else "— (from the start)")
        item("high-water mark", json.dumps(marks, default=str)[:200] if marks else "— (none yet)")
    command = spec.get("command")
    if command:
        head("Command")
        item("argv", " ".join(command.get("argv", [])))
        if command.get("cwd"):
            item("cwd", command["cwd"])
        for name, value in (command.get("env") or {}).items():
            item(f"env {name}", value)
    alerts = spec.get("alerts")
    if alerts:
        describe_alerts(text, alerts, smtp_missing, item)
    return text


def describe_alerts(
    text: Text, alerts: dict[str, Any], smtp_missing: bool, item: Callable[[str, Any], None]
) -> None:
    """The alerts in force, defaults included (an empty `on` means `failed`), and a
    warning when no SMTP server would send them (issue 20.17)."""
    try:
        effective = Alerts.model_validate(alerts)
    except ValueError:
        effective = Alerts()
    text.append("\nAlerts\n", style="bold underline")
    item("to", ", ".join(effective.emails) or "— (nobody)")
    default = "" if alerts.get("on") else " (the default)"
    item("on", (", ".join(effective.on) or "— (no end state)") + default)
    after = effective.after_consecutive_failures
    item("after", f"{after} consecutive failure{'s' if after != 1 else ''}")
    item("on recovery", "yes" if effective.on_recovery else "no")
    if smtp_missing and effective.emails:
        text.append(
            "  ⚠ no SMTP server is set: these alerts are not sent "
            "(SMTP settings in the palette, or jobtui daemon smtp)\n",
            style="bold",
        )


def stats_text(recent: list[Run], total: int) -> tuple[Text, list[float]]:
    final = [r for r in recent if r.state.is_final and r.state.value not in ("missed", "skipped")]
    durations = [r.duration for r in final if r.duration is not None]
    ok = sum(1 for r in final if r.state.value == "succeeded")
    text = Text()
    text.append(f"{total:,} runs in all · last {len(final)} finished: ")
    if final:
        text.append(f"{100 * ok / len(final):.0f}% succeeded\n")
    else:
        text.append("none yet\n")
    if durations:
        p50, p90, p99 = (percentile(durations, p) for p in (50, 90, 99))
        text.append(
            f"duration p50 {fmt_duration(p50)} · p90 {fmt_duration(p90)} · "
            f"p99 {fmt_duration(p99)} · max {fmt_duration(max(durations))}"
        )
    return text, list(reversed(durations))


class RecentSpeed:
    """A running run's time left, from its progress and its records/s over the last few
    polls: the average since the start counts the start-up (pools, processes), which made
    the first estimates of a 40 s run read several minutes."""

    WINDOW = 10.0  # seconds of samples kept

    def __init__(self) -> None:
        self.run_id: int | None = None
        self.samples: list[tuple[float, int]] = []

    def eta(self, run: Run, now: float, average: float) -> float | None:
        if run.id != self.run_id:
            self.run_id, self.samples = run.id, []
        if not self.samples or now > self.samples[-1][0]:
            self.samples.append((now, run.records))
        self.samples = [s for s in self.samples if s[0] >= now - self.WINDOW] or self.samples[-1:]
        # progress is records made / records to make (a task per dataset and sink would
        # count each record once per sink).
        if not run.progress or run.progress >= 1 or run.records <= 0:
            return None
        left = run.records / run.progress - run.records
        (first_at, first), (last_at, last) = self.samples[0], self.samples[-1]
        rate = (last - first) / (last_at - first_at) if last_at - first_at >= 2 else average
        return left / rate if rate > 0 else None


class JobDetailScreen(JobtuiScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="detail.back"),
        Binding("r", "run", "Run", id="detail.run", tooltip="Queue a manual run"),
        Binding(
            "R",
            "run_options",
            "Run…",
            id="detail.run_options",
            tooltip="Title, parameters, since, arguments",
        ),
        Binding("c", "cancel", "Cancel", id="detail.cancel", tooltip="Stop the current run"),
        Binding("p", "pause", "Pause/resume", id="detail.pause", tooltip="Toggle the active flag"),
        Binding("e", "edit", "Edit", id="detail.edit", tooltip="The job wizard"),
        Binding("h", "history", "History", id="detail.history", tooltip="Every run of the job"),
        Binding("l", "logs", "Logs", id="detail.logs", tooltip="The log of its last run"),
        Binding(
            "b",
            "rollback",
            "Rollback",
            id="detail.rollback",
            tooltip="A new version equal to the selected one",
        ),
        Binding("asterisk", "star", "Star", id="detail.star", tooltip="The selected version"),
        Binding("space", "mark_version", "Mark", show=False, id="detail.mark"),
        Binding(
            "d", "diff", "Diff", id="detail.diff", tooltip="Two marked versions, or one and now"
        ),
        Binding("tab", "app.focus_next", "Next pane", show=False, id="detail.focus_next"),
    ]
    WRITES = frozenset({"run", "run_options", "cancel", "pause", "edit", "rollback", "star"})
    ON_SUBJECT = frozenset({"run", "run_options", "cancel", "pause", "edit", "history", "logs"})

    def __init__(self, engine: Engine, job_id: int) -> None:
        super().__init__(engine)
        self.job_id = job_id
        self.data: DetailData | None = None
        self.marked_versions: list[int] = []
        self.speed = RecentSpeed()

    def compose(self) -> ComposeResult:
        with Horizontal(id="detail-head"):
            yield Label(self.titled(f"job {self.job_id}"), id="detail-name")
            yield StatusBadge("", id="detail-status")
            yield Label("", id="detail-meta")
        with Horizontal(id="detail-body"):
            with VerticalScroll(id="detail-spec"):
                yield Static("loading…", id="spec-text")
            with Vertical(id="detail-side"):
                yield Label("Current run", classes="section-title")
                yield Static("no run in progress", id="run-summary")
                yield Vertical(id="run-tasks")
                yield RateTrend(id="rate-chart")
                yield Label("Stats", classes="section-title")
                yield Static("", id="stats-text")
                yield RunTrend(id="duration-chart")
                yield Label(
                    "Versions (space marks two, d diffs, b rolls back, * stars)",
                    classes="section-title",
                )
                yield KeyTable(id="versions", cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#versions", DataTable)
        table.add_columns("", "version", "when", "by", "note")
        table.focus()
        self.poll_now()

    # -- loading ------------------------------------------------------------------------
    def poll_now(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="detail-load", exit_on_error=False)
    def load(self) -> None:
        engine = self.engine
        job = engine.get_job(self.job_id)
        data = DetailData(job)
        if job.spec.get("schedule"):
            try:
                data.fires = list(engine.schedule_preview(job.id, n=5))
            except (JobtuiError, ValueError):
                data.fires = []  # an unreadable schedule shows as no fires
        data.versions = engine.list_versions(job.id)
        if (job.spec.get("alerts") or {}).get("emails"):
            data.smtp_missing = engine.smtp_settings() is None
        data.recent = engine.list_runs(job=job.id, limit=STATS_RUNS)
        data.total_runs = engine.count_runs(job=job.id)
        active = next((r for r in data.recent if r.state.is_active), None)
        if active is not None:
            data.current = engine.get_run(active.id)
        self.post_message(DetailLoaded(data))

    @on(DetailLoaded)
    def _loaded(self, message: DetailLoaded) -> None:
        self.show(message.data)
        self.schedule_poll()

    def show(self, data: DetailData) -> None:
        self.data = data
        job = data.job
        now = self.now()
        self.query_one("#detail-name", Label).update(self.titled(job.qualified_name))
        self.query_one("#detail-status", StatusBadge).show(job.status.value)
        self.query_one("#detail-meta", Label).update(
            f"version {job.version} · updated {fmt_relative(job.updated_at, now)}"
            f" · {fmt_abs(job.updated_at, self.utc, now)}"
        )
        self.query_one("#spec-text", Static).update(
            describe_spec(job, data.fires, self.utc, now, data.smtp_missing)
        )
        self._show_run(data.current, now)
        stats, _ = stats_text(data.recent, data.total_runs)
        self.query_one("#stats-text", Static).update(stats)
        self.query_one("#duration-chart", RunTrend).show(data.recent)
        self._show_versions(data.versions)
        self.refresh_bindings_if_changed()

    def waiting_for(self) -> Iterator[str]:
        if self.data is None:
            yield f"job {self.job_id}"

    def _show_run(self, run: Run | None, now: float) -> None:
        summary = self.query_one("#run-summary", Static)
        box = self.query_one("#run-tasks", Vertical)
        self.query_one("#rate-chart", RateTrend).show(run, now)
        if run is None:
            summary.update("no run in progress")
            box.remove_children()
            return
        elapsed = now - run.started_at.timestamp() if run.started_at else 0.0
        rate = run.records / elapsed if elapsed > 0 else 0.0
        eta = self.speed.eta(run, now, rate)
        counted = run.records or run.tasks  # a command run makes no records
        summary.update(
            f"#{run.id} {state_label(run.state.value)}"
            + (f" · {fmt_count(run.records)} records · {rate:,.0f}/s" if counted else "")
            + f" · elapsed {fmt_duration(elapsed)}"
            + (f" · ETA {fmt_duration(eta)}" if eta is not None else "")
            # Records and nothing to measure them against (a reader with no total): say so.
            + (" · ETA unknown" if counted and run.progress is None else "")
        )
        existing = {w.id: w for w in box.children}
        wanted = []
        for task in run.tasks:
            row_id = f"task-{task.id}"
            wanted.append(row_id)
            if row_id not in existing:
                bar = ProgressBar(total=task.total, show_eta=False, id=f"{row_id}-bar")
                bar.update(total=task.total, progress=task.records)
                state = Label(task_state(task), id=f"{row_id}-state", classes="task-state")
                row = Horizontal(
                    Label(inert(task.name), classes="task-name"),
                    bar,
                    state,
                    id=row_id,
                    classes="task-row",
                )
                box.mount(row)
            else:
                self._update_task(task)
        for widget_id, widget in existing.items():
            if widget_id not in wanted:
                widget.remove()

    def _update_task(self, task: RunTask) -> None:
        try:
            bar = self.query_one(f"#task-{task.id}-bar", ProgressBar)
            label = self.query_one(f"#task-{task.id}-state", Label)
        except NoMatches:  # its row is still being mounted
            return
        bar.update(total=task.total, progress=task.records)
        label.update(task_state(task))

    def _show_versions(self, versions: list[JobVersion]) -> None:
        table = self.query_one("#versions", DataTable)
        cursor = table.cursor_row
        table.clear()
        now = self.now()
        for v in versions:
            mark = ("★" if v.starred else " ") + ("●" if v.version in self.marked_versions else " ")
            table.add_row(
                mark,
                f"v{v.version}",
                f"{fmt_relative(v.created_at, now)}",
                inert(v.author),
                inert(v.note),
                key=str(v.version),
            )
        if versions:
            table.move_cursor(row=min(cursor, len(versions) - 1), animate=False)

    def times_changed(self) -> None:
        if self.data is not None:
            self.show(self.data)

    # -- helpers ------------------------------------------------------------------------
    @property
    def job(self) -> Job | None:
        return self.data.job if self.data else None

    @property
    def subject(self) -> str | None:
        return self.job.qualified_name if self.job else None

    @property
    def selected_version(self) -> JobVersion | None:
        if not self.data or not self.data.versions:
            return None
        row = self.query_one("#versions", DataTable).cursor_row
        if 0 <= row < len(self.data.versions):
            return self.data.versions[row]
        return None

    def applies(self, action: str) -> bool:
        job, data = self.job, self.data
        if action == "cancel":
            return bool(data and data.current)
        if action == "logs":
            return bool(job and job.last_run)
        if action == "rollback":
            v = self.selected_version
            return bool(job and v and v.version != job.version)
        if action == "diff":
            return bool(data and len(data.versions) > 1)
        if action == "star":
            return job is not None
        return True

    @on(DataTable.RowHighlighted, "#versions")
    def _version_highlighted(self) -> None:
        self.refresh_bindings_if_changed()

    # -- actions --------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_run(self) -> None:
        if job := self.job:
            self.queue_run(job.id)

    def action_run_options(self) -> None:
        if job := self.job:
            self.ask_run_options(job)

    def action_cancel(self) -> None:
        if self.data and self.data.current:
            self.confirm_cancel(self.data.current.id)

    def action_pause(self) -> None:
        if job := self.job:
            self.toggle_active(job)

    @work(thread=True, group="action", exit_on_error=False, description="pause or resume")
    def toggle_active(self, job: Job) -> None:
        self.engine.set_active(job.id, not job.active)
        was = "resumed" if job.active else "paused"
        undo = Undo(f"{was} {job.qualified_name} again", set_active=((job.id, job.active),))
        note = f"{'Paused' if job.active else 'Resumed'} {job.qualified_name} (u undoes)"
        self.post_message(ActionDone(note, undo=undo))

    def action_edit(self) -> None:
        job = self.job
        if job is None:
            return

        def saved(name: str | None) -> None:
            if name:
                self.notify(f"Saved {name}")
                self.load()

        self.app.push_screen(self.screens.wizard(job.qualified_name), saved)

    def action_history(self) -> None:
        if job := self.job:
            self.app.push_screen(self.screens.history(job.id, job.qualified_name))

    def action_logs(self) -> None:
        job = self.job
        if job is None:
            return
        run_id = self.newest_run(job.id, job.last_run.id if job.last_run else None)
        if run_id is not None:
            self.app.push_screen(self.screens.logs(run_id))

    def action_rollback(self) -> None:
        job, version = self.job, self.selected_version
        if job is None or version is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.rollback(job.id, version.version)

        self.app.push_screen(
            ConfirmScreen(
                f"Roll {job.qualified_name} back to v{version.version}?",
                f"A new version equal to v{version.version} ({version.note}) becomes current. "
                f"The job stays {'active' if job.active else 'paused'}: a rollback never "
                "pauses or resumes it.",
                yes="Roll back",
            ),
            confirmed,
        )

    @work(thread=True, group="action", exit_on_error=False, description="roll back")
    def rollback(self, job_id: int, version: int) -> None:
        new = self.engine.rollback_job(job_id, version)
        self.post_message(ActionDone(f"Rolled back: v{new.version} = v{version}"))

    def action_star(self) -> None:
        job, version = self.job, self.selected_version
        if job and version:
            self.star(job.id, version.version, not version.starred)

    @work(thread=True, group="action", exit_on_error=False, description="star a version")
    def star(self, job_id: int, version: int, starred: bool) -> None:
        self.engine.star_version(job_id, version, starred)
        self.post_message(ActionDone(""))

    def action_mark_version(self) -> None:
        version = self.selected_version
        if version is None:
            return
        if version.version in self.marked_versions:
            self.marked_versions.remove(version.version)
        else:
            self.marked_versions = [*self.marked_versions[-1:], version.version]
        if self.data:
            self._show_versions(self.data.versions)

    def action_diff(self) -> None:
        job = self.job
        if job is None or not self.data:
            return
        if len(self.marked_versions) == 2:
            a, b = sorted(self.marked_versions)
        else:
            selected = self.selected_version
            if selected is None:
                return
            if selected.version == job.version:
                a, b = max(1, job.version - 1), job.version
            else:
                a, b = selected.version, job.version
        self.diff(job, a, b)

    @work(thread=True, group="action", exit_on_error=False, description="diff versions")
    def diff(self, job: Job, a: int, b: int) -> None:
        diff = self.engine.diff_versions(job.id, a, b)
        body = Syntax(inert_diff(diff), "diff", theme="ansi_dark") if diff else "no differences"
        self.post_message(ShowText(f"{job.qualified_name}: v{a} → v{b}", body))


def task_state(task: RunTask) -> str:
    total = f"/{fmt_count(task.total)}" if task.total else ""
    return f"{state_label(task.state.value)} {fmt_count(task.records)}{total}"


def inert_diff(diff: str) -> str:
    return "\n".join(inert(line) for line in diff.splitlines())


__all__ = ["JobDetailScreen", "describe_spec"]

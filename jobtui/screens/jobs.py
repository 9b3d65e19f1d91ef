"""The home screen: every job, filtered as you type, paged from the engine.

Only the rows on screen are loaded (`VirtualTable` asks, a worker pages them in with
`Engine.list_jobs(limit, offset)`), so 10,000 jobs cost what 40 do. A poll re-reads the
visible page, the counts and the daemon every second; it keeps the cursor on the same job
and never moves focus.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Footer, Input, Label

from jobtui.engine import DaemonStatus, JobStatus, JobSummary, Run
from jobtui.screens import JobtuiScreen
from jobtui.widgets.bars import STATUS_ORDER, DaemonBar, TotalsBar, daemon_text, short_state
from jobtui.widgets.fmt import (
    STATE_ICONS,
    fmt_abs,
    fmt_count,
    fmt_duration,
    fmt_relative,
    sparkline,
)
from jobtui.widgets.vtable import Cell, Column, Row, VirtualTable

PAGE = 60

COLUMNS = [
    Column("name", "NAME", 0, min_width=14),
    Column("workspace", "WORKSPACE", 9),
    Column("status", "STATUS", 12),
    Column("schedule", "SCHEDULE", 16),
    Column("next_run", "NEXT RUN", 22),
    Column("last_run", "LAST RUN", 17),
    Column("records", "RECORDS", 7, justify="right"),
    Column("spark", "RECENT", 8, sortable=False),
]
SORTABLE = [c.key for c in COLUMNS if c.sortable]


@dataclass
class Query:
    search: str = ""
    status: JobStatus | None = None
    workspace: str | None = None
    include_system: bool = False
    sort: str = "name"
    descending: bool = False

    def list_args(self) -> dict[str, Any]:
        return {
            "search": self.search or None,
            "statuses": [self.status.value] if self.status else None,
            "workspace": self.workspace,
            "include_system": self.include_system,
        }


class JobPages:
    """The row source: rows by position, filled page by page."""

    def __init__(self) -> None:
        self.total = 0
        self.rows: dict[int, Row] = {}

    def row_count(self) -> int:
        return self.total

    def get_row(self, index: int) -> Row | None:
        return self.rows.get(index)

    def index_of(self, key: Hashable) -> int | None:
        for index, row in self.rows.items():
            if row.key == key:
                return index
        return None


class JobsLoaded(Message):
    def __init__(
        self,
        generation: int,
        offset: int,
        jobs: list[JobSummary],
        sparks: dict[int, list[str]],
        total: int | None,
        counts: dict[JobStatus, int] | None,
        daemon: DaemonStatus | None,
        poll: bool,
    ) -> None:
        super().__init__()
        self.generation = generation
        self.offset = offset
        self.jobs = jobs
        self.sparks = sparks
        self.total = total
        self.counts = counts
        self.daemon = daemon
        self.poll = poll


def wizard_screen() -> Any:
    try:
        from jobtui.screens.wizard import WizardScreen
    except ImportError:
        return None
    return WizardScreen


# Actions that change something: hidden in read-only mode.
WRITE_ACTIONS = frozenset(
    {"run", "run_options", "cancel", "pause", "delete", "new", "edit", "duplicate", "replay_last"}
)


class JobsScreen(JobtuiScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="jobs.filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="jobs.clear_filter"),
        Binding("enter", "open", "Open", id="jobs.open"),
        Binding("r", "run", "Run", id="jobs.run"),
        Binding("R", "run_options", "Run…", show=False, id="jobs.run_options"),
        Binding("c", "cancel", "Cancel", id="jobs.cancel"),
        Binding("p", "pause", "Pause", id="jobs.pause"),
        Binding("l", "logs", "Logs", id="jobs.logs"),
        Binding("h", "history", "History", id="jobs.history"),
        Binding("H", "all_history", "All runs", show=False, id="jobs.all_history"),
        Binding("n", "new", "New", id="jobs.new"),
        Binding("e", "edit", "Edit", id="jobs.edit"),
        Binding("D", "duplicate", "Duplicate", show=False, id="jobs.duplicate"),
        Binding("ctrl+d", "delete", "Delete", id="jobs.delete"),
        Binding("space", "mark", "Mark", show=False, id="jobs.mark"),
        Binding("s", "cycle_status", "Status", id="jobs.status"),
        Binding("w", "cycle_workspace", "Workspace", id="jobs.workspace"),
        Binding("S", "toggle_system", "System jobs", show=False, id="jobs.system"),
        Binding("o", "cycle_sort", "Sort", show=False, id="jobs.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="jobs.reverse"),
        Binding("q", "quit", "Quit", show=False, id="jobs.quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_state = Query()
        self.pages = JobPages()
        self.generation = 0
        self.counts: dict[JobStatus, int] = dict.fromkeys(JobStatus, 0)
        self.workspaces: list[str] = []
        self.daemon: DaemonStatus | None = None

    # -- layout --------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield DaemonBar("daemon …", id="daemon-bar")
        with Horizontal(id="filter-row"):
            yield Label("/", id="filter-prompt")
            yield Input(placeholder="filter by name, description or tag", id="filter")
            yield Label("", id="filter-summary")
        yield TotalsBar(id="totals")
        table = VirtualTable(COLUMNS, self.pages, id="jobs-table")
        table.sort_key = "name"
        table.empty_text = "no jobs (n creates one)"
        yield table
        yield Footer()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#jobs-table", VirtualTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._update_summary()
        self.reload()
        self.load_workspaces()

    # -- loading --------------------------------------------------------------------
    def reload(self) -> None:
        """The query changed: drop what is cached and load the first screen."""
        self.generation += 1
        self.pages.rows.clear()
        self.table.move_cursor(0, announce=False)
        self.table.scroll_to(y=0, animate=False, immediate=True)
        self._update_summary()
        self.fetch(0, PAGE, with_counts=True)

    def poll_now(self) -> None:
        start = max(0, self.table.first_visible - 10)
        self.fetch(start, self.table.page_height + 20, with_counts=True, poll=True)

    @work(thread=True, exclusive=True, group="jobs-load", exit_on_error=False)
    def fetch(self, offset: int, limit: int, with_counts: bool = False, poll: bool = False) -> None:
        engine = self.engine
        generation = self.generation
        q = self.query_state
        try:
            jobs = engine.list_jobs(
                **q.list_args(), sort=q.sort, descending=q.descending, limit=limit, offset=offset
            )
            sparks = engine.recent_run_states([j.id for j in jobs], per_job=8)
            total = counts = None
            daemon = None
            if with_counts:
                total = engine.count_jobs(**q.list_args())
                counts = engine.status_counts(
                    search=q.search or None,
                    workspace=q.workspace,
                    include_system=q.include_system,
                )
                status_fn = getattr(engine, "daemon_status", None)
                if status_fn is not None:
                    daemon = status_fn()
        finally:
            if poll:
                self.deliver(lambda _: self.schedule_poll())
        self.post_message(JobsLoaded(generation, offset, jobs, sparks, total, counts, daemon, poll))

    @on(JobsLoaded)
    def _loaded(self, message: JobsLoaded) -> None:
        if message.generation != self.generation:
            return
        table = self.table
        cursor_key = row.key if (row := table.current_row) else None
        if message.total is not None:
            self.pages.total = message.total
        if message.poll:
            # A refresh replaces the page it read and forgets the rest (it may be stale).
            lo, hi = message.offset, message.offset + len(message.jobs)
            self.pages.rows = {i: r for i, r in self.pages.rows.items() if lo <= i < hi}
        for i, job in enumerate(message.jobs):
            self.pages.rows[message.offset + i] = self._row(job, message.sparks.get(job.id, []))
        for index in [i for i in self.pages.rows if i >= self.pages.total]:
            del self.pages.rows[index]
        if message.counts is not None:
            self.counts = message.counts
            self.query_one(TotalsBar).show(self.counts, self.query_state.status)
        if message.daemon is not None or message.poll:
            self.daemon = message.daemon
        self._show_daemon()
        table.update_size()
        # Keep the cursor on the same job when a refresh moved it.
        if cursor_key is not None and message.poll:
            moved = self.pages.index_of(cursor_key)
            if moved is not None and moved != table.cursor:
                shift = moved - table.cursor
                table.scroll_to(y=table.first_visible + shift, animate=False, immediate=True)
                table.move_cursor(moved, announce=False)
        table.rows_arrived()
        self.refresh_bindings_if_changed()
        if not message.poll and self._poll_timer is None:
            self.schedule_poll()

    @on(VirtualTable.NeedRows)
    def _need_rows(self, message: VirtualTable.NeedRows) -> None:
        start = max(0, message.start - 20)
        self.fetch(start, max(PAGE, message.end - start + 20))

    @work(thread=True, exclusive=True, group="jobs-workspaces", exit_on_error=False)
    def load_workspaces(self) -> None:
        names = [w.name for w in self.engine.list_workspaces()]
        self.deliver(lambda value: setattr(self, "workspaces", value), names)

    def _row(self, job: JobSummary, spark: list[str]) -> Row:
        now = self.now()
        utc = self.utc
        status = job.status.value
        cells: list[Cell] = [
            job.name,
            job.workspace,
            (f"{STATE_ICONS.get(status, '')} {short_state(status)}", f"state--{status}"),
            job.schedule_text,
            (
                f"{fmt_relative(job.next_fire_at, now)} · {fmt_abs(job.next_fire_at, utc, now)}"
                if job.next_fire_at
                else ("—" if job.active else "paused")
            ),
            self._last_run_cell(job, now),
            fmt_count(job.last_run.records) if job.last_run else "",
            sparkline(spark, 8),
        ]
        return Row(job.id, cells, dim=not job.active, extra=(job, spark))

    def _last_run_cell(self, job: JobSummary, now: float) -> Cell:
        last = job.last_run
        if last is None:
            return ("never", "vtable--muted")
        state = last.state.value
        when = fmt_relative(last.ended_at or last.started_at, now) if last.started_at else "queued"
        duration = last.duration
        if duration is None and last.started_at and last.state.is_active:
            duration = now - last.started_at.timestamp()
        return [
            (STATE_ICONS.get(state, "?") + " ", f"state--{state}"),
            (when, ""),
            (f" · {fmt_duration(duration)}" if duration is not None else "", "vtable--muted"),
        ]

    def times_changed(self) -> None:
        for index, row in list(self.pages.rows.items()):
            job, spark = cast(tuple[JobSummary, list[str]], row.extra)
            self.pages.rows[index] = self._row(job, spark)
        self.table.refresh()

    def _show_daemon(self) -> None:
        self.query_one(DaemonBar).update(
            daemon_text(self.daemon, self.jobtui.daemon_note, self.now())
        )

    def _update_summary(self) -> None:
        q = self.query_state
        parts = [
            f"status: {short_state(q.status.value) if q.status else 'all'}",
            f"workspace: {q.workspace or 'all'}",
            "system jobs shown" if q.include_system else "",
            f"sort: {q.sort}{' ▼' if q.descending else ' ▲'}",
        ]
        marked = len(self.table.marked) if self.is_mounted else 0
        if marked:
            parts.append(f"{marked} marked")
        self.query_one("#filter-summary", Label).update(" · ".join(p for p in parts if p))

    # -- the job under the cursor ---------------------------------------------------
    @property
    def current(self) -> JobSummary | None:
        row = self.table.current_row
        return row.extra[0] if row is not None else None  # type: ignore[index]

    def targets(self) -> list[JobSummary]:
        """Marked jobs (those loaded), or the job under the cursor."""
        marked = self.table.marked
        if marked:
            found = {r.key: r.extra[0] for r in self.pages.rows.values() if r.key in marked}  # type: ignore[index]
            missing = [k for k in marked if k not in found]
            if missing:
                return [*found.values()]  # only what we hold; the rest were filtered away
            return list(found.values())
        job = self.current
        return [job] if job else []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITE_ACTIONS and self.read_only:
            return False
        job = self.current
        if action in ("open", "edit", "duplicate", "history", "run_options"):
            return True if job else None
        if action in ("run", "pause", "delete"):
            return True if (job or self.table.marked) else None
        if action in ("logs", "replay_last"):
            return True if job and job.last_run else None
        if action == "cancel":
            return True if job and job.last_run and job.last_run.state.is_active else None
        if action == "clear_filter":
            return True
        return True

    @on(VirtualTable.Highlighted)
    def _highlighted(self, message: VirtualTable.Highlighted) -> None:
        self.refresh_bindings_if_changed()

    @on(VirtualTable.Selected)
    def _selected(self, message: VirtualTable.Selected) -> None:
        self.action_open()

    @on(VirtualTable.HeaderClicked)
    def _header_clicked(self, message: VirtualTable.HeaderClicked) -> None:
        q = self.query_state
        if q.sort == message.column.key:
            q.descending = not q.descending
        else:
            q.sort, q.descending = message.column.key, False
        self._apply_sort()

    # -- filtering and sorting ---------------------------------------------------------
    def action_focus_filter(self) -> None:
        # A priority binding, focused at once: keys typed in the same burst (`/name`)
        # must reach the filter, not the table.
        box = self.query_one("#filter", Input)
        if box.has_focus:
            box.insert_text_at_cursor("/")
        else:
            self.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value:
            box.value = ""  # Input.Changed reloads
        elif self.table.marked:
            self.table.marked.clear()
            self.table.refresh()
            self._update_summary()
        self.table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_state.search = event.value.strip()
        self.reload()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_cycle_status(self) -> None:
        options: list[JobStatus | None] = [None] + [s for s in STATUS_ORDER if self.counts.get(s)]
        current = self.query_state.status
        index = options.index(current) if current in options else 0
        self.query_state.status = options[(index + 1) % len(options)]
        self.query_one(TotalsBar).show(self.counts, self.query_state.status)
        self.reload()

    def action_cycle_workspace(self) -> None:
        """Pick the workspace shown (the workspaces screen), or cycle when it is absent."""
        try:
            from jobtui.screens.workspaces import ALL_WORKSPACES, WorkspacesScreen
        except ImportError:
            options: list[str | None] = [None, *self.workspaces]
            current = self.query_state.workspace
            index = options.index(current) if current in options else 0
            self.set_workspace(options[(index + 1) % len(options)])
            return

        def chosen(name: str | None) -> None:
            if name is not None:
                self.set_workspace(None if name == ALL_WORKSPACES else name)

        self.app.push_screen(WorkspacesScreen(self.engine, self.query_state.workspace), chosen)

    def set_workspace(self, name: str | None) -> None:
        self.query_state.workspace = name
        self.load_workspaces()
        self.reload()

    def action_toggle_system(self) -> None:
        self.query_state.include_system = not self.query_state.include_system
        self.notify(
            "System jobs shown" if self.query_state.include_system else "System jobs hidden",
            timeout=2,
        )
        self.reload()

    def action_cycle_sort(self) -> None:
        q = self.query_state
        q.sort = SORTABLE[(SORTABLE.index(q.sort) + 1) % len(SORTABLE)]
        q.descending = False
        self._apply_sort()

    def action_reverse_sort(self) -> None:
        self.query_state.descending = not self.query_state.descending
        self._apply_sort()

    def _apply_sort(self) -> None:
        self.table.sort_key = self.query_state.sort
        self.table.sort_descending = self.query_state.descending
        self.reload()

    def action_mark(self) -> None:
        self.table.toggle_mark()
        self._update_summary()
        self.refresh_bindings_if_changed()

    # -- navigation --------------------------------------------------------------------
    def action_open(self) -> None:
        from jobtui.screens.job_detail import JobDetailScreen

        if job := self.current:
            self.app.push_screen(JobDetailScreen(job.id))

    def action_history(self) -> None:
        from jobtui.screens.history import HistoryScreen

        if job := self.current:
            self.app.push_screen(HistoryScreen(job.id, job.qualified_name))

    def action_all_history(self) -> None:
        from jobtui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(None))

    def action_logs(self) -> None:
        from jobtui.screens.logs import LogsScreen

        job = self.current
        if job and job.last_run:
            self.app.push_screen(LogsScreen(job.last_run.id))

    def action_quit(self) -> None:
        self.app.exit()

    # -- actions that change something -----------------------------------------------
    def action_new(self) -> None:
        self.open_wizard(None, False)

    def action_edit(self) -> None:
        if job := self.current:
            self.open_wizard(job.qualified_name, False)

    def action_duplicate(self) -> None:
        if job := self.current:
            self.open_wizard(job.qualified_name, True)

    def open_wizard(self, ref: str | None, duplicate: bool) -> None:
        wizard = wizard_screen()
        if wizard is None:
            if duplicate and ref:
                self._duplicate_by_name(ref)
                return
            self.notify("The job wizard is not available in this build", severity="warning")
            return

        def saved(name: str | None) -> None:
            if name:
                self.notify(f"Saved {name}", title="Job")
                self.poll_now()

        self.app.push_screen(wizard(self.engine, job_ref=ref, duplicate=duplicate), saved)

    def _duplicate_by_name(self, ref: str) -> None:
        from jobtui.screens.confirm import PromptScreen

        def chosen(name: str | None) -> None:
            if name:
                self.call(
                    self.engine.duplicate_job,
                    ref,
                    name,
                    then=self.done(lambda job: f"Created {job.qualified_name}"),
                )

        short = ref.split("/")[-1]
        self.app.push_screen(PromptScreen(f"Duplicate {ref} as", f"{short}-copy"), chosen)

    def action_run(self) -> None:
        jobs = self.targets()
        if not jobs:
            return
        engine = self.engine
        if not hasattr(engine, "queue_run"):
            self.notify("Running jobs is not available in this build", severity="warning")
            return

        def queue() -> list[Run]:
            return [engine.queue_run(j.id, trigger="manual") for j in jobs]

        def queued(runs: list[Run]) -> None:
            if len(runs) == 1:
                self.notify(f"Queued run #{runs[0].id} of {jobs[0].qualified_name}", title="Run")
            else:
                self.notify(f"Queued {len(runs)} runs", title="Run")
                self.jobtui.push_undo(
                    f"cancelled {len(runs)} queued runs", self._cancel_runs([r.id for r in runs])
                )
                self._clear_marks()
            self.poll_now()

        self.call(queue, then=queued)

    def _cancel_runs(self, run_ids: Sequence[int]) -> Callable[[], None]:
        engine = self.engine

        def undo() -> None:
            for run_id in run_ids:
                run = engine.get_run(run_id)
                if run.state.is_active:
                    engine.cancel_run(run_id)

        return undo

    def action_run_options(self) -> None:
        from jobtui.screens.run_options import RunOptionsScreen

        job = self.current
        if job is None:
            return
        engine = self.engine

        def got_job(full: Any) -> None:
            def chosen(options: dict[str, Any] | None) -> None:
                if options is None:
                    return
                if not hasattr(engine, "queue_run"):
                    self.notify("Running jobs is not available in this build", severity="warning")
                    return
                self.call(
                    engine.queue_run,
                    job.id,
                    trigger="manual",
                    **options,
                    then=self.done(
                        lambda run: f"Queued run #{run.id} of {job.qualified_name}", title="Run"
                    ),
                )

            self.app.push_screen(RunOptionsScreen(full), chosen)

        self.call(engine.get_job, job.id, then=got_job)

    def action_cancel(self) -> None:
        job = self.current
        if not (job and job.last_run and job.last_run.state.is_active):
            return
        run_id = job.last_run.id
        self.call(
            self.engine.cancel_run,
            run_id,
            then=self.done(lambda run: f"Run #{run.id}: {run.state.value}", title="Cancel"),
        )

    def action_pause(self) -> None:
        jobs = self.targets()
        if not jobs:
            return
        engine = self.engine
        # One job toggles; several are paused unless all of them are paused already.
        pause = any(j.active for j in jobs)
        before = {j.id: j.active for j in jobs}

        def apply() -> int:
            for job in jobs:
                engine.set_active(job.id, not pause)
            return len(jobs)

        def restore() -> None:
            for job_id, active in before.items():
                engine.set_active(job_id, active)

        def done(count: int) -> None:
            what = "Paused" if pause else "Resumed"
            name = jobs[0].qualified_name if count == 1 else f"{count} jobs"
            self.notify(f"{what} {name} (u undoes)", title="Jobs")
            self.jobtui.push_undo(f"{'resumed' if pause else 'paused'} {name} again", restore)
            self._clear_marks()
            self.poll_now()

        self.call(apply, then=done)

    def action_delete(self) -> None:
        from jobtui.screens.confirm import ConfirmScreen

        jobs = self.targets()
        if not jobs:
            return
        engine = self.engine
        names = ", ".join(j.qualified_name for j in jobs[:5]) + (" …" if len(jobs) > 5 else "")
        title = f"Delete {len(jobs)} job{'s' if len(jobs) > 1 else ''}?"

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return

            def delete() -> int:
                for job in jobs:
                    engine.delete_job(job.id)
                return len(jobs)

            def restore() -> None:
                for job in jobs:
                    engine.restore_job(job.id)

            def done(count: int) -> None:
                label = jobs[0].qualified_name if count == 1 else f"{count} jobs"
                self.notify(f"Deleted {label} (u restores)", title="Trash")
                self.jobtui.push_undo(f"restored {label}", restore)
                self._clear_marks()
                self.reload()

            self.call(delete, then=done)

        message = f"{names}\n\nThey go to the trash with their history; u brings them back."
        self.app.push_screen(ConfirmScreen(title, message, yes="Delete", danger=True), confirmed)

    def action_replay_last(self) -> None:
        job = self.current
        if job is not None and job.last_run is not None:
            run_id = job.last_run.id
            self.confirm_replay(run_id, f"Replay run #{run_id} of {job.qualified_name}?")

    def palette_actions(self) -> list[tuple[str, str, str]]:
        job = self.current
        name = job.qualified_name if job else "job"
        return [
            (f"Run {name}", "run", "Queue a manual run (marked jobs: all of them)"),
            (f"Run {name} with options…", "run_options", "Title, parameters, since, args"),
            (f"Pause/resume {name}", "pause", "Toggle the active flag"),
            (f"Edit {name}", "edit", "The wizard"),
            (f"Logs of the last run of {name}", "logs", "Log viewer"),
            (f"Replay the last run of {name}", "replay_last", "Deliver its stored output again"),
            (f"History of {name}", "history", "Every run of the job"),
            (f"Open {name}", "open", "Definition, versions, stats"),
            (f"Duplicate {name}", "duplicate", "A copy under a new name"),
            (f"Cancel the run of {name}", "cancel", "Stop the queued or running run"),
            (f"Delete {name}", "delete", "To the trash (u undoes)"),
            ("New job", "new", "The wizard"),
        ]

    def _clear_marks(self) -> None:
        if self.table.marked:
            self.table.marked.clear()
            self.table.refresh()
            self._update_summary()

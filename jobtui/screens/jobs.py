"""The home screen: every job, filtered as you type, paged from the engine.

Only the rows on screen are loaded (`VirtualTable` asks, a worker pages them in with
`Engine.list_jobs(limit, offset)`), so 10,000 jobs cost what 40 do. A poll re-reads the
visible page, the counts and the daemon every second; it keeps the cursor on the same job
and never moves focus. The rows themselves are job_rows.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from jobtui.engine import DaemonStatus, Engine, JobStatus, JobSummary
from jobtui.screens.base import ALL_WORKSPACES, ActionDone, JobtuiScreen, Undo
from jobtui.screens.confirm import ConfirmScreen
from jobtui.screens.crontab_import import open_crontab_import
from jobtui.screens.job_rows import (
    COLUMNS,
    PAGE,
    SEARCH_CAP,
    SORTABLE,
    JobPages,
    JobsLoaded,
    Query,
    job_row,
)
from jobtui.widgets.bars import STATUS_ORDER, DaemonBar, TotalsBar, daemon_text
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.vtable import VirtualTable


@dataclass
class QueueFailed(Message):
    """`r` did not queue: `l` pressed meanwhile has nothing to open."""

    job_ids: frozenset[int]


class JobsScreen(JobtuiScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="jobs.filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="jobs.clear_filter"),
        Binding("enter", "open", "Open", id="jobs.open", tooltip="Definition, versions, stats"),
        Binding("r", "run", "Run", id="jobs.run", tooltip="Queue a manual run (marked jobs: all)"),
        Binding(
            "R",
            "run_options",
            "Run…",
            show=False,
            id="jobs.run_options",
            tooltip="Title, parameters, since, arguments",
        ),
        Binding(
            "c", "cancel", "Cancel", id="jobs.cancel", tooltip="Stop its queued or running run"
        ),
        Binding("p", "pause", "Pause", id="jobs.pause", tooltip="Pause or resume (u undoes)"),
        Binding("l", "logs", "Logs", id="jobs.logs", tooltip="The log of its last run"),
        Binding("h", "history", "History", id="jobs.history", tooltip="Every run of the job"),
        Binding("H", "all_history", "All runs", show=False, id="jobs.all_history"),
        Binding(
            "y",
            "replay_last",
            "Replay last run",
            show=False,
            id="jobs.replay_last",
            tooltip="Deliver its stored output again",
        ),
        Binding("n", "new", "New", id="jobs.new", tooltip="The job wizard"),
        Binding("e", "edit", "Edit", id="jobs.edit", tooltip="The job wizard"),
        Binding("D", "duplicate", "Duplicate", show=False, id="jobs.duplicate", tooltip="A copy"),
        Binding("ctrl+d", "delete", "Delete", id="jobs.delete", tooltip="To the trash (u undoes)"),
        Binding("space", "mark", "Mark", show=False, id="jobs.mark"),
        Binding("s", "cycle_status", "Status", id="jobs.status"),
        Binding(
            "F",
            "pick_statuses",
            "Statuses…",
            show=False,
            id="jobs.statuses",
            tooltip="Show jobs in any of several statuses",
        ),
        Binding("w", "cycle_workspace", "Workspace", id="jobs.workspace"),
        Binding("S", "toggle_system", "System jobs", show=False, id="jobs.system"),
        Binding("o", "cycle_sort", "Sort", show=False, id="jobs.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="jobs.reverse"),
        Binding("q", "quit", "Quit", show=False, id="jobs.quit"),
        Binding("T", "trash", "Trash", show=False, id="jobs.trash", tooltip="Restore or purge"),
        Binding(
            "i",
            "import_crontab",
            "Import crontab",
            show=False,
            id="jobs.import_crontab",
            tooltip="Your cron entries as command jobs (shown first)",
        ),
    ]
    WRITES = frozenset(
        {"run", "run_options", "cancel", "pause", "delete", "new", "edit", "duplicate"}
        | {"replay_last", "import_crontab"}
    )
    ON_SUBJECT = frozenset(
        {"open", "edit", "duplicate", "history", "run_options", "logs", "replay_last", "cancel"}
    )
    ON_MARKED = frozenset({"run", "pause", "delete"})  # the marked jobs, or the cursor's

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.query_state = Query()
        self.pages = JobPages()
        self.generation = 0
        self.answered = -1  # the generation whose first page arrived
        self.counts: dict[JobStatus, int] = dict.fromkeys(JobStatus, 0)
        self.daemon: DaemonStatus | None = None
        self.count_cap = SEARCH_CAP  # how far a search's matches are counted
        self.capped = False  # the search matched more than that

    # -- layout --------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield DaemonBar("daemon …", id="daemon-bar")
        with Horizontal(id="filter-row"):
            yield Label("/", id="filter-prompt")
            yield Input(placeholder="filter: name, tag, text", id="filter")
            yield Label("", id="filter-summary")
        yield TotalsBar(id="totals")
        table = VirtualTable(COLUMNS, self.pages, id="jobs-table")
        table.sort_key = "name"
        table.empty_text = "no jobs (n creates one)"
        yield table
        yield KeyFooter()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#jobs-table", VirtualTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.reload()

    # -- loading --------------------------------------------------------------------
    def reload(self) -> None:
        """The query changed: drop what is cached and load the first screen."""
        self.generation += 1
        self.count_cap = SEARCH_CAP
        self.table.empty_text = self.query_state.empty_text()
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
        select, select_index = self._select_name, None
        if select is not None and not poll:
            everything = engine.list_jobs(**q.list_args(), sort=q.sort, descending=q.descending)
            names = [j.qualified_name for j in everything]
            if select in names:
                select_index = names.index(select)
                offset = max(0, select_index - limit // 2)
        jobs = engine.list_jobs(
            **q.list_args(), sort=q.sort, descending=q.descending, limit=limit, offset=offset
        )
        sparks = engine.recent_run_states([j.id for j in jobs], per_job=8)
        total = counts = daemon = None
        cap = self.count_cap if q.search else None
        if with_counts:
            total = engine.count_jobs(**q.list_args(), cap=cap)
            counts = engine.status_counts(
                search=q.search or None,
                workspace=q.workspace,
                include_system=q.include_system,
                cap=cap,
            )
            daemon = engine.daemon_status()
        loaded = JobsLoaded(generation, offset, jobs, sparks, total, counts, daemon, poll)
        loaded.select_index = select_index
        loaded.capped = cap is not None and total is not None and total > cap
        self.post_message(loaded)

    @on(JobsLoaded)
    def _loaded(self, message: JobsLoaded) -> None:
        if message.generation != self.generation:
            return
        table = self.table
        cursor_key = row.key if (row := table.current_row) else None
        if message.total is not None:
            self.pages.total = message.total
            self.capped = message.capped
        if message.poll:
            # A refresh replaces the page it read and forgets the rest (it may be stale).
            lo, hi = message.offset, message.offset + len(message.jobs)
            self.pages.rows = {i: r for i, r in self.pages.rows.items() if lo <= i < hi}
        now, utc = self.now(), self.utc
        for i, job in enumerate(message.jobs):
            spark = message.sparks.get(job.id, [])
            self.pages.rows[message.offset + i] = job_row(job, spark, now, utc)
        # Capped, the last row (the cap + 1st match) stays a placeholder: when it scrolls
        # into view, the table asks for it and the matches are counted further.
        end = self.pages.total - 1 if self.capped else self.pages.total
        for index in [i for i in self.pages.rows if i >= end]:
            del self.pages.rows[index]
        if message.counts is not None:
            self.counts = message.counts
            self.query_one(TotalsBar).show(self.counts, self.query_state.statuses, self.capped)
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
        if message.select_index is not None:
            self._select_name = None
            table.move_cursor(message.select_index)
        table.rows_arrived()
        self.answered = message.generation
        self.refresh_bindings_if_changed()
        if message.poll or self._poll_timer is None:
            self.schedule_poll()

    def waiting_for(self) -> Iterator[str]:
        if self.answered != self.generation:
            yield f"the first page of query {self.generation}"
        yield from self.table.waiting_for()

    @on(VirtualTable.NeedRows)
    def _need_rows(self, message: VirtualTable.NeedRows) -> None:
        start = max(0, message.start - 20)
        recount = self.capped and message.end + 20 >= self.pages.total
        if recount:  # near the end of the matches counted so far: count further
            self.count_cap = max(self.count_cap, message.end) + SEARCH_CAP
        self.fetch(start, max(PAGE, message.end - start + 20), with_counts=recount)

    def times_changed(self) -> None:
        now, utc = self.now(), self.utc
        for index, row in list(self.pages.rows.items()):
            job, spark = cast(tuple[JobSummary, list[str]], row.extra)
            self.pages.rows[index] = job_row(job, spark, now, utc)
        self.table.refresh()

    def _show_daemon(self) -> None:
        note = self.dashboard.daemon_note
        bar = daemon_text(self.daemon, note, self.now(), read_only=self.read_only)
        self.query_one(DaemonBar).update(bar)

    def _update_summary(self) -> None:
        marked = len(self.table.marked) if self.is_mounted else 0
        self.query_one("#filter-summary", Label).update(self.query_state.summary(marked))

    # -- the job under the cursor ---------------------------------------------------
    @property
    def current(self) -> JobSummary | None:
        row = self.table.current_row
        return cast(tuple[JobSummary, list[str]], row.extra)[0] if row is not None else None

    @property
    def subject(self) -> str | None:
        job = self.current
        return job.qualified_name if job else None

    def targets(self) -> list[JobSummary]:
        """The marked jobs (those loaded; the rest were filtered away), or the cursor's."""
        marked = self.table.marked
        if marked:
            rows = self.pages.rows.values()
            return [cast(tuple[JobSummary, list[str]], r.extra)[0] for r in rows if r.key in marked]
        job = self.current
        return [job] if job else []

    def applies(self, action: str) -> bool:
        job = self.current
        if action in self.ON_MARKED:
            return bool(job or self.table.marked)
        if action == "logs":  # (or its run is being queued: `l` waits for it)
            return bool(
                job and (job.last_run or self._just_queued(job) or job.id in self._queueing)
            )
        if action == "replay_last":
            return bool(job and job.last_run)
        if action == "cancel":
            # A run just queued counts as active until a refresh says otherwise.
            return bool(
                job and (self._just_queued(job) or (job.last_run and job.last_run.state.is_active))
            )
        return True

    def palette_label(self, binding: Binding) -> str:
        marked = len(self.table.marked)
        if binding.action in self.ON_MARKED and marked:
            return f"{binding.description} the {marked} marked jobs"
        if binding.action in self.ON_MARKED and self.subject:
            return f"{binding.description} {self.subject}"
        return super().palette_label(binding)

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
            self._clear_marks()
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
        self.query_one(TotalsBar).show(self.counts, self.query_state.statuses, self.capped)
        self.reload()

    def action_pick_statuses(self) -> None:
        """Several statuses at once (`s` cycles one at a time)."""
        from jobtui.screens.status_picker import StatusPickerScreen  # not on the first paint

        def chosen(statuses: tuple[JobStatus, ...] | None) -> None:
            if statuses is not None:
                self.query_state.statuses = statuses
                self.query_one(TotalsBar).show(self.counts, statuses, self.capped)
                self.reload()

        picker = StatusPickerScreen(STATUS_ORDER, self.counts, self.query_state.statuses)
        self.app.push_screen(picker, chosen)

    def action_cycle_workspace(self) -> None:
        """Pick the workspace shown (the workspaces screen)."""

        def chosen(name: str | None) -> None:
            if name is not None:
                self.set_workspace(None if name == ALL_WORKSPACES else name)

        self.app.push_screen(self.screens.workspaces(self.query_state.workspace), chosen)

    def set_workspace(self, name: str | None) -> None:
        self.query_state.workspace = name
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

    def _clear_marks(self) -> None:
        if self.table.marked:
            self.table.marked.clear()
            self.table.refresh()
            self._update_summary()

    # -- navigation --------------------------------------------------------------------
    def action_open(self) -> None:
        if job := self.current:
            self.app.push_screen(self.screens.job_detail(job.id))

    def action_history(self) -> None:
        if job := self.current:
            self.app.push_screen(self.screens.history(job.id, job.qualified_name))

    def action_all_history(self) -> None:
        self.app.push_screen(self.screens.history(None))

    def action_trash(self) -> None:
        def closed(_: None) -> None:
            self.reload()  # a job restored there is back in the list

        self.app.push_screen(self.screens.trash(), closed)

    def action_import_crontab(self) -> None:
        open_crontab_import(self.app, self.engine, self.query_state.workspace or "default")

    def _just_queued(self, job: JobSummary) -> int | None:
        """The run this screen queued for `job` that the row does not show yet."""
        known = job.last_run.id if job.last_run else None
        newest = self.newest_run(job.id, known)
        return newest if newest is not None and newest != known else None

    _queueing: frozenset[int] = frozenset()  # jobs whose `r` has not come back yet
    _logs_after_queue: int | None = None  # `l` pressed meanwhile: the job to open it for

    def action_logs(self) -> None:
        job = self.current
        if job is None:
            return
        if job.id in self._queueing:  # `l` right after `r`: the run being queued
            self._logs_after_queue = job.id
            return
        run_id = self.newest_run(job.id, job.last_run.id if job.last_run else None)
        if run_id is not None:
            self.app.push_screen(self.screens.logs(run_id))

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
        def saved(name: str | None) -> None:
            if name:  # the wizard said "Created …" or "Saved …": one toast, not two
                self.select_job(name)

        self.app.push_screen(self.screens.wizard(ref, duplicate), saved)

    _select_name: str | None = None  # the job to put the cursor on once loaded

    def select_job(self, qualified_name: str) -> None:
        """Show the job (a filter that hides it is changed) and put the cursor on it."""
        q = self.query_state
        workspace = qualified_name.partition("/")[0]
        if q.workspace not in (None, workspace):
            q.workspace = workspace
        q.status = None
        if q.search and q.search.lower() not in qualified_name.lower():
            box = self.query_one("#filter", Input)
            with box.prevent(Input.Changed):
                box.value = ""
            q.search = ""
        self._select_name = qualified_name
        self.reload()

    def action_run(self) -> None:
        if jobs := self.targets():
            self._queueing = self._queueing | {j.id for j in jobs}
            self.queue_runs(jobs)

    @work(thread=True, group="action", exit_on_error=False, description="queue runs")
    def queue_runs(self, jobs: list[JobSummary]) -> None:
        try:
            runs = [self.engine.queue_run(j.id, trigger="manual") for j in jobs]
        except Exception:
            self.post_message(QueueFailed(frozenset(j.id for j in jobs)))
            raise  # reported by the screen's worker handler
        queued = tuple((j.id, r.id) for j, r in zip(jobs, runs, strict=True))
        if len(runs) == 1:
            note = f"Queued run #{runs[0].id} of {jobs[0].qualified_name}"
            self.post_message(ActionDone(note, "Run", queued=queued))
            return
        ids = tuple(r.id for r in runs)
        undo = Undo(f"cancelled {len(runs)} queued runs", cancel_runs=ids)
        self.post_message(ActionDone(f"Queued {len(runs)} runs", "Run", undo, queued=queued))

    def action_run_options(self) -> None:
        if job := self.current:
            self.fetch_for_run_options(job.id)

    def action_cancel(self) -> None:
        job = self.current
        if job is None:
            return
        if queued := self._just_queued(job):
            self.confirm_cancel(queued)
        elif job.last_run and job.last_run.state.is_active:
            self.confirm_cancel(job.last_run.id)

    def action_pause(self) -> None:
        if jobs := self.targets():
            self.pause_jobs(jobs)

    @work(thread=True, group="action", exit_on_error=False, description="pause or resume")
    def pause_jobs(self, jobs: list[JobSummary]) -> None:
        # One job toggles; several are paused unless all of them are paused already.
        pause = any(j.active for j in jobs)
        for job in jobs:
            self.engine.set_active(job.id, not pause)
        name = jobs[0].qualified_name if len(jobs) == 1 else f"{len(jobs)} jobs"
        undo = Undo(
            f"{'resumed' if pause else 'paused'} {name} again",
            set_active=tuple((j.id, j.active) for j in jobs),
        )
        note = f"{'Paused' if pause else 'Resumed'} {name} (u undoes)"
        self.post_message(ActionDone(note, "Jobs", undo))

    def action_delete(self) -> None:
        jobs = self.targets()
        if not jobs:
            return
        names = ", ".join(j.qualified_name for j in jobs[:5]) + (" …" if len(jobs) > 5 else "")
        title = f"Delete {len(jobs)} job{'s' if len(jobs) > 1 else ''}?"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.delete_jobs(jobs)

        message = f"{names}\n\nThey go to the trash with their history; u brings them back."
        self.app.push_screen(ConfirmScreen(title, message, yes="Delete", danger=True), confirmed)

    @work(thread=True, group="action", exit_on_error=False, description="delete jobs")
    def delete_jobs(self, jobs: list[JobSummary]) -> None:
        for job in jobs:
            self.engine.delete_job(job.id)
        label = jobs[0].qualified_name if len(jobs) == 1 else f"{len(jobs)} jobs"
        undo = Undo(f"restored {label}", restore_jobs=tuple(j.id for j in jobs))
        self.post_message(ActionDone(f"Deleted {label} (u restores)", "Trash", undo, reload=True))

    @on(QueueFailed)
    def _queue_failed(self, message: QueueFailed) -> None:
        self._queueing = self._queueing - message.job_ids
        self._logs_after_queue = None

    def action_finished(self, message: ActionDone) -> None:
        if message.queued:
            self._queueing = self._queueing - {job_id for job_id, _ in message.queued}
            wanted = dict(message.queued).get(self._logs_after_queue or -1)
            self._logs_after_queue = None
            if wanted is not None:
                self.app.push_screen(self.screens.logs(wanted))
        self._clear_marks()
        if message.reload:
            self.reload()
        else:
            self.poll_now()

    def action_replay_last(self) -> None:
        job = self.current
        if job is not None and job.last_run is not None:
            run_id = job.last_run.id
            self.confirm_replay(run_id, f"Replay run #{run_id} of {job.qualified_name}?")

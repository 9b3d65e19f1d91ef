"""Run history, of one job or of every job: newest first, paged by id as you scroll.

Rows come from `Engine.list_runs(before_id=…)` a page at a time (a million runs cost what
a hundred do). A poll re-reads the newest page; new runs push the list down without
moving the cursor off the run it was on.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Label, Static

from jobtui.engine import Engine, Run
from jobtui.screens.base import JobtuiScreen, ShowText
from jobtui.screens.run_details import STDERR_TAIL, details, diff_runs
from jobtui.widgets.fmt import (
    STATE_ICONS,
    fmt_abs,
    fmt_count,
    fmt_duration,
    inert,
    state_label,
)
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.vtable import Cell, Column, Row, VirtualTable

PAGE = 200
STATE_FILTERS: list[tuple[str, list[str] | None]] = [
    ("all states", None),
    ("failed", ["failed", "interrupted", "retrying"]),
    ("active", ["queued", "running", "cancelling"]),
    ("succeeded", ["succeeded"]),
    ("partially succeeded", ["partially_succeeded"]),
    ("cancelled", ["cancelled"]),
    ("missed or skipped", ["missed", "skipped"]),
]


def columns(all_jobs: bool) -> list[Column]:
    # Priorities: what an 80-column terminal keeps (lower first); Right scrolls to the rest.
    cols = [
        Column("id", "RUN", 8, justify="right", sortable=False, pinned=True),
        Column("state", "STATE", 12, sortable=False, priority=1),
        Column("trigger", "TRIGGER", 9, sortable=False, priority=6),
        Column("title", "TITLE", 0, min_width=10, sortable=False, priority=7),
        Column("start", "START", 16, sortable=False, priority=2),
        Column("end", "END", 16, sortable=False, priority=5),
        Column("duration", "TOOK", 7, justify="right", sortable=False, priority=4),
        Column("records", "RECORDS", 7, justify="right", sortable=False, priority=4),
        Column("error", "ERROR", 0, min_width=12, sortable=False, priority=3),
    ]
    if all_jobs:
        job = Column("job", "JOB", 0, min_width=20, sortable=False, pinned=True, ellipsis="middle")
        cols.insert(1, job)
    return cols


class RunList:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.more = False

    def row_count(self) -> int:
        return len(self.rows) + (1 if self.more else 0)

    def get_row(self, index: int) -> Row | None:
        return self.rows[index] if index < len(self.rows) else None

    def index_of(self, key: Hashable) -> int | None:
        for i, row in enumerate(self.rows):
            if row.key == key:
                return i
        return None


@dataclass
class RunsLoaded(Message):
    generation: int  # the filter it answers: older answers are dropped
    runs: list[Run]
    before_id: int | None
    limit: int
    total: int | None


def error_summary(run: Run) -> str:
    if run.wait_reason and not run.state.is_final:  # a remote run waiting (issue 19)
        return inert(run.wait_reason)
    if run.error:
        return inert(run.error.splitlines()[0] if run.error.strip() else run.error)
    if run.errors:
        first = run.errors[0]
        return inert(str(first.get("message") or first))
    return ""


class HistoryScreen(JobtuiScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="history.back"),
        Binding("enter", "logs", "Log", id="history.logs", tooltip="The log viewer"),
        Binding("x", "details", "Errors/results", id="history.details"),
        Binding("y", "replay", "Replay", id="history.replay", tooltip="Deliver its output again"),
        Binding("r", "rerun", "Re-run", id="history.rerun", tooltip="With the same parameters"),
        Binding("c", "cancel", "Cancel", id="history.cancel"),
        Binding("s", "cycle_state", "State", id="history.state"),
        Binding("space", "mark", "Mark", show=False, id="history.mark"),
        Binding(
            "d",
            "diff",
            "Diff",
            id="history.diff",
            tooltip="The two marked runs, or this one and the one before",
        ),
    ]
    WRITES = frozenset({"replay", "rerun", "cancel"})
    ON_SUBJECT = frozenset({"logs", "details", "rerun", "replay", "mark", "cancel", "diff"})

    def __init__(self, engine: Engine, job_id: int | None, job_name: str | None = None) -> None:
        super().__init__(engine)
        self.job_id = job_id
        self.job_name = job_name
        self.runs = RunList()
        self.state_filter = 0
        self.generation = 0
        self.answered = -1  # the generation whose newest page arrived
        self.total: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="history-title")
        yield Label("", id="history-summary")
        table = VirtualTable(columns(self.job_id is None), self.runs, id="runs-table")
        table.empty_text = "no runs yet"
        yield table
        yield KeyFooter()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#runs-table", VirtualTable)

    def on_mount(self) -> None:
        self._show_title()
        self.table.focus()
        self.reload()

    @property
    def states(self) -> list[str] | None:
        return STATE_FILTERS[self.state_filter][1]

    def _show_title(self) -> None:
        what = f"Runs of {self.job_name or f'job {self.job_id}'}" if self.job_id else "All runs"
        total = "" if self.total is None else f" · {self.total:,} runs"
        self.query_one("#history-title", Static).update(
            self.titled(f"{what}{total} · {STATE_FILTERS[self.state_filter][0]}")
        )
        marked = len(self.table.marked)
        summary = self.query_one("#history-summary", Label)
        summary.update(f"{marked} marked (d diffs two)" if marked else "")
        summary.display = bool(marked)

    # -- loading ----------------------------------------------------------------------
    def reload(self) -> None:
        self.generation += 1
        self.runs.rows = []
        self.runs.more = False
        self.table.move_cursor(0, announce=False)
        self.table.update_size()
        self.fetch(None, PAGE, count=True)

    def poll_now(self) -> None:
        visible_end = self.table.first_visible + self.table.page_height + 20
        limit = max(PAGE // 4, min(len(self.runs.rows), visible_end))
        self.fetch(None, limit, count=True)

    @work(thread=True, exclusive=True, group="history-load", exit_on_error=False)
    def fetch(self, before_id: int | None, limit: int, count: bool = False) -> None:
        engine = self.engine
        generation = self.generation
        runs = engine.list_runs(
            job=self.job_id, states=self.states, limit=limit, before_id=before_id
        )
        total = engine.count_runs(job=self.job_id, states=self.states) if count else None
        self.post_message(RunsLoaded(generation, runs, before_id, limit, total))

    @on(RunsLoaded)
    def _loaded(self, message: RunsLoaded) -> None:
        if message.generation != self.generation:
            return
        if message.total is not None:
            self.total = message.total
            self._show_title()
        table = self.table
        cursor_key = row.key if (row := table.current_row) else None
        new_rows = [self._row(run) for run in message.runs]
        if message.before_id is None:
            # The newest page: keep older rows we hold beyond it.
            oldest = message.runs[-1].id if message.runs else None
            tail = [r for r in self.runs.rows if oldest is not None and r.key < oldest]  # type: ignore[operator]
            if len(message.runs) < message.limit:
                tail = []
                self.runs.more = False
            elif not tail:
                self.runs.more = True
            self.runs.rows = new_rows + tail
        else:
            self.runs.rows.extend(new_rows)
            self.runs.more = len(message.runs) >= message.limit
        table.update_size()
        if cursor_key is not None:
            moved = self.runs.index_of(cursor_key)
            if moved is not None and moved != table.cursor:
                shift = moved - table.cursor
                if table.first_visible > 0 or table.cursor > 0:
                    table.scroll_to(y=table.first_visible + shift, animate=False, immediate=True)
                    table.move_cursor(moved, announce=False)
        table.rows_arrived()
        if message.before_id is None:
            self.answered = message.generation
            self.schedule_poll()
        self.refresh_bindings_if_changed()

    def waiting_for(self) -> Iterator[str]:
        if self.answered != self.generation:
            yield f"the newest runs of filter {self.generation}"
        yield from self.table.waiting_for()

    @on(VirtualTable.NeedRows)
    def _need_rows(self, message: VirtualTable.NeedRows) -> None:
        if self.runs.more and self.runs.rows:
            last = self.runs.rows[-1].key
            self.fetch(int(last), PAGE)  # type: ignore[call-overload]

    def _row(self, run: Run) -> Row:
        now = self.now()
        utc = self.utc
        state = run.state.value
        duration = run.duration
        if duration is None and run.started_at and run.state.is_active:
            duration = now - run.started_at.timestamp()
        cells: list[Cell] = [
            f"#{run.id}",
            (f"{STATE_ICONS.get(state, '')} {state_label(state)}", f"state--{state}"),
            run.trigger.value.replace("_", "-"),
            inert(run.title),
            fmt_abs(run.started_at or run.queued_at, utc, now),
            fmt_abs(run.ended_at, utc, now) if run.ended_at else "",
            fmt_duration(duration),
            fmt_count(run.records) if run.counts_records else "—",
            (error_summary(run), "state--failed"),
        ]
        if self.job_id is None:
            cells.insert(1, f"{run.workspace}/{run.job_name}")
        return Row(run.id, cells, extra=run)

    def times_changed(self) -> None:
        self.runs.rows = [self._row(r.extra) for r in self.runs.rows]  # type: ignore[arg-type]
        self.table.refresh()

    # -- the run under the cursor ---------------------------------------------------------
    @property
    def current(self) -> Run | None:
        row = self.table.current_row
        return row.extra if row is not None else None  # type: ignore[return-value]

    @property
    def subject(self) -> str | None:
        run = self.current
        return f"run #{run.id}" if run else None

    def applies(self, action: str) -> bool:
        run = self.current
        if action == "cancel":
            return bool(run and run.state.is_active)
        if action == "diff":
            return len(self.runs.rows) > 1
        return True

    @on(VirtualTable.Highlighted)
    def _highlighted(self, message: VirtualTable.Highlighted) -> None:
        self.refresh_bindings_if_changed()

    @on(VirtualTable.Selected)
    def _selected(self, message: VirtualTable.Selected) -> None:
        self.action_logs()

    # -- actions ------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_cycle_state(self) -> None:
        self.state_filter = (self.state_filter + 1) % len(STATE_FILTERS)
        self.total = None
        self._show_title()
        self.reload()

    def action_mark(self) -> None:
        self.table.toggle_mark()
        self._show_title()

    def action_logs(self) -> None:
        if run := self.current:
            self.app.push_screen(self.screens.logs(run.id))

    def action_details(self) -> None:
        if run := self.current:
            self.show_details(run.id)

    @work(thread=True, group="action", exit_on_error=False, description="read a run")
    def show_details(self, run_id: int) -> None:
        full = self.engine.get_run(run_id)
        stderr = self.engine.read_log(run_id, backwards=True, limit=STDERR_TAIL, streams=["stderr"])
        self.post_message(
            ShowText(f"Run #{full.id}: errors and results", details(full, self.utc, stderr))
        )

    def action_rerun(self) -> None:
        run = self.current
        if run is not None:
            self.queue_run(
                run.job_id,
                f"with the parameters of #{run.id}",
                title=run.title or f"re-run of #{run.id}",
                parameters=run.parameters or None,
            )

    def action_replay(self) -> None:
        run = self.current
        if run is not None:
            self.confirm_replay(run.id, f"Replay run #{run.id}?")

    def action_cancel(self) -> None:
        run = self.current
        if run is not None and run.state.is_active:
            self.confirm_cancel(run.id)

    def action_diff(self) -> None:
        marked = [cast(Run, r.extra) for r in self.runs.rows if r.key in self.table.marked]
        if len(marked) >= 2:
            newer, older = marked[0], marked[1]
        else:
            current = self.current
            if current is None:
                return
            index = self.table.cursor
            if index + 1 >= len(self.runs.rows):
                self.notify("Mark two runs with space, or stand on a run with an older one below")
                return
            newer, older = current, cast(Run, self.runs.rows[index + 1].extra)
        self.diff(newer.id, older.id)

    @work(thread=True, group="action", exit_on_error=False, description="diff runs")
    def diff(self, newer_id: int, older_id: int) -> None:
        newer, older = self.engine.get_run(newer_id), self.engine.get_run(older_id)
        self.post_message(ShowText(f"Run #{older.id} → #{newer.id}", diff_runs(older, newer)))

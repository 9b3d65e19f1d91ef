"""The job list's rows: what is asked of the engine (`Query`), the rows it holds by position
(`JobPages`) and how one job reads as a row. No widget state lives here."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from textual.message import Message

from jobtui.engine import DaemonStatus, JobStatus, JobSummary
from jobtui.widgets.bars import short_state
from jobtui.widgets.fmt import (
    STATE_ICONS,
    fmt_abs,
    fmt_count,
    fmt_duration,
    fmt_relative,
    inert,
    sparkline,
)
from jobtui.widgets.vtable import Cell, Column, Row

PAGE = 60
# A search counts its matches up to here, then says "1000+" (issue 18: counting all 25k
# jobs a common word matches among 100k cost ~100 ms a keystroke); scrolling near the end
# of what was counted counts further.
SEARCH_CAP = 1000

# Priorities: what an 80-column terminal keeps (lower first); Right scrolls to the rest.
COLUMNS = [
    Column("name", "NAME", 0, min_width=22, pinned=True, ellipsis="middle"),
    Column("workspace", "WORKSPACE", 9, priority=6, ellipsis="middle"),
    Column("status", "STATUS", 12, priority=1),
    Column("schedule", "SCHEDULE", 16, priority=4),
    Column("next_run", "NEXT RUN", 22, priority=2),
    Column("last_run", "LAST RUN", 17, priority=3),
    Column("records", "RECORDS", 7, justify="right", priority=5),
    Column("spark", "RECENT", 8, sortable=False, priority=4),
]
SORTABLE = [c.key for c in COLUMNS if c.sortable]


@dataclass
class Query:
    search: str = ""
    # Several statuses at once, as `jobs list --status a --status b` (issue 20.7); none: all.
    statuses: tuple[JobStatus, ...] = ()
    workspace: str | None = None
    include_system: bool = False
    sort: str = "name"
    descending: bool = False

    @property
    def status(self) -> JobStatus | None:
        """The one status shown (`s` cycles them), or None for all or several."""
        return self.statuses[0] if len(self.statuses) == 1 else None

    @status.setter
    def status(self, value: JobStatus | None) -> None:
        self.statuses = (value,) if value is not None else ()

    def status_words(self, joiner: str) -> str:
        return joiner.join(short_state(s.value) for s in self.statuses)

    def empty_text(self) -> str:
        """What an empty list says: why it is empty, and the way out."""
        if self.search:
            return f"no job matches {inert(self.search)!r} (esc clears)"
        narrowed = [
            f"status {self.status_words(' or ')} (s changes)" if self.statuses else "",
            f"workspace {inert(self.workspace)} (w changes)" if self.workspace else "",
        ]
        if any(narrowed):
            return "no job with " + " and ".join(n for n in narrowed if n)
        return "no jobs: n creates one; from cron? i imports your crontab"

    def list_args(self) -> dict[str, Any]:
        return {
            "search": self.search or None,
            "statuses": [s.value for s in self.statuses] or None,
            "workspace": self.workspace,
            "include_system": self.include_system,
        }

    def summary(self, marked: int) -> str:
        parts = [
            f"status: {self.status_words('+') or 'all'}",
            f"workspace: {self.workspace or 'all'}",
            "system jobs shown" if self.include_system else "",
            f"sort: {self.sort}{' ▼' if self.descending else ' ▲'}",
            f"{marked} marked" if marked else "",
        ]
        return " · ".join(p for p in parts if p)


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


@dataclass
class JobsLoaded(Message):
    """A page of the list (and, with it, the counts and the daemon) came back."""

    generation: int  # the query it answers: older answers are dropped
    offset: int
    jobs: list[JobSummary]
    sparks: dict[int, list[str]]
    total: int | None
    counts: dict[JobStatus, int] | None
    daemon: DaemonStatus | None
    poll: bool
    select_index: int | None = None  # where the job to select is (a job just created)
    capped: bool = False  # a search matched more than the counted cap: total is cap + 1


def job_row(job: JobSummary, spark: list[str], now: float, utc: bool) -> Row:
    status = job.status.value
    cells: list[Cell] = [
        job.name,
        job.workspace,
        (f"{STATE_ICONS.get(status, '')} {short_state(status)}", f"state--{status}"),
        job.schedule_text,
        next_run_cell(job, now, utc),
        last_run_cell(job, now),
        (fmt_count(job.last_run.records) if job.counts_records else "—") if job.last_run else "",
        sparkline(spark, 8),
    ]
    return Row(job.id, cells, dim=not job.active, extra=(job, spark))


def next_run_cell(job: JobSummary, now: float, utc: bool) -> Cell:
    if job.next_fire_at is None:
        return "—" if job.active else "paused"
    relative, moment = fmt_relative(job.next_fire_at, now), fmt_abs(job.next_fire_at, utc, now)
    if job.next_fire_local:  # computed here: nothing fires it until a daemon runs
        # The mark before the time, short: a narrow column keeps it (the time is cut first).
        return [(relative, ""), (" (no daemon)", "vtable--muted"), (f" · {moment}", "")]
    return f"{relative} · {moment}"


def last_run_cell(job: JobSummary, now: float) -> Cell:
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

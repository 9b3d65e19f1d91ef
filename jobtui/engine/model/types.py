"""Model types the facade returns. Plain dataclasses and enums: never database rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    PARTIALLY_SUCCEEDED = "partially_succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    MISSED = "missed"
    SKIPPED = "skipped"
    RETRYING = "retrying"

    @property
    def is_final(self) -> bool:
        return self in FINAL_RUN_STATES

    @property
    def is_active(self) -> bool:
        return self in (RunState.QUEUED, RunState.RUNNING, RunState.CANCELLING)


FINAL_RUN_STATES = frozenset(
    {
        RunState.SUCCEEDED,
        RunState.PARTIALLY_SUCCEEDED,
        RunState.FAILED,
        RunState.CANCELLED,
        RunState.INTERRUPTED,
        RunState.MISSED,
        RunState.SKIPPED,
        RunState.RETRYING,
    }
)


class JobStatus(StrEnum):
    NEVER_RUN = "never_run"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIALLY_SUCCEEDED = "partially_succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"
    EXPIRED = "expired"


class Trigger(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    RETRY = "retry"
    CATCH_UP = "catch_up"
    REPLAY = "replay"


class JobKind(StrEnum):
    DATAGEN = "datagen"
    COMMAND = "command"
    PIPELINE = "pipeline"


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    created_at: datetime
    job_count: int = 0


@dataclass(frozen=True)
class LastRun:
    id: int
    state: RunState
    started_at: datetime | None
    ended_at: datetime | None
    records: int | None

    @property
    def duration(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None


@dataclass(frozen=True)
class JobSummary:
    """One row of the job list: what the list shows, cheap to load."""

    id: int
    name: str
    workspace: str
    kind: JobKind
    description: str
    active: bool
    system: bool
    tags: tuple[str, ...]
    status: JobStatus
    schedule_text: str
    next_fire_at: datetime | None
    timezone: str | None
    version: int
    last_run: LastRun | None
    updated_at: datetime
    # next_fire_at was computed here from the schedule: no daemon is running to fire it
    # (the daemon keeps the stored one; without it, that one is missing or stale).
    next_fire_local: bool = False

    @property
    def counts_records(self) -> bool:
        """Whether records mean anything for its runs (a command job delivers none)."""
        return self.kind != JobKind.COMMAND

    @property
    def qualified_name(self) -> str:
        return f"{self.workspace}/{self.name}"


@dataclass(frozen=True)
class Job(JobSummary):
    """A job with its current spec (the JSON document of DESIGN.md §2)."""

    spec: dict[str, Any] = field(default_factory=dict)
    deleted_at: datetime | None = None
    # Where the next run reads from: the start of the last successful run (`since`), and a
    # pipeline's high-water marks per reader ("0": its source); reset-offset clears both.
    watermark: datetime | None = None
    offsets: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobVersion:
    job_id: int
    version: int
    spec: dict[str, Any]
    note: str
    author: str
    created_at: datetime
    starred: bool


@dataclass(frozen=True)
class RunTask:
    id: int
    run_id: int
    name: str
    state: RunState
    records: int
    total: int | None
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None
    result: str | None = None
    # Records made for the task and handed to its sink; `records` is what it delivered
    # (fewer when the task failed: what its destination keeps).
    generated: int = 0


@dataclass(frozen=True)
class RunTransition:
    """One step of a run's state history (`from_state` None: the run was inserted)."""

    from_state: RunState | None
    to_state: RunState
    at: datetime


@dataclass(frozen=True)
class Run:
    id: int
    job_id: int
    job_name: str
    workspace: str
    job_version: int
    trigger: Trigger
    title: str
    state: RunState
    parameters: dict[str, Any]
    queued_at: datetime
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    heartbeat_at: datetime | None
    pid: int | None
    pgid: int | None
    attempt: int
    records: int
    progress: float | None
    error: str | None
    errors: list[dict[str, Any]]
    results: list[str]
    since: datetime | None
    retry_of: int | None = None  # the attempt this run retries
    retried_as: int | None = None  # the run that retried this attempt
    tasks: list[RunTask] = field(default_factory=list)
    transitions: list[RunTransition] = field(default_factory=list)  # loaded by get_run
    host: str | None = None  # the remote worker's host (celery queues); None: this host
    wait_reason: str | None = None  # why a queued run waits (the broker is unreachable)
    # When its worker began executing the body (after start-up, claim and order read).
    executing_at: datetime | None = None
    job_kind: str | None = None  # datagen, command or pipeline

    @property
    def counts_records(self) -> bool:
        """Whether records mean anything for it (a command run delivers none)."""
        return self.job_kind != JobKind.COMMAND.value

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at
        if end is None:
            return None
        return (end - self.started_at).total_seconds()


# One log line as written: (run id, seq, ts, level, stream, message).
LogRow = tuple[int, int, float, str, str, str]


@dataclass(frozen=True)
class LogLine:
    id: int
    run_id: int
    seq: int  # 1, 2, 3 … within the run: jumping to line N is one index probe
    ts: datetime
    level: str
    stream: str
    message: str


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    builtin: bool
    fields: list[dict[str, Any]]
    workspace: str = "default"

    def to_spec(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "fields": self.fields}


@dataclass(frozen=True)
class SinkPreset:
    name: str
    type: str
    options: dict[str, Any]
    workspace: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DaemonStatus:
    """What clients can tell about the daemon from its lease row and the lock."""

    alive: bool
    responsive: bool
    pid: int | None
    owner: str | None
    epoch: int
    since: datetime | None
    heartbeat_at: datetime | None
    paused: bool
    info: dict[str, Any] = field(default_factory=dict)
    # Why it cannot do its work now, in words (a full disk), or None.
    condition: str | None = None

"""What a run's body (the command runner, the datagen run, replay) works with, whoever
executes it: the frozen order it was given, a reporter to talk back through, and the plain
types of its progress.

These live in the model layer so that the datagen run, which sits below `run/`, can name
them. Nothing here does I/O by itself: the reporter does (SQLite for the local executor; a
remote executor streams the same calls back to the control host).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from jobtui.engine.model.clock import Clock, SystemClock
from jobtui.engine.model.secrets import redact
from jobtui.engine.model.types import LogRow, RunState


@dataclass(frozen=True)
class RunOrder:
    """Everything a run's body needs, read once from the control host's database, so that
    the body runs the same wherever it is sent (JSON-serialisable)."""

    run_id: int
    attempt: int
    job_id: int
    job_name: str
    workspace: str
    job_version: int
    trigger: str
    title: str
    parameters: dict[str, Any]
    options: dict[str, Any]
    since: float | None
    started_at: float
    # The job version's spec as saved, and its datagen sinks with presets resolved (an
    # entry that cannot be resolved is {"error": why}: the run fails with that reason).
    spec: dict[str, Any]
    sinks: list[dict[str, Any]] = field(default_factory=list)
    # The custom datasets the run needs (its own and those they reference), by name;
    # built-in datasets ship with the code.
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A pipeline's stored high-water marks, per reader ("0": the source), from its job.
    offsets: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunOrder:
        return cls(**json.loads(text))


@dataclass
class TaskState:
    id: int
    name: str
    total: int | None = None
    state: str = "queued"
    records: int = 0  # delivered (written, for a task still running)
    generated: int = 0  # made for the task and handed to its sink
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None
    result: str | None = None
    dirty: bool = True


@dataclass
class Outcome:
    state: RunState
    error: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    # A pipeline's high-water marks reached (stored on the job only when the run succeeds).
    offsets: dict[str, Any] | None = None


class Stopped(Exception):
    """Raised inside the run's body when a cancel or the timeout stops it."""


class RunReporter(Protocol):
    """How a run's body talks back to the control host (see run/reporter.py)."""

    run_id: int

    def log_size(self) -> int:
        """The highest log seq already stored for the run."""
        ...

    def write_logs(self, lines: list[LogRow]) -> int:
        """Store a batch of lines; the seq the last one got (others may have written
        lines meanwhile: the batch then goes after theirs)."""
        ...

    def add_task(self, position: int, name: str, total: int | None) -> int:
        """A new task of the run; its id."""
        ...

    def progress(
        self, now: float, records: int, progress: float | None, tasks: list[TaskState]
    ) -> None:
        """Heartbeat, records, progress and the changed tasks, at once."""
        ...

    def record_options(self, options: dict[str, Any]) -> None:
        """The run's options with the settings that won (`effective`)."""
        ...

    def cancel_requested(self) -> bool: ...

    def finish(
        self, now: float, outcome: Outcome, errors: list[dict[str, Any]], results: list[str]
    ) -> None:
        """The run's final state (once; a run that already ended is left alone)."""
        ...


class LogSink(Protocol):
    def write(self, message: str, level: str = "info", stream: str = "engine") -> None: ...

    def info(self, message: str, stream: str = "engine") -> None: ...

    def warning(self, message: str, stream: str = "engine") -> None: ...

    def error(self, message: str, stream: str = "engine") -> None: ...


class RunContext:
    """What the run's body gets: the order's fields, the log, stop and progress."""

    def __init__(
        self,
        order: RunOrder,
        reporter: RunReporter,
        log: LogSink,
        data_dir: Path,
        *,
        grace: float,
        clock: Clock | None = None,
    ):
        self.order = order
        self.reporter = reporter
        self.run_id = order.run_id
        self.job_id = order.job_id
        self.job_name = order.job_name
        self.workspace = order.workspace
        self.trigger = order.trigger
        self.title = order.title
        self.parameters = dict(order.parameters)
        self.options = dict(order.options)
        self.since = order.since
        self.started_at = order.started_at
        self.raw_spec = order.spec
        from jobtui.engine.model.spec import JobSpec

        self.spec = JobSpec.model_validate(order.spec)
        self.data_dir = Path(data_dir)
        self.log = log
        self.grace = grace
        self.clock: Clock = clock or SystemClock()
        self.stop = threading.Event()
        self.stop_reason: str | None = None
        self.lock = threading.Lock()
        self.tasks: list[TaskState] = []
        self.records = 0
        self.total: int | None = None
        # How far the read is (0..1) when it is not records/total: a file reader's bytes
        # read of the bytes to read. None, or returning None: no ETA ("unknown").
        self.fraction: Callable[[], float | None] | None = None
        self.results: list[str] = []
        self.errors: list[dict[str, Any]] = []

    def now(self) -> float:
        return self.clock.now()

    # -- stopping -----------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self.stop.set()

    def check(self) -> None:
        if self.stop.is_set():
            raise Stopped(self.stop_reason or "cancelled")

    # -- progress -------------------------------------------------------------------
    def add_task(self, name: str, total: int | None = None) -> TaskState:
        task_id = self.reporter.add_task(len(self.tasks), name, total)
        task = TaskState(id=task_id, name=name, total=total, dirty=False)
        with self.lock:
            self.tasks.append(task)
        return task

    def update_task(self, task: TaskState, **changes: Any) -> None:
        for key in ("error", "result"):
            if isinstance(changes.get(key), str):
                changes[key] = redact(changes[key])
        with self.lock:
            for key, value in changes.items():
                setattr(task, key, value)
            if changes.get("state") == "running" and task.started_at is None:
                task.started_at = self.now()
            if changes.get("state") in ("succeeded", "failed", "cancelled"):
                task.ended_at = self.now()
            task.dirty = True

    def add_records(self, n: int) -> None:
        with self.lock:
            self.records += n

    def add_error(self, message: str, detail: str | None = None, task: str | None = None) -> None:
        error: dict[str, Any] = {"message": redact(message), "at": self.now()}
        if task:
            error["task"] = task
        if detail:
            error["traceback"] = redact(detail)
        with self.lock:
            self.errors.append(error)

    def write_progress(self) -> None:
        """Heartbeat, records, progress and changed tasks in one report."""
        with self.lock:
            records = self.records
            progress = min(1.0, records / self.total) if self.total else None
            dirty = [t for t in self.tasks if t.dirty]
            changed = [TaskState(**{**t.__dict__}) for t in dirty]
            for t in dirty:
                t.dirty = False
        if progress is None and self.fraction is not None:
            progress = self.fraction()
        self.reporter.progress(self.now(), records, progress, changed)

    def record_options(self, options: dict[str, Any]) -> None:
        self.reporter.record_options(options)

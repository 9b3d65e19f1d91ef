"""The jobtui engine: storage, specs, runs, schedules. Never imports textual or rich."""

from jobtui.engine.clock import Clock, ManualClock, SystemClock
from jobtui.engine.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    JobtuiError,
    NotFound,
    SpecError,
    StorageError,
)
from jobtui.engine.facade import Engine
from jobtui.engine.models import (
    DaemonStatus,
    Dataset,
    Job,
    JobKind,
    JobStatus,
    JobSummary,
    JobVersion,
    LastRun,
    LogLine,
    Run,
    RunState,
    RunTask,
    SinkPreset,
    Trigger,
    Workspace,
)
from jobtui.engine.schedules import Fire

__all__ = [
    "Clock",
    "Conflict",
    "DaemonStatus",
    "Dataset",
    "Engine",
    "FieldError",
    "Fire",
    "InvalidInput",
    "Job",
    "JobKind",
    "JobStatus",
    "JobSummary",
    "JobVersion",
    "JobtuiError",
    "LastRun",
    "LogLine",
    "ManualClock",
    "NotFound",
    "Run",
    "RunState",
    "RunTask",
    "SinkPreset",
    "SpecError",
    "StorageError",
    "SystemClock",
    "Trigger",
    "Workspace",
]

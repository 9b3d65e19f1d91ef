"""The jobtui engine: storage, specs, runs, schedules. Never imports textual or rich.

The names below load on first use (PEP 562), so a process that needs one submodule (a
generating helper imports only `datagen`) does not pay for the whole engine (~0.25 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobtui.engine.clock import (
        Clock,
        ManualClock,
        SystemClock,
    )
    from jobtui.engine.errors import (
        Conflict,
        FieldError,
        InvalidInput,
        JobtuiError,
        NotFound,
        SpecError,
        StorageError,
    )
    from jobtui.engine.facade import (
        Engine,
    )
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
    from jobtui.engine.schedules import (
        Fire,
    )

_HOME = {
    "Clock": "jobtui.engine.clock",
    "ManualClock": "jobtui.engine.clock",
    "SystemClock": "jobtui.engine.clock",
    "Conflict": "jobtui.engine.errors",
    "FieldError": "jobtui.engine.errors",
    "InvalidInput": "jobtui.engine.errors",
    "JobtuiError": "jobtui.engine.errors",
    "NotFound": "jobtui.engine.errors",
    "SpecError": "jobtui.engine.errors",
    "StorageError": "jobtui.engine.errors",
    "Engine": "jobtui.engine.facade",
    "DaemonStatus": "jobtui.engine.models",
    "Dataset": "jobtui.engine.models",
    "Job": "jobtui.engine.models",
    "JobKind": "jobtui.engine.models",
    "JobStatus": "jobtui.engine.models",
    "JobSummary": "jobtui.engine.models",
    "JobVersion": "jobtui.engine.models",
    "LastRun": "jobtui.engine.models",
    "LogLine": "jobtui.engine.models",
    "Run": "jobtui.engine.models",
    "RunState": "jobtui.engine.models",
    "RunTask": "jobtui.engine.models",
    "SinkPreset": "jobtui.engine.models",
    "Trigger": "jobtui.engine.models",
    "Workspace": "jobtui.engine.models",
    "Fire": "jobtui.engine.schedules",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'jobtui.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value

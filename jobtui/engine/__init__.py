"""The jobtui engine: the one door (`Engine`) for screens, the CLI, tests and Python users,
plus the model types and option schemas they may name. Never imports textual or rich.

The names below load on first use (PEP 562), so a process that needs one submodule (a
generating helper imports only `datagen`) does not pay for the whole engine (~0.25 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobtui.engine.datagen.fields import (
        FIELD_MODELS,
    )
    from jobtui.engine.facade import (
        Engine,
    )
    from jobtui.engine.model.clock import (
        Clock,
        ManualClock,
        SystemClock,
        to_datetime,
    )
    from jobtui.engine.model.crontab import (
        CrontabEntry,
        CrontabPlan,
        CrontabRefusal,
    )
    from jobtui.engine.model.durations import (
        format_duration,
        parse_duration,
    )
    from jobtui.engine.model.errors import (
        Conflict,
        FieldError,
        InvalidInput,
        JobtuiError,
        NotFound,
        SpecError,
        StorageError,
    )
    from jobtui.engine.model.formats import (
        FORMAT_LABELS,
        FORMAT_OPTIONS,
    )
    from jobtui.engine.model.pipeline import (
        READER_OPTIONS,
        SOURCE_READERS,
        TRANSFORMER_OPTIONS,
        PipelineSpec,
    )
    from jobtui.engine.model.policies import (
        Alerts,
        Policies,
    )
    from jobtui.engine.model.schedules import (
        SCHEDULE_TYPES,
        ScheduleBase,
    )
    from jobtui.engine.model.secrets import (
        mask_secrets,
    )
    from jobtui.engine.model.shape import (
        json_nesting_problem,
        shape_problem,
    )
    from jobtui.engine.model.sinks import (
        SINK_OPTIONS,
    )
    from jobtui.engine.model.spec import (
        CommandSpec,
        DatagenSpec,
        JobSpec,
        timezones,
    )
    from jobtui.engine.model.types import (
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
    from jobtui.engine.run.adhoc import (
        AdhocResult,
    )
    from jobtui.engine.run.logs import (
        LineFormatter,
        levels_at_least,
    )
    from jobtui.engine.schedule.rules import (
        Fire,
        describe_schedule,
        local_zone_name,
    )

_HOME = {
    "Clock": "jobtui.engine.model.clock",
    "ManualClock": "jobtui.engine.model.clock",
    "SystemClock": "jobtui.engine.model.clock",
    "to_datetime": "jobtui.engine.model.clock",
    "Conflict": "jobtui.engine.model.errors",
    "FieldError": "jobtui.engine.model.errors",
    "InvalidInput": "jobtui.engine.model.errors",
    "JobtuiError": "jobtui.engine.model.errors",
    "NotFound": "jobtui.engine.model.errors",
    "SpecError": "jobtui.engine.model.errors",
    "StorageError": "jobtui.engine.model.errors",
    "Engine": "jobtui.engine.facade",
    "CrontabEntry": "jobtui.engine.model.crontab",
    "CrontabPlan": "jobtui.engine.model.crontab",
    "CrontabRefusal": "jobtui.engine.model.crontab",
    "AdhocResult": "jobtui.engine.run.adhoc",
    "DaemonStatus": "jobtui.engine.model.types",
    "Dataset": "jobtui.engine.model.types",
    "Job": "jobtui.engine.model.types",
    "JobKind": "jobtui.engine.model.types",
    "JobStatus": "jobtui.engine.model.types",
    "JobSummary": "jobtui.engine.model.types",
    "JobVersion": "jobtui.engine.model.types",
    "LastRun": "jobtui.engine.model.types",
    "LogLine": "jobtui.engine.model.types",
    "Run": "jobtui.engine.model.types",
    "RunState": "jobtui.engine.model.types",
    "RunTask": "jobtui.engine.model.types",
    "SinkPreset": "jobtui.engine.model.types",
    "Trigger": "jobtui.engine.model.types",
    "Workspace": "jobtui.engine.model.types",
    "Fire": "jobtui.engine.schedule.rules",
    "describe_schedule": "jobtui.engine.schedule.rules",
    "local_zone_name": "jobtui.engine.schedule.rules",
    "format_duration": "jobtui.engine.model.durations",
    "parse_duration": "jobtui.engine.model.durations",
    "mask_secrets": "jobtui.engine.model.secrets",
    "FORMAT_LABELS": "jobtui.engine.model.formats",
    "FORMAT_OPTIONS": "jobtui.engine.model.formats",
    "SINK_OPTIONS": "jobtui.engine.model.sinks",
    "READER_OPTIONS": "jobtui.engine.model.pipeline",
    "SOURCE_READERS": "jobtui.engine.model.pipeline",
    "TRANSFORMER_OPTIONS": "jobtui.engine.model.pipeline",
    "PipelineSpec": "jobtui.engine.model.pipeline",
    "SCHEDULE_TYPES": "jobtui.engine.model.schedules",
    "Alerts": "jobtui.engine.model.policies",
    "CommandSpec": "jobtui.engine.model.spec",
    "DatagenSpec": "jobtui.engine.model.spec",
    "JobSpec": "jobtui.engine.model.spec",
    "Policies": "jobtui.engine.model.policies",
    "ScheduleBase": "jobtui.engine.model.schedules",
    "json_nesting_problem": "jobtui.engine.model.shape",
    "shape_problem": "jobtui.engine.model.shape",
    "timezones": "jobtui.engine.model.spec",
    "FIELD_MODELS": "jobtui.engine.datagen.fields",
    "LineFormatter": "jobtui.engine.run.logs",
    "levels_at_least": "jobtui.engine.run.logs",
}

__all__ = [
    "FIELD_MODELS",
    "FORMAT_LABELS",
    "FORMAT_OPTIONS",
    "READER_OPTIONS",
    "SCHEDULE_TYPES",
    "SINK_OPTIONS",
    "SOURCE_READERS",
    "TRANSFORMER_OPTIONS",
    "AdhocResult",
    "Alerts",
    "Clock",
    "CommandSpec",
    "Conflict",
    "CrontabEntry",
    "CrontabPlan",
    "CrontabRefusal",
    "DaemonStatus",
    "DatagenSpec",
    "Dataset",
    "Engine",
    "FieldError",
    "Fire",
    "InvalidInput",
    "Job",
    "JobKind",
    "JobSpec",
    "JobStatus",
    "JobSummary",
    "JobVersion",
    "JobtuiError",
    "LastRun",
    "LineFormatter",
    "LogLine",
    "ManualClock",
    "NotFound",
    "PipelineSpec",
    "Policies",
    "Run",
    "RunState",
    "RunTask",
    "ScheduleBase",
    "SinkPreset",
    "SpecError",
    "StorageError",
    "SystemClock",
    "Trigger",
    "Workspace",
    "describe_schedule",
    "format_duration",
    "json_nesting_problem",
    "levels_at_least",
    "local_zone_name",
    "mask_secrets",
    "parse_duration",
    "shape_problem",
    "timezones",
    "to_datetime",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'jobtui.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value

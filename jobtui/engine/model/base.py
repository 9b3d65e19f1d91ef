"""What every part of the job spec shares: the strict model base, names, durations,
time zones, dates and times as text."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
)

from jobtui.engine.model.durations import parse_duration
from jobtui.engine.model.shape import (
    MAX_TOKEN_CHARS,
    brief,
)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALERT_STATES = (
    "succeeded",
    "partially_succeeded",
    "failed",
    "cancelled",
    "interrupted",
    "missed",
    "skipped",
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _duration(value: Any) -> Any:
    if value is None:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if not isinstance(value, str):
        raise ValueError("must be a duration such as 90s, 5m or 1h30m")
    if len(value) > MAX_TOKEN_CHARS:
        raise ValueError(f"{brief(value)} is not a duration (use forms like 90s, 5m, 1h30m)")
    if not math.isfinite(parse_duration(value)):
        raise ValueError(f"{brief(value)} is not a duration (use forms like 90s, 5m, 1h30m)")
    return value


def _positive_duration(value: Any) -> Any:
    _duration(value)
    if value is not None and parse_duration(value) <= 0:
        raise ValueError("must be longer than zero")
    return value


def _timezone(value: str | None) -> str | None:
    if value is None:
        return value
    unknown = f"unknown timezone {brief(value)} (use an IANA name like Europe/Paris)"
    if len(value) > MAX_TOKEN_CHARS:
        raise ValueError(unknown)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name the file system refuses (too long, a directory); its message
        # would show where the zone files are installed.
        raise ValueError(unknown) from None
    return value


def _datetime_text(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{brief(value)} is not a date-time (use 2026-12-01T08:00)") from None
    return value


def _date_text(value: str) -> str:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{brief(value)} is not a date (use 2026-12-01)") from None
    return value


def _time_text(value: str) -> str:
    try:
        time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{brief(value)} is not a time of day (use 08:00)") from None
    return value


def _not_a_flag(value: Any) -> Any:
    # Checked before the number types see it: they would take true for 1 second.
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 90s, 5m or 1h30m")
    return value


Duration = Annotated[str | int | float, BeforeValidator(_not_a_flag), AfterValidator(_duration)]
PositiveDuration = Annotated[
    str | int | float, BeforeValidator(_not_a_flag), AfterValidator(_positive_duration)
]
TimezoneName = Annotated[str, AfterValidator(_timezone)]
DateTimeText = Annotated[str, AfterValidator(_datetime_text)]
DateText = Annotated[str, AfterValidator(_date_text)]
TimeText = Annotated[str, AfterValidator(_time_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- schedules ---------------------------------------------------------------

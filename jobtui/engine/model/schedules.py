"""The schedule part of the job spec: one model per schedule type."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from jobtui.engine.model.base import (
    WEEKDAYS,
    DateText,
    DateTimeText,
    PositiveDuration,
    Strict,
    TimeText,
    TimezoneName,
    Weekday,
)
from jobtui.engine.model.cron import CronError, parse_cron
from jobtui.engine.model.durations import parse_duration
from jobtui.engine.model.shape import (
    MAX_TOKEN_CHARS,
)


class ScheduleBase(Strict):
    timezone: TimezoneName | None = None
    start: DateTimeText | None = None
    end: DateTimeText | None = None
    max_runs: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _start_before_end(self) -> ScheduleBase:
        if (
            self.start
            and self.end
            and datetime.fromisoformat(self.end) <= datetime.fromisoformat(self.start)
        ):
            raise ValueError("end: must be after start")
        return self


class OnceSchedule(ScheduleBase):
    type: Literal["once"]
    at: DateTimeText | None = None
    expires: PositiveDuration | None = None
    retry_every: PositiveDuration | None = None


class CronSchedule(ScheduleBase):
    type: Literal["cron"]
    cron: str

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value) > MAX_TOKEN_CHARS:
            raise ValueError(f"is {len(value):,} characters long; a cron expression is short")
        try:
            parse_cron(value)
        except CronError as exc:
            raise ValueError(str(exc)) from None
        return value


class IntervalSchedule(ScheduleBase):
    type: Literal["interval"]
    every: PositiveDuration


class RandomSchedule(ScheduleBase):
    type: Literal["random"]
    min_delay: PositiveDuration
    max_delay: PositiveDuration

    @model_validator(mode="after")
    def _order(self) -> RandomSchedule:
        if parse_duration(self.max_delay) < parse_duration(self.min_delay):
            raise ValueError("max_delay: must not be shorter than min_delay")
        return self


class WindowSchedule(ScheduleBase):
    type: Literal["window"]
    from_date: DateText | None = None
    to_date: DateText | None = None
    from_time: TimeText = "00:00"
    to_time: TimeText = "23:59"
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    retry_every: PositiveDuration | None = None

    @model_validator(mode="after")
    def _order(self) -> WindowSchedule:
        if self.from_date and self.to_date and self.to_date < self.from_date:
            raise ValueError("to_date: must not be before from_date")
        if time.fromisoformat(self.to_time) <= time.fromisoformat(self.from_time):
            raise ValueError("to_time: must be after from_time")
        return self


Schedule = OnceSchedule | CronSchedule | IntervalSchedule | RandomSchedule | WindowSchedule
SCHEDULE_TYPES: dict[str, type[ScheduleBase]] = {
    "once": OnceSchedule,
    "cron": CronSchedule,
    "interval": IntervalSchedule,
    "random": RandomSchedule,
    "window": WindowSchedule,
}


# -- policies and alerts -------------------------------------------------------

"""An injectable clock: tests drive time, production reads the wall clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float | datetime = 1_800_000_000.0):
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)

    def now(self) -> float:
        return self._now

    def set(self, value: float | datetime) -> None:
        self._now = value.timestamp() if isinstance(value, datetime) else float(value)

    def advance(self, seconds: float) -> None:
        self._now += seconds


def to_datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)

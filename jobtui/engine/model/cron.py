"""Cron expressions: 5-field Unix and 6/7-field Quartz (seconds first), checked field by field.

Quartz numbers weekdays 1-7 from Sunday; croniter numbers them 0-6 from Sunday, so a
Quartz weekday field is shifted by one before it reaches croniter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_UNIX_FIELDS = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
]
_QUARTZ_FIELDS = [
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 1, 7),
    ("year", 1970, 2099),
]
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(ValueError):
    """A cron expression croniter cannot honour, with the reason in words."""


@dataclass(frozen=True)
class CronExpression:
    text: str  # as the user wrote it
    croniter_text: str  # what croniter is given
    has_seconds: bool

    def iter(self, start: datetime) -> Any:
        from croniter import croniter

        return croniter(self.croniter_text, start, second_at_beginning=self.has_seconds)


def _check_number(token: str, name: str, low: int, high: int) -> None:
    if not token.isdigit():
        return
    value = int(token)
    if not low <= value <= high:
        raise CronError(f"{name} {value} is out of range {low}-{high}")


def _check_field(text: str, name: str, low: int, high: int, quartz: bool) -> None:
    if text == "":
        raise CronError(f"{name} is empty")
    for part in text.split(","):
        if part in ("*", "?"):
            if part == "?" and name not in ("day of month", "day of week"):
                raise CronError(f"'?' is only allowed in day of month or day of week, not {name}")
            continue
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise CronError(f"{name} step {step!r} must be a positive whole number")
        if base in ("*", "?"):
            continue
        if "W" in base.upper() and name == "day of month" and base.upper() != "LW":
            day = base.upper().rstrip("W")
            if not day.isdigit():
                raise CronError(f"{name} {base!r}: 'W' needs a day number, like 15W")
            _check_number(day, name, low, high)
            continue
        if "#" in base:
            day, _, nth = base.partition("#")
            if name != "day of week":
                raise CronError(f"'#' is only allowed in day of week, not {name}")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise CronError(f"day of week {base!r}: the week number after '#' must be 1-5")
            if day.upper() not in _DAYS:
                _check_number(day, name, low, high)
                if not day.isdigit():
                    raise CronError(f"day of week {base!r} is not a weekday")
            continue
        if base.upper() in ("L", "LW") or (base.upper().endswith("L") and name == "day of week"):
            if name not in ("day of month", "day of week"):
                raise CronError(f"'L' is only allowed in day of month or day of week, not {name}")
            _check_number(base[:-1], name, low, high)
            continue
        for bound in base.split("-"):
            upper = bound.upper()
            if name == "month" and upper in _MONTHS:
                continue
            if name == "day of week" and upper in _DAYS:
                continue
            if not bound.isdigit():
                raise CronError(
                    f"{name} {bound!r} is not a number"
                    + (" or a name" if name in ("month", "day of week") else "")
                )
            _check_number(bound, name, low, high)


_NUMBER = re.compile(r"\d+")


def _shift_quartz_weekdays(field: str) -> str:
    """Quartz 1-7 (Sunday = 1) to croniter 0-6 (Sunday = 0); the number after '#' stays."""
    out = []
    for part in field.split(","):
        base, slash, step = part.partition("/")
        day, hash_, nth = base.partition("#")
        day = _NUMBER.sub(lambda m: str(int(m.group()) - 1), day)
        out.append(day + hash_ + nth + slash + step)
    return ",".join(out)


def parse_cron(expr: str) -> CronExpression:
    """Check a 5-field Unix or a 6/7-field Quartz expression; raise CronError with a reason."""
    if not isinstance(expr, str) or not expr.strip():
        raise CronError("must not be empty")
    text = " ".join(expr.split())
    text_for_check = _ALIASES.get(text.lower(), text)
    fields = text_for_check.split(" ")
    if len(fields) == 5:
        spec, quartz = _UNIX_FIELDS, False
    elif len(fields) in (6, 7):
        spec, quartz = _QUARTZ_FIELDS[: len(fields)], True
    else:
        raise CronError(
            f"has {len(fields)} fields; use 5 (minute hour day month weekday) or 6-7 "
            "(Quartz: second minute hour day month weekday [year])"
        )
    for value, (name, low, high) in zip(fields, spec, strict=True):
        _check_field(value, name, low, high, quartz)
    if quartz:
        fields = list(fields)
        fields[5] = _shift_quartz_weekdays(fields[5])
    croniter_text = " ".join(fields)
    from croniter import croniter

    try:
        valid = croniter.is_valid(croniter_text, second_at_beginning=quartz)
    except Exception:  # croniter raises assorted errors on odd input
        valid = False
    if not valid:
        raise CronError(f"{text!r} is not an expression croniter can honour")
    return CronExpression(text=text, croniter_text=croniter_text, has_seconds=quartz)


def describe_cron(expr: str) -> str:
    """The expression in plain words (cron-descriptor), or the expression itself."""
    try:
        parsed = parse_cron(expr)
    except CronError:
        return expr
    try:
        from cron_descriptor import Options, get_description

        options = Options()
        options.use_24hour_time_format = True
        # cron-descriptor reads 6/7 fields as seconds-first already; Quartz weekdays start at 1.
        options.day_of_week_start_index_zero = not parsed.has_seconds
        text = _ALIASES.get(parsed.text.lower(), parsed.text)
        return str(get_description(text, options))
    except Exception:
        return parsed.text

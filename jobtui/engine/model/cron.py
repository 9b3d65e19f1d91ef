"""Cron expressions: 5-field Unix and 6/7-field Quartz (seconds first), checked field by field.

croniter expands the ordinary field syntax (numbers, names, ranges, steps); the Quartz day
forms croniter lacks or mixes badly (`L`, `L-n`, `LW`, `nW`, `n#k`, `nL`), the rule that a
day matches when EITHER restricted day field matches (Vixie cron), and the walk from one
matching wall time to the next are evaluated here. Time zones are not: a `CronExpression`
only knows naive wall times; the schedule rules map them to instants.

Quartz numbers weekdays 1-7 from Sunday; Unix 0-7 (0 and 7 are Sunday). Both are turned
into 0-6 from Sunday before anything is evaluated.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

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
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
LAST_YEAR = 2099  # croniter's and jobtui's horizon (schedules end before 2100)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY = 86_400

# The Quartz day forms, once upper-cased. `L` alone in day of week is Saturday (Quartz).
_DOM_LAST = re.compile(r"L(?:-(\d+))?(W?)", re.ASCII)  # L, L-3, LW, L-3W
_DOM_NEAREST = re.compile(r"(\d+)W", re.ASCII)  # 15W
_DOW_NTH = re.compile(r"(\d+|[A-Z]{3})#(\d+)", re.ASCII)  # 6#3, FRI#3
_DOW_LAST = re.compile(r"(\d+|[A-Z]{3})L", re.ASCII)  # 6L, FRIL
_SYNTAX = re.compile(r"[0-9A-Za-z*?/,#-]*", re.ASCII)


class CronError(ValueError):
    """A cron expression jobtui cannot honour, with the reason in words."""


def _is_number(token: str) -> bool:
    # str.isdigit() is True for '²' and '٣'; only ASCII digits are cron digits.
    return token.isascii() and token.isdigit()


def _check_number(token: str, name: str, low: int, high: int) -> None:
    if not _is_number(token):
        return
    value = int(token)
    if not low <= value <= high:
        raise CronError(f"{name} {value} is out of range {low}-{high}")


@dataclass(frozen=True)
class _DayRule:
    """The day of month and day of week fields, 0 = Sunday, evaluated per month."""

    dom_days: frozenset[int]  # plain days of month
    dom_last: frozenset[int]  # L-n: n days before the last (L: 0)
    dom_nearest: frozenset[int]  # nW: the weekday nearest day n
    dom_last_nearest: frozenset[int]  # L-nW: the weekday nearest (last - n) (LW: 0)
    dom_restricted: bool  # the field does not start with `*` or `?`
    dow_days: frozenset[int]  # plain weekdays
    dow_nth: frozenset[tuple[int, int]]  # (weekday, k): the k-th such weekday of the month
    dow_last: frozenset[int]  # the last such weekday of the month
    dow_restricted: bool

    def days_of(self, year: int, month: int) -> tuple[int, ...]:
        length = calendar.monthrange(year, month)[1]
        first = (date(year, month, 1).weekday() + 1) % 7  # 0 = Sunday

        def weekday(day: int) -> int:
            return (first + day - 1) % 7

        def nearest_weekday(day: int) -> int:
            # Quartz: never into another month. Saturday the 1st -> Monday the 3rd;
            # Sunday the last -> Friday before it.
            wd = weekday(day)
            if wd == 6:
                return day + 2 if day == 1 else day - 1
            if wd == 0:
                return day - 2 if day == length else day + 1
            return day

        by_dom = {d for d in self.dom_days if d <= length}
        by_dom.update(length - n for n in self.dom_last if length - n >= 1)
        by_dom.update(nearest_weekday(d) for d in self.dom_nearest if d <= length)
        by_dom.update(nearest_weekday(length - n) for n in self.dom_last_nearest if length - n >= 1)
        by_dow = {
            day
            for day in range(1, length + 1)
            if weekday(day) in self.dow_days
            or (weekday(day), (day - 1) // 7 + 1) in self.dow_nth
            or (weekday(day) in self.dow_last and day + 7 > length)
        }
        # Vixie cron: when both fields restrict, either may match; otherwise both must.
        days = by_dom | by_dow if self.dom_restricted and self.dow_restricted else by_dom & by_dow
        return tuple(sorted(days))


@dataclass(frozen=True)
class CronExpression:
    """A checked expression. Walls are naive local times as whole seconds since
    1970-01-01 00:00 (no zone: the schedule rules map them to instants)."""

    text: str  # as the user wrote it
    croniter_text: str  # the ordinary part croniter expands (weekdays 0-6 from Sunday)
    has_seconds: bool
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: tuple[int, ...] | None
    days: _DayRule
    # Fires more than once within an hour or a day: a `*`, range or step in the second,
    # minute or hour field (`0 * * * *`, `*/5 * * * *`), unlike a fixed time (`30 1 * * *`,
    # `0 15,45 1 * *`). Decides whether the repeated autumn hour fires twice.
    repeating: bool
    _months_cache: dict[tuple[int, int], tuple[int, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def _days_of(self, year: int, month: int) -> tuple[int, ...]:
        key = (year, month)
        days = self._months_cache.get(key)
        if days is None:
            if len(self._months_cache) > 600:
                self._months_cache.clear()
            days = self._months_cache[key] = self.days.days_of(year, month)
        return days

    def next_date(self, day: date) -> date | None:
        """The first date on or after `day` that the day, month and year fields allow."""
        y, m, d = day.year, day.month, day.day
        while y <= LAST_YEAR:
            if self.years is not None and y not in self.years:
                i = bisect_right(self.years, y)
                if i == len(self.years):
                    return None
                y, m, d = self.years[i], 1, 1
                continue
            if m in self.months:
                days = self._days_of(y, m)
                i = bisect_left(days, d)
                if i < len(days):
                    return date(y, m, days[i])
            m, d = m + 1, 1
            if m > 12:
                y, m = y + 1, 1
        return None

    def _time_at_or_after(self, sod: int) -> int | None:
        """The first matching second of the day at or after `sod`, or None."""
        h, rest = divmod(sod, 3600)
        m, s = divmod(rest, 60)
        hours, minutes, seconds = self.hours, self.minutes, self.seconds
        i = bisect_left(hours, h)
        if i < len(hours) and hours[i] == h:
            j = bisect_left(minutes, m)
            if j < len(minutes) and minutes[j] == m:
                k = bisect_left(seconds, s)
                if k < len(seconds):
                    return h * 3600 + m * 60 + seconds[k]
                j += 1
            if j < len(minutes):
                return h * 3600 + minutes[j] * 60 + seconds[0]
            i += 1
        if i < len(hours):
            return hours[i] * 3600 + minutes[0] * 60 + seconds[0]
        return None

    def next_wall(self, wall: int) -> int | None:
        """The first matching wall time at or after `wall` (None past 2099)."""
        days, sod = divmod(wall, _DAY)
        day = date.fromordinal(_EPOCH_ORDINAL + days)
        tod = self._time_at_or_after(sod)
        if tod is None:
            day = date.fromordinal(day.toordinal() + 1)
            tod = self._time_at_or_after(0)
        found = self.next_date(day)
        if found is None or tod is None:
            return None
        if found != day:
            tod = self.hours[0] * 3600 + self.minutes[0] * 60 + self.seconds[0]
        return (found.toordinal() - _EPOCH_ORDINAL) * _DAY + tod

    def matches_wall(self, wall: int) -> bool:
        return self.next_wall(wall) == wall


def _weekday_number(token: str, name: str, low: int, high: int, quartz: bool) -> int:
    """A weekday (number in the field's numbering, or a name) as 0-6 from Sunday."""
    if token in _DAYS:
        return _DAYS.index(token)
    if not _is_number(token):
        raise CronError(f"{name} {token!r} is not a weekday")
    _check_number(token, name, low, high)
    value = int(token)
    return value - 1 if quartz else value % 7


def _check_plain(part: str, name: str, low: int, high: int) -> None:
    """`*`, `?`, a number or name, a range, each with an optional step."""
    base, slash, step = part.partition("/")
    if slash:
        if not _is_number(step) or int(step) == 0:
            raise CronError(f"{name} step {step!r} must be a positive whole number")
        if int(step) > high - low:
            raise CronError(
                f"{name} step {int(step)} is larger than the field's range {low}-{high}"
            )
    if base in ("*", "?"):
        if base == "?" and name not in ("day of month", "day of week"):
            raise CronError(f"'?' is only allowed in day of month or day of week, not {name}")
        return
    bounds = base.split("-")
    if len(bounds) > 2:
        raise CronError(f"{name} {base!r} is not a range (write it as low-high)")
    for bound in bounds:
        if name == "month" and bound in _MONTHS:
            continue
        if name == "day of week" and bound in _DAYS:
            continue
        if not _is_number(bound):
            raise CronError(
                f"{name} {bound!r} is not a number"
                + (" or a name" if name in ("month", "day of week") else "")
            )
        _check_number(bound, name, low, high)


_NUMBER = re.compile(r"\d+", re.ASCII)


def _shift_quartz_weekdays(part: str) -> str:
    """Quartz 1-7 (Sunday = 1) to croniter 0-6 (Sunday = 0); a step stays."""
    base, slash, step = part.partition("/")
    return _NUMBER.sub(lambda m: str(int(m.group()) - 1), base) + slash + step


@dataclass
class _DayParts:
    plain: list[str] = field(default_factory=list)
    last: set[int] = field(default_factory=set)
    nearest: set[int] = field(default_factory=set)
    last_nearest: set[int] = field(default_factory=set)
    nth: set[tuple[int, int]] = field(default_factory=set)
    last_weekday: set[int] = field(default_factory=set)


def _split_field(text: str, name: str, low: int, high: int, quartz: bool) -> _DayParts:
    """Check one field; for the day fields, set the Quartz forms apart from the plain parts."""
    if text == "":
        raise CronError(f"{name} is empty")
    if not text.isascii() or not _SYNTAX.fullmatch(text):
        bad = next(c for c in text if not (c.isascii() and _SYNTAX.fullmatch(c)))
        raise CronError(
            f"{name} {text!r}: {bad!r} is not allowed (ASCII digits, names and , - * / ? "
            "L W # only)"
        )
    parts = _DayParts()
    for part in text.upper().split(","):
        if part == "":
            raise CronError(f"{name} {text!r} has an empty list item")
        if name == "day of month" and _day_of_month_form(part, parts, low, high):
            continue
        if name == "day of week" and _day_of_week_form(part, parts, low, high, quartz):
            continue
        # Month and weekday names hold L and W (JUL, WED); what is left must be plain.
        bare = _NAMES.sub("", part)
        if "#" in bare:
            if name != "day of week":
                raise CronError(f"'#' is only allowed in day of week, not {name}")
            raise CronError(f"day of week {part!r}: '#' follows one weekday, like 6#3")
        if "L" in bare:
            if name == "day of month":
                raise CronError(
                    f"day of month {part!r}: 'L' is the last day (L, L-3, LW, L-3W); "
                    "it takes no range, list or step"
                )
            if name == "day of week":
                raise CronError(
                    f"day of week {part!r}: 'L' follows one weekday, like 6L or FRIL; "
                    "it takes no range or step"
                )
            raise CronError(f"'L' is only allowed in day of month or day of week, not {name}")
        if "W" in bare:
            if name == "day of month":
                raise CronError(f"day of month {part!r}: 'W' follows one day, like 15W, LW or L-2W")
            raise CronError(f"'W' is only allowed in day of month, not {name}")
        _check_plain(part, name, low, high)
        parts.plain.append(part)
    return parts


_NAMES = re.compile("|".join([*_MONTHS, *_DAYS]))


def _day_of_month_form(part: str, parts: _DayParts, low: int, high: int) -> bool:
    """`L`, `L-n`, `LW`, `L-nW`, `nW`: recorded in `parts`; False for anything else."""
    last = _DOM_LAST.fullmatch(part)
    if last:
        offset = _last_offset(last.group(1), part)
        (parts.last_nearest if last.group(2) else parts.last).add(offset)
        return True
    nearest = _DOM_NEAREST.fullmatch(part)
    if nearest:
        _check_number(nearest.group(1), "day of month", low, high)
        parts.nearest.add(int(nearest.group(1)))
        return True
    return False


def _day_of_week_form(part: str, parts: _DayParts, low: int, high: int, quartz: bool) -> bool:
    """`n#k`, `nL`, `L` (Saturday, as in Quartz): recorded in `parts`; False otherwise."""
    name = "day of week"
    nth = _DOW_NTH.fullmatch(part)
    if nth:
        week = nth.group(2)
        if not 1 <= int(week) <= 5:
            raise CronError(f"day of week {part!r}: the week number after '#' must be 1-5")
        parts.nth.add((_weekday_number(nth.group(1), name, low, high, quartz), int(week)))
        return True
    if part == "L":
        parts.plain.append("7" if quartz else "6")
        return True
    if re.fullmatch(r"L\d+", part, re.ASCII):
        raise CronError(
            f"day of week {part!r}: write the last such weekday of the month as "
            f"{part[1:]}L (the weekday, then L)"
        )
    last = _DOW_LAST.fullmatch(part)
    if last:
        parts.last_weekday.add(_weekday_number(last.group(1), name, low, high, quartz))
        return True
    return False


def _last_offset(offset: str | None, part: str) -> int:
    if offset is None:
        return 0
    if not 0 <= int(offset) <= 30:
        raise CronError(f"day of month {part!r}: the offset after 'L-' must be 0-30")
    return int(offset)


def _expanded(values: list[int | str], low: int, high: int) -> tuple[int, ...]:
    if values == ["*"]:
        return tuple(range(low, high + 1))
    return tuple(sorted({int(v) for v in values}))


@lru_cache(maxsize=4096)
def parse_cron(expr: str) -> CronExpression:
    """Check a 5-field Unix or a 6/7-field Quartz expression; raise CronError with a reason."""
    if not isinstance(expr, str) or not expr.strip():
        raise CronError("must not be empty")
    text = " ".join(expr.split())
    fields = _ALIASES.get(text.lower(), text).split(" ")
    if len(fields) == 5:
        spec, quartz = _UNIX_FIELDS, False
    elif len(fields) in (6, 7):
        spec, quartz = _QUARTZ_FIELDS[: len(fields)], True
    else:
        raise CronError(
            f"has {len(fields)} fields; use 5 (minute hour day month weekday) or 6-7 "
            "(Quartz: second minute hour day month weekday [year])"
        )
    split = [
        _split_field(value, name, low, high, quartz)
        for value, (name, low, high) in zip(fields, spec, strict=True)
    ]
    offset = 1 if quartz else 0
    dom, dow = split[offset + 2], split[offset + 4]
    standard = [",".join(p.plain) for p in split]
    if quartz:
        standard[5] = ",".join(_shift_quartz_weekdays(p) for p in dow.plain)
    for i in (offset + 2, offset + 4):
        standard[i] = standard[i] or "*"
    croniter_text = " ".join(standard)
    from croniter import croniter

    try:
        expanded, _nth = croniter.expand(croniter_text, second_at_beginning=quartz)
    except Exception as exc:  # the checks above should leave croniter nothing to refuse
        raise CronError(f"{text!r} is not understood: {exc}") from None
    # croniter's order: minute, hour, day, month, weekday[, second[, year]].
    minutes = _expanded(expanded[0], 0, 59)
    hours = _expanded(expanded[1], 0, 23)
    dom_plain = _expanded(expanded[2], 1, 31) if dom.plain else ()
    months = frozenset(_expanded(expanded[3], 1, 12))
    dow_plain = tuple(v % 7 for v in _expanded(expanded[4], 0, 6)) if dow.plain else ()
    seconds = _expanded(expanded[5], 0, 59) if quartz else (0,)
    years = _expanded(expanded[6], 1970, LAST_YEAR) if len(fields) == 7 else None

    def restricted(text: str) -> bool:
        # Vixie cron: a day field restricts unless it starts with `*` (or `?`), so
        # `*/10` in day of month with a weekday means both, `1,15` with one means either.
        return text[0] not in "*?"

    days = _DayRule(
        dom_days=frozenset(dom_plain),
        dom_last=frozenset(dom.last),
        dom_nearest=frozenset(dom.nearest),
        dom_last_nearest=frozenset(dom.last_nearest),
        dom_restricted=restricted(fields[offset + 2]),
        dow_days=frozenset(dow_plain),
        dow_nth=frozenset(dow.nth),
        dow_last=frozenset(dow.last_weekday),
        dow_restricted=restricted(fields[offset + 4]),
    )
    time_fields = fields[: offset + 2]
    cron = CronExpression(
        text=text,
        croniter_text=croniter_text,
        has_seconds=quartz,
        seconds=seconds,
        minutes=minutes,
        hours=hours,
        months=months,
        years=years,
        days=days,
        repeating=any(c in f for f in time_fields for c in "*-/"),
    )
    if cron.next_date(date(1970, 1, 1)) is None:
        names = ["day of month", "month", "day of week", "year"]
        given = [
            f"{n} {fields[offset + i]!r}"
            for i, n in zip((2, 3, 4, 5), names, strict=True)
            if offset + i < len(fields) and fields[offset + i] not in ("*", "?")
        ]
        raise CronError(f"never fires: no date from 1970 to 2099 has {', '.join(given)}")
    return cron


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

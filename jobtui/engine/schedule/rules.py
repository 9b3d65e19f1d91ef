"""Schedules in words. (Triggers and previews of the next fires live beside this.)"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jobtui.engine.model.cron import describe_cron, parse_cron
from jobtui.engine.model.durations import format_duration, parse_duration


def _every(value: Any) -> str:
    seconds = parse_duration(value)
    return format_duration(seconds) if seconds % 60 else _plain_minutes(seconds)


def _plain_minutes(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return "minute" if minutes == 1 else f"{minutes} minutes"


def describe_schedule(schedule: dict[str, Any] | None) -> str:
    """One short line a user can read: `Every 5 minutes`, `At 03:30`, `Manual`."""
    if not schedule:
        return "Manual"
    kind = schedule.get("type")
    text: str
    if kind == "cron":
        text = describe_cron(str(schedule.get("cron", "")))
    elif kind == "interval":
        text = f"Every {_every(schedule.get('every', 0))}"
    elif kind == "random":
        text = (
            f"Random {format_duration(parse_duration(schedule['min_delay']))}"
            f"–{format_duration(parse_duration(schedule['max_delay']))} after each run"
        )
    elif kind == "once":
        at = schedule.get("at")
        text = f"Once at {at.replace('T', ' ')}" if at else "Once, now"
        if schedule.get("expires"):
            text += f", expires after {schedule['expires']}"
        if schedule.get("retry_every"):
            text += f", retry every {schedule['retry_every']}"
    elif kind == "window":
        days = schedule.get("weekdays") or ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        day_text = "daily" if len(days) == 7 else ",".join(d.capitalize() for d in days)
        text = (
            f"Window {schedule.get('from_time', '00:00')}–{schedule.get('to_time', '23:59')} "
            f"{day_text}"
        )
        if schedule.get("from_date") or schedule.get("to_date"):
            text += f" ({schedule.get('from_date') or '…'} → {schedule.get('to_date') or '…'})"
        if schedule.get("retry_every"):
            text += f", retry every {schedule['retry_every']}"
    else:
        text = str(kind)
    return text


# -- triggers: when a schedule fires -----------------------------------------------
#
# Every rule works on epoch seconds (UTC). Wall-clock kinds (cron, window, once at a
# local time) are computed in the schedule's zone on *wall* times, then mapped to
# instants. For cron (as Quartz, Vixie cron and Cronos do it; the README's table):
# - a wall time the spring gap skips fires once, shifted forward by the gap's length
#   (02:30 in New York's gap fires at 03:30); a fire that lands on another fire's
#   instant is one fire;
# - a wall time the autumn hour repeats fires in both passes when the expression
#   repeats within the hour or day (`*/5 * * * *`, `0 * * * *`), and once, in the
#   first pass, when it is a fixed time (`30 1 * * *`);
# so a daily 03:30 job fires exactly once per local day across both DST changes, and
# a day the calendar skips (Pacific/Apia 2011-12-30) adds no second fire to the next.
# Windows and `once` map a wall time to its first occurrence, or to the jump.

_FAR_FUTURE = 4_102_444_800.0  # 2100-01-01


@dataclass(frozen=True)
class Fire:
    """One upcoming fire of a schedule, for previews."""

    at: datetime  # aware, in the schedule's zone
    note: str = ""


def local_zone_name() -> str:
    """The machine's zone name (the default for schedules without one)."""
    try:
        import tzlocal

        name = str(tzlocal.get_localzone_name() or "")
        if name:
            ZoneInfo(name)
            return name
    except Exception:
        pass
    return "UTC"


def schedule_zone(schedule: dict[str, Any] | None, tz: str | None = None) -> ZoneInfo:
    name = tz or (schedule or {}).get("timezone") or local_zone_name()
    return ZoneInfo(name)


def wall_to_instant(wall: datetime, zone: ZoneInfo) -> tuple[float, str]:
    """A naive wall time in `zone` as epoch seconds, and a DST note ("" when ordinary)."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.timestamp(), ""
    # Either repeated (both folds exist) or skipped (neither does): round-trip tells.
    back = datetime.fromtimestamp(first.timestamp(), zone).replace(tzinfo=None)
    if back == wall:
        return first.timestamp(), "DST: repeated hour (runs once)"
    # In the gap: the first instant after the jump. The two folds bracket it.
    low, high = sorted((first.timestamp(), second.timestamp()))
    while high - low > 0.5:
        mid = (low + high) / 2
        if (
            datetime.fromtimestamp(mid, zone).utcoffset()
            == datetime.fromtimestamp(low, zone).utcoffset()
        ):
            low = mid
        else:
            high = mid
    return float(round(high)), f"DST: skipped hour ({wall:%H:%M} does not exist, runs at the jump)"


def parse_instant(text: str, zone: ZoneInfo) -> float:
    """An ISO time as epoch seconds; one without an offset is a wall time in `zone`.
    Raises ValueError when `text` is not an ISO time."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return wall_to_instant(value, zone)[0]
    return value.timestamp()


def _parse_bound(text: str | None, zone: ZoneInfo) -> float | None:
    return parse_instant(text, zone) if text else None


class Rule:
    """When a schedule fires. `first(anchor)` is the first fire at or after `anchor`;
    `next(prev)` the one after a fire (None when there is no more)."""

    kind = ""

    def __init__(self, schedule: dict[str, Any], zone: ZoneInfo):
        self.schedule = schedule
        self.zone = zone
        self.start = _parse_bound(schedule.get("start"), zone)
        self.end = _parse_bound(schedule.get("end"), zone)
        self.max_runs: int | None = schedule.get("max_runs")

    def _clip(self, t: float | None) -> float | None:
        if t is None or (self.end is not None and t > self.end):
            return None
        return t

    def first(self, anchor: float) -> float | None:
        raise NotImplementedError

    def next(self, prev: float) -> float | None:
        raise NotImplementedError

    def note(self, t: float) -> str:
        return ""

    def valid_until(self, fire: float) -> float | None:
        """A missed fire may be caught up until then (None: any time)."""
        return None

    def retry_every(self) -> float | None:
        value = self.schedule.get("retry_every")
        return parse_duration(value) if value else None


def _offset(zone: ZoneInfo, t: float) -> int:
    """The zone's UTC offset at instant `t`, in seconds."""
    delta = datetime.fromtimestamp(t, zone).utcoffset()
    return 0 if delta is None else delta.days * 86_400 + delta.seconds


_EPOCH_WALL = datetime(1970, 1, 1)
# Longer than any change of offset (Apia skipped a whole day): offsets this far either
# side of an instant are all that can put a fire's wall time near it.
_NEAR = 25 * 3600


class CronRule(Rule):
    kind = "cron"

    def __init__(self, schedule: dict[str, Any], zone: ZoneInfo):
        super().__init__(schedule, zone)
        self.expr = parse_cron(str(schedule["cron"]))

    def _instants(self, wall: int) -> list[tuple[int, int]]:
        """(offset, instant) for each time the wall time `wall` (seconds) fires."""
        dt = _EPOCH_WALL + timedelta(seconds=wall)
        first = dt.replace(tzinfo=self.zone).utcoffset()
        second = dt.replace(tzinfo=self.zone, fold=1).utcoffset()
        o0 = 0 if first is None else first.days * 86_400 + first.seconds
        o1 = 0 if second is None else second.days * 86_400 + second.seconds
        if o0 > o1 and self.expr.repeating:  # the repeated hour: both passes
            return [(o0, wall - o0), (o1, wall - o1)]
        # Ordinary, the first pass of a repeated hour, or in the spring gap, where the
        # offset before the jump moves the wall time forward by the gap's length.
        return [(o0, wall - o0)]

    def _after(self, t: float, inclusive: bool) -> float | None:
        """The first fire after `t` (at or after, if inclusive).

        Fires are the instants of matching wall times; under one offset they come in the
        order of their wall times, so for each offset in force near `t` (and near the
        best fire found) the first matching wall time past `t` under that offset is found
        and the earliest instant wins. Far from a DST change there is one offset and
        this is one lookup."""
        zone, expr = self.zone, self.expr
        queue = [_offset(zone, t), _offset(zone, t - _NEAR), _offset(zone, t + _NEAR)]
        seen: set[int] = set()
        best: int | None = None
        while queue:
            o = queue.pop(0)
            if o in seen:
                continue
            seen.add(o)
            start = math.ceil(t + o) if inclusive else math.floor(t + o) + 1
            wall = expr.next_wall(start)
            while wall is not None and (best is None or wall - o < best):
                found = self._instants(wall)
                for offset, instant in found:
                    if (instant >= t if inclusive else instant > t) and (
                        best is None or instant < best
                    ):
                        best = instant
                        queue += [_offset(zone, best), _offset(zone, best - _NEAR)]
                    queue.append(offset)
                if any(offset == o for offset, _ in found):
                    break
                wall = expr.next_wall(wall + 1)
        if best is None or best > _FAR_FUTURE:
            return None
        return float(best)

    def first(self, anchor: float) -> float | None:
        # Strictly after the moment the job was saved; a `start` itself may be a fire.
        if self.start is not None and self.start >= anchor:
            return self._clip(self._after(self.start, inclusive=True))
        return self._clip(self._after(anchor, inclusive=False))

    def next(self, prev: float) -> float | None:
        return self._clip(self._after(prev, inclusive=False))

    def note(self, t: float) -> str:
        local = datetime.fromtimestamp(t, self.zone)
        wall = local.replace(tzinfo=None)
        if local.utcoffset() != local.replace(fold=1 - local.fold).utcoffset():
            if not self.expr.repeating:
                return "DST: repeated hour (runs once)"
            return f"DST: repeated hour, {'second' if local.fold else 'first'} pass"
        # A wall time in the spring gap that lands here, under the offset before the jump.
        now, before = _offset(self.zone, t), _offset(self.zone, t - _NEAR)
        if before < now:
            missing = int(t) + before
            if self.expr.matches_wall(missing) and self._instants(missing)[0][1] == int(t):
                gone = _EPOCH_WALL + timedelta(seconds=missing)
                late = format_duration(now - before)
                if gone.date() == wall.date():
                    text = f"DST: skipped hour ({gone:%H:%M} does not exist; runs {late} later"
                else:  # a calendar day skipped (Pacific/Apia, 2011-12-30)
                    text = (
                        f"DST: skipped day ({gone:%Y-%m-%d %H:%M} does not exist; runs {late} later"
                    )
                if self.expr.matches_wall(missing + now - before):
                    return text + f", as one fire with {wall:%H:%M} itself)"
                return text + f", at {wall:%H:%M})"
        return ""


class IntervalRule(Rule):
    kind = "interval"

    def __init__(self, schedule: dict[str, Any], zone: ZoneInfo, anchor: float = 0.0):
        super().__init__(schedule, zone)
        self.every = parse_duration(schedule["every"])
        self.anchor = self.start if self.start is not None else anchor

    def first(self, anchor: float) -> float | None:
        # With a `start`, the start is the first fire; otherwise one interval after the
        # job was saved (as APScheduler's IntervalTrigger does).
        if self.start is not None and self.start >= anchor:
            return self._clip(self.start)
        return self.next(anchor)

    def next(self, prev: float) -> float | None:
        k = math.floor((prev - self.anchor) / self.every + 1e-9) + 1
        return self._clip(self.anchor + k * self.every)


class RandomRule(Rule):
    kind = "random"

    def __init__(self, schedule: dict[str, Any], zone: ZoneInfo, rng: random.Random | None = None):
        super().__init__(schedule, zone)
        self.low = parse_duration(schedule["min_delay"])
        self.high = parse_duration(schedule["max_delay"])
        self.rng = rng or random.Random()

    def delay(self) -> float:
        return self.rng.uniform(self.low, self.high)

    def first(self, anchor: float) -> float | None:
        t = max(anchor, self.start) if self.start is not None else anchor
        return self._clip(t + self.delay())

    def next(self, prev: float) -> float | None:
        # The real next fire comes after the run ends (see the daemon); this is the
        # stand-in used when counting fires missed while no daemon ran.
        return self._clip(prev + self.delay())


class OnceRule(Rule):
    kind = "once"

    def __init__(self, schedule: dict[str, Any], zone: ZoneInfo):
        super().__init__(schedule, zone)
        self.at = _parse_bound(schedule.get("at"), zone)
        expires = schedule.get("expires")
        self.expires = parse_duration(expires) if expires else None

    def first(self, anchor: float) -> float | None:
        t = self.at if self.at is not None else anchor
        if self.start is not None:
            t = max(t, self.start)
        return self._clip(t)

    def next(self, prev: float) -> float | None:
        return None

    def deadline(self, first_fire: float) -> float | None:
        if self.expires is None:
            return self.end
        end = first_fire + self.expires
        return min(end, self.end) if self.end is not None else end

    def valid_until(self, fire: float) -> float | None:
        return self.deadline(self.at if self.at is not None else fire)


class WindowRule(Rule):
    kind = "window"
    _DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

    def __init__(self, schedule: dict[str, Any], zone: ZoneInfo):
        super().__init__(schedule, zone)
        self.from_date = (
            date.fromisoformat(schedule["from_date"]) if schedule.get("from_date") else None
        )
        self.to_date = date.fromisoformat(schedule["to_date"]) if schedule.get("to_date") else None
        self.from_time = time.fromisoformat(schedule.get("from_time") or "00:00")
        self.to_time = time.fromisoformat(schedule.get("to_time") or "23:59")
        days = schedule.get("weekdays") or list(self._DAYS)
        self.weekdays = {self._DAYS.index(d) for d in days}

    def _day_ok(self, day: date) -> bool:
        if self.from_date and day < self.from_date:
            return False
        if self.to_date and day > self.to_date:
            return False
        return day.weekday() in self.weekdays

    def window_of(self, day: date) -> tuple[float, float]:
        opens = wall_to_instant(datetime.combine(day, self.from_time), self.zone)[0]
        closes = wall_to_instant(datetime.combine(day, self.to_time), self.zone)[0]
        return opens, closes

    def window_at(self, t: float) -> tuple[float, float] | None:
        """The window (opens, closes) containing `t`, if any."""
        day = datetime.fromtimestamp(t, self.zone).date()
        if not self._day_ok(day):
            return None
        opens, closes = self.window_of(day)
        if opens <= t < closes and (self.start is None or t >= self.start):
            return opens, closes
        return None

    def inside(self, t: float) -> bool:
        return self.window_at(t) is not None and (self.end is None or t <= self.end)

    def _next_opening(self, t: float, inclusive: bool) -> float | None:
        day = datetime.fromtimestamp(t, self.zone).date()
        for _ in range(800):
            if self.to_date and day > self.to_date:
                return None
            if self._day_ok(day):
                opens, closes = self.window_of(day)
                if self.start is not None:
                    opens = max(opens, self.start)
                if opens < closes and (opens > t or (inclusive and opens == t)):
                    return opens
            day += timedelta(days=1)
        return None

    def first(self, anchor: float) -> float | None:
        t = max(anchor, self.start) if self.start is not None else anchor
        if self.window_at(t) is not None:  # saved inside a window: run now
            return self._clip(t)
        return self._clip(self._next_opening(t, inclusive=True))

    def next(self, prev: float) -> float | None:
        window = self.window_at(prev)
        after = window[1] if window else prev
        return self._clip(self._next_opening(after, inclusive=False))

    def valid_until(self, fire: float) -> float | None:
        window = self.window_at(fire)
        return window[1] if window else fire

    def note(self, t: float) -> str:
        return ""

    def expired_at(self) -> float | None:
        if self.to_date is None:
            return self.end
        closes = self.window_of(self.to_date)[1]
        return min(closes, self.end) if self.end is not None else closes


def make_rule(
    schedule: dict[str, Any],
    *,
    anchor: float = 0.0,
    tz: str | None = None,
    rng: random.Random | None = None,
) -> Rule:
    """The rule for a (validated) schedule. `anchor` is when the definition was saved:
    the origin of interval fires (unless `start` is given)."""
    zone = schedule_zone(schedule, tz)
    kind = schedule.get("type")
    if kind == "cron":
        return CronRule(schedule, zone)
    if kind == "interval":
        return IntervalRule(schedule, zone, anchor)
    if kind == "random":
        return RandomRule(schedule, zone, rng)
    if kind == "once":
        return OnceRule(schedule, zone)
    if kind == "window":
        return WindowRule(schedule, zone)
    raise ValueError(f"unknown schedule type {kind!r}")


def preview_fires(
    schedule: dict[str, Any],
    *,
    now: float,
    n: int = 10,
    tz: str | None = None,
    anchor: float | None = None,
) -> list[Fire]:
    """The next `n` fires from `now`, each flagged when DST or a window shapes it."""
    rule = make_rule(schedule, anchor=now if anchor is None else anchor, tz=tz)
    zone = rule.zone
    out: list[Fire] = []
    t = rule.first(now)
    while t is not None and len(out) < n:
        if rule.max_runs is not None and len(out) >= rule.max_runs:
            break
        note = rule.note(t)
        if isinstance(rule, RandomRule):
            low, high = format_duration(rule.low), format_duration(rule.high)
            note = f"random: {low}–{high} after the previous run"
        elif isinstance(rule, WindowRule):
            window = rule.window_at(t)
            if window:
                closes = datetime.fromtimestamp(window[1], zone)
                note = f"window opens (until {closes:%H:%M})"
                retry = rule.retry_every()
                if retry:
                    note += f"; retries every {format_duration(retry)} until success"
        elif isinstance(rule, OnceRule):
            deadline = rule.deadline(t)
            if deadline is not None:
                note = f"expires {datetime.fromtimestamp(deadline, zone):%Y-%m-%d %H:%M}"
        out.append(Fire(at=datetime.fromtimestamp(t, zone), note=note))
        t = rule.next(t)
    return out

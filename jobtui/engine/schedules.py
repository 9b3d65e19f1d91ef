"""Schedules in words. (Triggers and previews of the next fires live beside this.)"""

from __future__ import annotations

from typing import Any

from jobtui.engine.cron import describe_cron
from jobtui.engine.durations import format_duration, parse_duration


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

"""Durations written as `90s`, `5m`, `1h30m`, `2d`."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float) -> float:
    """Seconds in a duration string; a bare number counts as seconds.

    Raises ValueError with a readable reason.
    """
    if isinstance(text, bool):
        raise ValueError("must be a duration such as 90s, 5m or 1h30m")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("must not be negative")
        return float(text)
    s = text.strip().lower().replace(" ", "")
    if not s:
        raise ValueError("must be a duration such as 90s, 5m or 1h30m")
    try:
        value = float(s)
    except ValueError:
        pos = 0
        total = 0.0
        for m in _PART.finditer(s):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
            pos = m.end()
        if pos != len(s) or pos == 0:
            raise ValueError(
                f"{text!r} is not a duration (use forms like 90s, 5m, 1h30m, 2d)"
            ) from None
        return total
    if value < 0:
        raise ValueError("must not be negative")
    return value


def format_duration(seconds: float | None) -> str:
    """A short human form: 850ms, 42s, 3m05s, 2h10m, 3d4h."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{int(seconds)}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s" if sec else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"

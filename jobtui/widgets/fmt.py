"""Text helpers shared by the screens: inert log text, times with their zone, durations.

Nothing here touches the engine or the terminal; relative times take `now` (the engine
clock) so a frozen clock gives frozen screens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo

from jobtui.engine import format_duration

# C0 controls (but tab), DEL, C1 controls, and the Unicode controls that reorder or hide
# text (bidi overrides and isolates, zero-width joiners, line/paragraph separators, BOM).
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)  # caret notation: ESC → ^[, BEL → ^G
    if code == 0x7F:
        return "^?"
    if code <= 0x9F:
        return f"<{code:02x}>"  # C1: CSI (0x9b) → <9b>
    return f"<U+{code:04X}>"


def inert(text: str, tab_size: int = 4) -> str:
    """Job output made safe to draw: every control character becomes visible text.

    Escape sequences, C1 controls and bidi tricks can then neither reach the terminal nor
    move the cursor; markup is harmless because callers build `rich.text.Text` from the
    result without parsing markup.
    """
    if "\t" in text:
        text = text.expandtabs(tab_size)
    return _UNSAFE.sub(_visible, text)


# -- time ---------------------------------------------------------------------------
def display_zone(utc: bool) -> tzinfo:
    if utc:
        return UTC
    zone = datetime.now().astimezone().tzinfo
    return zone or UTC


def zone_name(moment: datetime) -> str:
    return moment.tzname() or "UTC"


def fmt_abs(moment: datetime | None, utc: bool, now: float | None = None) -> str:
    """`14:05 CET` today, `Mar 02 14:05 CET` on another day, `2031-03-02 14:05 CET` far off."""
    if moment is None:
        return "—"
    local = moment.astimezone(display_zone(utc))
    zone = zone_name(local)
    if now is not None:
        today = datetime.fromtimestamp(now, local.tzinfo)
        if local.date() == today.date():
            return f"{local:%H:%M:%S} {zone}"
        if local.year == today.year:
            return f"{local:%b %d %H:%M} {zone}"
    return f"{local:%Y-%m-%d %H:%M} {zone}"


def fmt_full(moment: datetime | None, utc: bool) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(display_zone(utc))
    return f"{local:%Y-%m-%d %H:%M:%S} {zone_name(local)}"


def fmt_relative(moment: datetime | None, now: float) -> str:
    """`in 4m`, `3h ago`, `now`."""
    if moment is None:
        return "—"
    delta = moment.timestamp() - now
    if abs(delta) < 1:
        return "now"
    text = _short(abs(delta))
    return f"in {text}" if delta > 0 else f"{text} ago"


def _short(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 86400 * 60:
        return f"{int(seconds // 86400)}d"
    return f"{int(seconds // (86400 * 30))}mo"


def fmt_duration(seconds: float | None) -> str:
    return "" if seconds is None else format_duration(seconds)


def fmt_count(value: int | None) -> str:
    if value is None:
        return ""
    if value < 10_000:
        return f"{value:,}"
    if value < 1_000_000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value / 1_000_000:.1f}M".replace(".0M", "M")


# -- states ---------------------------------------------------------------------------
STATE_ICONS = {
    "succeeded": "✓",
    "partially_succeeded": "◐",
    "failed": "✗",
    "interrupted": "↯",
    "cancelled": "⊘",
    "cancelling": "⊘",
    "running": "▶",
    "queued": "…",
    "retrying": "↻",
    "missed": "·",
    "skipped": "·",
    "scheduled": "◷",
    "never_run": "○",
    "paused": "⏸",
    "expired": "⌛",
}


def state_label(state: str) -> str:
    return state.replace("_", " ")


def sparkline(states: Sequence[str], width: int) -> list[tuple[str, str]]:
    """Recent runs as coloured blocks, newest on the right: one cell per run."""
    cells = list(states)[-width:]
    out = [(" " * (width - len(cells)), "")]
    for state in cells:
        char = {"succeeded": "▇", "failed": "▇", "interrupted": "▇"}.get(state, "▄")
        out.append((char, f"state--{state}"))
    return out


def percentile(values: Sequence[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def join_nonempty(parts: Iterable[str], sep: str = " · ") -> str:
    return sep.join(p for p in parts if p)

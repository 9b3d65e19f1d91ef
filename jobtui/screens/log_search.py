"""The log viewer's searches, run in its workers: one indexed probe per step, never a scan
of the whole log on the UI thread (a 3M-line log searches as fast as a short one when the
match is near). A search that reaches the end starts over from the other end (`wrapped`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message

from jobtui.engine import Engine, LogLine

ERROR_LEVELS = ["error"]
# What `e` lands on besides ERROR lines: a program's stderr, the line saying the run failed,
# and lines that look like errors, so runs logged before those were stored at ERROR work too.
# The engine's own lines count only when they say the run failed (not `$ command` echoes).
ENDED_BADLY = r"^run ended (?:failed|interrupted)"
ERROR_LOOKING = rf"\bERROR\b|\bFATAL\b|Traceback|Exception|panic:|{ENDED_BADLY}"
BEYOND_END = 2**62  # a seq after every line: where a backwards search starts over

Probe = Callable[[int], LogLine | None]


@dataclass
class Found(Message):
    line: LogLine | None
    what: str
    backwards: bool = False
    wrapped: bool = False  # it passed the end and started over from the other end
    origin: int = 0  # the cursor's seq when the search started


def pattern_probe(
    engine: Engine, run_id: int, pattern: str | None, levels: list[str] | None, backwards: bool
) -> Probe:
    def probe(start: int) -> LogLine | None:
        return engine.find_log(run_id, start, pattern=pattern, levels=levels, backwards=backwards)

    return probe


def error_probe(engine: Engine, run_id: int, shown: list[str] | None, backwards: bool) -> Probe:
    """The nearest line that is an error: at ERROR level, on stderr, or looking like one."""

    def looking(start: int) -> LogLine | None:
        for _ in range(50):
            line = engine.find_log(
                run_id, start, pattern=ERROR_LOOKING, levels=shown, backwards=backwards
            )
            if line is None or line.stream != "engine" or re.match(ENDED_BADLY, line.message):
                return line
            start = line.seq
        return None

    def probe(start: int) -> LogLine | None:
        found = [
            engine.find_log(run_id, start, levels=ERROR_LEVELS, backwards=backwards),
            looking(start),
        ]
        # find_log has no stream filter; read_log reads from (or up to) a seq inclusive.
        edge = start - 1 if backwards else start + 1
        if edge >= 1:
            found += engine.read_log(
                run_id,
                from_seq=edge,
                limit=1,
                backwards=backwards,
                levels=shown,
                streams=["stderr"],
            )
        lines = [line for line in found if line is not None]
        if not lines:
            return None
        return max(lines, key=lambda x: x.seq) if backwards else min(lines, key=lambda x: x.seq)

    return probe


def _search(probe: Probe, start: int, backwards: bool, streams: list[str] | None) -> LogLine | None:
    line = None
    for _ in range(50):  # skip matches the stream filter hides
        if backwards and start <= 1:
            return None
        line = probe(start)
        if line is None or streams is None or line.stream in streams:
            break
        start = line.seq
    return line


def search_wrapping(
    probe: Probe, start: int, backwards: bool, streams: list[str] | None
) -> tuple[LogLine | None, bool]:
    """The next match from `start`; past the end, the first from the other end (wrapped)."""
    line = _search(probe, start, backwards, streams)
    if line is not None:
        return line, False
    restart = BEYOND_END if backwards else 0
    if restart == start:
        return None, False
    line = _search(probe, restart, backwards, streams)
    return line, line is not None


def found_note(message: Found) -> str | None:
    """What to say about a search's answer (None: nothing, it moved to the next match)."""
    what = message.what
    if message.line is None:
        return f"No {what} in this log" if what == "errors" else f"No match for {what}"
    if message.wrapped and message.line.seq == message.origin:
        return f"{what}: the only match (line {message.line.seq:,})"
    if message.wrapped:
        first, end = ("last", "top") if not message.backwards else ("first", "bottom")
        return (
            f"{what}: that was the {first} match; search wrapped to the {end} "
            f"(line {message.line.seq:,})"
        )
    return None

"""The live progress of `jobtui run --wait` on a terminal: records, rate, ETA, a bar per task.

Drawn on stderr only when stderr is a terminal (a pipe or a log file gets nothing but the
end's summary) and not `--quiet`. Each frame rewrites the lines of the last one in place
(carriage return, cursor up, erase line); the frame is erased when the run ends, so the
summary that follows is what stays on screen. Task names come from the job: shown inert.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from jobtui.engine import Run, RunTask, format_duration
from jobtui.textsafe import inert

BAR = 20
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
FRAME_EVERY = 0.25  # seconds between frames: smooth enough, cheap on a slow terminal
RATE_WINDOW = 5.0  # seconds of samples the rate is measured over


def bar(done: int, total: int | None, width: int = BAR) -> str:
    if not total:
        return ""
    filled = min(width, int(width * done / total))
    return "[" + "█" * filled + "░" * (width - filled) + "]"


def _seconds(n: float) -> str:
    """Whole seconds under a minute (a line redrawn 4 times a second would flicker 2.3s)."""
    return f"{int(n)}s" if n < 60 else format_duration(n)


def _count(n: float) -> str:
    return f"{n:,.0f}"


class Rates:
    """Records per second over the last few seconds, per key (the run, each task)."""

    def __init__(self) -> None:
        self.samples: dict[object, list[tuple[float, int]]] = {}

    def rate(self, key: object, now: float, records: int) -> float | None:
        samples = self.samples.setdefault(key, [])
        if not samples or now > samples[-1][0]:
            samples.append((now, records))
        while len(samples) > 2 and samples[1][0] <= now - RATE_WINDOW:
            samples.pop(0)
        (t0, r0), (t1, r1) = samples[0], samples[-1]
        return (r1 - r0) / (t1 - t0) if t1 - t0 >= 0.5 else None


def _eta(done: int, total: int | None, rate: float | None) -> str:
    if not total or not rate or rate <= 0 or done >= total:
        return ""
    return f"ETA {_seconds(max(1, round((total - done) / rate)))}"


def task_line(task: RunTask, rate: float | None) -> str:
    state = task.state.value
    parts = [
        inert(task.name),
        bar(task.records, task.total),
        f"{_count(task.records)}/{_count(task.total)}" if task.total else _count(task.records),
        f"{100 * task.records / task.total:.0f}%" if task.total else "",
        f"{_count(rate)}/s" if rate and state == "running" else "",
        _eta(task.records, task.total, rate) if state == "running" else "",
        "" if state == "running" else state,
    ]
    return "  " + " ".join(p for p in parts if p)


def frame(run: Run, now: float, rates: Rates, tick: int = 0) -> list[str]:
    """The lines showing where the run is: a summary, then one line per task when there
    are several (one task is said on the summary line)."""
    state = run.state.value
    started = run.started_at.timestamp() if run.started_at else None
    elapsed = now - started if started is not None else 0.0
    total = sum(t.total or 0 for t in run.tasks) if run.tasks else None
    if total is not None and any(t.total is None for t in run.tasks):
        total = None
    done = sum(t.records for t in run.tasks) if run.tasks else run.records
    rate = rates.rate("run", now, done) if state == "running" else None
    head = [
        f"{SPINNER[tick % len(SPINNER)]} run {run.id} {state}",
        f"{_count(done)} records" if run.tasks or run.records else "",
        bar(done, total) if len(run.tasks) == 1 else "",
        f"{100 * done / total:.0f}%" if total else "",
        f"{_count(rate)}/s" if rate else "",
        _eta(done, total, rate),
        f"elapsed {_seconds(elapsed)}" if started is not None else "waiting to start",
    ]
    lines = [" · ".join(p for p in head if p).replace(" · [", " [").replace("] · ", "] ")]
    if len(run.tasks) > 1:
        for task in run.tasks:
            task_rate = rates.rate(task.id, now, task.records) if state == "running" else None
            lines.append(task_line(task, task_rate))
    return lines


class ProgressLine:
    """Call with each polled Run; `close()` erases the last frame."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.rates = Rates()
        self.shown = 0  # lines of the frame on screen
        self.last = 0.0
        self.tick = 0

    @staticmethod
    def wanted(quiet: bool, stream: TextIO | None = None) -> bool:
        stream = stream or sys.stderr
        return not quiet and stream.isatty()

    def __call__(self, run: Run) -> None:
        now = time.time()
        if self.shown and now - self.last < FRAME_EVERY:
            return
        self.last = now
        self.tick += 1
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        lines = [line[:width] for line in frame(run, now, self.rates, self.tick)]
        self._write(lines)

    def _write(self, lines: list[str]) -> None:
        out = self._erase()
        out += "\n".join(lines)
        self.stream.write(out)
        self.stream.flush()
        self.shown = len(lines)

    def _erase(self) -> str:
        if not self.shown:
            return ""
        return "\r\x1b[2K" + "\x1b[1A\x1b[2K" * (self.shown - 1)

    def close(self) -> None:
        if self.shown:
            self.stream.write(self._erase())
            self.stream.flush()
            self.shown = 0

"""Run logs as a run writes them: a batched writer (one batch every ~100 ms, through the
run's reporter) and the one-line format the CLI and the log screen print. The readers are
in store/logs.py.

No line is lost without a word: a batch whose INSERT fails (the database locked past its
busy timeout, a full disk) goes back to the head of the queue and is tried again. While
writes fail the queue is bounded (`max_queued` lines, the oldest kept); what had to be
dropped is counted (`lines_lost`), marked by a line where the gap is, and the run's
results say "log incomplete: N lines lost". A line longer than 64 KiB is cut, saying how
much was cut."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.types import LogLine, LogRow

LEVELS = ("debug", "info", "warning", "error")
STREAMS = ("engine", "stdout", "stderr", "sink")
FLUSH_INTERVAL = 0.1
MAX_BATCH = 5000
MAX_MESSAGE = 64 * 1024
MAX_QUEUED = 100_000  # lines kept while the database refuses writes
CLOSE_PATIENCE = 60.0  # seconds close() keeps trying to store what is queued


def cut_line(line: str, limit: int = MAX_MESSAGE, unit: str = "characters") -> str:
    """`line`, or its first `limit` characters and a marker saying how much was cut."""
    if len(line) <= limit:
        return line
    at = line.rfind(" … [line cut: ")
    if 0 <= at <= limit and _CUT.match(line, at):
        return line  # cut already (the command runner cuts its lines in bytes)
    return line[:limit] + cut_marker(len(line) - limit, unit)


_CUT = re.compile(r" … \[line cut: \d+ more \w+\]\Z")


def cut_marker(cut: int, unit: str = "characters") -> str:
    return f" … [line cut: {cut} more {unit}]"


def lost_note(lost: int) -> str:
    """The result line of a run whose log could not be stored whole."""
    return f"log incomplete: {lost} line{'s' if lost != 1 else ''} lost"


def levels_at_least(level: str) -> list[str]:
    """`warning` → [warning, error]: what `--level` means on the command line."""
    level = level.lower()
    if level == "warn":
        level = "warning"
    if level not in LEVELS:
        raise InvalidInput(f"level: must be one of {', '.join(LEVELS)}")
    return list(LEVELS[LEVELS.index(level) :])


class LogTarget(Protocol):
    """Where a LogWriter's batches go (a RunReporter is one)."""

    run_id: int

    def log_size(self) -> int: ...

    def write_logs(self, lines: list[LogRow]) -> int: ...


class LogWriter:
    """Collects lines from any thread and writes them in batches from its own thread."""

    def __init__(
        self,
        target: LogTarget,
        *,
        clock: Callable[[], float] = time.time,
        flush_interval: float = FLUSH_INTERVAL,
        max_batch: int = MAX_BATCH,
        max_queued: int | None = None,
        redact: Callable[[str], str] | None = None,
    ):
        self.target = target
        self.run_id = target.run_id
        self.clock = clock
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.max_queued = max(MAX_QUEUED if max_queued is None else max_queued, 1)
        self.redact = redact
        self._buffer: list[LogRow] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = target.log_size()
        self.lines_written = 0
        self.lines_lost = 0  # dropped while the database refused writes
        self.failures = 0  # flushes that failed (each batch stays queued)
        self.last_error: BaseException | None = None
        self._failing = False  # the last flush failed: the queue is bounded
        self._unmarked = 0  # lines lost since the last marker line
        self._in_flight = 0  # lines of the batch being written

    # -- writing -----------------------------------------------------------------
    def write(self, message: str, level: str = "info", stream: str = "engine") -> None:
        """Queue one message; several lines become several log lines."""
        now = self.clock()
        if self.redact is not None:
            message = self.redact(message)
        lines = message.splitlines() or [""]
        with self._lock:
            for line in lines:
                if self._failing and len(self._buffer) + self._in_flight >= self.max_queued:
                    self.lines_lost += 1
                    self._unmarked += 1
                    continue
                self._seq += 1
                self._buffer.append((self.run_id, self._seq, now, level, stream, cut_line(line)))
            full = len(self._buffer) >= self.max_batch
        if full and not self._failing:
            if self._thread is None:
                self.flush()
            else:
                self._wake.set()

    def info(self, message: str, stream: str = "engine") -> None:
        self.write(message, "info", stream)

    def warning(self, message: str, stream: str = "engine") -> None:
        self.write(message, "warning", stream)

    def error(self, message: str, stream: str = "engine") -> None:
        self.write(message, "error", stream)

    def flush(self) -> None:
        """Store what is queued; when that fails the batch goes back to the head of the
        queue (and the error is raised)."""
        with self._write_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
                self._in_flight = len(batch)
            if not batch:
                return
            try:
                last = self.target.write_logs(batch)
            except BaseException as exc:
                with self._lock:
                    self._in_flight = 0
                    self._buffer = batch + self._buffer
                    self._failing = True
                    self.failures += 1
                    self.last_error = exc
                raise
            # Someone else may have written lines to this run meanwhile: ours went after
            # theirs, and so do the lines queued since (after the marker, if any).
            shift = last - batch[-1][1]
            with self._lock:
                self._in_flight = 0
                self._failing = False
                marker: list[LogRow] = []
                if self._unmarked:
                    # The lines dropped while the database refused writes came right
                    # after this batch: a line says so where they are missing.
                    note = f"{lost_note(self._unmarked)} here (the database refused writes)"
                    marker = [(self.run_id, last + 1, self.clock(), "warning", "engine", note)]
                    self._unmarked = 0
                extra = shift + len(marker)
                queued = self._buffer
                if extra:
                    queued = [(r[0], r[1] + extra, *r[2:]) for r in queued]
                    self._seq += extra
                self._buffer = marker + queued
            self.lines_written += len(batch)

    # -- background flushing -------------------------------------------------------
    def start(self) -> LogWriter:
        self._thread = threading.Thread(target=self._loop, name=f"log-{self.run_id}", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                # Busy or full: the lines stay queued (bounded) for the next try.
                self._stop.wait(self.flush_interval)

    def close(self, patience: float = CLOSE_PATIENCE) -> None:
        """Stop the thread and store what is queued, trying for up to `patience` seconds;
        what still cannot be stored counts as lost."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        deadline = time.monotonic() + patience
        while True:
            try:
                self.flush()
                if not self._buffer:  # a marker may have been queued by that flush
                    return
                continue
            except Exception:
                if time.monotonic() >= deadline:
                    break
                time.sleep(self.flush_interval)
        with self._lock:
            self.lines_lost += len(self._buffer)
            self._buffer = []

    def __enter__(self) -> LogWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class LineFormatter:
    """`format_line` for many lines in a row: the local date and time to the second is
    made once per second (the zone conversion and strftime were half the time of
    printing a 1M-line log)."""

    def __init__(self, with_time: bool = True) -> None:
        self.with_time = with_time
        self._second: datetime | None = None
        self._stamp = ""

    def __call__(self, line: LogLine) -> str:
        text = f"{line.level.upper():<7} {line.stream:<6} {line.message}"
        if not self.with_time:
            return text
        ts = line.ts
        second = ts.replace(microsecond=0)
        if second != self._second:
            self._second = second
            self._stamp = second.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        return f"{self._stamp}.{ts.microsecond // 1000:03d} {text}"


def format_line(line: LogLine, with_time: bool = True) -> str:
    return LineFormatter(with_time)(line)

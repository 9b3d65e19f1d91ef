"""Run logs as a run writes them: a batched writer (one batch every ~100 ms, through the
run's reporter) and the one-line format the CLI and the log screen print. The readers are
in store/logs.py."""

from __future__ import annotations

import sqlite3
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
    ):
        self.target = target
        self.run_id = target.run_id
        self.clock = clock
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self._buffer: list[LogRow] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = target.log_size()
        self.lines_written = 0

    # -- writing -----------------------------------------------------------------
    def write(self, message: str, level: str = "info", stream: str = "engine") -> None:
        """Queue one message; several lines become several log lines."""
        now = self.clock()
        lines = message.splitlines() or [""]
        with self._lock:
            for line in lines:
                self._seq += 1
                self._buffer.append(
                    (self.run_id, self._seq, now, level, stream, line[:MAX_MESSAGE])
                )
            full = len(self._buffer) >= self.max_batch
        if full:
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
        with self._write_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if not batch:
                return
            last = self.target.write_logs(batch)
            shift = last - batch[-1][1]
            if shift:
                # Someone else wrote lines to this run meanwhile: ours went after theirs,
                # and so do the lines queued since.
                with self._lock:
                    self._buffer = [(r[0], r[1] + shift, *r[2:]) for r in self._buffer]
                    self._seq += shift
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
            except sqlite3.Error:
                time.sleep(self.flush_interval)  # busy: the lines stay queued for next time

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()

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

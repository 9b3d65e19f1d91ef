"""Run logs: a batched writer (one executemany every ~100 ms) and index-probe readers.

Every line has a per-run `seq` (1..N), so a page from any line is one probe of the
`run_logs(run_id, seq)` index and a 1M-line log is never held in memory.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from jobtui.engine.model.clock import to_datetime
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.types import LogLine, LogRow
from jobtui.engine.store.db import Store

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


def append_log(
    target: LogTarget,
    message: str,
    level: str = "info",
    stream: str = "engine",
    clock: Callable[[], float] = time.time,
) -> None:
    """One line written now (for the supervisor, once the worker is gone)."""
    writer = LogWriter(target, clock=clock)
    writer.write(message, level, stream)
    writer.flush()


# -- reading ---------------------------------------------------------------------
_patterns: dict[str, re.Pattern[str]] = {}


def compile_pattern(pattern: str) -> re.Pattern[str]:
    compiled = _patterns.get(pattern)
    if compiled is None:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise InvalidInput(f"grep: {pattern!r} is not a regular expression ({exc})") from None
        if len(_patterns) > 64:
            _patterns.clear()
        _patterns[pattern] = compiled
    return compiled


def _matches(pattern: str, message: str) -> int:
    return 1 if compile_pattern(pattern).search(message) else 0


def _install_functions(conn: sqlite3.Connection) -> None:
    if not getattr(conn, "_jobtui_log_functions", False):
        conn.create_function("jobtui_match", 2, _matches, deterministic=True)
        with contextlib.suppress(AttributeError):
            conn._jobtui_log_functions = True  # type: ignore[attr-defined]


def log_size(store: Store, run_id: int) -> int:
    row = store.query_one("SELECT MAX(seq) AS n FROM run_logs WHERE run_id = ?", (run_id,))
    return int(row["n"] or 0) if row else 0


def _filters(
    levels: Iterable[str] | None, streams: Iterable[str] | None, grep: str | None
) -> tuple[str, list[Any]]:
    sql = ""
    params: list[Any] = []
    level_list = [lv for lv in (levels or []) if lv]
    if level_list:
        sql += f" AND level IN ({','.join('?' * len(level_list))})"
        params += level_list
    stream_list = [s for s in (streams or []) if s]
    if stream_list:
        sql += f" AND stream IN ({','.join('?' * len(stream_list))})"
        params += stream_list
    if grep:
        compile_pattern(grep)
        sql += " AND jobtui_match(?, message)"
        params.append(grep)
    return sql, params


def _line(row: sqlite3.Row) -> LogLine:
    return LogLine(
        id=row["id"],
        run_id=row["run_id"],
        seq=row["seq"],
        ts=to_datetime(row["ts"]),  # type: ignore[arg-type]
        level=row["level"],
        stream=row["stream"],
        message=row["message"],
    )


def read_log(
    store: Store,
    run_id: int,
    *,
    from_seq: int | None = None,
    limit: int = 200,
    backwards: bool = False,
    levels: Iterable[str] | None = None,
    streams: Iterable[str] | None = None,
    grep: str | None = None,
) -> list[LogLine]:
    """Up to `limit` lines from `from_seq` (inclusive), ascending by seq.

    Forward from the start when `from_seq` is None; `backwards` reads the lines up to
    `from_seq` (or the end when None), still returned in ascending order (a tail).
    """
    conn = store.conn
    _install_functions(conn)
    extra, params = _filters(levels, streams, grep)
    if backwards:
        bound = "" if from_seq is None else " AND seq <= ?"
        bound_params = [] if from_seq is None else [from_seq]
        rows = conn.execute(
            f"SELECT * FROM run_logs WHERE run_id = ?{bound}{extra} ORDER BY seq DESC LIMIT ?",
            [run_id, *bound_params, *params, limit],
        ).fetchall()
        rows.reverse()
    else:
        rows = conn.execute(
            f"SELECT * FROM run_logs WHERE run_id = ? AND seq >= ?{extra} ORDER BY seq LIMIT ?",
            [run_id, from_seq or 1, *params, limit],
        ).fetchall()
    return [_line(r) for r in rows]


def find_log(
    store: Store,
    run_id: int,
    start_seq: int,
    *,
    pattern: str | None = None,
    levels: Iterable[str] | None = None,
    backwards: bool = False,
) -> LogLine | None:
    """The next line after `start_seq` (before it when `backwards`) that matches."""
    conn = store.conn
    _install_functions(conn)
    extra, params = _filters(levels, None, pattern)
    op, order = ("<", "DESC") if backwards else (">", "")
    row = conn.execute(
        f"SELECT * FROM run_logs WHERE run_id = ? AND seq {op} ?{extra} ORDER BY seq {order} "
        "LIMIT 1",
        [run_id, start_seq, *params],
    ).fetchone()
    return _line(row) if row else None


def iter_log(
    store: Store,
    run_id: int,
    *,
    from_seq: int = 1,
    levels: Iterable[str] | None = None,
    streams: Iterable[str] | None = None,
    grep: str | None = None,
    chunk: int = 5000,
) -> Iterator[LogLine]:
    """Every matching line from `from_seq`, read a chunk at a time."""
    seq = from_seq
    while True:
        lines = read_log(
            store,
            run_id,
            from_seq=seq,
            limit=chunk,
            levels=levels,
            streams=streams,
            grep=grep,
        )
        yield from lines
        if len(lines) < chunk:
            return
        seq = lines[-1].seq + 1


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

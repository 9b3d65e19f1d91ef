"""Run logs: batched inserts and index-probe readers.

Every line has a per-run `seq` (1..N), so a page from any line is one probe of the
`run_logs(run_id, seq)` index and a 1M-line log is never held in memory.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jobtui.engine.model.clock import to_datetime
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.types import LogLine, LogRow
from jobtui.engine.store.db import Store

INSERT = "INSERT INTO run_logs (run_id, seq, ts, level, stream, message) VALUES (?, ?, ?, ?, ?, ?)"


def log_size(store: Store, run_id: int) -> int:
    row = store.query_one("SELECT MAX(seq) AS n FROM run_logs WHERE run_id = ?", (run_id,))
    return int(row["n"] or 0) if row else 0


def insert_lines(store: Store, run_id: int, batch: list[LogRow]) -> int:
    """Insert a batch of one run's lines in one transaction; the seq of its last line.
    When someone else wrote lines to this run meanwhile, the batch goes after theirs."""
    try:
        with store.transaction():
            store.conn.executemany(INSERT, batch)
        return batch[-1][1]
    except sqlite3.IntegrityError:
        start = log_size(store, run_id)
        batch = [(r[0], start + i + 1, *r[2:]) for i, r in enumerate(batch)]
        with store.transaction():
            store.conn.executemany(INSERT, batch)
        return batch[-1][1]


def append_line(
    store: Store, run_id: int, now: float, message: str, level: str = "info", stream: str = "engine"
) -> None:
    """One line written now, after the run's others (for an end its worker did not write)."""
    insert_lines(
        store, run_id, [(run_id, log_size(store, run_id) + 1, now, level, stream, message)]
    )


# -- reading -------------------------------------------------------------------------
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


@dataclass(frozen=True)
class LogFilter:
    """Which lines: levels and streams (empty: all) and a regular expression."""

    levels: tuple[str, ...] = ()
    streams: tuple[str, ...] = ()
    grep: str | None = None

    @classmethod
    def of(
        cls,
        levels: Iterable[str] | None = None,
        streams: Iterable[str] | None = None,
        grep: str | None = None,
    ) -> LogFilter:
        return cls(tuple(levels or ()), tuple(streams or ()), grep)


ALL = LogFilter()


def read_log(
    store: Store,
    run_id: int,
    where: LogFilter = ALL,
    from_seq: int | None = None,
    limit: int = 200,
    backwards: bool = False,
) -> list[LogLine]:
    """Up to `limit` lines from `from_seq` (inclusive), ascending by seq.

    Forward from the start when `from_seq` is None; `backwards` reads the lines up to
    `from_seq` (or the end when None), still returned in ascending order (a tail).
    """
    conn = store.conn
    _install_functions(conn)
    extra, params = _filters(where.levels, where.streams, where.grep)
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
    store: Store, run_id: int, start_seq: int, where: LogFilter, backwards: bool = False
) -> LogLine | None:
    """The next line after `start_seq` (before it when `backwards`) that matches."""
    conn = store.conn
    _install_functions(conn)
    extra, params = _filters(where.levels, None, where.grep)
    op, order = ("<", "DESC") if backwards else (">", "")
    row = conn.execute(
        f"SELECT * FROM run_logs WHERE run_id = ? AND seq {op} ?{extra} ORDER BY seq {order} "
        "LIMIT 1",
        [run_id, start_seq, *params],
    ).fetchone()
    return _line(row) if row else None


def iter_log(
    store: Store, run_id: int, where: LogFilter = ALL, from_seq: int = 1, chunk: int = 5000
) -> Iterator[LogLine]:
    """Every matching line from `from_seq`, read a chunk at a time."""
    seq = from_seq
    while True:
        lines = read_log(store, run_id, where, seq, chunk)
        yield from lines
        if len(lines) < chunk:
            return
        seq = lines[-1].seq + 1

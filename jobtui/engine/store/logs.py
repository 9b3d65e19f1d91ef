"""Run logs: batched inserts and index-probe readers.

Every line has a per-run `seq` (1..N), so a page from any line is one probe of the
`run_logs(run_id, seq)` index and a 1M-line log is never held in memory.
"""

from __future__ import annotations

import sqlite3

from jobtui.engine.model.types import LogRow
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

"""The SQLite table sink: a table made from the dataset's fields, filled with executemany.

Bulk load: rows go to `executemany` as plain tuples (values converted only in a batch
that holds something sqlite3 cannot bind, e.g. a nested object), one transaction per
`batch_size` rows, and the *target* database runs with `PRAGMA synchronous = OFF` while
the sink has it open: a power loss during the load may lose the load's last
transactions, never corrupt the file (WAL) or touch jobtui's own database.
"""

from __future__ import annotations

import contextlib
import operator
import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.sinks import SqliteOptions
from jobtui.engine.model.sql import quote_identifier, table_name
from jobtui.engine.sinks.base import Sink, SinkContext, columns_of, plain_value, sql_types


class SqliteSink(Sink):
    type = "sqlite"
    takes = "records"
    encoding = "tuples"  # rows arrive as tuples made from the generator's columns
    inline = True

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = SqliteOptions.model_validate(options)
        self.path = os.path.expanduser(self.config.path)
        self.table = table_name(self.config.table, dataset=ctx.dataset, job=ctx.job, run=ctx.run_id)
        self._conn: sqlite3.Connection | None = None
        self._insert = ""
        self._columns: list[str] = []

    def open(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(directory, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
            # The journal mode is the database's own (WAL persists in the file): left as
            # found. synchronous is this connection's alone.
            self._conn.execute("PRAGMA synchronous = OFF")
        except (OSError, sqlite3.Error) as exc:
            raise InvalidInput(f"sqlite sink: cannot open {self.path}: {exc}") from None
        if self.config.if_exists == "replace":
            self._conn.execute(f"DROP TABLE IF EXISTS {quote_identifier(self.table)}")

    def _prepare(self, records: Sequence[dict[str, Any]]) -> None:
        assert self._conn is not None
        self._columns = columns_of(self.ctx, records)
        types = sql_types(self.ctx, records, self._columns, "sqlite")
        table = quote_identifier(self.table)
        columns = ", ".join(f"{quote_identifier(c)} {types[c]}" for c in self._columns)
        self._conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        existing = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in self._columns if c not in existing]
        if missing:
            raise InvalidInput(
                f"sqlite sink: table {self.table} exists without column(s) {', '.join(missing)}"
            )
        names = ", ".join(quote_identifier(c) for c in self._columns)
        marks = ", ".join("?" * len(self._columns))
        self._insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"

    def write_records(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        assert self._conn is not None, "sqlite sink used before open()"
        if not self._insert:
            self._prepare(records)
        columns = self._columns
        try:
            if len(columns) == 1:
                rows: list[Any] = [(r[columns[0]],) for r in records]
            else:
                rows = list(map(operator.itemgetter(*columns), records))
        except KeyError:
            rows = [tuple(r.get(c) for c in columns) for r in records]
        self._insert_rows(rows)

    def write_encoded(self, data: Any, records: int) -> None:
        """Row tuples made from the dataset's columns (`encode_columns("tuples")`), in
        field order: no record dicts on the way."""
        if not records:
            return
        assert self._conn is not None, "sqlite sink used before open()"
        if not self._insert:
            self._prepare(self.ctx.sample())
        self._insert_rows(data)

    def _insert_rows(self, rows: Sequence[Any]) -> None:
        """executemany in transactions of `batch_size` rows."""
        size = self.config.batch_size
        conn = self._conn
        assert conn is not None
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            conn.execute("BEGIN")
            try:
                try:
                    conn.executemany(self._insert, part)
                except (sqlite3.InterfaceError, sqlite3.ProgrammingError, OverflowError):
                    # A value sqlite3 cannot bind (nested object, date…): convert this batch.
                    conn.execute("ROLLBACK")
                    conn.execute("BEGIN")
                    part = [tuple(plain_value(v) for v in row) for row in part]
                    conn.executemany(self._insert, part)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self.records += len(part)

    def close(self) -> str:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        return f"{self.path} table {self.table}"

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    @classmethod
    def test(cls, options: dict[str, Any], ctx: SinkContext) -> str:
        config = SqliteOptions.model_validate(options)
        path = os.path.expanduser(config.path)
        probe = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(probe) and probe != os.path.dirname(probe):
            probe = os.path.dirname(probe)
        if not os.access(probe, os.W_OK | os.X_OK):
            raise InvalidInput(f"sqlite sink: {probe} is not writable")
        if os.path.exists(path):
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                conn.close()
            except sqlite3.Error as exc:
                raise InvalidInput(f"sqlite sink: {path} is not a usable database: {exc}") from None
            return f"sqlite: {path} opens"
        return f"sqlite: {path} will be created"

"""The SQLite table sink: a table made from the dataset's fields, filled with executemany.

Bulk load: rows arrive as one flat list of values made from the generator's columns
(`flat`, in the generating processes), and go to `executemany` on one prepared INSERT of
`ROWS_PER_INSERT` rows (a multi-row VALUES: measured, 35% less CPU per row than one
INSERT per row, which is most of what this sink costs), the few left over one row at a
time. Values are converted only in a batch that holds something sqlite3 cannot bind (a
nested object). Transactions hold `batch_size` rows (100k) across the writes.

The target database's journal mode is left as found (WAL persists in the file: the sink
once switched it for good). A database the sink creates gets 16 KiB pages (4 KiB is
SQLite's default; measured, ~10% less CPU per row loaded); an existing one keeps its own.
The connection's page cache holds a whole transaction (`CACHE_KIB`), so a batch's pages
are written once at its commit rather than spilled to the file half-way through.
`synchronous` is the sink's connection's alone: `off` by default (the load's speed; an
application crash, a killed worker included, cannot corrupt the file, but a power loss or
an OS crash during the load can), `normal` to have SQLite sync at each commit. jobtui's
own database is never touched.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.sinks import SqliteOptions
from jobtui.engine.model.sql import quote_identifier, table_name
from jobtui.engine.sinks.base import Sink, SinkContext, columns_of, plain_value, sql_types

ROWS_PER_INSERT = 64  # rows bound by one multi-row INSERT (fewer when columns are many)
NEW_PAGE_SIZE = 16384  # bytes: the pages of a database the sink creates
CACHE_KIB = 32768  # the sink connection's page cache: a 100k-row batch of 8 fields ~25 MB


class SqliteSink(Sink):
    type = "sqlite"
    takes = "records"
    encoding = "flat"  # every row's values in one list, made from the generator's columns
    inline = True

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = SqliteOptions.model_validate(options)
        self.path = os.path.expanduser(self.config.path)
        self.table = table_name(self.config.table, dataset=ctx.dataset, job=ctx.job, run=ctx.run_id)
        self._conn: sqlite3.Connection | None = None
        self._insert = ""  # one row
        self._insert_many = ""  # self._per_insert rows
        self._per_insert = 1
        self._columns: list[str] = []
        self._uncommitted = 0  # rows of the open transaction

    def open(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(directory, exist_ok=True)
            fresh = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
            if fresh:  # takes effect when the first table is written; never on a used file
                self._conn.execute(f"PRAGMA page_size = {NEW_PAGE_SIZE}")
            # The journal mode is the database's own (WAL persists in the file): left as
            # found. synchronous and the cache are this connection's alone.
            self._conn.execute(f"PRAGMA synchronous = {self.config.synchronous.upper()}")
            self._conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
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
        row = "(" + ", ".join("?" * len(self._columns)) + ")"
        self._insert = f"INSERT INTO {table} ({names}) VALUES {row}"
        limit = self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._per_insert = max(1, min(ROWS_PER_INSERT, limit // max(1, len(self._columns))))
        self._insert_many = f"INSERT INTO {table} ({names}) VALUES " + ", ".join(
            [row] * self._per_insert
        )

    def write_records(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        assert self._conn is not None, "sqlite sink used before open()"
        if not self._insert:
            self._prepare(records)
        columns = self._columns
        try:
            if len(columns) == 1:
                flat: list[Any] = [r[columns[0]] for r in records]
            else:
                flat = list(
                    itertools.chain.from_iterable(map(operator.itemgetter(*columns), records))
                )
        except KeyError:
            flat = [r.get(c) for r in records for c in columns]
        self._insert_rows(flat, len(records))

    def write_encoded(self, data: Any, records: int) -> None:
        """Every row's values in one list, made from the dataset's columns
        (`encode_columns("flat")`), in field order: no record dicts on the way."""
        if not records:
            return
        assert self._conn is not None, "sqlite sink used before open()"
        if not self._insert:
            self._prepare(self.ctx.sample())
        self._insert_rows(data, records)

    def _insert_rows(self, flat: list[Any], rows: int) -> None:
        """`rows` rows given as one flat list of values into the open transaction; commit
        every `batch_size` rows."""
        conn = self._conn
        assert conn is not None
        if not conn.in_transaction:
            conn.execute("BEGIN")
        try:
            # A savepoint per batch: a batch that fails is undone alone, the transaction's
            # earlier batches stay.
            conn.execute("SAVEPOINT batch")
            try:
                self._execute(flat, rows)
            except (sqlite3.InterfaceError, sqlite3.ProgrammingError, OverflowError):
                # A value sqlite3 cannot bind (nested object, date…): the statements before
                # it went in; undo them and insert the batch converted.
                conn.execute("ROLLBACK TO batch")
                self._execute(list(map(plain_value, flat)), rows)
            conn.execute("RELEASE batch")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._uncommitted = 0
            raise
        self._uncommitted += rows
        if self._uncommitted >= self.config.batch_size:
            self._commit()

    def _execute(self, flat: list[Any], rows: int) -> None:
        conn = self._conn
        assert conn is not None
        width = len(self._columns)
        step = self._per_insert * width
        whole = rows // self._per_insert * step
        if whole:
            conn.executemany(self._insert_many, (flat[i : i + step] for i in range(0, whole, step)))
        if whole < rows * width:
            conn.executemany(
                self._insert, (flat[i : i + width] for i in range(whole, rows * width, width))
            )

    def _commit(self) -> None:
        conn = self._conn
        if conn is not None and conn.in_transaction:
            conn.execute("COMMIT")
        self.records += self._uncommitted
        self._uncommitted = 0

    def flush(self) -> None:
        self._commit()

    def close(self) -> str:
        if self._conn is not None:
            self._commit()
            self._conn.close()
            self._conn = None
        return f"{self.path} table {self.table}"

    def abort(self) -> None:
        """The open transaction is rolled back: what was committed stays."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            with contextlib.suppress(Exception):
                conn.close()

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

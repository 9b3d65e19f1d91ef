"""The PostgreSQL sink: COPY into a table created (from the dataset's fields) when missing.

The DSN may be a secret reference (`env:NAME`, `file:PATH`), resolved at run time.

Bulk load: each batch is encoded here, column by column, into COPY's text format and sent
with one `copy.write(bytes)` (no per-row driver calls); the session runs with
`synchronous_commit = off`, so a server crash during the load may lose its last batches
(never corrupt anything); each batch is still committed.
"""

from __future__ import annotations

import contextlib
import operator
import re
from collections.abc import Sequence
from typing import Any

from jobtui.engine.errors import InvalidInput
from jobtui.engine.secrets import resolve_secret
from jobtui.engine.sinks.base import Sink, SinkContext, column_kinds, columns_of, plain_value
from jobtui.engine.sinks.options import PostgresOptions
from jobtui.engine.sinks.sqlite import table_name

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_COPY_PAIRS = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _copy_cell(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        value = plain_value(value)
        if not isinstance(value, str):
            return _copy_cell(value)
    return value.translate(_COPY_ESCAPES)


def copy_column(values: Sequence[Any]) -> list[str]:
    """A column of values in COPY's text format (one pass per column, not per value)."""
    kinds = set(map(type, values))
    if kinds == {str}:
        # Escape the whole column at once: join on NUL (which text never holds in
        # PostgreSQL), replace, split; far faster than a translate per value.
        joined = "\0".join(values)
        if joined.count("\0") != len(values) - 1:
            esc = _COPY_ESCAPES
            return [v.translate(esc) for v in values]
        for char, escaped in _COPY_PAIRS:
            if char in joined:
                joined = joined.replace(char, escaped)
        return joined.split("\0")
    if kinds == {int} or kinds == {float}:
        return list(map(str, values))
    return list(map(_copy_cell, values))


def copy_text(records: Sequence[dict[str, Any]], columns: list[str]) -> bytes:
    """Records as the body of `COPY ... FROM STDIN` (text format)."""
    if len(columns) == 1:
        name = columns[0]
        cells = [copy_column([r.get(name) for r in records])]
    else:
        try:
            rows = list(map(operator.itemgetter(*columns), records))
        except KeyError:
            rows = [tuple(r.get(c) for c in columns) for r in records]
        cells = [copy_column(col) for col in zip(*rows, strict=True)]
    return ("\n".join(map("\t".join, zip(*cells, strict=True))) + "\n").encode()


COPY_BATCH = 20_000  # records gathered into one COPY (and one commit)

PG_TYPES = {"int": "BIGINT", "float": "DOUBLE PRECISION", "bool": "BOOLEAN", "text": "TEXT"}


def _safe_dsn(dsn: str) -> str:
    return re.sub(r"(://[^/@:]*:)[^/@]+@", r"\1***@", dsn)


class PostgresSink(Sink):
    type = "postgres"
    takes = "records"

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = PostgresOptions.model_validate(options)
        self.table = table_name(self.config.table, ctx)
        self._conn: Any = None
        self._copy_sql: Any = None
        self._columns: list[str] = []
        self._pending: list[bytes] = []
        self._pending_records = 0

    def _connect(self) -> Any:
        import psycopg

        dsn = resolve_secret(self.config.dsn, field="postgres sink: dsn")
        try:
            return psycopg.connect(dsn, connect_timeout=10, application_name="jobtui")
        except psycopg.Error as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidInput(f"postgres sink: cannot connect: {message}") from None

    def open(self) -> None:
        from psycopg import sql

        self._conn = self._connect()
        self._conn.execute("SET synchronous_commit = off")
        if self.config.if_exists == "replace":
            self._conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(self.config.db_schema, self.table)
                )
            )
            self._conn.commit()

    def _prepare(self, records: Sequence[dict[str, Any]]) -> None:
        from psycopg import sql

        self._columns = columns_of(self.ctx, records)
        kinds = column_kinds(records, self._columns)
        target = sql.Identifier(self.config.db_schema, self.table)
        exists = self._conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (self.config.db_schema, self.table),
        ).fetchone()
        if not exists:
            if not self.config.create:
                raise InvalidInput(
                    f"postgres sink: table {self.config.db_schema}.{self.table} does not exist "
                    "(set create: true to create it)"
                )
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(PG_TYPES[kinds[c]]))
                for c in self._columns
            )
            self._conn.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(target, columns)
            )
            self._conn.commit()
            self.ctx.log(
                f"postgres sink: created table {self.config.db_schema}.{self.table}", "info", "sink"
            )
        self._copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            target, sql.SQL(", ").join(sql.Identifier(c) for c in self._columns)
        )

    def write_records(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        if self._copy_sql is None:
            self._prepare(records)
        self._pending.append(copy_text(records, self._columns))
        self._pending_records += len(records)
        if self._pending_records >= COPY_BATCH:
            self._send()

    def _send(self) -> None:
        """One COPY (and commit) for the batches gathered since the last one."""
        if not self._pending:
            return
        with self._conn.cursor() as cur, cur.copy(self._copy_sql) as copy:
            for data in self._pending:
                copy.write(data)
        self._conn.commit()
        self.records += self._pending_records
        self._pending = []
        self._pending_records = 0

    def flush(self) -> None:
        if self._conn is not None and self._copy_sql is not None:
            self._send()

    def close(self) -> str:
        if self._conn is not None:
            self.flush()
            self._conn.close()
            self._conn = None
        return f"postgres table {self.config.db_schema}.{self.table}"

    def abort(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.rollback()
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    @classmethod
    def test(cls, options: dict[str, Any], ctx: SinkContext) -> str:
        sink = cls(options, ctx)
        conn = sink._connect()
        try:
            version = conn.execute("SHOW server_version").fetchone()[0]
            user, database = conn.execute("SELECT current_user, current_database()").fetchone()
        finally:
            conn.close()
        return f"postgres: connected to {database} as {user} (server {version})"

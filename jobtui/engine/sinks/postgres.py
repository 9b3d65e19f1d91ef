"""The PostgreSQL sink: COPY into a table created (from the dataset's fields) when missing.

The DSN may be a secret reference (`env:NAME`, `file:PATH`), resolved at run time.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

from jobtui.engine.errors import InvalidInput
from jobtui.engine.secrets import resolve_secret
from jobtui.engine.sinks.base import Sink, SinkContext, column_kinds, columns_of, plain_value
from jobtui.engine.sinks.options import PostgresOptions
from jobtui.engine.sinks.sqlite import table_name

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
        columns = self._columns
        with self._conn.cursor() as cur, cur.copy(self._copy_sql) as copy:
            for record in records:
                copy.write_row(tuple(plain_value(record.get(c)) for c in columns))
        self._conn.commit()
        self.records += len(records)

    def close(self) -> str:
        if self._conn is not None:
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

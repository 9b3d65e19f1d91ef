"""The PostgreSQL sink: COPY into a table created (from the dataset's fields) when missing.

The table's columns have the dataset's types as the postgresql SQL format spells them
(model.sql.SQL_TYPES: dates DATE, timestamps TIMESTAMP, objects and lists JSONB); only
output replayed without its dataset falls back to the kinds of the first values.

The DSN may be a secret reference (`env:NAME`, `file:PATH`), resolved at run time.

Bulk load: rows arrive as COPY text, made column by column where they are generated
(`write_encoded`; helper processes included) or encoded here from records (replay), and
are streamed by a loader thread (behind a queue of `QUEUED` batches) into one COPY per
`COPY_BATCH` records, so the server ingests, and a COPY ends and commits, while the next
batch is made. The session runs with
`synchronous_commit = off`, so a server crash during the load may lose its last batches
(never corrupt anything); each COPY is still committed.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Sequence
from typing import Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.secrets import line_check, resolve_checked
from jobtui.engine.model.sinks import PostgresOptions
from jobtui.engine.model.sql import table_name
from jobtui.engine.sinks.base import Sink, SinkContext, columns_of, sql_types
from jobtui.engine.sinks.pgcopy import copy_text

COPY_BATCH = 50_000  # records streamed into one COPY (and one commit)
QUEUED = 4  # batches waiting for the loader thread


def _safe_dsn(dsn: str) -> str:
    return re.sub(r"(://[^/@:]*:)[^/@]+@", r"\1***@", dsn)


class PostgresSink(Sink):
    type = "postgres"
    takes = "records"
    encoding = "pgcopy"  # rows arrive as COPY text, made where they are generated

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = PostgresOptions.model_validate(options)
        self.table = table_name(self.config.table, dataset=ctx.dataset, job=ctx.job, run=ctx.run_id)
        self._conn: Any = None
        self._copy_sql: Any = None
        self._columns: list[str] = []
        self._cursor: Any = None
        self._copy_cm: Any = None
        self._copy: Any = None
        self._pending_records = 0
        self._queue: queue.Queue[tuple[bytes, int] | None] = queue.Queue(maxsize=QUEUED)
        self._loader: threading.Thread | None = None
        self._failure: BaseException | None = None

    def _connect(self) -> Any:
        import psycopg

        dsn = resolve_checked(
            self.config.dsn,
            field="postgres sink: dsn",
            check=line_check,
            what="a connection string",
        )
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
            # The postgresql SQL format's types (DATE, TIMESTAMP, JSONB…) from the dataset.
            types = sql_types(self.ctx, records, self._columns, "postgresql")
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types[c])) for c in self._columns
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
        self._write(copy_text(records, self._columns), len(records))

    def write_encoded(self, data: bytes, records: int) -> None:
        """COPY text made from the dataset's columns (`copy_columns`), in field order."""
        if not records:
            return
        if self._copy_sql is None:
            self._prepare(self.ctx.sample())
        self._write(data, records)

    def _write(self, data: bytes, records: int) -> None:
        """Hand the COPY text to the loader thread (bounded: a slow server slows the run,
        memory stays flat), so the next batch is made while the server ingests this one
        and while a COPY ends and commits."""
        self._raise_failure()
        if self._loader is None:
            self._loader = threading.Thread(target=self._load, name="postgres-copy", daemon=True)
            self._loader.start()
        while True:
            try:
                self._queue.put((data, records), timeout=0.25)
                return
            except queue.Full:
                self._raise_failure()
                if self.ctx.cancel.is_set():
                    return

    def _load(self) -> None:
        """The loader thread: stream batches into one COPY per `COPY_BATCH` records."""
        try:
            while (item := self._queue.get()) is not None:
                data, records = item
                if self._copy is None:
                    self._cursor = self._conn.cursor()
                    self._copy_cm = self._cursor.copy(self._copy_sql)
                    self._copy = self._copy_cm.__enter__()
                self._copy.write(data)
                self._pending_records += records
                if self._pending_records >= COPY_BATCH:
                    self._send()
            self._send()
        except BaseException as exc:
            self._failure = exc
            self._drain()  # unblock a waiting writer

    def _drain(self) -> None:
        """Drop what is queued for the loader."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _stop_loader(self) -> None:
        """Let the loader finish what is queued (and commit it), then end it."""
        if self._loader is None:
            return
        while self._loader.is_alive():
            try:
                self._queue.put(None, timeout=0.25)
                break
            except queue.Full:
                continue
        self._loader.join()
        self._loader = None
        self._raise_failure()

    def _send(self) -> None:
        """End the COPY and commit what it carried."""
        if self._copy is None:
            return
        copy_cm, self._copy, self._copy_cm = self._copy_cm, None, None
        copy_cm.__exit__(None, None, None)
        self._cursor.close()
        self._conn.commit()
        self.records += self._pending_records
        self._pending_records = 0

    def flush(self) -> None:
        if self._conn is not None:
            self._stop_loader()

    def close(self) -> str:
        if self._conn is not None:
            self.flush()
            self._conn.close()
            self._conn = None
        return f"postgres table {self.config.db_schema}.{self.table}"

    def abort(self) -> None:
        if self._loader is not None:
            self._failure = self._failure or RuntimeError("jobtui: the run stopped")
            self._drain()
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self._loader.join(timeout=10)
            self._loader = None
        if self._copy_cm is not None:
            copy_cm, self._copy, self._copy_cm = self._copy_cm, None, None
            with contextlib.suppress(Exception):
                failure = RuntimeError("jobtui: the run stopped")
                copy_cm.__exit__(RuntimeError, failure, None)  # COPY fails: nothing lands
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

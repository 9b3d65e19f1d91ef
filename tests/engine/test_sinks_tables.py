"""Record sinks: SQLite table, HTTP endpoint (a real local server), PostgreSQL (the real one)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, InvalidInput
from jobtui.engine.sinks.base import SinkContext, make_sink
from tests.conftest import require_server

PG_HOST, PG_PORT = "127.0.0.1", 5432
RECORDS = [
    {"id": i, "name": f"user {i}", "score": i / 2, "active": i % 2 == 0, "tags": ["a", "b"]}
    for i in range(1, 1001)
]
FIELDS = ["id", "name", "score", "active", "tags"]


def ctx(**kw: Any) -> SinkContext:
    base: dict[str, Any] = {"job": "j", "dataset": "users", "run_id": 1, "fields": FIELDS}
    base.update(kw)
    return SinkContext(**base)


# -- sqlite ---------------------------------------------------------------------------------
def test_sqlite_creates_the_table_from_the_fields_and_inserts_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "out.sqlite"
    sink = make_sink("sqlite", {"path": str(path), "table": "{dataset}_t", "batch_size": 64}, ctx())
    sink.open()
    sink.write_records(RECORDS[:500])
    sink.write_records(RECORDS[500:])
    assert "users_t" in sink.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*), sum(id) FROM users_t").fetchone() == (1000, 500500)
    columns = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(users_t)")}
    # The sqlite SQL dialect's spelling (BIGINT: INTEGER affinity in SQLite, and the same
    # text loads into PostgreSQL).
    assert columns == {
        "id": "BIGINT",
        "name": "TEXT",
        "score": "REAL",
        "active": "INTEGER",
        "tags": "TEXT",
    }
    assert json.loads(conn.execute("SELECT tags FROM users_t LIMIT 1").fetchone()[0]) == ["a", "b"]
    # replace drops the old rows
    sink = make_sink(
        "sqlite", {"path": str(path), "table": "users_t", "if_exists": "replace"}, ctx()
    )
    sink.open()
    sink.write_records(RECORDS[:10])
    sink.close()
    assert conn.execute("SELECT count(*) FROM users_t").fetchone() == (10,)


# -- http -------------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.bodies: list[tuple[str, dict[str, str], bytes]] = []
        self.fail_next = 0
        self.status = 200


@pytest.fixture
def http_server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if recorder.fail_next:
                recorder.fail_next -= 1
                self.send_response(503)
            else:
                recorder.bodies.append((self.command, dict(self.headers), body))
                self.send_response(recorder.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = do_HEAD = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ingest", recorder
    server.shutdown()
    server.server_close()


def test_http_posts_ndjson_batches_with_secret_headers(
    http_server: tuple[str, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, recorder = http_server
    monkeypatch.setenv("JOBTUI_TEST_TOKEN", "Bearer abc")
    sink = make_sink(
        "http",
        {"url": url, "batch_size": 300, "headers": {"Authorization": "env:JOBTUI_TEST_TOKEN"}},
        ctx(),
    )
    sink.open()
    sink.write_records(RECORDS)
    sink.close()
    assert [len(body.splitlines()) for _, _, body in recorder.bodies] == [300, 300, 300, 100]
    method, headers, body = recorder.bodies[0]
    assert method == "POST" and headers["Authorization"] == "Bearer abc"
    assert headers["Content-Type"] == "application/x-ndjson"
    assert json.loads(body.splitlines()[0]) == RECORDS[0]


def test_http_json_arrays_retry_with_backoff_then_give_up(
    http_server: tuple[str, Recorder],
) -> None:
    url, recorder = http_server
    logged: list[str] = []
    options = {"url": url, "format": "json", "batch_size": 1000, "retries": 2, "backoff": "10ms"}
    recorder.fail_next = 2
    sink = make_sink("http", options, ctx(log=lambda m, lv, s: logged.append(m)))
    sink.open()
    sink.write_records(RECORDS)
    sink.close()
    assert len(json.loads(recorder.bodies[0][2])) == 1000
    assert sum("retrying" in m for m in logged) == 2
    recorder.fail_next = 5
    sink = make_sink("http", options, ctx())
    sink.open()
    with pytest.raises(InvalidInput, match="failed after 3 attempt"):
        sink.write_records(RECORDS)
    recorder.fail_next = 0
    recorder.status = 400
    sink = make_sink("http", options, ctx())
    sink.open()
    with pytest.raises(InvalidInput, match="answered HTTP 400"):
        sink.write_records(RECORDS)


def test_http_test_connection(engine: Engine, http_server: tuple[str, Recorder]) -> None:
    url, _ = http_server
    assert "reachable" in engine.test_sink({"type": "http", "options": {"url": url}})
    with pytest.raises(InvalidInput, match="not reachable"):
        engine.test_sink({"type": "http", "options": {"url": "http://127.0.0.1:9/x"}})


# -- postgres -----------------------------------------------------------------------------------
def pg_dsn() -> str:
    require_server("PostgreSQL", PG_HOST, PG_PORT)
    import psycopg

    for user in ("postgres", "root"):
        dsn = f"postgresql://{user}@{PG_HOST}:{PG_PORT}/test"
        try:
            psycopg.connect(dsn, connect_timeout=3).close()
            return dsn
        except psycopg.Error:
            continue
    message = f"PostgreSQL on {PG_HOST}:{PG_PORT} refuses users postgres and root on database test"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.server
def test_postgres_copy_lands_every_record_in_a_created_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psycopg

    dsn = pg_dsn()
    monkeypatch.setenv("JOBTUI_TEST_PG", dsn)
    table = f"jobtui_test_{uuid.uuid4().hex[:8]}"
    sink = make_sink("postgres", {"dsn": "env:JOBTUI_TEST_PG", "table": table}, ctx())
    try:
        sink.open()
        sink.write_records(RECORDS[:400])
        sink.write_records(RECORDS[400:])
        assert table in sink.close()
        with psycopg.connect(dsn) as conn:
            assert conn.execute(f"SELECT count(*), sum(id) FROM {table}").fetchone() == (
                1000,
                500500,
            )
            types = dict(
                conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = %s",
                    (table,),
                ).fetchall()
            )
            assert types == {
                "id": "bigint",
                "name": "text",
                "score": "double precision",
                "active": "boolean",
                "tags": "text",
            }
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.server
def test_postgres_test_connection(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBTUI_TEST_PG", pg_dsn())
    message = engine.test_sink({"type": "postgres", "options": {"dsn": "env:JOBTUI_TEST_PG"}})
    assert message.startswith("postgres: connected to test")
    with pytest.raises(InvalidInput, match="cannot connect"):
        engine.test_sink(
            {"type": "postgres", "options": {"dsn": "postgresql://nobody@127.0.0.1:9/none"}}
        )


AWKWARD = [
    {"id": 1, "name": "tab\there", "score": None, "active": True, "tags": {"k": ["\\n"]}},
    {"id": 2, "name": "line\nbreak\r\\back\\slash", "score": 1e20, "active": False, "tags": None},
    {"id": 3, "name": "", "score": -0.5, "active": None, "tags": ["é", "\t"]},
    {"id": 4, "name": None, "score": 2.0, "active": True, "tags": []},
]


@pytest.mark.server
def test_postgres_copy_text_round_trips_awkward_values(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    dsn = pg_dsn()
    table = f"jobtui_test_{uuid.uuid4().hex[:8]}"
    sink = make_sink("postgres", {"dsn": dsn, "table": table}, ctx())
    try:
        sink.open()
        sink.write_records(AWKWARD)
        sink.close()
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(
                f"SELECT id, name, score, active, tags FROM {table} ORDER BY id"
            ).fetchall()
        expected = [
            (
                r["id"],
                r["name"],
                r["score"],
                r["active"],
                None if r["tags"] is None else json.dumps(r["tags"], separators=(",", ":")),
            )
            for r in AWKWARD
        ]
        assert [
            (*row[:4], row[4] and json.dumps(json.loads(row[4]), separators=(",", ":")))
            for row in rows
        ] == [(*e[:4], e[4]) for e in expected]
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def test_sqlite_converts_only_batches_with_values_it_cannot_bind(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    sink = make_sink("sqlite", {"path": str(path)}, ctx())
    sink.open()
    sink.write_records(AWKWARD)
    sink.close()
    rows = sqlite3.connect(path).execute("SELECT name, tags FROM users ORDER BY id").fetchall()
    assert rows[1][0] == "line\nbreak\r\\back\\slash"
    assert json.loads(rows[0][1]) == {"k": ["\\n"]} and rows[1][1] is None


# Only WAL persists in the file; any other mode reads back as "delete".
@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_sqlite_leaves_the_journal_mode_as_it_found_it(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "target.sqlite"
    conn = sqlite3.connect(path)
    assert conn.execute(f"PRAGMA journal_mode = {mode}").fetchone() == (mode,)
    conn.execute("CREATE TABLE kept (x)")
    conn.close()
    sink = make_sink("sqlite", {"path": str(path)}, ctx())
    sink.open()
    sink.write_records(RECORDS)
    sink.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == (mode,)
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (1000,)


def test_sqlite_makes_a_new_database_with_large_pages_and_leaves_an_existing_ones(
    tmp_path: Path,
) -> None:
    """Issue 18 (the SQLite sink's speed): a database the sink creates has 16 KiB pages; a
    database that exists keeps its page size, whatever the sink would choose."""
    made, kept = tmp_path / "made.sqlite", tmp_path / "kept.sqlite"
    conn = sqlite3.connect(kept)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("CREATE TABLE kept (x)")
    conn.close()
    for path in (made, kept):
        sink = make_sink("sqlite", {"path": str(path)}, ctx())
        sink.open()
        sink.write_records(RECORDS)
        sink.close()
    sizes = [sqlite3.connect(p).execute("PRAGMA page_size").fetchone()[0] for p in (made, kept)]
    assert sizes == [16384, 4096]
    assert sqlite3.connect(made).execute("SELECT count(*) FROM users").fetchone() == (1000,)


TYPED = {"id": "INTEGER", "name": "TEXT", "score": "REAL", "active": "BOOLEAN", "tags": "JSON"}


def test_sqlite_columns_take_the_datasets_types(tmp_path: Path) -> None:
    path = tmp_path / "typed.sqlite"
    sink = make_sink("sqlite", {"path": str(path)}, ctx(column_types=TYPED))
    sink.open()
    sink.write_records(RECORDS[:10])
    sink.close()
    columns = {r[1]: r[2] for r in sqlite3.connect(path).execute("PRAGMA table_info(users)")}
    # The sqlite SQL dialect's spelling (BIGINT: INTEGER affinity in SQLite, and the same
    # text loads into PostgreSQL).
    assert columns == {
        "id": "BIGINT",
        "name": "TEXT",
        "score": "REAL",
        "active": "INTEGER",
        "tags": "TEXT",
    }


@pytest.mark.server
def test_postgres_columns_take_the_datasets_types_as_the_sql_format_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DATE, TIMESTAMP and JSONB as the postgresql SQL format writes them (the sampled
    kinds only without the dataset's types: see the COPY test above)."""
    import datetime

    import psycopg

    dsn = pg_dsn()
    table = f"jobtui_test_{uuid.uuid4().hex[:8]}"
    types = {**TYPED, "born": "DATE", "seen": "DATETIME"}
    records = [{**r, "born": "2001-02-03", "seen": "2024-01-21T05:07:30"} for r in RECORDS[:50]]
    sink = make_sink(
        "postgres",
        {"dsn": dsn, "table": table},
        ctx(fields=list(types), column_types=types),
    )
    try:
        sink.open()
        sink.write_records(records)
        sink.close()
        with psycopg.connect(dsn) as conn:
            found = dict(
                conn.execute(
                    "SELECT column_name, upper(data_type) FROM information_schema.columns "
                    "WHERE table_name = %s",
                    (table,),
                ).fetchall()
            )
            row = conn.execute(f"SELECT tags, born, seen FROM {table} WHERE id = 3").fetchone()
        assert found == {
            "id": "BIGINT",
            "name": "TEXT",
            "score": "DOUBLE PRECISION",
            "active": "BOOLEAN",
            "tags": "JSONB",
            "born": "DATE",
            "seen": "TIMESTAMP WITHOUT TIME ZONE",
        }
        assert row == (
            ["a", "b"],
            datetime.date(2001, 2, 3),
            datetime.datetime(2024, 1, 21, 5, 7, 30),
        )
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")

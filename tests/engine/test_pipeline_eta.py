"""Progress with an ETA where the reader can know its total cheaply (issue 22): the file
reader by bytes, the sql reader with `count`, the http reader with the API's `total_field`;
none ("unknown") otherwise."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.pipeline.chain import make_source
from jobtui.engine.pipeline.chunks import Chunk
from jobtui.engine.pipeline.preview import PreviewContext
from jobtui.engine.pipeline.readers import ReaderEnv, Source
from tests.conftest import PATIENCE, require_server

from .runs_helpers import start_running, tick_until_final, wait_until
from .sinks_helpers import suffix
from .test_pipeline_runs import mysql
from .test_sinks_tables import pg_dsn


def source(kind: str, options: dict[str, Any], batch: int = 2) -> Source:
    env = ReaderEnv(
        ctx=PreviewContext(None, {}),  # type: ignore[arg-type]
        offset=None,
        explicit_since=None,
        on_bad=lambda bad: None,
        batch_size=batch,
    )
    return make_source(kind, options, env)


def fractions(src: Source) -> list[float | None]:
    """The fraction before reading, after each chunk read."""
    seen: list[float | None] = [src.fraction()]
    for item in src.items():
        assert isinstance(item, Chunk)
        seen.append(src.fraction())
    return seen


def test_the_file_reader_counts_the_bytes_of_the_files_to_read(tmp_path: Path) -> None:
    line = '{"n": 1}\n'
    for name in ("a", "b"):  # two files of the same size
        (tmp_path / f"{name}.jsonl").write_text(line * 4000)
    (tmp_path / "skip.csv").write_text("x\n" * 10000)  # not matched: not counted
    seen = fractions(source("file", {"base_dir": str(tmp_path), "pattern": "*.jsonl"}, 1000))
    assert seen[0] is None  # before the files are listed: unknown
    numbers = [s for s in seen[1:] if s is not None]
    assert len(numbers) == len(seen) - 1 == 8
    assert numbers == sorted(numbers)
    assert 0 < numbers[0] <= 0.5 < numbers[-1] == 1.0


def test_the_file_reader_with_nothing_to_read_has_no_eta(tmp_path: Path) -> None:
    assert fractions(source("file", {"base_dir": str(tmp_path), "pattern": "*.csv"})) == [None]


def test_the_sql_reader_counts_only_when_asked(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(4)])
    conn.close()
    options = {"url": f"sqlite:///{db}", "query": "SELECT id FROM t ORDER BY id;", "batch_size": 2}
    assert fractions(source("sql", {**options, "count": True})) == [None, 0.5, 1.0]
    assert fractions(source("sql", options)) == [None, None, None]


class Pages(BaseHTTPRequestHandler):
    """Two pages of two records, each saying there are 4 in all; page 2 waits for `release`
    while `hold` is set (a run seen in the middle of its read)."""

    hold = threading.Event()
    release = threading.Event()
    stalled = threading.Event()

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        n = int(parse_qs(urlsplit(self.path).query).get("page", ["1"])[0])
        if n == 2 and self.hold.is_set():
            self.stalled.set()
            self.release.wait(60)
        body = {
            "total": 4,
            "items": [{"id": n * 10 + i} for i in range(2)],
            "next": f"/items?page={n + 1}" if n < 2 else None,
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/items"
    finally:
        Pages.release.set()
        server.shutdown()
        server.server_close()
        for event in (Pages.hold, Pages.release, Pages.stalled):
            event.clear()


PAGED = {"records_field": "items", "pagination": {"type": "next_field", "field": "next"}}


def test_the_http_reader_uses_the_total_the_api_gives(api: str) -> None:
    options = {"url": api, **PAGED}
    assert fractions(source("http", {**options, "total_field": "total"}, 10)) == [None, 0.5, 1.0]
    assert fractions(source("http", options, 10)) == [None, None, None]


@pytest.mark.parametrize(("total_field", "halfway"), [("total", 0.5), (None, None)])
def test_a_running_run_shows_its_progress_only_when_it_can_tell(
    engine: Engine, tmp_path: Path, api: str, total_field: str | None, halfway: float | None
) -> None:
    options: dict[str, Any] = {"url": api, **PAGED}
    if total_field:
        options["total_field"] = total_field
    writer = {"type": "file", "options": {"base_dir": str(tmp_path), "path": "{run}.{ext}"}}
    pipeline = {"readers": [{"type": "http", "options": options}], "writers": [writer]}
    engine.create_job({"name": "api", "kind": "pipeline", "pipeline": pipeline})
    Pages.hold.set()
    run = engine.queue_run("api")
    supervisor = start_running(engine, run.id)
    assert Pages.stalled.wait(60 * PATIENCE), "the reader never asked for page 2"
    seen = wait_until(lambda: (r := engine.get_run(run.id)).records == 2 and r)
    assert seen.progress == halfway  # written with the records, in the same report
    Pages.release.set()
    assert tick_until_final(supervisor, engine, run.id, 60).state == RunState.SUCCEEDED


@pytest.mark.server
@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_the_sql_count_on_the_servers(server: str) -> None:
    """The count query runs with the same :since as the read (a server-side cursor after)."""
    table = f"eta22_{suffix()}"
    if server == "postgresql":
        import psycopg

        url = pg_dsn()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {table} (id INTEGER)")
            conn.execute(f"INSERT INTO {table} SELECT generate_series(1, 6)")
        drop = lambda: psycopg.connect(url, autocommit=True).execute(f"DROP TABLE {table}")  # noqa: E731
    else:
        require_server("MariaDB", "127.0.0.1", 3306)
        url = "mysql://root@127.0.0.1:3306/test"
        mysql("test", f"CREATE TABLE {table} (id INTEGER)")
        mysql("test", f"INSERT INTO {table} VALUES (1),(2),(3),(4),(5),(6)")
        drop = lambda: mysql("test", f"DROP TABLE {table}")  # noqa: E731
    try:
        query = f"SELECT id FROM {table} WHERE id > :since ORDER BY id"
        options = {"url": url, "query": query, "initial": 2, "batch_size": 2, "count": True}
        assert fractions(source("sql", options)) == [None, 0.5, 1.0]  # 4 rows after id 2
    finally:
        drop()

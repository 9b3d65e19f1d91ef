"""The http reader against a server started in the test: three kinds of pagination, the
`since` template, retries, and a cancel while a read hangs (the watermark stays put)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from jobtui.engine import Engine, RunState

from .runs_helpers import start_running, tick_until_final


class Api:
    def __init__(self) -> None:
        self.queries: list[tuple[str, dict[str, list[str]]]] = []
        self.fail_first = 1
        self.stalled = threading.Event()
        self.release = threading.Event()


def page(n: int) -> list[dict[str, Any]]:
    return [{"id": n * 10 + i, "page": n} for i in range(3)]


def handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(
            self, body: Any, headers: dict[str, str] | None = None, status: int = 200
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            api.queries.append((parts.path, query))
            n = int(query.get("page", ["1"])[0])
            if parts.path == "/link":
                links = {"Link": f'</link?page={n + 1}>; rel="next"'} if n < 3 else {}
                self.answer(page(n), links)
            elif parts.path == "/next":
                following = f"/next?page={n + 1}" if n < 3 else None
                self.answer({"result": {"items": page(n)}, "next": following})
            elif parts.path == "/cursor":
                n = {"": 1, "c2": 2, "c3": 3}[query.get("after", [""])[0]]
                cursor = {1: "c2", 2: "c3", 3: None}[n]
                self.answer({"data": page(n), "meta": {"cursor": cursor}})
            elif parts.path == "/flaky":
                if api.fail_first > 0:
                    api.fail_first -= 1
                    self.answer({"error": "busy"}, status=503)
                else:
                    self.answer(page(1))
            elif parts.path == "/stall":
                if n == 2:
                    api.stalled.set()
                    api.release.wait(60)
                links = {"Link": f'</stall?page={n + 1}>; rel="next"'} if n < 3 else {}
                self.answer(page(n), links)
            else:
                self.answer({"error": "no"}, status=404)

    return Handler


@pytest.fixture
def api() -> Iterator[tuple[str, Api]]:
    state = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def http_job(engine: Engine, name: str, out: Path, **options: Any) -> None:
    engine.create_job(
        {
            "name": name,
            "kind": "pipeline",
            "pipeline": {
                "readers": [{"type": "http", "options": options}],
                "writers": [
                    {"type": "file", "options": {"base_dir": str(out), "path": "{job}-{run}.{ext}"}}
                ],
            },
        }
    )


def ids(path: Path) -> list[int]:
    return [orjson.loads(line)["id"] for line in path.read_bytes().splitlines()]


EVERY_PAGE = [10, 11, 12, 20, 21, 22, 30, 31, 32]


@pytest.mark.parametrize(
    ("name", "path", "options"),
    [
        ("link", "/link", {"pagination": {"type": "link"}}),
        (
            "next",
            "/next",
            {
                "records_field": "result.items",
                "pagination": {"type": "next_field", "field": "next"},
            },
        ),
        (
            "cursor",
            "/cursor",
            {
                "records_field": "data",
                "pagination": {"type": "cursor", "field": "meta.cursor", "param": "after"},
            },
        ),
    ],
)
def test_the_http_reader_follows_each_kind_of_pagination(
    engine: Engine,
    tmp_path: Path,
    api: tuple[str, Api],
    name: str,
    path: str,
    options: dict[str, Any],
) -> None:
    base, state = api
    out = tmp_path / "out"
    http_job(engine, name, out, url=base + path, **options)
    run = engine.wait_for_run(engine.queue_run(name).id, timeout=60)
    assert run.state == RunState.SUCCEEDED, run.errors
    assert ids(out / f"{name}-{run.id}.jsonl") == EVERY_PAGE
    assert [p for p, _ in state.queries] == [path] * 3


def test_since_is_templated_and_the_watermark_field_is_kept(
    engine: Engine, tmp_path: Path, api: tuple[str, Api]
) -> None:
    base, state = api
    out = tmp_path / "out"
    http_job(
        engine,
        "marked",
        out,
        url=base + "/link",
        params={"updated_after": "{since}"},
        pagination={"type": "link"},
        watermark="id",
    )
    for _ in range(2):
        run = engine.wait_for_run(engine.queue_run("marked").id, timeout=60)
        assert run.state == RunState.SUCCEEDED, run.errors
    first, second = state.queries[0][1], state.queries[3][1]
    assert first.get("updated_after") is None  # nothing read yet: an empty value
    assert second["updated_after"] == ["32"]


def test_a_failing_answer_is_retried(engine: Engine, tmp_path: Path, api: tuple[str, Api]) -> None:
    base, state = api
    out = tmp_path / "out"
    http_job(engine, "flaky", out, url=base + "/flaky", backoff=0.05)
    run = engine.wait_for_run(engine.queue_run("flaky").id, timeout=60)
    assert run.state == RunState.SUCCEEDED, run.errors
    assert ids(out / f"flaky-{run.id}.jsonl") == [10, 11, 12]
    assert len(state.queries) == 2


def test_cancel_during_a_hanging_read_stops_the_run_and_leaves_the_watermark(
    engine: Engine, tmp_path: Path, api: tuple[str, Api]
) -> None:
    base, state = api
    out = tmp_path / "out"
    http_job(engine, "slow", out, url=base + "/stall", pagination={"type": "link"}, watermark="id")
    run = engine.queue_run("slow")
    supervisor = start_running(engine, run.id)
    assert state.stalled.wait(60), "the reader never asked for page 2"
    mark = engine.store.query_one("SELECT offsets FROM jobs WHERE name = 'slow'")["offsets"]
    engine.cancel_run(run.id)
    ended = tick_until_final(supervisor, engine, run.id, timeout=30)
    assert ended.state == RunState.CANCELLED
    assert not state.release.is_set()  # it stopped while the read still hung
    after = engine.store.query_one("SELECT offsets FROM jobs WHERE name = 'slow'")["offsets"]
    assert after == mark is None

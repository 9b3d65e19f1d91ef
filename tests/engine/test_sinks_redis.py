"""The Redis sink against real servers: the shared one (127.0.0.1:6379, our own keys with a
random suffix) and, to stop one mid-run, a private redis-server on a port of our own.
Judged by `redis-cli` and a redis-py subscriber."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, InvalidInput, RunState, SpecError
from jobtui.engine.sinks.base import SinkContext, make_sink
from tests.conftest import IN_CI, require_server

from .runs_helpers import wait_until
from .sinks_helpers import file_sink, lines_of, run_job, shell, suffix, task

HOST, PORT = "127.0.0.1", 6379
pytestmark = pytest.mark.server
RECORDS = [{"id": i, "status": "paid" if i % 3 else "new", "tags": ["a", i]} for i in range(1000)]


def redis_cli(*args: str, port: int = PORT) -> str:
    return shell("redis-cli", "-h", HOST, "-p", str(port), *args).strip()


@pytest.fixture
def prefix() -> Iterator[str]:
    """Our own key prefix; every key under it is deleted afterwards."""
    require_server("Redis", HOST, PORT)
    name = f"jobtui-test-{suffix()}"
    yield name
    keys = redis_cli("--scan", "--pattern", f"{name}*").split()
    for start in range(0, len(keys), 500):
        redis_cli("DEL", *keys[start : start + 500])


def ctx(**kw: Any) -> SinkContext:
    base: dict[str, Any] = {"job": "j", "dataset": "orders", "fields": ["id", "status", "tags"]}
    base.update(kw)
    return SinkContext(**base)


def deliver(options: dict[str, Any], records: list[dict[str, Any]] = RECORDS) -> str:
    sink = make_sink("redis", {"pipeline": 300, **options}, ctx())
    sink.open()
    sink.write_records(records[:500])
    sink.write_records(records[500:])
    assert sink.records == len(records)
    return sink.close()


def test_stream_entries_hold_each_record_as_json_and_maxlen_trims(prefix: str) -> None:
    assert deliver({"key": f"{prefix}:{{dataset}}"}) == (
        f"redis stream {prefix}:orders on {HOST}:{PORT}/0"
    )
    assert redis_cli("XLEN", f"{prefix}:orders") == "1000"
    first = redis_cli("--no-raw", "XRANGE", f"{prefix}:orders", "-", "+", "COUNT", "1")
    assert (
        '"data"' in first and '{\\"id\\":0,\\"status\\":\\"new\\",\\"tags\\":[\\"a\\",0]}' in first
    )
    deliver({"key": f"{prefix}:trimmed", "maxlen": 100})
    # MAXLEN ~ trims whole stream nodes (100 entries each by default): about 100 are kept.
    assert 100 <= int(redis_cli("XLEN", f"{prefix}:trimmed")) <= 200


def test_lists_and_hashes_with_keys_from_the_records_fields(prefix: str) -> None:
    deliver({"mode": "list", "key": f"{prefix}:{{status}}"})
    assert redis_cli("LLEN", f"{prefix}:paid") == "666"
    assert redis_cli("LLEN", f"{prefix}:new") == "334"
    assert json.loads(redis_cli("LINDEX", f"{prefix}:new", "1")) == RECORDS[3]
    deliver({"mode": "hash", "key": f"{prefix}:{{dataset}}:{{id}}"})
    assert redis_cli("HGETALL", f"{prefix}:orders:42").splitlines() == [
        "id",
        "42",
        "status",
        "new",
        "tags",
        '["a",42]',
    ]
    count = redis_cli("EVAL", f"return #redis.call('KEYS', '{prefix}:orders:*')", "0")
    assert count == "1000"


def test_pubsub_publishes_each_record_to_a_subscriber(prefix: str) -> None:
    import redis

    client = redis.Redis(host=HOST, port=PORT)
    subscriber = client.pubsub()
    subscriber.subscribe(f"{prefix}:chan")
    assert subscriber.get_message(timeout=5)["type"] == "subscribe"
    deliver({"mode": "pubsub", "key": f"{prefix}:chan"})
    got = []
    while len(got) < 1000:
        message = subscriber.get_message(timeout=5)
        assert message is not None, f"only {len(got)} of 1000 messages arrived"
        got.append(json.loads(message["data"]))
    assert got == RECORDS
    subscriber.close()
    client.close()


def test_a_run_of_customers_and_orders_lands_every_record(
    engine: Engine, prefix: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    sinks = [{"type": "redis", "options": {"key": f"{prefix}:{{dataset}}"}}, file_sink(out)]
    run = run_job(engine, "to-redis", sinks, max_records=3000)
    assert run.state == RunState.SUCCEEDED, run.errors
    assert redis_cli("XLEN", f"{prefix}:customers") == "3000"
    assert redis_cli("XLEN", f"{prefix}:orders") == "3000"
    last = redis_cli("--raw", "XREVRANGE", f"{prefix}:orders", "+", "-", "COUNT", "1")
    expected = json.loads(lines_of(out, "to-redis", "orders", run.id)[-1])
    assert json.loads(last.splitlines()[-1]) == expected


def test_replay_delivers_the_stored_output_again_as_the_same_messages(
    engine: Engine, prefix: str, tmp_path: Path
) -> None:
    """Replay decodes the stored output (CSV here) back into records for the sink."""
    sinks = [{"type": "redis", "options": {"key": f"{prefix}:{{dataset}}", "mode": "list"}}]
    first = run_job(
        engine,
        "redis-replay",
        sinks,
        datasets=("orders",),
        max_records=500,
        generator={"format": "csv"},
        replay={"enabled": True},
    )
    assert first.state == RunState.SUCCEEDED, first.errors
    again = engine.wait_for_run(engine.replay_run(first.id).id, timeout=60)
    assert again.state == RunState.SUCCEEDED, again.errors
    assert redis_cli("LLEN", f"{prefix}:orders") == "1000"
    bodies = redis_cli("LRANGE", f"{prefix}:orders", "0", "-1").splitlines()
    assert [json.loads(b) for b in bodies[500:]] == [json.loads(b) for b in bodies[:500]]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A private redis-server on a free port, to stop mid-run."""
    binary = shutil.which("redis-server")
    if binary is None:
        if IN_CI:
            pytest.fail("redis-server is not installed, and CI=true forbids skipping")
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _pong(port), timeout=10)
        yield port, server
    finally:
        server.kill()
        server.wait()


def _pong(port: int) -> bool:
    done = subprocess.run(
        ["redis-cli", "-h", HOST, "-p", str(port), "PING"], capture_output=True, text=True
    )
    return done.stdout.strip() == "PONG"


MANY = 1_000_000  # records of the stopped-server test


def test_a_server_stopped_mid_run_fails_that_task_only(
    engine: Engine, own_redis: tuple[int, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port, server = own_redis
    out = tmp_path / "out"

    def stop_once_entries_arrive(run: Any) -> None:
        if server.poll() is None and run.records and _xlen(port) > 0:
            server.kill()
            server.wait()

    sinks = [
        {"type": "redis", "options": {"url": f"redis://{HOST}:{port}/0"}},
        file_sink(out),
    ]
    run = run_job(
        engine,
        "redis-stopped",
        sinks,
        datasets=("customers",),
        # Enough that the Redis task cannot end before the first progress with records
        # (about a second) is seen: the sink writes about 160,000 a second.
        max_records=MANY,
        on_poll=stop_once_entries_arrive,
        timeout=120,
    )
    assert server.poll() is not None, "the server was never stopped"
    assert run.state == RunState.PARTIALLY_SUCCEEDED, run.errors
    failed = task(run, "customers", "redis")
    assert failed.state == RunState.FAILED
    assert failed.error is not None and failed.error.startswith(f"redis sink: {HOST}:{port}/0: "), (
        failed.error
    )
    assert task(run, "customers", "file").state == RunState.SUCCEEDED
    assert len(lines_of(out, "redis-stopped", "customers", run.id)) == MANY


def _xlen(port: int) -> int:
    done = subprocess.run(
        ["redis-cli", "-h", HOST, "-p", str(port), "XLEN", "customers"],
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip() or 0) if done.returncode == 0 else 0


def test_test_connection_and_options_checked_with_their_paths(engine: Engine) -> None:
    require_server("Redis", HOST, PORT)
    assert engine.test_sink({"type": "redis", "options": {}}).startswith(
        f"redis: connected to {HOST}:{PORT}/0 (server "
    )
    with pytest.raises(InvalidInput, match="cannot connect to 127.0.0.1:9/0"):
        engine.test_sink({"type": "redis", "options": {"url": "redis://127.0.0.1:9/0"}})
    with pytest.raises(SpecError) as caught:
        engine.create_job(
            {
                "name": "bad-redis",
                "datagen": {
                    "datasets": ["users"],
                    "sinks": [
                        {"type": "file", "options": {}},
                        {"type": "redis", "options": {"key": "{id", "url": "redis://:pw@h/0"}},
                    ],
                },
            }
        )
    text = str(caught.value)
    assert "datagen.sinks[1].options.key: " in text
    assert "datagen.sinks[1].options.url: contains a password in clear" in text
    with pytest.raises(InvalidInput, match=r"redis sink: key: \{nope\} is neither a field"):
        make_sink("redis", {"key": "{dataset}:{nope}"}, ctx())

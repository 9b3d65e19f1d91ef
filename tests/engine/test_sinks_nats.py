"""The NATS sink against real servers: the shared nats-server with JetStream
(127.0.0.1:4222; subjects and streams of our own) and, to stop one mid-run, a private
nats-server on a port of our own. Judged by nats-py consumers."""

from __future__ import annotations

import asyncio
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
from tests.conftest import IN_CI, require_server, server_reachable

from .runs_helpers import wait_until
from .sinks_helpers import file_sink, lines_of, run_job, suffix, task

HOST, PORT = "127.0.0.1", 4222
pytestmark = pytest.mark.server
RECORDS = [{"id": i, "status": "paid" if i % 4 else "new"} for i in range(1000)]


def ctx(**kw: Any) -> SinkContext:
    base: dict[str, Any] = {"job": "j", "dataset": "orders", "fields": ["id", "status"]}
    base.update(kw)
    return SinkContext(**base)


async def _stream(name: str, subjects: list[str], delete: bool = False) -> None:
    import nats

    nc = await nats.connect(f"nats://{HOST}:{PORT}")
    js = nc.jetstream()
    if delete:
        await js.delete_stream(name)
    else:
        await js.add_stream(name=name, subjects=subjects, storage="memory")
    await nc.close()


async def _stored(stream: str, subject: str) -> list[Any]:
    """Every message of `subject` in `stream`, read by a pull consumer of our own."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    nc = await nats.connect(f"nats://{HOST}:{PORT}")
    js = nc.jetstream()
    # Without acknowledgements (else it stops at its 1,000 unacknowledged messages).
    config = ConsumerConfig(ack_policy=AckPolicy.NONE)
    consumer = await js.pull_subscribe(subject, stream=stream, config=config)
    count = (await consumer.consumer_info()).num_pending
    out: list[Any] = []
    while len(out) < count:
        batch = await consumer.fetch(min(1000, count - len(out)), timeout=10)
        out += [json.loads(m.data) for m in batch]
    await nc.close()
    return out


@pytest.fixture
def stream() -> Iterator[str]:
    """A JetStream stream of our own (in memory) holding `<name>.>`."""
    require_server("NATS", HOST, PORT)
    name = f"jobtui-test-{suffix()}"
    asyncio.run(_stream(name, [f"{name}.>"]))
    yield name
    asyncio.run(_stream(name, [], delete=True))


def test_core_messages_reach_a_subscriber(stream: str) -> None:
    import nats

    async def scenario() -> list[tuple[str, Any]]:
        nc = await nats.connect(f"nats://{HOST}:{PORT}")
        sub = await nc.subscribe(f"core-{stream}.>")
        await nc.flush()
        sink = make_sink("nats", {"subject": f"core-{stream}" + ".{dataset}.{status}"}, ctx())
        # The sink blocks on its own loop's thread: run it beside this loop.
        await asyncio.to_thread(deliver, sink)
        got = [await sub.next_msg(timeout=10) for _ in range(1000)]
        await nc.close()
        return [(m.subject, json.loads(m.data)) for m in got]

    got = asyncio.run(scenario())
    assert [r for _, r in got] == RECORDS
    assert got[0][0] == f"core-{stream}.orders.new" and got[1][0] == f"core-{stream}.orders.paid"


def deliver(sink: Any) -> None:
    sink.open()
    sink.write_records(RECORDS[:300])
    sink.write_records(RECORDS[300:])
    assert sink.records == 1000
    sink.close()


def test_jetstream_publishes_are_acknowledged_by_the_stream(stream: str) -> None:
    options = {"subject": stream + ".{dataset}", "jetstream": True, "stream": stream, "window": 64}
    deliver(make_sink("nats", options, ctx()))
    assert asyncio.run(_stored(stream, f"{stream}.orders")) == RECORDS
    # No stream stores the subject: refused, not counted.
    sink = make_sink("nats", {"subject": "nowhere.{dataset}", "jetstream": True}, ctx())
    sink.open()
    with pytest.raises(InvalidInput, match="no JetStream stream stores subject 'nowhere.orders'"):
        sink.write_records(RECORDS[:10])
    assert sink.records == 0
    sink.abort()
    with pytest.raises(InvalidInput, match="no JetStream stream named 'no-such-stream'"):
        make_sink("nats", {"jetstream": True, "stream": "no-such-stream"}, ctx()).open()


def test_a_run_of_customers_and_orders_lands_every_record(
    engine: Engine, stream: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    options = {"subject": stream + ".{dataset}", "jetstream": True, "stream": stream}
    sinks = [{"type": "nats", "options": options}, file_sink(out)]
    run = run_job(engine, "to-nats", sinks, max_records=3000)
    assert run.state == RunState.SUCCEEDED, run.errors
    orders = asyncio.run(_stored(stream, f"{stream}.orders"))
    customers = asyncio.run(_stored(stream, f"{stream}.customers"))
    assert len(customers) == 3000
    assert orders == [json.loads(line) for line in lines_of(out, "to-nats", "orders", run.id)]


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    binary = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )
    if binary is None:
        if IN_CI:
            pytest.fail("nats-server is not installed, and CI=true forbids skipping")
        pytest.skip("nats-server is not installed")
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "-a", HOST, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: server_reachable(HOST, port), timeout=10)
        yield port, server
    finally:
        server.kill()
        server.wait()


MANY = 1_000_000  # records of the stopped-server test


def test_a_server_stopped_mid_run_fails_that_task_only(
    engine: Engine, own_nats: tuple[int, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port, server = own_nats
    out = tmp_path / "out"

    def stop_once_records_flow(run: Any) -> None:
        if server.poll() is None and run.records > 0:
            server.kill()
            server.wait()

    sinks = [{"type": "nats", "options": {"url": f"nats://{HOST}:{port}"}}, file_sink(out)]
    run = run_job(
        engine,
        "nats-stopped",
        sinks,
        datasets=("customers",),
        # Enough that the NATS task cannot end before the first progress with records
        # (about a second) is seen: 100,000 once all went out first, on an idle machine.
        max_records=MANY,
        on_poll=stop_once_records_flow,
        timeout=120,
    )
    assert server.poll() is not None, "the server was never stopped"
    assert run.state == RunState.PARTIALLY_SUCCEEDED, run.errors
    failed = task(run, "customers", "nats")
    assert failed.state == RunState.FAILED
    assert failed.error is not None and failed.error.startswith(f"nats sink: {HOST}:{port}: "), (
        failed.error
    )
    assert task(run, "customers", "file").state == RunState.SUCCEEDED
    assert len(lines_of(out, "nats-stopped", "customers", run.id)) == MANY


def test_test_connection_and_options_checked_with_their_paths(engine: Engine) -> None:
    require_server("NATS", HOST, PORT)
    message = engine.test_sink({"type": "nats", "options": {"jetstream": True}})
    assert message.startswith(f"nats: connected to {HOST}:{PORT} (server ")
    assert message.endswith(", JetStream)")
    with pytest.raises(InvalidInput, match="cannot connect to 127.0.0.1:9"):
        engine.test_sink({"type": "nats", "options": {"url": "nats://127.0.0.1:9"}})
    for options, expected in [
        ({"url": "nats://u:secret@127.0.0.1"}, "url: contains a password in clear"),
        ({"subject": "a.*.b"}, "subject: a subject to publish to holds no space nor wildcard"),
        ({"stream": "s"}, "stream: set jetstream: true"),
    ]:
        with pytest.raises(SpecError) as caught:
            engine.create_job(
                {
                    "name": "bad-nats",
                    "datagen": {
                        "datasets": ["users"],
                        "sinks": [{"type": "nats", "options": options}],
                    },
                }
            )
        assert f"datagen.sinks[0].options.{expected}" in str(caught.value)

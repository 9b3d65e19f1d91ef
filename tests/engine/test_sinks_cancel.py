"""A run into a network sink stops promptly when cancelled: the waits for acknowledgements
(publisher confirms, PUBACKs, JetStream acks on the sink's own event loop) look at the
run's cancel, and close their connections without holding the worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, RunState
from tests.conftest import require_server

from .runs_helpers import STOP_GRACE, start_running, tick_until_final, wait_until
from .sinks_helpers import suffix

pytestmark = pytest.mark.server
HOST = "127.0.0.1"


@pytest.fixture
def rabbit_queue() -> Iterator[str]:
    import pika

    require_server("RabbitMQ", HOST, 5672)
    connection = pika.BlockingConnection(pika.ConnectionParameters(HOST))
    channel = connection.channel()
    queue = f"jobtui-test-{suffix()}"
    channel.queue_declare(queue, durable=True)
    yield queue
    channel.queue_delete(queue)
    connection.close()


@pytest.fixture
def nats_stream() -> Iterator[str]:
    import nats

    require_server("NATS", HOST, 4222)
    name = f"jobtui-test-{suffix()}"

    async def stream(create: bool) -> None:
        nc = await nats.connect(f"nats://{HOST}:4222")
        js = nc.jetstream()
        if create:
            await js.add_stream(name=name, subjects=[f"{name}.>"], storage="memory")
        else:
            await js.delete_stream(name)
        await nc.close()

    asyncio.run(stream(True))
    yield name
    asyncio.run(stream(False))


def cancel_promptly(engine: Engine, name: str, sink: dict[str, Any]) -> None:
    engine.create_job(
        {
            "name": name,
            "datagen": {"datasets": ["customers"], "max_records": 50_000_000, "sinks": [sink]},
        }
    )
    run = engine.queue_run(name)
    supervisor = start_running(engine, run.id)
    wait_until(lambda: engine.get_run(run.id).records > 0, timeout=30)
    started = time.monotonic()
    engine.cancel_run(run.id)
    final = tick_until_final(supervisor, engine, run.id, timeout=2 + STOP_GRACE)
    # Within a second of the cancel, plus the supervisor's tick and the worker's exit.
    assert time.monotonic() - started < 2 + STOP_GRACE
    assert final.state == RunState.CANCELLED, final.errors
    assert final.records < 50_000_000


def test_a_run_into_rabbitmq_stops_promptly(engine: Engine, rabbit_queue: str) -> None:
    cancel_promptly(
        engine, "rabbit-cancel", {"type": "rabbitmq", "options": {"routing_key": rabbit_queue}}
    )


def test_a_run_into_mqtt_stops_promptly(engine: Engine, tmp_path: Path) -> None:
    require_server("Mosquitto", HOST, 1883)
    topic = f"jobtui-test/{suffix()}"
    cancel_promptly(engine, "mqtt-cancel", {"type": "mqtt", "options": {"topic": topic, "qos": 2}})


def test_a_run_into_nats_jetstream_stops_promptly(engine: Engine, nats_stream: str) -> None:
    options = {"subject": nats_stream + ".{dataset}", "jetstream": True, "stream": nats_stream}
    cancel_promptly(engine, "nats-cancel", {"type": "nats", "options": options})


def test_a_run_into_mysql_stops_promptly(engine: Engine) -> None:
    """A LOAD DATA in flight in the delivery thread does not hold the cancel: abort shuts
    the connection's socket (the server rolls the load back)."""
    import pymysql

    require_server("MariaDB", HOST, 3306)
    database = f"jobtui_{suffix()}"
    admin = pymysql.connect(host=HOST, user="root", autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE {database}")
    try:
        url = f"mysql://root@{HOST}:3306/{database}"
        cancel_promptly(engine, "mysql-cancel", {"type": "mysql", "options": {"url": url}})
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()

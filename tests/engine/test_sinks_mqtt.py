"""The MQTT sink against real brokers: the shared Mosquitto (127.0.0.1:1883, topics of our
own) and, to stop one mid-run, a private mosquitto on a port of our own. Judged by a paho
subscriber."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, InvalidInput, RunState, SpecError
from jobtui.engine.sinks.base import SinkContext, make_sink
from tests.conftest import IN_CI, require_server, server_reachable

from .runs_helpers import wait_until
from .sinks_helpers import file_sink, lines_of, run_job, suffix, task

HOST, PORT = "127.0.0.1", 1883
pytestmark = pytest.mark.server


class Subscriber:
    """A paho client subscribed to `topic` (wildcards allowed) before anything is sent."""

    def __init__(self, topic: str, port: int = PORT, qos: int = 0) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self.changed = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sub-{suffix()}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect(HOST, port)
        self.client.loop_start()
        self.client.subscribe(topic, qos=qos)
        assert subscribed.wait(10), "the subscription was not acknowledged"

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self.changed:
            self.messages.append((message.topic, message.payload, message.retain))
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 30) -> list[tuple[str, bytes, bool]]:
        with self.changed:
            arrived = self.changed.wait_for(lambda: len(self.messages) >= count, timeout)
        assert arrived, f"only {len(self.messages)} of {count} messages arrived"
        return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def prefix() -> str:
    require_server("Mosquitto", HOST, PORT)
    return f"jobtui-test/{suffix()}"


def ctx(**kw: Any) -> SinkContext:
    base: dict[str, Any] = {"job": "j", "dataset": "orders", "fields": ["id", "status"]}
    base.update(kw)
    return SinkContext(**base)


RECORDS = [{"id": i, "status": "paid" if i % 4 else "new"} for i in range(1000)]


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_each_record_is_a_message_on_its_topic_acknowledged_at_its_qos(
    prefix: str, qos: int
) -> None:
    subscriber = Subscriber(f"{prefix}/#")
    try:
        options = {"topic": prefix + "/{dataset}/{status}", "qos": qos, "window": 50}
        sink = make_sink("mqtt", options, ctx())
        sink.open()
        sink.write_records(RECORDS[:300])
        sink.write_records(RECORDS[300:])
        assert sink.records == 1000
        assert sink.close() == f"mqtt topic {prefix}/orders/{{status}} on {HOST}:{PORT} (QoS {qos})"
        got = subscriber.wait_for(1000)
    finally:
        subscriber.close()
    assert len(got) == 1000
    by_topic: dict[str, list[Any]] = {}
    for got_topic, payload, _ in got:
        by_topic.setdefault(got_topic, []).append(json.loads(payload))
    assert by_topic[f"{prefix}/orders/new"] == [r for r in RECORDS if r["status"] == "new"]
    assert len(by_topic[f"{prefix}/orders/paid"]) == 750


def test_retained_messages_reach_a_later_subscriber(prefix: str) -> None:
    topic = f"{prefix}/retained"
    sink = make_sink("mqtt", {"topic": topic, "retain": True}, ctx())
    sink.open()
    sink.write_records(RECORDS[:3])
    sink.close()
    late = Subscriber(topic)
    try:
        [(got_topic, payload, retained)] = late.wait_for(1)
    finally:
        late.close()
    assert (got_topic, json.loads(payload), retained) == (topic, RECORDS[2], True)
    clear = Subscriber(topic)  # an empty retained message removes the retained one
    clear.client.publish(topic, b"", retain=True, qos=1).wait_for_publish(10)
    clear.close()


def test_a_run_of_customers_and_orders_lands_every_record(
    engine: Engine, prefix: str, tmp_path: Path
) -> None:
    subscriber = Subscriber(f"{prefix}/#")
    out = tmp_path / "out"
    sinks = [{"type": "mqtt", "options": {"topic": prefix + "/{dataset}"}}, file_sink(out)]
    try:
        run = run_job(engine, "to-mqtt", sinks, max_records=3000)
        assert run.state == RunState.SUCCEEDED, run.errors
        got = subscriber.wait_for(6000)
    finally:
        subscriber.close()
    orders = [json.loads(p) for t, p, _ in got if t == f"{prefix}/orders"]
    assert len(orders) == 3000
    assert len([t for t, _, _ in got if t == f"{prefix}/customers"]) == 3000
    expected = [json.loads(line) for line in lines_of(out, "to-mqtt", "orders", run.id)]
    assert orders == expected


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if binary is None:
        if IN_CI:
            pytest.fail("mosquitto is not installed, and CI=true forbids skipping")
        pytest.skip("mosquitto is not installed")
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} {HOST}\nallow_anonymous true\npersistence false\n")
    server = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: server_reachable(HOST, port), timeout=10)
        yield port, server
    finally:
        server.kill()
        server.wait()


def test_a_broker_stopped_mid_run_fails_that_task_only(
    engine: Engine, own_mosquitto: tuple[int, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port, server = own_mosquitto
    subscriber = Subscriber("#", port=port)
    out = tmp_path / "out"

    def stop_once_messages_arrive(run: Any) -> None:
        if server.poll() is None and subscriber.messages:
            server.kill()
            server.wait()

    sinks = [{"type": "mqtt", "options": {"url": f"mqtt://{HOST}:{port}"}}, file_sink(out)]
    try:
        run = run_job(
            engine,
            "mqtt-stopped",
            sinks,
            datasets=("customers",),
            max_records=50_000,
            on_poll=stop_once_messages_arrive,
            timeout=120,
        )
    finally:
        subscriber.client.loop_stop()
    assert server.poll() is not None, "the broker was never stopped"
    assert run.state == RunState.PARTIALLY_SUCCEEDED, run.errors
    failed = task(run, "customers", "mqtt")
    assert failed.state == RunState.FAILED
    assert failed.error is not None and failed.error.startswith(f"mqtt sink: {HOST}:{port}: "), (
        failed.error
    )
    assert task(run, "customers", "file").state == RunState.SUCCEEDED
    assert len(lines_of(out, "mqtt-stopped", "customers", run.id)) == 50_000


def test_test_connection_and_options_checked_with_their_paths(engine: Engine) -> None:
    require_server("Mosquitto", HOST, PORT)
    assert engine.test_sink({"type": "mqtt", "options": {}}) == f"mqtt: connected to {HOST}:{PORT}"
    with pytest.raises(InvalidInput, match="cannot connect to 127.0.0.1:9"):
        engine.test_sink({"type": "mqtt", "options": {"url": "mqtt://127.0.0.1:9"}})
    for options, expected in [
        ({"url": "mqtt://u:secret@127.0.0.1"}, "url: contains a password in clear"),
        ({"topic": "a/+/b"}, "topic: a topic to publish to holds no wildcard"),
        ({"qos": 3}, "qos: "),
    ]:
        with pytest.raises(SpecError) as caught:
            engine.create_job(
                {
                    "name": "bad-mqtt",
                    "datagen": {
                        "datasets": ["users"],
                        "sinks": [{"type": "mqtt", "options": options}],
                    },
                }
            )
        assert f"datagen.sinks[0].options.{expected}" in str(caught.value)

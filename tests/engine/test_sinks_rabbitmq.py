"""The RabbitMQ sink against the real broker (127.0.0.1:5672, guest/guest), with exchanges
and queues of our own; judged by a pika consumer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, InvalidInput, RunState, SpecError
from jobtui.engine.sinks.base import SinkContext, make_sink
from tests.conftest import require_server

from .sinks_helpers import file_sink, lines_of, run_job, suffix, task

HOST, PORT = "127.0.0.1", 5672
pytestmark = pytest.mark.server


class Broker:
    """Our own topic exchange and queues (bound by routing key), deleted afterwards."""

    def __init__(self) -> None:
        import pika

        self.connection = pika.BlockingConnection(pika.ConnectionParameters(HOST, PORT))
        self.channel = self.connection.channel()
        self.exchange = f"jobtui-test-{suffix()}"
        self.queues: list[str] = []
        self.channel.exchange_declare(self.exchange, "topic", durable=True)

    def bind(self, routing_key: str) -> str:
        queue = f"{self.exchange}-{routing_key}"
        self.channel.queue_declare(queue, durable=True)
        self.channel.queue_bind(queue, self.exchange, routing_key)
        self.queues.append(queue)
        return queue

    def count(self, queue: str) -> int:
        return int(self.channel.queue_declare(queue, passive=True).method.message_count)

    def bodies(self, queue: str, limit: int) -> list[bytes]:
        """Consume up to `limit` messages (acknowledging them), failing loudly if fewer come."""
        out: list[bytes] = []
        for _method, _properties, body in self.channel.consume(
            queue, inactivity_timeout=10, auto_ack=True
        ):
            assert body is not None, f"only {len(out)} of {limit} messages arrived"
            out.append(body)
            if len(out) == limit:
                break
        self.channel.cancel()
        return out

    def close(self) -> None:
        for queue in self.queues:
            self.channel.queue_delete(queue)
        self.channel.exchange_delete(self.exchange)
        self.connection.close()


@pytest.fixture
def broker() -> Iterator[Broker]:
    require_server("RabbitMQ", HOST, PORT)
    own = Broker()
    try:
        yield own
    finally:
        own.close()


def ctx(**kw: Any) -> SinkContext:
    base: dict[str, Any] = {"job": "j", "dataset": "orders", "fields": ["id", "status"]}
    base.update(kw)
    return SinkContext(**base)


RECORDS = [{"id": i, "status": "paid" if i % 4 else "new"} for i in range(1000)]


def test_each_record_is_a_confirmed_persistent_message_routed_by_its_fields(
    broker: Broker,
) -> None:
    paid, new = broker.bind("orders.paid"), broker.bind("orders.new")
    options = {"exchange": broker.exchange, "routing_key": "{dataset}.{status}", "window": 64}
    sink = make_sink("rabbitmq", options, ctx())
    sink.open()
    sink.write_records(RECORDS[:300])
    sink.write_records(RECORDS[300:])
    assert sink.records == 1000
    assert sink.close() == (
        f"rabbitmq {broker.exchange} routing key orders.{{status}} on {HOST}:{PORT} vhost / "
        "(1000 message(s))"
    )
    assert broker.count(paid) == 750 and broker.count(new) == 250
    _method, properties, body = broker.channel.basic_get(paid, auto_ack=True)
    assert properties.delivery_mode == 2 and properties.content_type == "application/json"
    assert json.loads(body) == RECORDS[1]
    new_bodies = broker.bodies(new, 250)
    assert [json.loads(b) for b in new_bodies] == [r for r in RECORDS if r["id"] % 4 == 0]


def test_batches_are_json_lines_and_unroutable_messages_fail(broker: Broker) -> None:
    queue = broker.bind("orders")
    options = {"exchange": broker.exchange, "message": "batch", "batch_size": 400}
    sink = make_sink("rabbitmq", options, ctx())
    sink.open()
    sink.write_records(RECORDS)
    sink.close()
    assert broker.count(queue) == 3
    lines = [json.loads(line) for body in broker.bodies(queue, 3) for line in body.splitlines()]
    assert lines == RECORDS
    sink = make_sink("rabbitmq", {"exchange": broker.exchange, "routing_key": "nowhere"}, ctx())
    sink.open()
    with pytest.raises(InvalidInput, match=r"reached no queue .*routing key 'nowhere'"):
        sink.write_records(RECORDS[:10])
    sink.abort()


def test_a_run_of_customers_and_orders_lands_every_record(
    engine: Engine, broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers, orders = broker.bind("customers"), broker.bind("orders")
    out = tmp_path / "out"
    # Credentials only inside a secret reference, resolved by the worker at run time.
    monkeypatch.setenv("JOBTUI_TEST_AMQP", f"amqp://guest:guest@{HOST}:{PORT}/%2F")
    options = {"url": "env:JOBTUI_TEST_AMQP", "exchange": broker.exchange}
    sinks = [{"type": "rabbitmq", "options": options}, file_sink(out)]
    run = run_job(engine, "to-rabbit", sinks, max_records=3000)
    assert run.state == RunState.SUCCEEDED, run.errors
    assert broker.count(customers) == 3000 and broker.count(orders) == 3000
    expected = [json.loads(line) for line in lines_of(out, "to-rabbit", "orders", run.id)[:5]]
    assert [json.loads(b) for b in broker.bodies(orders, 5)] == expected
    shown = engine.get_job("to-rabbit").spec["datagen"]["sinks"][0]["options"]["url"]
    assert shown == "env:JOBTUI_TEST_AMQP"


def test_an_exchange_deleted_mid_run_fails_that_task_only(
    engine: Engine, broker: Broker, tmp_path: Path
) -> None:
    queue = broker.bind("customers")
    out = tmp_path / "out"
    deleted: list[bool] = []

    def delete_the_exchange(run: Any) -> None:
        if not deleted and broker.count(queue) > 0:
            broker.channel.exchange_delete(broker.exchange)
            deleted.append(True)

    sinks = [{"type": "rabbitmq", "options": {"exchange": broker.exchange}}, file_sink(out)]
    run = run_job(
        engine,
        "rabbit-refused",
        sinks,
        datasets=("customers",),
        max_records=50_000,
        on_poll=delete_the_exchange,
        timeout=120,
    )
    assert deleted, "the exchange was never deleted"
    assert run.state == RunState.PARTIALLY_SUCCEEDED, run.errors
    failed = task(run, "customers", "rabbitmq")
    assert failed.state == RunState.FAILED
    assert failed.error is not None and "NOT_FOUND - no exchange" in failed.error, failed.error
    assert failed.error.startswith(f"rabbitmq sink: {HOST}:{PORT} vhost /: ")
    assert task(run, "customers", "file").state == RunState.SUCCEEDED
    assert len(lines_of(out, "rabbit-refused", "customers", run.id)) == 50_000


def test_test_connection_and_options_checked_with_their_paths(
    engine: Engine, broker: Broker
) -> None:
    message = engine.test_sink({"type": "rabbitmq", "options": {"exchange": broker.exchange}})
    assert message.startswith(f"rabbitmq: connected to {HOST}:{PORT} vhost / (RabbitMQ ")
    with pytest.raises(InvalidInput, match="exchange 'no-such-exchange'.*NOT_FOUND"):
        engine.test_sink({"type": "rabbitmq", "options": {"exchange": "no-such-exchange"}})
    with pytest.raises(InvalidInput, match="cannot connect to 127.0.0.1:9 vhost /"):
        engine.test_sink({"type": "rabbitmq", "options": {"url": "amqp://127.0.0.1:9/"}})
    for options, expected in [
        ({"url": "amqp://guest:guest@127.0.0.1/"}, "url: contains a password in clear"),
        (
            {"message": "batch", "routing_key": "{dataset}.{status}"},
            "routing_key: a batch message has one routing key",
        ),
        ({"exchange_type": "topic"}, "exchange: name the exchange to declare"),
        ({"timeout": "0s"}, "timeout: must be longer than zero"),
    ]:
        with pytest.raises(SpecError) as caught:
            engine.create_job(
                {
                    "name": "bad-rabbit",
                    "datagen": {
                        "datasets": ["users"],
                        "sinks": [{"type": "rabbitmq", "options": options}],
                    },
                }
            )
        assert f"datagen.sinks[0].options.{expected}" in str(caught.value)

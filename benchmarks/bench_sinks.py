"""Sink throughput beside plain client loops, measured side by side in the same run (issue 21),
and the SQLite sink against the file sink (issue 18 point 5).

Brokers and MariaDB: the same orders records (pre-generated, so generation weighs
nothing) go through the sink (`write_records` in batches of 1,000, as a run hands them
over) and through a plain client loop doing the same publish pattern with the same
acknowledgement level, JSON encoding included in both. Each pair runs in rounds, the two
sides alternating which goes first, and the ratio is the median of the rounds' ratios
(these shared machines drift from minute to minute). Targets: every broker sink >= 50% of
its loop; the MariaDB sink >= 80% of a plain PyMySQL executemany of the same rows.

- Redis: stream XADD through a redis-py pipeline of 1,000 commands.
- RabbitMQ: persistent messages to a durable queue with publisher confirms, 1,000
  unconfirmed at most, on py-amqp (the sink's client); pika's BlockingConnection with
  confirm_delivery (a confirm awaited per message) is shown too.
- MQTT: QoS 1 over MQTT 5, in flight at most the broker's Receive Maximum (paho).
- NATS: JetStream publish with the expected-stream header, 1,000 acknowledgements
  outstanding at most (publish_async); one awaited publish at a time is shown too.
- MariaDB: the sink (LOAD DATA LOCAL INFILE, one statement per 20k rows) against
  PyMySQL executemany (multi-row INSERT) in transactions of 20k rows.

SQLite vs file: full runs (worker process included) of users records into a JSON lines
file and into the SQLite sink, in rounds, order alternating; ratios within a round. With
`--before-tree PATH` (a checkout of earlier code, e.g. `git worktree add /tmp/base main`)
the same SQLite runs are also made by workers importing that code, in the same rounds.

    python -m benchmarks sinks
    python -m benchmarks.bench_sinks [--messages 20000] [--rounds 3] [--records 3000000]
                                     [--sqlite-rounds 3] [--only redis,rabbitmq,...]
                                     [--before-tree PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from jobtui.engine.sinks.base import SinkContext, make_sink

HOST = "127.0.0.1"
BATCH = 1000
WINDOW = 1000


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPU(s)"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def reachable(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def orders(count: int) -> list[dict[str, Any]]:
    from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
    from jobtui.engine.datagen.generate import DatasetGenerator

    gen = DatasetGenerator(list(BUILTIN_DATASETS.values()), seed=1)
    return [r for batch in gen.batches("orders", count, 10_000) for r in batch]


def ctx(dataset: str = "orders") -> SinkContext:
    from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
    from jobtui.engine.datagen.formats import column_types

    spec = BUILTIN_DATASETS[dataset]
    return SinkContext(
        job="bench",
        dataset=dataset,
        fields=[f["name"] for f in spec["fields"]],
        column_types=column_types(spec, BUILTIN_DATASETS.get),
    )


def through_sink(sink_type: str, options: dict[str, Any], records: list[dict[str, Any]]) -> float:
    """records/s through the sink, opened and closed included."""
    sink = make_sink(sink_type, options, ctx())
    started = time.perf_counter()
    sink.open()
    for start in range(0, len(records), BATCH):
        sink.write_records(records[start : start + BATCH])
    sink.flush()
    sink.close()
    return len(records) / (time.perf_counter() - started)


def paired(
    rounds: int, ours: Callable[[], float], theirs: Callable[[], float]
) -> tuple[float, float, float]:
    """Median sink rate, median loop rate, median of the rounds' ratios (sides alternate)."""
    mine: list[float] = []
    loop: list[float] = []
    for number in range(rounds):
        if number % 2:
            loop.append(theirs())
            mine.append(ours())
        else:
            mine.append(ours())
            loop.append(theirs())
    ratio = statistics.median(m / b for m, b in zip(mine, loop, strict=True))
    return statistics.median(mine), statistics.median(loop), ratio


def report(name: str, sink: float, loop: float, ratio: float, target: float, what: str) -> None:
    print(
        f"{name:<9} sink {sink:>9,.0f} rec/s   {what} {loop:>9,.0f} rec/s   "
        f"{ratio:5.0%} of it [target >= {target:.0%}: {verdict(ratio >= target)}]",
        flush=True,
    )


# -- Redis ---------------------------------------------------------------------------------
def bench_redis(records: list[dict[str, Any]], rounds: int) -> None:
    import redis

    key = f"jobtui-bench-{uuid.uuid4().hex[:8]}"
    client = redis.Redis(host=HOST, port=6379)

    def loop() -> float:
        started = time.perf_counter()
        for start in range(0, len(records), BATCH):
            pipe = client.pipeline(transaction=False)
            for record in records[start : start + BATCH]:
                pipe.xadd(key, {"data": orjson.dumps(record, default=str)})
            pipe.execute()
        return len(records) / (time.perf_counter() - started)

    try:
        sink, base, ratio = paired(
            rounds, lambda: through_sink("redis", {"key": key}, records), loop
        )
    finally:
        client.delete(key)
        client.close()
    report("redis", sink, base, ratio, 0.5, "redis-py pipeline XADD")


# -- RabbitMQ ------------------------------------------------------------------------------
def bench_rabbitmq(records: list[dict[str, Any]], rounds: int) -> None:
    import amqp
    import pika

    queue = f"jobtui-bench-{uuid.uuid4().hex[:8]}"
    admin = pika.BlockingConnection(pika.ConnectionParameters(HOST))
    channel = admin.channel()
    channel.queue_declare(queue, durable=True)

    def amqp_loop() -> float:
        conn = amqp.Connection(f"{HOST}:5672")
        conn.connect()
        ch = conn.channel()
        ch.confirm_select()
        acked = [0]
        ch.events["basic_ack"].add(lambda tag, multiple: acked.__setitem__(0, max(acked[0], tag)))
        started = time.perf_counter()
        for number, record in enumerate(records, 1):
            body = orjson.dumps(record, default=str)
            message = amqp.Message(body, delivery_mode=2, content_type="application/json")
            ch.basic_publish(message, exchange="", routing_key=queue, mandatory=True)
            while number - acked[0] >= WINDOW:
                conn.drain_events(timeout=30)
        while acked[0] < len(records):
            conn.drain_events(timeout=30)
        rate = len(records) / (time.perf_counter() - started)
        conn.close()
        channel.queue_purge(queue)
        return rate

    def sink() -> float:
        rate = through_sink("rabbitmq", {"routing_key": queue}, records)
        channel.queue_purge(queue)
        return rate

    try:
        rate, base, ratio = paired(rounds, sink, amqp_loop)
        # pika waits for each message's confirm: a few hundred a second, so fewer messages.
        few = records[: max(200, len(records) // 50)]
        pika_channel = admin.channel()
        pika_channel.confirm_delivery()
        props = pika.BasicProperties(delivery_mode=2, content_type="application/json")
        started = time.perf_counter()
        for record in few:
            body = orjson.dumps(record, default=str)
            pika_channel.basic_publish("", queue, body, props, mandatory=True)
        pika_rate = len(few) / (time.perf_counter() - started)
        pika_channel.close()
    finally:
        channel.queue_delete(queue)
        admin.close()
    report("rabbitmq", rate, base, ratio, 0.5, "py-amqp confirms loop")
    print(
        f"{'':<9} pika BlockingConnection, a confirm awaited per message: {pika_rate:,.0f} "
        f"rec/s ({len(few):,} messages); the sink is {rate / pika_rate:.0f}x it",
        flush=True,
    )


# -- MQTT ----------------------------------------------------------------------------------
def bench_mqtt(records: list[dict[str, Any]], rounds: int) -> None:
    import paho.mqtt.client as mqtt

    topic = f"jobtui-bench/{uuid.uuid4().hex[:8]}"
    limit = [WINDOW]

    def loop() -> float:
        done = threading.Condition()
        state = {"acked": 0, "connected": False}

        def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            with done:
                limit[0] = min(WINDOW, getattr(props, "ReceiveMaximum", None) or WINDOW)
                state["connected"] = True
                done.notify_all()

        def on_publish(client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
            with done:
                state["acked"] += 1
                done.notify_all()

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.on_connect, client.on_publish = on_connect, on_publish
        client.connect(HOST, 1883)
        client.loop_start()
        with done:
            done.wait_for(lambda: state["connected"], 10)
        started = time.perf_counter()
        for number, record in enumerate(records, 1):
            with done:
                done.wait_for(lambda n=number: n - 1 - state["acked"] < limit[0], 30)
            client.publish(topic, orjson.dumps(record, default=str), qos=1)
        with done:
            done.wait_for(lambda: state["acked"] >= len(records), 60)
        rate = len(records) / (time.perf_counter() - started)
        client.disconnect()
        client.loop_stop()
        return rate

    sink, base, ratio = paired(
        rounds, lambda: through_sink("mqtt", {"topic": topic, "qos": 1}, records), loop
    )
    report("mqtt", sink, base, ratio, 0.5, f"paho QoS 1 loop ({limit[0]} in flight)")


# -- NATS ----------------------------------------------------------------------------------
async def _nats_stream(name: str, create: bool) -> None:
    import nats

    nc = await nats.connect(f"nats://{HOST}:4222")
    js = nc.jetstream()
    if create:
        await js.add_stream(name=name, subjects=[f"{name}.>"], storage="memory")
    else:
        await js.delete_stream(name)
    await nc.close()


async def _nats_loop(
    stream: str, subject: str, records: list[dict[str, Any]], window: int | None
) -> float:
    import nats

    nc = await nats.connect(f"nats://{HOST}:4222")
    js = nc.jetstream(publish_async_max_pending=window or 1)
    started = time.perf_counter()
    if window is None:
        for record in records:
            await js.publish(subject, orjson.dumps(record, default=str), stream=stream)
    else:
        futures = [
            await js.publish_async(subject, orjson.dumps(record, default=str), stream=stream)
            for record in records
        ]
        await asyncio.gather(*futures)
    rate = len(records) / (time.perf_counter() - started)
    await nc.close()
    return rate


def bench_nats(records: list[dict[str, Any]], rounds: int) -> None:
    stream = f"jobtui-bench-{uuid.uuid4().hex[:8]}"
    asyncio.run(_nats_stream(stream, True))
    options = {"subject": f"{stream}.orders", "jetstream": True, "stream": stream}
    try:
        sink, base, ratio = paired(
            rounds,
            lambda: through_sink("nats", options, records),
            lambda: asyncio.run(_nats_loop(stream, f"{stream}.orders", records, WINDOW)),
        )
        one_by_one = asyncio.run(_nats_loop(stream, f"{stream}.orders", records[:2000], None))
    finally:
        asyncio.run(_nats_stream(stream, False))
    report("nats", sink, base, ratio, 0.5, "nats-py JetStream publish_async")
    print(
        f"{'':<9} nats-py JetStream publish awaited one at a time: {one_by_one:,.0f} rec/s",
        flush=True,
    )


# -- MariaDB -------------------------------------------------------------------------------
def bench_mariadb(records: list[dict[str, Any]], rounds: int) -> None:
    import pymysql

    from jobtui.engine.sinks.base import plain_value

    database = f"jobtui_bench_{uuid.uuid4().hex[:8]}"
    admin = pymysql.connect(host=HOST, user="root", autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE {database}")
    url = f"mysql://root@{HOST}:3306/{database}"
    fields = ctx().fields
    size = 20_000

    def sink() -> float:
        admin.cursor().execute(f"DROP TABLE IF EXISTS {database}.orders")
        return through_sink("mysql", {"url": url, "batch_size": size}, records)

    def loop() -> float:
        admin.cursor().execute(f"DROP TABLE IF EXISTS {database}.orders")
        conn = pymysql.connect(host=HOST, user="root", database=database)
        cur = conn.cursor()
        # The table the sink makes, made here before the clock starts.
        cur.execute(
            "CREATE TABLE orders (id BIGINT, customer_id BIGINT, order_number TEXT, "
            "ordered_at DATETIME, status TEXT, items BIGINT, total DOUBLE, currency TEXT, "
            "channel TEXT)"
        )
        names = ", ".join(f"`{f}`" for f in fields)
        insert = f"INSERT INTO orders ({names}) VALUES ({', '.join(['%s'] * len(fields))})"
        started = time.perf_counter()
        for start in range(0, len(records), size):
            rows = [
                tuple(plain_value(r.get(f)) for f in fields) for r in records[start : start + size]
            ]
            cur.executemany(insert, rows)
            conn.commit()
        rate = len(records) / (time.perf_counter() - started)
        conn.close()
        return rate

    try:
        rate, base, ratio = paired(rounds, sink, loop)
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()
    report("mariadb", rate, base, ratio, 0.8, "PyMySQL executemany")


# -- SQLite vs file ------------------------------------------------------------------------
def bench_sqlite(records: int, rounds: int, before_tree: str | None) -> None:
    from jobtui.engine import Engine

    from .bench_runs import remove_files, timed_run

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        out.mkdir()
        engine = Engine.open(data_dir=Path(tmp) / "data")
        base: dict[str, Any] = {"datasets": ["users"], "max_records": records, "seed": 1}
        counter = iter(range(1, 1_000_000))
        database = out / "bench.sqlite"
        sqlite_sink = {"type": "sqlite", "options": {"path": str(database)}}
        sinks: list[tuple[str, dict[str, Any], str | None]] = [
            ("file", {"type": "file", "options": {"base_dir": str(out)}}, None),
            ("sqlite", sqlite_sink, None),
        ]
        if before_tree:
            # The same sink run by a worker importing an earlier checkout of jobtui.
            sinks.append(("sqlite before", sqlite_sink, before_tree))
        rates: dict[str, list[float]] = {label: [] for label, _, _ in sinks}
        # CPU seconds of the run's processes: what other tenants' load leaves alone (the
        # run is CPU-bound with threads 1, so the CPU ratio is the rate ratio of an idle
        # machine).
        cpus: dict[str, list[float]] = {label: [] for label, _, _ in sinks}
        for number in range(rounds):
            order = sinks if number % 2 == 0 else sinks[::-1]
            for label, sink, tree in order:
                saved = os.environ.get("PYTHONPATH")
                here = os.getcwd()
                if tree:
                    # `python -m` puts the worker's working directory first on its path,
                    # before PYTHONPATH: both must name the tree.
                    os.environ["PYTHONPATH"] = tree
                    os.chdir(tree)
                try:
                    rate, _, _, cpu = timed_run(
                        engine, f"bench-sqlite-{next(counter)}", {**base, "sinks": [sink]}
                    )
                finally:
                    if tree:
                        os.chdir(here)
                        if saved is None:
                            os.environ.pop("PYTHONPATH", None)
                        else:
                            os.environ["PYTHONPATH"] = saved
                    remove_files(out)
                rates[label].append(rate)
                cpus[label].append(cpu)
            print(
                f"  round {number + 1}: "
                + "; ".join(f"{label} {rates[label][-1] / 1000:,.0f}k" for label, _, _ in sinks),
                flush=True,
            )
        engine.close()

    def ratio(label: str) -> float:
        return statistics.median(a / b for a, b in zip(rates[label], rates["file"], strict=True))

    def cpu_ratio(label: str) -> float:
        """file's CPU seconds over the sink's for the same records, median of the rounds."""
        return statistics.median(f / c for f, c in zip(cpus["file"], cpus[label], strict=True))

    new = ratio("sqlite")
    line = (
        f"sqlite    users, {records:,} records, threads 1: file "
        f"{statistics.median(rates['file']):,.0f} rec/s; sqlite "
        f"{statistics.median(rates['sqlite']):,.0f} rec/s = {new:.2f}x the file sink "
        f"[target >= 0.7x: {verdict(new >= 0.7)}]; by CPU seconds {cpu_ratio('sqlite'):.2f}x "
        f"(file {statistics.median(cpus['file']):.1f} s, sqlite "
        f"{statistics.median(cpus['sqlite']):.1f} s)"
    )
    if before_tree:
        line += (
            f"; before ({before_tree}) {statistics.median(rates['sqlite before']):,.0f} rec/s"
            f" = {ratio('sqlite before'):.2f}x, by CPU seconds {cpu_ratio('sqlite before'):.2f}x "
            f"({statistics.median(cpus['sqlite before']):.1f} s)"
        )
    print(line, flush=True)


BROKERS: dict[str, tuple[int, Callable[[list[dict[str, Any]], int], None]]] = {
    "redis": (6379, bench_redis),
    "rabbitmq": (5672, bench_rabbitmq),
    "mqtt": (1883, bench_mqtt),
    "nats": (4222, bench_nats),
    "mariadb": (3306, bench_mariadb),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_sinks")
    parser.add_argument("--messages", type=int, default=20_000, help="records per broker pass")
    parser.add_argument("--rounds", type=int, default=3, help="sink/loop pairs per broker")
    parser.add_argument("--records", type=int, default=3_000_000, help="records per SQLite run")
    parser.add_argument("--sqlite-rounds", type=int, default=3, help="rounds of SQLite runs")
    parser.add_argument("--only", default="", help="comma-separated: redis,rabbitmq,...,sqlite")
    parser.add_argument(
        "--before-tree",
        default=None,
        help="a checkout of earlier jobtui code: its SQLite sink runs in the same rounds",
    )
    args = parser.parse_args(argv)
    only = {name for name in args.only.split(",") if name}

    print(f"before: {load()}", flush=True)
    records = orders(args.messages)
    print(f"{len(records):,} orders records per pass, {args.rounds} rounds", flush=True)
    for name, (port, bench) in BROKERS.items():
        if only and name not in only:
            continue
        if not reachable(port):
            print(f"{name}: nothing listens on {HOST}:{port}; skipped", flush=True)
            continue
        try:
            bench(records, args.rounds)
        except Exception as exc:  # one broken pair must not hide the others
            print(f"{name}: failed: {type(exc).__name__}: {exc}", flush=True)
    if not only or "sqlite" in only:
        bench_sqlite(args.records, args.sqlite_rounds, args.before_tree)
    print(f"after: {load()}", flush=True)


if __name__ == "__main__":
    main()

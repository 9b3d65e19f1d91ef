"""Run throughput: users records/s through the real pipeline (worker process included),
next to baselines measured in the same run.

Baselines: a naive loop calling Faker per field per record (the issue's ~1,300 rec/s),
and stdlib `random` building the same 8-field shape (the "limit"). Pipeline figures:
users → JSON lines file, CSV file, SQLite table, PostgreSQL table, each with `threads: 1`
and `threads: 2`. Memory: the worker's max RSS for a big file run (10M records by default;
`--records` / `--memory-records` scale down). Not a test: it prints, it never asserts.

    python -m benchmarks.bench_runs [--records 200000] [--memory-records 10000000]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from jobtui.engine import Engine

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def naive_faker(seconds: float = 2.0) -> float:
    from faker import Faker

    fake = Faker("en_US")
    Faker.seed(1)
    n = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(100):
            {
                "name": fake.name(),
                "email": fake.email(),
                "address": fake.address(),
                "phone": fake.phone_number(),
                "company": fake.company(),
                "date": fake.date(),
                "int": fake.random_int(),
                "uuid": fake.uuid4(),
            }
        n += 100
    return n / (time.perf_counter() - started)


def stdlib_limit(seconds: float = 2.0) -> float:
    rng = random.Random(1)
    names = [f"name{i}" for i in range(1000)]
    n = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(1000):
            name = rng.choice(names)
            {
                "name": name,
                "email": f"{name}@example.com",
                "address": f"{rng.randint(1, 9999)} Main St",
                "phone": f"555-{rng.randint(0, 9999):04d}",
                "company": rng.choice(names),
                "date": f"2020-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "int": rng.randint(0, 10_000),
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            }
        n += 1000
    return n / (time.perf_counter() - started)


def pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_DSN, connect_timeout=2).close()
        return True
    except Exception:
        return False


def timed_run(engine: Engine, name: str, datagen: dict[str, Any]) -> tuple[float, Any]:
    engine.create_job({"name": name, "datagen": datagen})
    run = engine.queue_run(name)
    final = engine.wait_for_run(run.id)
    if final.state.value != "succeeded":
        raise RuntimeError(f"{name}: {final.state.value}: {final.error}")
    seconds = (final.ended_at - final.started_at).total_seconds()
    return final.records / seconds, final


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_runs")
    parser.add_argument("--records", type=int, default=200_000, help="records per throughput run")
    parser.add_argument(
        "--memory-records", type=int, default=10_000_000, help="records of the memory run"
    )
    args = parser.parse_args(argv)

    naive = naive_faker()
    limit = stdlib_limit()
    print(f"baseline naive Faker loop      {naive:>12,.0f} rec/s")
    print(f"baseline stdlib random shape   {limit:>12,.0f} rec/s")
    try:
        import jobtui.engine.datagen.formats
        import jobtui.engine.datagen.generate  # noqa: F401
    except ImportError as exc:
        print(f"pipeline figures skipped: the generator is not there yet ({exc})")
        return

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        engine = Engine.open(data_dir=Path(tmp) / "data")
        base: dict[str, Any] = {"datasets": ["users"], "max_records": args.records, "seed": 1}
        sinks: list[tuple[str, dict[str, Any], str]] = [
            ("jsonl file", {"type": "file", "options": {"base_dir": str(out)}}, "jsonl"),
            ("csv file", {"type": "file", "options": {"base_dir": str(out)}}, "csv"),
            (
                "sqlite table",
                {"type": "sqlite", "options": {"path": str(out / "bench.sqlite")}},
                "jsonl",
            ),
        ]
        if pg_available():
            table = f"bench_users_{uuid.uuid4().hex[:6]}"
            sinks.append(
                (
                    "postgres table",
                    {"type": "postgres", "options": {"dsn": PG_DSN, "table": table}},
                    "jsonl",
                )
            )
        else:
            print("postgres: not reachable on 127.0.0.1:5432; skipped")
        jsonl_one = None
        i = 0
        for label, sink, fmt in sinks:
            for threads in (1, 2):
                i += 1
                sink_copy = {**sink, "options": dict(sink["options"])}
                if sink["type"] in ("sqlite", "postgres"):
                    sink_copy["options"]["table"] = f"users_{i}"
                rate, _ = timed_run(
                    engine,
                    f"bench-{i}",
                    {
                        **base,
                        "threads": threads,
                        "generator": {"format": fmt},
                        "sinks": [sink_copy],
                    },
                )
                if label == "jsonl file" and threads == 1:
                    jsonl_one = rate
                versus = f"{rate / naive:6.1f}× naive"
                if jsonl_one and label != "jsonl file":
                    versus += f", {rate / jsonl_one:4.2f}× jsonl(1)"
                elif jsonl_one and threads == 2:
                    versus += f", {rate / jsonl_one:4.2f}× threads 1"
                print(f"users → {label:<15} threads {threads}  {rate:>10,.0f} rec/s  ({versus})")
        if pg_available():
            import psycopg

            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                for n in range(1, i + 1):
                    conn.execute(f"DROP TABLE IF EXISTS users_{n}")

        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rate, final = timed_run(
            engine,
            "bench-memory",
            {**base, "max_records": args.memory_records, "sinks": [sinks[0][1]]},
        )
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        note = "" if peak > before else " (an earlier worker peaked higher)"
        print(
            f"memory: {final.records:,} records → jsonl file at {rate:,.0f} rec/s; "
            f"worker max RSS {peak / 1024:.0f} MB{note}"
        )
        engine.close()


if __name__ == "__main__":
    main()

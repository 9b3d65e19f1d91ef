"""Run throughput: users records/s through the real pipeline (worker process included),
next to baselines measured in the same run, each figure beside its target (issue 3).

Baselines: a naive loop calling Faker per field per record (the issue's ~1,300 rec/s),
and stdlib `random` building the same 8-field shape (the "limit"). Pipeline figures:
users → JSON lines file, CSV file, SQLite table, PostgreSQL table, each with `threads: 1`
and `threads: 2`, timed from the run's start to its end as the worker records them (pool
warm-up and, for threads 2, starting the generating processes included). Memory: the
worker's peak RSS (VmHWM, read from /proc while it runs) for a big file run (10M
records by default), then the same big run with threads 2, 2 and 1 (long runs, where the
start-up weighs less). Throughput runs go in rounds (`--repeat`): each round measures the
naive loop again and runs every sink with threads 1 and 2 back to back (threads 2 first in
even rounds), and each ratio is the median of the ratios within a round, because these
machines drift by 10-20% from one minute to the next. A run's output (its file, SQLite
database or PostgreSQL table) is removed right after it, so that no run shares the CPUs
with the write-back of earlier runs' gigabytes. The load average is printed before
and after, since other work on the machine skews every figure. Not a test: it prints, it
never asserts.

Parallel ceiling: the generator alone making 1M users in two independent processes at
once, against one, measured before and after each round, because on these shared 2-vCPU
machines two busy processes get anywhere from 1.2x to 2.0x the work of one from one
minute to the next. threads 2 shares one run between two processes, so this is the most
it could reach at that moment.

Targets: jsonl file threads 1 >= 100x naive; threads 2 >= 1.8x threads 1; SQLite and
PostgreSQL >= half the jsonl file's records/s (same threads); worker RSS < 200 MB.

    python -m benchmarks.bench_runs [--records 3000000] [--memory-records 10000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
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


def _generate_users(records: int, results: Any, go: Any) -> None:
    """The generator alone (no worker, no sink): fill the pools, say so, wait for the start
    signal, make `records` users as JSON lines, report the seconds that took."""
    from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
    from jobtui.engine.datagen.generate import generate_chunk, warm_pools
    from jobtui.engine.datagen.parallel import chunk_args

    base = chunk_args([BUILTIN_DATASETS["users"]], 1, "en_US", "users", records)
    warm_pools(dict(base, start=0, count=0))
    results.put("ready")
    go.wait()
    started = time.perf_counter()
    for start in range(0, records, 5000):
        generate_chunk(dict(base, start=start, count=min(5000, records - start)))
    results.put(time.perf_counter() - started)


def parallel_ceiling(records: int = 1_000_000) -> float:
    """What two processes get done here compared with one, right now, on this very work:
    the generator making users, alone, then in two independent processes started at the
    same instant (pools filled first, in each). No split of one run between two processes
    can beat it. These 2-vCPU machines share their host; a pure-Python loop measured the
    same way has been seen anywhere from 1.2x to 2.0x from one minute to the next."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")

    def slowest_of(count: int) -> float:
        results: Any = context.Queue()
        go = context.Event()
        processes = [
            context.Process(target=_generate_users, args=(records, results, go))
            for _ in range(count)
        ]
        for process in processes:
            process.start()
        for _ in processes:
            results.get()  # "ready"
        go.set()
        seconds = [results.get() for _ in processes]
        for process in processes:
            process.join()
        return float(max(seconds))

    one = slowest_of(1)
    return 2 * one / slowest_of(2)


def pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_DSN, connect_timeout=2).close()
        return True
    except Exception:
        return False


def drop_pg_table(table: str) -> None:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MB, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def session_cpu(session: int, seen: dict[int, float]) -> None:
    """Record the CPU seconds (user + system) so far of every process in `session` (the
    worker leads its own; its generating helpers and their forkserver join it)."""
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                # Fields after the command name (which may hold spaces), from field 3 on.
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:
            pid = int(entry.name)
            seen[pid] = max(seen.get(pid, 0.0), (int(fields[11]) + int(fields[12])) / tick)


def timed_run(
    engine: Engine, name: str, datagen: dict[str, Any]
) -> tuple[float, Any, float, float]:
    """records/s of one run, the run, the worker's peak RSS in MB, and the CPU seconds its
    processes used (all read from /proc while it runs, every 0.1 s: a process's last
    tenth of a second may be missed)."""
    engine.create_job({"name": name, "datagen": datagen})
    run = engine.queue_run(name)
    peak = [0.0]
    cpu: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        # The store gives this thread its own connection.
        pid = None
        while not done.is_set():
            pid = pid or engine.get_run(run.id).pid
            if pid:
                peak[0] = max(peak[0], peak_rss_mb(pid))
                session_cpu(pid, cpu)
            done.wait(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        final = engine.wait_for_run(run.id)
    finally:
        done.set()
        thread.join()
    if final.state.value != "succeeded":
        raise RuntimeError(f"{name}: {final.state.value}: {final.error}")
    assert final.ended_at is not None and final.started_at is not None
    seconds = (final.ended_at - final.started_at).total_seconds()
    return final.records / seconds, final, peak[0], sum(cpu.values())


def remove_files(directory: Path) -> None:
    """Delete the runs' output files (a 10M-record file is ~2.5 GB; the SQLite sink's
    database too)."""
    for path in directory.rglob("*"):
        if path.is_file():
            path.unlink()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPU(s)"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_runs")
    parser.add_argument("--records", type=int, default=3_000_000, help="records per throughput run")
    parser.add_argument(
        "--memory-records",
        type=int,
        default=10_000_000,
        help="records of the memory run and the long runs",
    )
    parser.add_argument("--repeat", type=int, default=5, help="rounds of throughput runs")
    args = parser.parse_args(argv)

    print(f"before: {load()}")
    naive = naive_faker()
    limit = stdlib_limit()
    print(f"baseline naive Faker loop      {naive:>12,.0f} rec/s")
    print(f"baseline stdlib random shape   {limit:>12,.0f} rec/s  ({limit / naive:.0f}x naive)")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        engine = Engine.open(data_dir=Path(tmp) / "data")
        base: dict[str, Any] = {"datasets": ["users"], "max_records": args.records, "seed": 1}
        file_sink = {"type": "file", "options": {"base_dir": str(out)}}

        rate, final, peak_mb, _ = timed_run(
            engine,
            "bench-memory",
            {**base, "max_records": args.memory_records, "sinks": [file_sink]},
        )
        print(
            f"memory: {final.records:,} records → jsonl file at {rate:,.0f} rec/s "
            f"({rate / naive:.0f}x naive); worker peak RSS (VmHWM) {peak_mb:.0f} MB "
            f"[target < 200 MB: {verdict(peak_mb < 200)}]"
        )

        remove_files(out)  # the memory run's file is big; keep the disk free

        # The same long run with threads 2, twice, then threads 1 again (1, 2, 2, 1 back to
        # back: drift cancels). Start-up (~0.25 s the worker, ~0.3 s the pools, whatever the size)
        # weighs a third of what it weighs in the 3M-record runs below.
        long_rates: dict[int, list[float]] = {1: [rate], 2: []}
        for number, threads in enumerate((2, 2, 1)):
            long_rate, *_ = timed_run(
                engine,
                f"bench-long-{number}",
                {
                    **base,
                    "max_records": args.memory_records,
                    "threads": threads,
                    "sinks": [file_sink],
                },
            )
            long_rates[threads].append(long_rate)
            remove_files(out)
        one, two = (statistics.mean(long_rates[t]) for t in (1, 2))
        print(
            f"long runs: {args.memory_records:,} records → jsonl file, threads 1 {one:,.0f} "
            f"rec/s, threads 2 {two:,.0f} rec/s: {two / one:.2f}x threads 1 (runs 1, 2, 2, 1 "
            f"back to back) [target >= 1.8x at this size: {verdict(two / one >= 1.8)}; the "
            "3M-record rounds below have their own verdict]"
        )

        sinks: list[tuple[str, dict[str, Any], str]] = [
            ("jsonl file", file_sink, "jsonl"),
            ("csv file", file_sink, "csv"),
            (
                "sqlite table",
                {"type": "sqlite", "options": {"path": str(out / "bench.sqlite")}},
                "jsonl",
            ),
        ]
        if pg_available():
            sinks.append(
                ("postgres table", {"type": "postgres", "options": {"dsn": PG_DSN}}, "jsonl")
            )
        else:
            print("postgres: not reachable on 127.0.0.1:5432; skipped")
        print(
            f"throughput: {args.records:,} records a run; {args.repeat} rounds, each: the "
            "machine's 2-process ceiling, the naive loop, every sink with threads 1 and 2 "
            "back to back (which goes first alternates), the ceiling again. Ratios are "
            "medians of the ratios within a round (figures measured minutes apart on this "
            "shared host are not comparable); rates are medians over the rounds"
        )
        counter = iter(range(1, 1_000_000))

        def one_run(sink: dict[str, Any], fmt: str, threads: int) -> tuple[float, float]:
            sink_copy = {**sink, "options": dict(sink["options"])}
            table = f"bench_users_{uuid.uuid4().hex[:8]}"
            if sink["type"] in ("sqlite", "postgres"):
                sink_copy["options"]["table"] = table
            try:
                rate, _, _, cpu = timed_run(
                    engine,
                    f"bench-{next(counter)}",
                    {
                        **base,
                        "threads": threads,
                        "generator": {"format": fmt},
                        "sinks": [sink_copy],
                    },
                )
            finally:
                # Every run starts from the same state: no output of earlier runs left (a
                # 3M-record table is ~0.6 GB) for the server to write back meanwhile.
                remove_files(out)
                if sink["type"] == "postgres":
                    drop_pg_table(table)
            return rate, cpu

        # rounds[i][(label, threads)] = records/s in round i
        rounds: list[dict[tuple[str, int], float]] = []
        cpu_seconds: list[dict[tuple[str, int], float]] = []
        naives: list[float] = []
        ceilings: list[float] = []
        for number in range(1, args.repeat + 1):
            ceilings.append(parallel_ceiling())
            naives.append(naive_faker(1.0))
            rates: dict[tuple[str, int], float] = {}
            cpus: dict[tuple[str, int], float] = {}
            # A sink's two runs back to back, threads 1 first in odd rounds and threads 2
            # first in even ones: a ratio compares runs seconds apart, and neither side
            # always goes first.
            order = (1, 2) if number % 2 else (2, 1)
            for label, sink, fmt in sinks:
                for threads in order:
                    rates[label, threads], cpus[label, threads] = one_run(sink, fmt, threads)
            ceilings.append(parallel_ceiling())
            rounds.append(rates)
            cpu_seconds.append(cpus)
            print(
                f"  round {number}: naive {naives[-1]:,.0f}; "
                + "; ".join(
                    f"{label} t{t} {rates[label, t] / 1000:,.0f}k"
                    for label, _, _ in sinks
                    for t in (1, 2)
                )
                + f"; ceiling {ceilings[-2]:.2f}/{ceilings[-1]:.2f}",
                flush=True,
            )

        def rate_of(label: str, threads: int) -> float:
            return statistics.median(r[label, threads] for r in rounds)

        def paired(top: tuple[str, int], bottom: tuple[str, int] | None = None) -> float:
            """Median over rounds of top/bottom (bottom None: the round's naive loop)."""
            return statistics.median(
                r[top] / (naive if bottom is None else r[bottom])
                for r, naive in zip(rounds, naives, strict=True)
            )

        naive_median = statistics.median(naives)
        ceiling = statistics.median(ceilings)
        print(
            f"naive Faker loop over the rounds: median {naive_median:,.0f} rec/s "
            f"(seen {min(naives):,.0f}-{max(naives):,.0f}); 2-process ceiling: median "
            f"{ceiling:.2f}x (seen {min(ceilings):.2f}-{max(ceilings):.2f})"
        )
        for threads in (1, 2):
            for label, sink, _ in sinks:
                rate = rate_of(label, threads)
                runs = ", ".join(f"{r[label, threads] / 1000:,.0f}k" for r in rounds)
                notes = [f"{rate / limit:4.2f}x stdlib"]
                if label == "jsonl file" and threads == 1:
                    times = paired((label, 1))
                    notes.insert(0, f"{times:6.1f}x naive")
                    notes.append(f"target >= 100x naive: {verdict(times >= 100)}")
                elif label == "jsonl file":
                    ratio = paired((label, 2), (label, 1))
                    notes.insert(0, f"{rate / naive_median:6.1f}x naive")
                    notes.append(
                        f"{ratio:.2f}x threads 1, target >= 1.8x: {verdict(ratio >= 1.8)}; "
                        f"{ratio / ceiling:.0%} of the machine's 2-process ceiling for the "
                        "generator"
                    )
                    # CPU time is what the host's noise (other tenants, steal) leaves
                    # alone: what threads 2 costs beyond threads 1 for the same records.
                    per_million = [
                        statistics.median(c[label, t] for c in cpu_seconds) / (args.records / 1e6)
                        for t in (1, 2)
                    ]
                    notes.append(
                        f"CPU per 1M records {per_million[0]:.2f} s (threads 1) vs "
                        f"{per_million[1]:.2f} s (threads 2): "
                        f"{per_million[1] / per_million[0] - 1:+.0%} for working in 2 processes"
                    )
                else:
                    ratio = paired((label, threads), ("jsonl file", threads))
                    notes.insert(0, f"{rate / naive_median:6.1f}x naive")
                    notes.append(f"{ratio:.2f}x jsonl file (threads {threads})")
                    if sink["type"] in ("sqlite", "postgres"):
                        notes.append(f"target >= 0.5x: {verdict(ratio >= 0.5)}")
                print(
                    f"users → {label:<15} threads {threads}  {rate:>10,.0f} rec/s  "
                    f"({', '.join(notes)})  [rounds: {runs}]",
                    flush=True,
                )
        engine.close()
    print(f"after: {load()}")


if __name__ == "__main__":
    main()

"""Synthetic data generation speed: the 8-field users record (name, email, address, phone,
company, date, int, uuid) into a JSON lines file, a CSV file and a SQLite table.

Printed in one run, each beside the baselines measured in that same run:
- naive: a plain loop calling Faker per field per record (the baseline of the issue);
- stdlib: `random` alone building the same shape from small fixed lists (the ceiling of
  pure-Python generation, with none of Faker's realism);
- the engine (`DatasetGenerator` + encoder), 1 process and 2 processes (`threads: 2`:
  the caller makes every other batch, one worker the others), wall clock including
  warm-up (Faker pools) and, for 2 processes, starting the worker;
- peak RSS of a large run into a file, measured in a child process.

Targets (issue 3): ≥100× naive on one core into JSON lines, ≥1.8× that with 2 processes,
SQLite within 2× of the file, memory flat (< 200 MB RSS for 10M records).
Not a test: nothing here asserts timings.

    python -m benchmarks.bench_generation [--records N] [--naive N] [--rss-records N]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

SEED = 42


def naive_faker(n: int) -> float:
    """records/s of a plain Faker loop, one call per field per record."""
    from faker import Faker

    fake = Faker("en_US")
    Faker.seed(SEED)
    started = time.perf_counter()
    rows = []
    for _ in range(n):
        rows.append(
            {
                "name": fake.name(),
                "email": fake.email(),
                "address": fake.address(),
                "phone": fake.phone_number(),
                "company": fake.company(),
                "signup_date": fake.date(),
                "age": fake.random_int(18, 90),
                "id": str(fake.uuid4()),
            }
        )
    return n / (time.perf_counter() - started)


def stdlib_limit(n: int) -> float:
    """records/s of stdlib `random` alone building the same 8-field shape."""
    rng = random.Random(SEED)
    first = ["James", "Mary", "John", "Linda", "Ana", "Wei", "Omar", "Sofia"]
    last = ["Smith", "Garcia", "Chen", "Khan", "Muller", "Rossi", "Brown", "Silva"]
    streets = ["Main St", "Oak Ave", "Pine Rd", "Elm Ct", "Lake Dr", "Hill Way"]
    cities = ["Springfield", "Riverside", "Franklin", "Georgetown", "Salem"]
    companies = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne"]
    started = time.perf_counter()
    rows = []
    for i in range(n):
        f, last_name = rng.choice(first), rng.choice(last)
        rows.append(
            {
                "name": f"{f} {last_name}",
                "email": f"{f.lower()}.{last_name.lower()}{i}@example.com",
                "address": f"{rng.randint(1, 9999)} {rng.choice(streets)}\n"
                f"{rng.choice(cities)}, NY {rng.randint(10000, 99999)}",
                "phone": f"{rng.randint(200, 999)}-{rng.randint(200, 999)}-"
                f"{rng.randint(0, 9999):04d}",
                "company": f"{rng.choice(companies)} {rng.choice(['Inc', 'LLC', 'Ltd'])}",
                "signup_date": f"20{rng.randint(18, 25)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1, 28):02d}",
                "age": rng.randint(18, 90),
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            }
        )
    return n / (time.perf_counter() - started)


def users_spec() -> dict[str, Any]:
    from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

    return BUILTIN_DATASETS["users"]


def engine_file(n: int, fmt: str, processes: int, path: Path, batch: int = 5000) -> float:
    """records/s of the engine into a file (wall clock, warm-up included)."""
    from jobtui.engine.datagen.formats import make_encoder
    from jobtui.engine.datagen.generate import DatasetGenerator
    from jobtui.engine.datagen.parallel import chunk_args, parallel_chunks

    spec = users_spec()
    started = time.perf_counter()
    encoder = make_encoder(fmt, {}, spec)
    with open(path, "wb", buffering=1 << 20) as fh:
        fh.write(encoder.header())
        if processes == 1:
            gen = DatasetGenerator([spec], seed=SEED)
            for rows in gen.batches("users", n, batch):
                fh.write(encoder.encode(rows))
        else:
            base = chunk_args([spec], SEED, "en_US", "users", n, fmt=fmt)
            for data, _, count, _ in parallel_chunks(base, batch, processes):
                fh.write(data)
                encoder.advance(count)
        fh.write(encoder.footer())
    return n / (time.perf_counter() - started)


def engine_sqlite(n: int, path: Path, batch: int = 5000) -> float:
    """records/s of the engine into a SQLite table (executemany, one transaction a batch)."""
    from jobtui.engine.datagen.generate import DatasetGenerator

    spec = users_spec()
    names = [f["name"] for f in spec["fields"]]
    started = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(f"CREATE TABLE users ({', '.join(names)})")
    insert = f"INSERT INTO users VALUES ({', '.join('?' * len(names))})"
    gen = DatasetGenerator([spec], seed=SEED)
    for rows in gen.batches("users", n, batch):
        db.execute("BEGIN")
        db.executemany(insert, [tuple(r.values()) for r in rows])
        db.execute("COMMIT")
    db.close()
    return n / (time.perf_counter() - started)


# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would report the
# benchmark's own peak (the naive loops hold their rows).
RSS_CHILD = """
import resource, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from benchmarks.bench_generation import engine_file
rate = engine_file({n}, "jsonl", 1, Path({path!r}))
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as fh:
        peak_kb = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(rate, peak_kb)
"""


def peak_rss(n: int, path: Path) -> tuple[float, float]:
    """(records/s, peak RSS in MB) of a run into a JSON lines file, in a child process."""
    root = str(Path(__file__).resolve().parent.parent)
    code = RSS_CHILD.format(root=root, n=n, path=str(path))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1]) / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2_000_000, help="engine runs")
    parser.add_argument("--naive", type=int, default=2_000, help="naive Faker loop records")
    parser.add_argument("--stdlib", type=int, default=200_000, help="stdlib loop records")
    parser.add_argument("--rss-records", type=int, default=3_000_000, help="peak-RSS run")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    n = args.records
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(
        f"users (8 fields), {os.cpu_count()} CPU(s), load average {load:.2f} before the run "
        f"(other work on the machine skews the 2-process figures); engine runs: {n:,} records",
        flush=True,
    )
    naive = naive_faker(args.naive)
    print(f"  naive Faker loop ({args.naive:,} records)   {naive:>12,.0f} rec/s   1.0x", flush=True)
    stdlib = stdlib_limit(args.stdlib)
    print(
        f"  stdlib random, same shape           {stdlib:>12,.0f} rec/s "
        f"{stdlib / naive:6.0f}x naive",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        results: dict[str, float] = {}
        for label, fmt, procs in (
            ("engine → JSON lines, 1 process", "jsonl", 1),
            ("engine → JSON lines, 2 processes", "jsonl", 2),
            ("engine → CSV, 1 process", "csv", 1),
            ("engine → CSV, 2 processes", "csv", 2),
        ):
            rate = engine_file(n, fmt, procs, out / f"users-{procs}.{fmt}")
            results[label] = rate
            print(
                f"  {label:<36}{rate:>12,.0f} rec/s {rate / naive:6.0f}x naive "
                f"{rate / stdlib:5.2f}x stdlib",
                flush=True,
            )
        one = results["engine → JSON lines, 1 process"]
        two = results["engine → JSON lines, 2 processes"]
        same = (out / "users-1.jsonl").read_bytes() == (out / "users-2.jsonl").read_bytes()
        print(f"  2 processes / 1 process (JSON lines) {two / one:11.2f}x   (target ≥ 1.8x)")
        print(f"  same bytes with 1 and 2 processes:  {same}")
        sqlite_rate = engine_sqlite(n, out / "users.sqlite")
        print(
            f"  engine → SQLite table, 1 process    {sqlite_rate:>12,.0f} rec/s "
            f"{sqlite_rate / naive:6.0f}x naive ({one / sqlite_rate:.2f}x slower than the file)",
            flush=True,
        )
        rate, peak = peak_rss(args.rss_records, out / "big.jsonl")
        size = (out / "big.jsonl").stat().st_size / 1e6
        print(
            f"  peak RSS, {args.rss_records:,} records → JSON lines ({size:,.0f} MB): "
            f"{peak:,.0f} MB at {rate:,.0f} rec/s   (target < 200 MB)"
        )
    print(f"  target: ≥100x naive on one core into JSON lines: {one / naive:.0f}x")


if __name__ == "__main__":
    main()

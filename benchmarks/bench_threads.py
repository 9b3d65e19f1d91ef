"""`threads: 2` against `threads: 1` at 1M and 3M records, beside the machine's own 2-process
ceiling measured in the same run (issue 18: >= 1.6x at 1M, >= 1.8x at 3M).

Each round: the ceiling (the generator alone in 1 process, then in 2 independent processes
started at the same instant: no split of one run can beat it), then per size a threads 1
and a threads 2 run of users into a JSON lines file back to back (which goes first
alternates), then the ceiling again. A ratio is taken within a round; the figures are
medians over the rounds. On a shared 2-core host the ceiling itself falls well below 2x
when others work: both the absolute target and the share of the ceiling are printed.
Not a test: nothing here asserts timings.

    .venv/bin/python -m benchmarks.bench_threads [--sizes 1000000,3000000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from jobtui.engine import Engine

from .bench_runs import load, parallel_ceiling, remove_files, timed_run, verdict

TARGETS = {1_000_000: 1.6, 3_000_000: 1.8}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_threads")
    parser.add_argument("--sizes", default="1000000,3000000", help="records, comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"before: {load()}", flush=True)
    ratios: dict[int, list[float]] = {n: [] for n in sizes}
    rates: dict[tuple[int, int], list[float]] = {}
    ceilings: list[float] = []
    counter = iter(range(1, 1_000_000))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        engine = Engine.open(data_dir=Path(tmp) / "data")
        sink = {"type": "file", "options": {"base_dir": str(out)}}
        for number in range(1, args.rounds + 1):
            ceilings.append(parallel_ceiling())
            order = (1, 2) if number % 2 else (2, 1)
            for size in sizes:
                got: dict[int, float] = {}
                for threads in order:
                    spec: dict[str, Any] = {
                        "datasets": ["users"],
                        "max_records": size,
                        "seed": 1,
                        "threads": threads,
                        "sinks": [sink],
                    }
                    try:
                        got[threads], *_ = timed_run(engine, f"threads-{next(counter)}", spec)
                    finally:
                        remove_files(out)
                    rates.setdefault((size, threads), []).append(got[threads])
                ratios[size].append(got[2] / got[1])
            ceilings.append(parallel_ceiling())
            print(
                f"  round {number}: "
                + "; ".join(
                    f"{n / 1e6:g}M t1 {rates[n, 1][-1]:,.0f} t2 {rates[n, 2][-1]:,.0f} rec/s"
                    for n in sizes
                )
                + f"; ceiling {ceilings[-2]:.2f}/{ceilings[-1]:.2f}",
                flush=True,
            )
        engine.close()
    ceiling = statistics.median(ceilings)
    print(
        f"2-process ceiling of this machine now (baseline): median {ceiling:.2f}x "
        f"(seen {min(ceilings):.2f}-{max(ceilings):.2f})"
    )
    for size in sizes:
        ratio = statistics.median(ratios[size])
        target = TARGETS.get(size)
        note = f"target >= {target}x: {verdict(ratio >= target)}; " if target else ""
        print(
            f"threads 2 / threads 1 at {size:,} records: {ratio:.2f}x "
            f"(t1 {statistics.median(rates[size, 1]):,.0f} rec/s, "
            f"t2 {statistics.median(rates[size, 2]):,.0f} rec/s) [{note}"
            f"{ratio / ceiling:.0%} of the ceiling {ceiling:.2f}x]",
            flush=True,
        )
    print(f"after: {load()}")


if __name__ == "__main__":
    main()

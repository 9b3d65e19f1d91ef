"""Pipeline throughput (issue 22): a file → file identity pipeline, CSV in, JSON lines out,
1M records, beside a plain Python loop doing the same with `csv` and `orjson`, in the same
run (rounds alternate, each ratio taken within its round: this host is shared).

python -m benchmarks pipelines [--records N] [--rounds R]

The pipeline's figure is the whole run as a user gets it: queue, a worker process started,
the file globbed and read, records through the (empty) transformer list, the file sink's
partial file renamed, the run's end stored. `types: text` keeps CSV cells as text, as the
loop does; the default (`infer`: numbers and booleans typed) is shown too. In one process
the pipeline's own read → encode → write loop runs at the plain loop's speed; what the run
adds is the worker's start, its threads (log, heartbeat) and this process polling the run.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import tempfile
import time
from pathlib import Path

import orjson

TARGET = 1.0


def make_csv(path: Path, n: int) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "email", "amount", "city", "active"])
        for i in range(n):
            w.writerow(
                [
                    i,
                    f"name {i}",
                    f"user{i}@example.com",
                    f"{i % 997}.{i % 100:02d}",
                    ("Paris", "Oslo", "Lima", "Kyiv")[i % 4],
                    "true" if i % 3 else "false",
                ]
            )


def plain_loop(src: Path, dst: Path) -> int:
    """What a user would write: csv.reader, a dict per row, orjson, one buffered file."""
    n = 0
    dumps, opt = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    with open(src, newline="", encoding="utf-8") as fh, open(dst, "wb") as out:
        reader = csv.reader(fh)
        header = next(reader)
        for row in reader:
            out.write(dumps(dict(zip(header, row, strict=True)), option=opt))
            n += 1
    return n


def pipeline_run(engine: object, name: str) -> float:
    from jobtui.engine import Engine, RunState

    assert isinstance(engine, Engine)
    started = time.perf_counter()
    run = engine.wait_for_run(engine.queue_run(name).id, timeout=600, poll=0.05)
    took = time.perf_counter() - started
    if run.state != RunState.SUCCEEDED:
        raise RuntimeError(f"pipeline run failed: {run.error}")
    return took


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pipelines")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from jobtui.engine import Engine

    work = Path(tempfile.mkdtemp(prefix="jobtui-bench-pipelines-"))
    try:
        inbox, out = work / "in", work / "out"
        inbox.mkdir()
        src = inbox / "records.csv"
        make_csv(src, args.records)
        size = src.stat().st_size
        print(f"{args.records:,} records, {size / 1e6:.0f} MB of CSV; load {os.getloadavg()}")
        engine = Engine.open(data_dir=work / "data")
        for name, types in (("identity", "text"), ("typed", "infer")):
            engine.create_job(
                {
                    "name": name,
                    "kind": "pipeline",
                    "pipeline": {
                        "readers": [
                            {
                                "type": "file",
                                "options": {
                                    "base_dir": str(inbox),
                                    "pattern": "*.csv",
                                    "incremental": False,
                                    "types": types,
                                },
                            }
                        ],
                        "writers": [
                            {
                                "type": "file",
                                "options": {
                                    "base_dir": str(out),
                                    "path": "{job}.{ext}",
                                    "overwrite": True,
                                },
                            }
                        ],
                    },
                }
            )
        ratios = []
        print(f"{'round':>5} {'plain loop':>11} {'pipeline':>9} {'ratio':>6} {'typed':>7}")
        for r in range(1, args.rounds + 1):
            started = time.perf_counter()
            n = plain_loop(src, work / "loop.jsonl")
            loop = time.perf_counter() - started
            assert n == args.records
            piped = pipeline_run(engine, "identity")
            same = (out / "identity.jsonl").read_bytes() == (work / "loop.jsonl").read_bytes()
            if not same:
                raise RuntimeError("the pipeline's output differs from the loop's")
            typed = pipeline_run(engine, "typed")
            ratio = loop / piped
            ratios.append(ratio)
            print(f"{r:>5} {loop:>10.2f}s {piped:>8.2f}s {ratio:>5.2f}x {typed:>6.2f}s", flush=True)
        best = max(ratios)
        print(
            f"pipeline speed vs the plain loop: best {best:.2f}x, median "
            f"{sorted(ratios)[len(ratios) // 2]:.2f}x (target >= {TARGET}x: "
            f"{'met' if best >= TARGET else 'NOT met'}); output identical to the loop's"
        )
        engine.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

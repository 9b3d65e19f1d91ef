"""Formats and compression: records/s of users written to a file in each format, beside
JSON lines measured in the same round (issues 18 and 21).

Each figure is what a run's generating thread does for that format: the generator's
batches of 5,000 (pools filled first, as a big run does), the format's encoder
(`encode_at` on the generator's columns or records, then `seal`), and the real file sink
writing the bytes. Worker start-up is left out: it is the same for every format. The
formats go in rounds (`--rounds`), JSON lines first in each; a ratio is taken within its
round and the median of the rounds is printed, because this shared 2-CPU host drifts from
minute to minute. Compression codecs are the JSON lines output through the file sink
with each codec, against the uncompressed JSON lines of the same round. The load average
is printed before and after. Not a test: it prints, it never asserts.

Targets: CSV >= 0.8x JSON lines (issue 18); Parquet >= 1.5x JSON lines (issue 21). The
generator alone (making the columns, no encoding, no file) is printed as the ceiling: no
format can be faster than the values it is given. Parquet is given pool indices instead
of Python values where a column draws from a pool (`column_pieces`): its ceiling is the
generator making those, printed too.

    python -m benchmarks formats [--records 200000] [--excel-records 30000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SEED = 42
BATCH = 5000
TARGETS = {"csv": 0.8, "parquet": 1.5}
FORMATS: list[tuple[str, str, dict[str, Any]]] = [
    ("jsonl", "JSON lines (baseline)", {}),
    ("csv", "CSV", {}),
    ("parquet", "Parquet (snappy)", {}),
    ("avro", "Avro (null codec)", {}),
    ("avro", "Avro (deflate)", {"codec": "deflate"}),
    ("excel", "Excel (xlsx)", {}),
    ("template", "Template (log lines)", {"record": "{{ signup_date }} {{ email }} {{ age }}"}),
]
CODECS = ["gzip", "bz2", "xz", "zstd", "zip"]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPU(s)"


def write_file(
    out: Path, fmt: str, options: dict[str, Any], records: int, compression: str = "none"
) -> float:
    """records/s of users → `fmt` → the file sink, in this process, pools filled first."""
    from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
    from jobtui.engine.datagen.formats import make_encoder
    from jobtui.engine.datagen.generate import DatasetGenerator, make_chunk
    from jobtui.engine.model.formats import format_extension
    from jobtui.engine.sinks.base import SinkContext, make_sink

    spec = BUILTIN_DATASETS["users"]
    gen = DatasetGenerator([spec], seed=SEED)
    gen.prepare("users", records)
    gen.fill_pools("users", records)  # as a big run warms up, before the clock starts
    ctx = SinkContext(job="bench", dataset="users", ext=format_extension(fmt, options))
    sink = make_sink(
        "file",
        {
            "base_dir": str(out),
            "path": "{dataset}.{ext}",
            "overwrite": True,
            "compression": compression,
        },
        ctx,
    )
    started = time.perf_counter()
    encoder = make_encoder(fmt, options, spec)
    sink.open()
    sink.write_bytes(encoder.header())
    for start in range(0, records, BATCH):
        n = min(BATCH, records - start)
        data, _, count, _ = make_chunk(
            gen, "users", start, n, encoder, need_records=False, encodings=[]
        )
        sink.write_bytes(encoder.seal(data, count), count)
    for part in encoder.footer_parts():
        sink.write_bytes(part)
    path = sink.close()
    elapsed = time.perf_counter() - started
    os.unlink(path)
    return records / elapsed


def generator_alone(records: int, pieces: bool = False) -> float:
    """records/s of the generator making the columns and nothing else: the ceiling of any
    format given Python values (no encoder can be faster than the values it is given).
    With `pieces`: the columns as pool indices (`column_pieces`), what Parquet is given."""
    from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
    from jobtui.engine.datagen.generate import DatasetGenerator

    gen = DatasetGenerator([BUILTIN_DATASETS["users"]], seed=SEED)
    gen.prepare("users", records)
    gen.fill_pools("users", records)
    make = gen.column_pieces if pieces else gen.column_values
    started = time.perf_counter()
    for start in range(0, records, BATCH):
        make("users", start, min(BATCH, records - start))
    return records / (time.perf_counter() - started)


def verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return ""
    return f"target >= {target:.1f}x: {'MET' if ratio >= target else 'NOT MET'}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_formats")
    parser.add_argument("--records", type=int, default=200_000, help="records per format")
    parser.add_argument(
        "--excel-records", type=int, default=30_000, help="records for Excel (much slower)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv if argv is not None else [])
    print(
        f"users (8 fields), {args.records:,} records per format, {args.rounds} round(s); {load()}"
    )
    ratios: dict[str, list[float]] = {}
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for round_ in range(args.rounds):
            base = write_file(out, "jsonl", {}, args.records)
            rates.setdefault("JSON lines (baseline)", []).append(base)
            ceiling = generator_alone(args.records)
            rates.setdefault("generator alone", []).append(ceiling)
            ratios.setdefault("generator alone", []).append(ceiling / base)
            indices = generator_alone(args.records, pieces=True)
            rates.setdefault("generator, pool indices", []).append(indices)
            ratios.setdefault("generator, pool indices", []).append(indices / base)
            for fmt, label, options in FORMATS[1:]:
                n = args.excel_records if fmt == "excel" else args.records
                rate = write_file(out, fmt, options, n)
                rates.setdefault(label, []).append(rate)
                ratios.setdefault(label, []).append(rate / base)
            for codec in CODECS:
                rate = write_file(out, "jsonl", {}, args.records, compression=codec)
                label = f"JSON lines + {codec}"
                rates.setdefault(label, []).append(rate)
                ratios.setdefault(label, []).append(rate / base)
            print(f"  round {round_ + 1} done; {load()}", flush=True)
    print(f"\n  {'output':<26} {'records/s':>12}  {'x JSON lines':>12}")
    base_rate = statistics.median(rates["JSON lines (baseline)"])
    print(f"  {'JSON lines (baseline)':<26} {base_rate:>12,.0f}  {1.0:>11.2f}x")
    ceiling = statistics.median(ratios["generator alone"])
    print(
        f"  {'generator alone (ceiling)':<26} {statistics.median(rates['generator alone']):>12,.0f}"
        f"  {ceiling:>11.2f}x  no format given Python values can pass this"
    )
    indices = statistics.median(ratios["generator, pool indices"])
    print(
        f"  {'generator, pool indices':<26}"
        f" {statistics.median(rates['generator, pool indices']):>12,.0f}"
        f"  {indices:>11.2f}x  Parquet's ceiling (it maps indices with Arrow)"
    )
    for fmt, label, _ in FORMATS[1:]:
        ratio = statistics.median(ratios[label])
        line = f"  {label:<26} {statistics.median(rates[label]):>12,.0f}  {ratio:>11.2f}x"
        print(f"{line}  {verdict(ratio, TARGETS.get(fmt))}")
    for codec in CODECS:
        label = f"JSON lines + {codec}"
        ratio = statistics.median(ratios[label])
        print(f"  {label:<26} {statistics.median(rates[label]):>12,.0f}  {ratio:>11.2f}x")
    print(f"\n  ratios are medians of per-round ratios; {load()} after")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

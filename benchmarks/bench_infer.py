"""Inference fidelity: how much 1,000 records generated from an inferred dataset resemble
the sample file it was inferred from (issue 17).

Corpus: every CSV and JSON file that ships inside the `vega_datasets` package (local files,
no network), plus one small file made here with two ordered date columns and release
code names (the corpus has no such file; it is marked `extra`).

For each file, a dataset is inferred twice — by today's `jobtui.engine.datagen.infer` and
by the baseline (`benchmarks/infer_baseline.py`, a frozen copy of the inference before
issue 17) — 1,000 records are generated from each with the same generator and seed,
written in the file's own format (CSV or JSON) with jobtui's encoder and read back with
Python's csv / json modules. Each column is then scored against the whole file, 0..1:

- type: overlap of the value classes (null, bool, number, text, list, object, and dates
  by their written format: `2012/01/01` is not `2012-01-01`), Σ min(share in sample,
  share generated);
- range (numbers and dates): overlap of the distributions over the sample's deciles,
  values outside the sample's range counting as misses;
- categories (text): with few distinct values, overlap of the value frequencies; else the
  mean of the overlap of value shapes (`Aa Aa`, `9A`) and the share of generated words
  found in the sample's vocabulary;
- order: for a date column never before another one in any sampled row, the share of
  generated records that keep that order.

A column's score is the mean of the parts that apply; a file's, the mean of its columns
(×100). Also listed: every column each inference maps to a person-name provider.

    python -m benchmarks infer [--records N] [--seed N] [--columns]

Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import os
import re
import tempfile
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from benchmarks import infer_baseline

PERSON = {
    "name",
    "name_male",
    "name_female",
    "first_name",
    "first_name_male",
    "first_name_female",
    "last_name",
    "last_name_male",
    "last_name_female",
}
# The scorer's own list of written date formats (independent of the inference's).
FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%b %d %Y",
    "%Y",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
)
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


# -- the corpus ----------------------------------------------------------------------------------
def corpus() -> list[Path]:
    """The files shipped in vega_datasets (located, not imported: it would load pandas)."""
    spec = importlib.util.find_spec("vega_datasets")
    if spec is None or spec.origin is None:
        raise RuntimeError("vega_datasets is not installed (pip install -e '.[dev]')")
    data = Path(spec.origin).parent / "_data"
    return sorted(p for p in data.iterdir() if p.suffix in (".csv", ".json"))


def extra_file(folder: Path) -> Path:
    """Releases: `created` always before `released`, code names (not person names)."""
    rng = Random(5)
    adjectives = ["Bionic", "Cosmic", "Disco", "Eoan", "Focal", "Groovy", "Hirsute", "Impish"]
    animals = ["Beaver", "Cuttlefish", "Dingo", "Ermine", "Fossa", "Gorilla", "Hippo", "Indri"]
    lines = ["version,codename,created,released"]
    day = date(2012, 1, 1)
    for i in range(120):
        created = day + timedelta(days=rng.randrange(4000))
        released = created + timedelta(days=rng.randrange(1, 400))
        name = f"{rng.choice(adjectives)} {rng.choice(animals)}"
        lines.append(f"{i // 10}.{i % 10},{name},{created.isoformat()},{released.isoformat()}")
    path = folder / "extra-releases.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def load(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".json":
        return [r for r in json.loads(text) if isinstance(r, dict)]
    return list(csv.DictReader(io.StringIO(text)))


# -- classes of values ----------------------------------------------------------------------------
def _unpadded(fmt: str) -> list[str]:
    out = [fmt]
    for part in ("%d", "%m", "%H"):
        if part in fmt:
            out += [v.replace(part, "%-" + part[1]) for v in list(out)]
    return out


def written_format(text: str) -> tuple[str, float] | None:
    """(format, ordinal in seconds) when `text` is a date written in one of FORMATS."""
    if not text[:1].isdigit() and not text[:1].isalpha():
        return None
    for fmt in FORMATS:
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        for out in _unpadded(fmt):
            if moment.strftime(out) == text:
                return out, (moment - datetime(1, 1, 1)).total_seconds()
    return None


class Classifier:
    """Value → (class, number for ranges or None). `text` files (CSV) hold only text, so
    numbers and booleans are read from it; a column's date format is tried first."""

    def __init__(self, text: bool, hint: str | None = None):
        self.text = text
        self.hint = hint

    def __call__(self, value: Any) -> tuple[str, float | None]:
        if value is None or value == "":
            return "null", None
        if isinstance(value, bool):
            return "bool", None
        if isinstance(value, int | float):
            return "number", float(value)
        if isinstance(value, list):
            return "list", None
        if isinstance(value, dict):
            return "object", None
        s = str(value)
        if self.text:
            if s in ("true", "false", "True", "False"):
                return "bool", None
            if NUMBER.match(s) and not (self.hint == "%Y" and len(s) == 4):
                return "number", float(s)
        if self.hint:
            try:
                moment = datetime.strptime(s, self.hint.replace("%-", "%"))
                if moment.strftime(self.hint) == s:
                    return f"date {self.hint}", (moment - datetime(1, 1, 1)).total_seconds()
            except ValueError:
                pass
        if any(c.isdigit() for c in s) and len(s) <= 30:
            found = written_format(s)
            if found is not None and not (self.text and found[0] == "%Y"):
                return f"date {found[0]}", found[1]
        return "text", None


def column_hint(values: Sequence[Any], text: bool) -> str | None:
    """The date format most of a sample column is written in (in a CSV file, 1999 is a
    number, not a year written as text)."""
    formats: Counter[str] = Counter()
    for v in values[:300]:
        if isinstance(v, str) and v and not (text and NUMBER.match(v)):
            found = written_format(v)
            if found:
                formats[found[0]] += 1
    if not formats:
        return None
    fmt, count = formats.most_common(1)[0]
    return fmt if count * 2 >= len([v for v in values[:300] if v not in (None, "")]) else None


# -- scores --------------------------------------------------------------------------------------
def overlap(a: Counter[Any], b: Counter[Any]) -> float:
    na, nb = sum(a.values()), sum(b.values())
    if not na or not nb:
        return 1.0 if na == nb else 0.0
    return sum(min(a[k] / na, b[k] / nb) for k in a)


def deciles(values: Sequence[float]) -> list[float]:
    ordered = sorted(values)
    last = len(ordered) - 1
    return sorted({ordered[round(last * i / 10)] for i in range(11)})


def binned(values: Sequence[float], edges: list[float]) -> Counter[Any]:
    out: Counter[Any] = Counter()
    for v in values:
        if v < edges[0] or v > edges[-1]:
            out["outside"] += 1
        else:
            out[min(bisect_right(edges, v), len(edges) - 1)] += 1
    return out


def text_shape(value: str) -> str:
    out: list[str] = []
    for ch in value:
        c = "A" if ch.isupper() else "a" if ch.isalpha() else "9" if ch.isdigit() else ch
        c = " " if c.isspace() else c
        if not (out and c == out[-1] and c in "Aa9 "):
            out.append(c)
    return "".join(out)


def score_column(sample: list[Any], made: list[Any], text: bool) -> dict[str, float]:
    hint = column_hint(sample, text)
    classify = Classifier(text, hint)
    s_cls = [classify(v) for v in sample]
    m_cls = [classify(v) for v in made]
    parts = {"type": overlap(Counter(c for c, _ in s_cls), Counter(c for c, _ in m_cls))}
    main = Counter(c for c, _ in s_cls if c != "null").most_common(1)
    if not main:
        return parts
    kind = main[0][0]
    if kind == "number" or kind.startswith("date"):
        s_num = [x for c, x in s_cls if c == kind and x is not None]
        m_num = [x for c, x in m_cls if c == kind and x is not None]
        m_all = len([c for c, _ in m_cls if c != "null"])
        edges = deciles(s_num)
        if len(edges) == 1:
            hits = sum(1 for x in m_num if x == edges[0])
            parts["range"] = hits / max(1, m_all)
        else:
            got = binned(m_num, edges)
            got["outside"] += m_all - len(m_num)  # values of another class miss the range
            parts["range"] = overlap(binned(s_num, edges), got)
    elif kind == "text":
        s_txt = [str(v) for v, (c, _) in zip(sample, s_cls, strict=True) if c == "text"]
        m_txt = [str(v) for v, (c, _) in zip(made, m_cls, strict=True) if c != "null"]
        distinct = len(set(s_txt))
        if distinct <= 100 and distinct * 3 <= len(s_txt):
            parts["categories"] = overlap(Counter(s_txt), Counter(m_txt))
        else:
            shapes = overlap(Counter(map(text_shape, s_txt)), Counter(map(text_shape, m_txt)))
            vocabulary = {w for s in s_txt for w in s.split()}
            words = [w for s in m_txt for w in s.split()]
            known = sum(1 for w in words if w in vocabulary) / max(1, len(words))
            parts["categories"] = (shapes + known) / 2
    return parts


def order_parts(
    sample: list[dict[str, Any]], made: list[dict[str, Any]], names: list[str], text: bool
) -> dict[str, float]:
    """{later column: share of generated records keeping the sample's order}."""
    dated: dict[str, tuple[Callable[[Any], tuple[str, float | None]], str]] = {}
    for name in names:
        hint = column_hint([r.get(name) for r in sample], text)
        if hint:
            dated[name] = (Classifier(text, hint), f"date {hint}")

    def key(row: dict[str, Any], name: str) -> float | None:
        classify, kind = dated[name]
        c, x = classify(row.get(name))
        return x if c == kind else None

    out: dict[str, float] = {}
    for a in dated:
        for b in dated:
            if a == b:
                continue
            pairs = [(key(r, a), key(r, b)) for r in sample]
            pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
            if len(pairs) < 3 or not all(x <= y for x, y in pairs) or all(x == y for x, y in pairs):
                continue
            got = [(key(r, a), key(r, b)) for r in made]
            both = [(x, y) for x, y in got if x is not None and y is not None]
            share = sum(1 for x, y in both if x <= y) / max(1, len(both))
            out[b] = min(out.get(b, 1.0), share)
    return out


# -- running ---------------------------------------------------------------------------------------
def generate(spec: dict[str, Any], fmt: str, records: int, seed: int) -> list[dict[str, Any]]:
    from jobtui.engine.datagen.formats import make_encoder
    from jobtui.engine.datagen.generate import DatasetGenerator

    gen = DatasetGenerator([spec], seed=seed)
    rows = [r for batch in gen.batches(spec["name"], records) for r in batch]
    encoder = make_encoder(fmt, {}, spec)
    data = (encoder.header() + encoder.encode(rows) + encoder.footer()).decode()
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(data)))
    return json.loads(data)


def score_file(
    path: Path, infer: Callable[[Path, str], dict[str, Any]], records: int, seed: int
) -> tuple[float, dict[str, dict[str, float]], list[str]]:
    sample = load(path)
    text = path.suffix == ".csv"
    spec = infer(path, "bench")
    made = generate(spec, "csv" if text else "json", records, seed)
    names = list(sample[0].keys())
    fields = [f["name"] for f in spec["fields"]]
    persons = [
        f"{path.stem}.{f['name']}"
        for f in spec["fields"]
        if f.get("type") == "faker" and f.get("provider") in PERSON
    ]
    per: dict[str, dict[str, float]] = {}
    for name, field in zip(names, fields, strict=True):
        per[name] = score_column([r.get(name) for r in sample], [r.get(field) for r in made], text)
    renamed = [{n: r.get(f) for n, f in zip(names, fields, strict=True)} for r in made]
    for name, share in order_parts(sample, renamed, names, text).items():
        per[name]["order"] = share
    score = 100 * sum(sum(p.values()) / len(p) for p in per.values()) / len(per)
    return score, per, persons


def main(argv: list[str]) -> None:
    from jobtui.engine.datagen.infer import infer_spec

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_infer")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--columns", action="store_true", help="Print every column's parts.")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print(f"{args.records} records per file, seed {args.seed}; score 0..100 (higher: closer)")
    print(f"{'file':26} {'cols':>4} {'baseline':>9} {'today':>7} {'change':>7}  seconds")
    old_persons: list[str] = []
    new_persons: list[str] = []
    totals = [0.0, 0.0]
    rises = 0
    with tempfile.TemporaryDirectory() as tmp:
        files = [*corpus(), extra_file(Path(tmp))]
        for path in files:
            old, old_cols, persons = score_file(
                path, infer_baseline.infer_spec, args.records, args.seed
            )
            old_persons += persons
            started = time.perf_counter()
            new, new_cols, persons = score_file(path, infer_spec, args.records, args.seed)
            took = time.perf_counter() - started
            new_persons += persons
            totals[0] += old
            totals[1] += new
            rises += new > old
            label = path.name if "extra" not in path.name else f"{path.name} (extra)"
            print(
                f"{label:26} {len(new_cols):4} {old:9.1f} {new:7.1f} {new - old:+7.1f}  {took:.1f}",
                flush=True,
            )
            if args.columns:
                for name in new_cols:
                    parts = " ".join(
                        f"{k}={old_cols[name].get(k, float('nan')):.2f}→{v:.2f}"
                        for k, v in new_cols[name].items()
                    )
                    print(f"    {name:28} {parts}")
    n = len(files)
    print(
        f"{'mean':26} {'':4} {totals[0] / n:9.1f} {totals[1] / n:7.1f} "
        f"{(totals[1] - totals[0]) / n:+7.1f}"
    )
    print(f"score rose on {rises} of {n} files")
    print(f"person-name providers, baseline: {', '.join(old_persons) or 'none'}")
    print(f"person-name providers, today:    {', '.join(new_persons) or 'none'}")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

"""Reading a sample file for `datasets infer`: CSV (dialect sniffed), JSON array or JSON
lines, or a typed file (Parquet, Avro, Excel: infer_typed.py, with its columns' types);
at most MAX_ROWS records, evenly spaced over the file when it has more. A CSV file
whose first lines are not the header (a title, an export note) is read from its header
on, with a warning; so is one whose header looks like data, or names a column twice.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from jobtui.engine.datagen.formats.typed import Node
from jobtui.engine.datagen.infer_typed import read_typed, typed_kind
from jobtui.engine.model.errors import InvalidInput

MAX_ROWS = 5000  # records inferred from: evenly spaced over the file when it has more
MAX_SCAN = 200_000  # records read at most
_INT = re.compile(r"^-?(0|[1-9]\d*)$")
_FLOAT = re.compile(r"^-?\d+\.\d+$")


class Sample:
    """Records of a sample file; `text` when every value came as text (CSV); `types`: each
    column's type from the file's own schema (Parquet, Avro, Excel)."""

    def __init__(
        self,
        records: list[dict[str, Any]],
        text: bool,
        warnings: list[str],
        read: int = 0,
        types: dict[str, Node] | None = None,
    ):
        self.records = records
        self.text = text
        self.warnings = warnings
        self.read = read or len(records)  # records read (more than kept when spaced out)
        self.types = types or {}


def read_sample(path: str | Path) -> list[dict[str, Any]]:
    """Up to MAX_ROWS records of a CSV, JSON array or JSON lines file."""
    return read_table(path).records


def read_table(path: str | Path, table: str | None = None) -> Sample:
    """The records of a sample file (`table`: the sheet of a workbook)."""
    p = Path(path).expanduser()
    kind = typed_kind(p)
    if table is not None and kind != "excel":
        raise InvalidInput(
            f"table: {p.name} is a {kind or 'text'} file without tables (--table picks a "
            "workbook's sheet or an SQL file's table)"
        )
    if kind is not None:
        rows, types, notes = read_typed(p, kind, table)
        return _spaced(path, rows, False, notes, types)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    stripped = text.lstrip()
    if not stripped:
        raise InvalidInput(f"{path}: the file is empty")
    records: list[Any]
    warnings: list[str] = []
    is_text = False
    if stripped[0] == "[":
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(records, list):
            records = []
    elif stripped[0] == "{":
        records = []
        for n, line in enumerate(stripped.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}: line {n} is not JSON ({exc.msg})") from None
            if len(records) >= MAX_SCAN:
                break
    else:
        records, warnings = _read_csv(stripped)
        is_text = True
    return _spaced(path, records, is_text, warnings)


def _spaced(
    path: str | Path,
    records: list[Any],
    is_text: bool,
    warnings: list[str],
    types: dict[str, Node] | None = None,
) -> Sample:
    records = [r for r in records[:MAX_SCAN] if isinstance(r, dict)]
    if not records:
        raise InvalidInput(
            f"{path}: no records found (expected CSV, JSON array, JSON lines, Parquet, Avro "
            "or Excel; or a JSON Schema or SQL CREATE TABLE)"
        )
    read = len(records)
    if read > MAX_ROWS:
        # Evenly spaced, not the first rows: a file sorted by date keeps its whole span.
        records = [records[i * read // MAX_ROWS] for i in range(MAX_ROWS)]
    return Sample(records, is_text, warnings, read, types)


def _read_csv(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    lines = text.splitlines()
    # Sniff past the first line: it may be a title or an export note, not the header.
    probe = "\n".join(lines[1:60] if len(lines) > 3 else lines[:60])
    try:
        dialect: Any = csv.Sniffer().sniff(probe, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for row in csv.reader(io.StringIO(text), dialect=dialect):
        if any(cell.strip() for cell in row):
            rows.append(row)
        if len(rows) > MAX_SCAN + 20:
            break
    if not rows:
        return [], []
    warnings: list[str] = []
    widths = Counter(len(r) for r in rows[1:]) or Counter([len(rows[0])])
    width = widths.most_common(1)[0][0]
    skip = 0
    while skip < min(10, len(rows) - 2) and len(rows[skip]) != width and width > 1:
        skip += 1
    if skip:
        shown = "; ".join(",".join(r)[:60] for r in rows[:skip])
        warnings.append(
            f"the first {'line looks' if skip == 1 else f'{skip} lines look'} like metadata, "
            f"not a header ({shown!r}: {len(rows[0])} cell(s) where the data has {width}); "
            f"line {skip + 1} was read as the header"
        )
    header = [h.strip() for h in rows[skip]]
    warnings += _header_warnings(header)
    names = [h or f"column_{i + 1}" for i, h in enumerate(header)]
    records = []
    for row in rows[skip + 1 : skip + 1 + MAX_SCAN]:
        records.append({k: (v if v != "" else None) for k, v in zip(names, row, strict=False)})
    return records, warnings


def _looks_like_data(cell: str) -> bool:
    from jobtui.engine.datagen.infer_values import date_format

    return bool(_INT.match(cell) or _FLOAT.match(cell) or date_format([cell]))


def _header_warnings(header: list[str]) -> list[str]:
    out = []
    data = [h for h in header if h and _looks_like_data(h)]
    if data and len(data) * 2 >= len(header):
        out.append(
            f"the header row looks like data ({', '.join(data[:3])}): if the file has no "
            "header, add one; its first row was read as column names"
        )
    empty = [str(i + 1) for i, h in enumerate(header) if not h]
    if empty:
        out.append(f"column(s) {', '.join(empty)} have no name in the header")
    twice = sorted(h for h, c in Counter(header).items() if c > 1 and h)
    if twice:
        out.append(f"the header names {', '.join(twice)} more than once")
    return out

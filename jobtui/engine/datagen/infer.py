"""Infer a dataset spec from a sample file (CSV, JSON array or JSON lines, and the typed
Parquet, Avro and Excel files, whose own schema gives each column's type: infer_typed.py),
like DataMaker; or from a schema without values (a JSON Schema document, SQL CREATE TABLE
statements: infer_schema.py, infer_sql.py).

A column's name only suggests a Faker provider; its values decide. A provider is used
only when the sample looks like its output (infer_text.py: person names must be names
Faker knows, list providers must hold the sample's values, others must share their
shapes). Otherwise the field follows what the sample shows (infer_values.py):

- numbers: the sample's range, spread like the sample (`quantiles`); few distinct values
  become a weighted choice; consecutive identifiers a sequence;
- text with few distinct values: a weighted choice (`USA` in 3,372 of 3,376 rows stays so);
- dates and date-times in any common format (`2012/01/01`, `Jan 1 2000`), the format kept;
  two date columns ordered in every sampled row stay ordered (`after`);
- codes (`00M`, `ORD`): weighted patterns of their shapes;
- other text: words from the sample's own vocabulary; long text: Faker sentences;
- e-mails, UUIDs, URLs, IPv4 addresses by their syntax; nested objects and lists.

Nulls seen become `nullable` %. `explain=True` also returns, per column, what was inferred
and why, and warnings about the file (a first row that is metadata, not a header).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jobtui.engine.datagen.infer_column import Reasons, field_name, infer_field, summary
from jobtui.engine.datagen.infer_read import MAX_ROWS, Sample, read_sample, read_table
from jobtui.engine.datagen.infer_typed import conform
from jobtui.engine.datagen.infer_values import pieces_for, quantiles
from jobtui.engine.datagen.shaped import parse_format

__all__ = [
    "MAX_ROWS",
    "Sample",
    "field_name",
    "infer_field",
    "infer_spec",
    "read_sample",
    "read_table",
    "summary",
]


# -- the dataset ---------------------------------------------------------------------------------
def _moments(field: dict[str, Any], values: list[Any]) -> list[datetime | None]:
    fmt = field.get("format")
    out: list[datetime | None] = []
    for v in values:
        if v is None or v == "":
            out.append(None)
            continue
        try:
            text = str(v)
            if fmt:
                out.append(datetime.strptime(text, parse_format(fmt)))
            else:
                out.append(datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None))
        except ValueError:
            out.append(None)
    return out


def order_dates(
    fields: list[dict[str, Any]], columns: dict[str, list[Any]], reasons: Reasons | None
) -> None:
    """Where a date column is never before another in any sampled row (and after it in
    some), generate it `after` that one: the latest such column when there are several."""
    dated = [
        (f, _moments(f, columns[key]))
        for f, key in zip(fields, columns, strict=True)
        if f.get("type") in ("date_range", "datetime_range")
    ]
    for later, late in dated:
        candidates = []
        for earlier, early in dated:
            if earlier is later or earlier["type"] != later["type"]:
                continue
            pairs = [(a, b) for a, b in zip(early, late, strict=True) if a and b]
            if len(pairs) >= 3 and all(a <= b for a, b in pairs) and any(a < b for a, b in pairs):
                candidates.append((earlier, early, len(pairs)))
        if not candidates:
            continue
        # The tightest bound: a candidate never before any other candidate.
        best = candidates[0]
        for cand in candidates[1:]:
            pairs = [(a, b) for a, b in zip(best[1], cand[1], strict=True) if a and b]
            if pairs and all(a <= b for a, b in pairs):
                best = cand
        later["after"] = best[0]["name"]
        unit = 86400 if later["type"] == "date_range" else 1
        gaps = [
            (b - a).total_seconds() / unit
            for a, b in zip(best[1], late, strict=True)
            if a is not None and b is not None
        ]
        later["gaps"] = [round(g) for g in quantiles(gaps, pieces_for(len(gaps)))]
        if reasons is not None:
            for r in reasons:
                if r["field"] == later["name"] and "." not in r["column"]:
                    r["type"] = summary(later)
                    r["why"] += (
                        f"; never before {best[0]['name']} in the {best[2]} sampled rows that "
                        f"have both: kept after it, {later['gaps'][0]}..{later['gaps'][-1]} "
                        f"{'days' if unit > 1 else 'seconds'} later"
                    )


def infer_spec(
    path: str | Path, name: str, explain: bool = False, table: str | None = None
) -> dict[str, Any]:
    """A dataset spec (not saved) from a sample file (CSV, JSON, JSON lines, Parquet, Avro,
    Excel) or a schema (JSON Schema, SQL CREATE TABLE; infer_schema.py, infer_sql.py).
    `table`: the sheet of a workbook, or the table of an SQL file. With `explain`:
    {"dataset": spec, "columns": [{column, field, type, why}], "warnings": [...]}."""
    from jobtui.engine.datagen.infer_schema import infer_json_schema, schema_kind

    found = schema_kind(Path(path).expanduser())
    if found is not None and found[0] == "jsonschema":
        return infer_json_schema(found[1], path, name, explain)
    if found is not None:
        from jobtui.engine.datagen.infer_sql import infer_sql

        return infer_sql(found[1], path, name, table, explain)
    sample = read_table(path, table)
    records = sample.records
    columns: dict[str, list[Any]] = {}
    for record in records:
        for key in record:
            columns.setdefault(str(key), [])
    for record in records:
        for key in columns:
            columns[key].append(record.get(key))
    reasons: Reasons | None = [] if explain else None
    fields = []
    used: set[str] = set()
    for key, values in columns.items():
        field = infer_field(key, values, len(records), sample.text, reasons)
        if key in sample.types:
            field, changed = conform(field, sample.types[key], [v for v in values if v is not None])
            if reasons:
                reasons[-1]["type"] = summary(field)
                reasons[-1]["why"] += f"; {changed}" if changed else ""
        base, n = str(field["name"]), 2
        while field["name"] in used:
            field["name"] = f"{base}_{n}"
            n += 1
        if reasons:
            reasons[-1]["field"] = field["name"]  # the column's own reason comes last
        used.add(field["name"])
        if not field.get("unique"):
            field.pop("unique", None)
        fields.append(field)
    order_dates(fields, columns, reasons)
    count = f"{len(records)} sample records"
    if sample.read > len(records):
        count = f"{len(records)} of {sample.read} records, evenly spaced"
    spec = {
        "name": name,
        "description": f"Inferred from {Path(path).name} ({count})",
        "fields": fields,
    }
    if not explain:
        return spec
    return {"dataset": spec, "columns": reasons or [], "warnings": sample.warnings}

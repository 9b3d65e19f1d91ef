"""Typed sample files for `datasets infer`: Parquet, Avro and Excel (xlsx).

Their columns' types come from the file's own schema (Arrow's, Avro's writer schema, or
the cells' types for Excel) as `Node` trees (formats/typed.py: INTEGER, REAL, BOOLEAN,
TEXT, DATE, DATETIME, JSON, OBJECT, LIST and nullability); the values, turned into what
the generator gives (ISO text for dates, floats for decimals), still decide the shape of
each field as for CSV or JSON. `conform` then makes sure the field has the schema's type:
a date column whose sample holds only four dates becomes a date range, not a choice of
texts, and a text column of ISO dates stays text (a date range with its format).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from jobtui.engine.datagen.formats.typed import LIST, OBJECT, Node
from jobtui.engine.datagen.formats.types import field_type
from jobtui.engine.model.errors import InvalidInput

SCAN = 200_000  # records read at most (infer_read.MAX_SCAN)
MAGIC = {b"PAR1": "parquet", b"Obj\x01": "avro", b"PK\x03\x04": "excel"}

Read = tuple[list[dict[str, Any]], dict[str, Node], list[str]]


def typed_kind(path: Path) -> str | None:
    """parquet, avro or excel by the file's first bytes (None: a text file)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise InvalidInput(f"{path}: {exc.strerror or exc}") from None
    kind = MAGIC.get(head)
    if kind is None and path.suffix.lower() == ".xls":
        raise InvalidInput(f"{path}: old binary Excel (.xls) is not read; save it as .xlsx")
    return kind


def read_typed(path: Path, kind: str, table: str | None = None) -> Read:
    """(records, {column: Node}, warnings) of a Parquet, Avro or Excel file."""
    try:
        if kind == "parquet":
            return _read_parquet(path)
        if kind == "avro":
            return _read_avro(path)
        return _read_excel(path, table)
    except InvalidInput:
        raise
    except Exception as exc:  # a damaged file: the reader's own words
        raise InvalidInput(f"{path}: cannot read it as {kind} ({exc})") from None


def plain(value: Any) -> Any:
    """A reader's value as the generator would give it (dates as ISO text...)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): plain(v) for k, v in value}  # an Arrow map's (key, value) pairs
        return [plain(v) for v in value]
    return str(value)


# -- Parquet --------------------------------------------------------------------------------
def arrow_node(name: str, dtype: Any, nullable: bool) -> Node:
    import pyarrow.types as t

    if t.is_dictionary(dtype):
        dtype = dtype.value_type
    if t.is_struct(dtype):
        children = [arrow_node(f.name, f.type, f.nullable) for f in dtype]
        return Node(name, OBJECT, nullable, children)
    if t.is_list(dtype) or t.is_large_list(dtype) or t.is_fixed_size_list(dtype):
        item = dtype.value_field
        return Node(name, LIST, nullable, [arrow_node("item", item.type, item.nullable)])
    if t.is_map(dtype):
        return Node(name, "JSON", nullable)
    if t.is_boolean(dtype):
        kind = "BOOLEAN"
    elif t.is_integer(dtype):
        kind = "INTEGER"
    elif t.is_floating(dtype) or t.is_decimal(dtype):
        kind = "REAL"
    elif t.is_date(dtype):
        kind = "DATE"
    elif t.is_timestamp(dtype):
        kind = "DATETIME"
    else:
        kind = "TEXT"  # strings, times, binary (as base64 text)
    return Node(name, kind, nullable)


def _read_parquet(path: Path) -> Read:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    types = {f.name: arrow_node(f.name, f.type, f.nullable) for f in schema}
    records: list[dict[str, Any]] = []
    for batch in parquet.iter_batches(batch_size=10_000):
        records.extend(plain(row) for row in batch.to_pylist())
        if len(records) >= SCAN:
            break
    return records[:SCAN], types, []


# -- Avro -----------------------------------------------------------------------------------
AVRO_KINDS = {
    "boolean": "BOOLEAN",
    "int": "INTEGER",
    "long": "INTEGER",
    "float": "REAL",
    "double": "REAL",
    "string": "TEXT",
    "bytes": "TEXT",
    "fixed": "TEXT",
    "enum": "TEXT",
}
AVRO_LOGICAL = {
    "date": "DATE",
    "timestamp-millis": "DATETIME",
    "timestamp-micros": "DATETIME",
    "timestamp-nanos": "DATETIME",
    "local-timestamp-millis": "DATETIME",
    "local-timestamp-micros": "DATETIME",
    "local-timestamp-nanos": "DATETIME",
    "decimal": "REAL",
    "uuid": "TEXT",
    "time-millis": "TEXT",
    "time-micros": "TEXT",
}


def avro_node(name: str, schema: Any, named: dict[str, Any], nullable: bool = False) -> Node:
    """The Node of an Avro type (a union with null: nullable; other unions: its first
    branch). `named` holds the record, enum and fixed types seen so far, by name."""
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        has_null = len(branches) < len(schema)
        if not branches:
            return Node(name, "TEXT", True)
        return avro_node(name, branches[0], named, nullable or has_null)
    if isinstance(schema, str):
        if schema in named:
            return avro_node(name, named[schema], named, nullable)
        return Node(name, AVRO_KINDS.get(schema, "TEXT"), nullable)
    if not isinstance(schema, dict):
        return Node(name, "TEXT", nullable)
    kind = schema.get("type")
    if schema.get("name") and kind in ("record", "enum", "fixed"):
        named[str(schema["name"])] = schema
        if schema.get("namespace"):
            named[f"{schema['namespace']}.{schema['name']}"] = schema
    logical = schema.get("logicalType")
    if logical in AVRO_LOGICAL:
        return Node(name, AVRO_LOGICAL[logical], nullable)
    if kind == "record":
        children = [avro_node(str(f["name"]), f["type"], named) for f in schema["fields"]]
        return Node(name, OBJECT, nullable, children)
    if kind == "array":
        return Node(name, LIST, nullable, [avro_node("item", schema["items"], named)])
    if kind == "map":
        return Node(name, "JSON", nullable)
    if isinstance(kind, list | dict):
        return avro_node(name, kind, named, nullable)
    return Node(name, AVRO_KINDS.get(str(kind), "TEXT"), nullable)


def _read_avro(path: Path) -> Read:
    import fastavro

    with path.open("rb") as fh:
        reader = fastavro.reader(fh)
        schema = reader.writer_schema
        if not isinstance(schema, dict) or schema.get("type") != "record":
            raise InvalidInput(f"{path}: the Avro file holds {schema!r} values, not records")
        named: dict[str, Any] = {}
        root = avro_node("record", schema, named)
        types = {c.name: c for c in root.children}
        records: list[dict[str, Any]] = []
        for record in reader:
            records.append(plain(record))
            if len(records) >= SCAN:
                break
    return records, types, []


# -- Excel ----------------------------------------------------------------------------------
def _pick_sheet(book: Any, table: str | None, path: Path) -> tuple[Any, list[str]]:
    names = list(book.sheetnames)
    if table is not None:
        if table not in names:
            raise InvalidInput(f"table: {path} has no sheet {table!r} (sheets: {', '.join(names)})")
        return book[table], []
    warnings = []
    if len(names) > 1:
        warnings.append(
            f"the workbook has {len(names)} sheets ({', '.join(names)}): read {names[0]!r}; "
            "choose another with --table"
        )
    return book[names[0]], warnings


def _cell_kind(values: list[Any], formats: list[str]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "TEXT"
    if all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "INTEGER"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "REAL"
    if all(isinstance(v, datetime | date) for v in present):
        timed = any("h" in f.lower() or "s" in f.lower() for f in formats if f)
        midnight = all(not isinstance(v, datetime) or v.time() == time() for v in present)
        return "DATE" if midnight and not timed else "DATETIME"
    return "TEXT"


def _json_cells(values: list[Any]) -> list[Any] | None:
    """Cells that all hold JSON objects or arrays as text (a nested value), parsed."""
    present = [v for v in values if v is not None]
    if not present or not all(isinstance(v, str) and v[:1] in "{[" for v in present):
        return None
    try:
        return [None if v is None else json.loads(v) for v in values]
    except ValueError:
        return None


def _read_excel(path: Path, table: str | None) -> Read:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet, warnings = _pick_sheet(book, table, path)
        rows = sheet.iter_rows()
        header_row = next(rows, None)
        if header_row is None:
            raise InvalidInput(f"{path}: the sheet {sheet.title!r} is empty")
        header = [str(c.value).strip() if c.value is not None else "" for c in header_row]
        names = [h or f"column_{i + 1}" for i, h in enumerate(header)]
        columns: list[list[Any]] = [[] for _ in names]
        formats: list[list[str]] = [[] for _ in names]
        count = 0
        for row in rows:
            cells = list(row)[: len(names)]
            if not any(c.value not in (None, "") for c in cells):
                continue
            for i in range(len(names)):
                cell = cells[i] if i < len(cells) else None
                value = getattr(cell, "value", None)
                columns[i].append(value)
                if isinstance(value, datetime | date) and len(formats[i]) < 50:
                    formats[i].append(str(getattr(cell, "number_format", "") or ""))
            count += 1
            if count >= SCAN:
                break
    finally:
        book.close()
    types: dict[str, Node] = {}
    for i, name in enumerate(names):
        parsed = _json_cells(columns[i])
        if parsed is not None:
            columns[i] = parsed
            types[name] = Node(name, "JSON", True)
            continue
        types[name] = Node(name, _cell_kind(columns[i], formats[i]), True)
        if types[name].kind == "DATE":
            columns[i] = [v.date() if isinstance(v, datetime) else v for v in columns[i]]
    records = [{name: plain(columns[i][r]) for i, name in enumerate(names)} for r in range(count)]
    return records, types, warnings


# -- making a field fit its schema type -------------------------------------------------------
ISO_FORMATS = {"date_range": "%Y-%m-%d", "datetime_range": "%Y-%m-%dT%H:%M:%S"}
# A JSON column of unknown shape: small objects of words and numbers.
JSON_FIELD = {
    "type": "faker",
    "provider": "pydict",
    "args": {"nb_elements": 3, "value_types": ["str", "int"]},
}
KEEP = ("name", "description", "nullable", "unique", "locale")


def conform(field: dict[str, Any], node: Node, values: list[Any]) -> tuple[dict[str, Any], str]:
    """`field` (inferred from `values`) made to have `node`'s type; the second item says
    what changed ("" when nothing did)."""
    kind = node.kind
    if not node.nullable:
        field.pop("nullable", None)
    if kind == "JSON":
        return field, ""
    if kind == OBJECT:
        return _conform_object(field, node, values)
    if kind == LIST:
        return _conform_list(field, node, values)
    have = field_type(field)
    if have == kind:
        return field, ""
    if kind == "TEXT" and field.get("type") in ISO_FORMATS and not field.get("format"):
        field["format"] = ISO_FORMATS[field["type"]]
        return field, f"kept as text ({field['format']}), as the schema says"
    base = {k: field[k] for k in KEEP if k in field}
    if base.get("unique") and kind in ("BOOLEAN", "TEXT"):
        base.pop("unique")
    made = {**base, **by_type(kind, [v for v in values if v is not None])}
    return made, f"the schema says {kind.lower()}: {made['type']}"


def by_type(kind: str, values: list[Any]) -> dict[str, Any]:
    """A field of one generic type spanning `values` (its defaults when they are none)."""
    if kind == "INTEGER":
        ints = [int(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        return {"type": "integer", **({"min": min(ints), "max": max(ints)} if ints else {})}
    if kind == "REAL":
        nums = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        return {"type": "float", **({"min": min(nums), "max": max(nums)} if nums else {})}
    if kind == "BOOLEAN":
        bools = [bool(v) for v in values]
        share = round(100.0 * sum(bools) / len(bools), 1) if bools else 50
        return {"type": "boolean", "true_percent": share}
    if kind in ("DATE", "DATETIME"):
        texts = sorted(str(v) for v in values if isinstance(v, str))
        field: dict[str, Any] = {"type": "date_range" if kind == "DATE" else "datetime_range"}
        if texts:
            cut = 10 if kind == "DATE" else 19
            field.update(start=texts[0][:cut], end=texts[-1][:cut])
        return field
    return {"type": "faker", "provider": "word"}


def _conform_object(
    field: dict[str, Any], node: Node, values: list[Any]
) -> tuple[dict[str, Any], str]:
    from jobtui.engine.datagen.infer_column import field_name

    if field.get("type") != "object":
        base = {k: field[k] for k in KEEP if k in field and k != "unique"}
        children = [default_field(c) for c in node.children]
        return {**base, "type": "object", "fields": children}, "objects, as the schema says"
    by_name = {f["name"]: f for f in field["fields"]}
    out, notes = [], []
    for child in node.children:
        name = field_name(child.name)
        inner = [v.get(child.name) if isinstance(v, dict) else None for v in values]
        if name in by_name:
            made, note = conform(by_name[name], child, inner)
            if note:
                notes.append(f"{name}: {note}")
            out.append(made)
        else:
            out.append(default_field(child))
    field["fields"] = out or field["fields"]
    return field, "; ".join(notes)


def _conform_list(
    field: dict[str, Any], node: Node, values: list[Any]
) -> tuple[dict[str, Any], str]:
    items = [x for v in values if isinstance(v, list) for x in v]
    if field.get("type") != "list":
        base = {k: field[k] for k in KEEP if k in field and k != "unique"}
        item = default_field(node.children[0])
        item.pop("name", None)
        return {**base, "type": "list", "item": item}, "lists, as the schema says"
    item, note = conform({**field["item"], "name": "item"}, node.children[0], items)
    if "name" not in field["item"]:
        item.pop("name", None)
    item.pop("unique", None)
    field["item"] = item
    return field, note


def default_field(node: Node) -> dict[str, Any]:
    """A field of a node's type when the sample has no values for it."""
    from jobtui.engine.datagen.infer_column import field_name

    name = field_name(node.name)
    if node.kind == OBJECT:
        return {"name": name, "type": "object", "fields": [default_field(c) for c in node.children]}
    if node.kind == LIST:
        item = default_field(node.children[0])
        item.pop("name", None)
        return {"name": name, "type": "list", "item": item}
    if node.kind == "JSON":
        return {"name": name, **JSON_FIELD}
    return {"name": name, **by_type(node.kind, [])}

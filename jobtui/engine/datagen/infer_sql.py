"""Datasets from SQL `CREATE TABLE` statements, for `datasets infer`.

Statements are parsed by sqlglot (generic SQL first, then the PostgreSQL, MySQL, SQLite
and T-SQL dialects), so each dialect's spellings are understood (`SERIAL`, `TINYINT(1)`,
`ENUM(...)`, `INT[]`, `AUTO_INCREMENT`, `IDENTITY`...). What each column becomes:

- its type: integers, decimals and floats (`DECIMAL(p, s)`: `s` decimals, below 10^(p-s)),
  booleans, dates, timestamps, `UUID`, `TIME`, `JSON`, enums (a choice), arrays (a list);
  text follows the column's name (`email` → Faker's email) or its length (`CHAR(2)`: two
  letters); an integer primary key or identity column is a sequence, a `UNIQUE` or
  primary key column is unique;
- `NOT NULL` (and primary keys): never null; other columns are 10% null (SQL does not say
  how often), which `--explain` states;
- `CHECK` constraints on one column, in the column or the table: `>=`, `>`, `<=`, `<`,
  `BETWEEN` bound numbers and dates; `IN (...)` makes a choice;
- foreign keys (`REFERENCES t(c)`, `FOREIGN KEY (...) REFERENCES t(c)`): a reference to
  dataset `t`, field `c` (infer and save `t` first).

With INSERT statements after the CREATE TABLE (as the SQL format writes them), their
values are a sample: the columns' types still come from the CREATE TABLE, the values
decide ranges and choices as for CSV (the constraints still bound them).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jobtui.engine.datagen.infer_typed import JSON_FIELD
from jobtui.engine.model.errors import InvalidInput

NULL_SHARE = 10.0
DIALECTS = (None, "postgres", "mysql", "sqlite", "tsql")
MAX_SAMPLE = 5000
DEFAULT_SPAN = ("2020-01-01", "2025-12-31")  # a date column without CHECK bounds
_CREATE = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+)?"
    r"(?:UNLOGGED\s+)?TABLE\b",
    re.IGNORECASE,
)
_INSERT = re.compile(r"\bINSERT\s+(?:OR\s+\w+\s+)?(?:IGNORE\s+)?INTO\b", re.IGNORECASE)
_LEADING = re.compile(r"^\s*(?:--[^\n]*(?:\n|$)\s*|/\*.*?\*/\s*)*", re.DOTALL)
_STATEMENT = re.compile(r"^(CREATE|DROP|ALTER|SET|BEGIN|USE|PRAGMA|START|INSERT)\b", re.I)

INTEGERS = {
    "BIGINT", "UBIGINT", "INT", "UINT", "MEDIUMINT", "UMEDIUMINT", "SMALLINT", "USMALLINT",
    "TINYINT", "UTINYINT", "INT128", "UINT128", "INT256", "UINT256", "SERIAL", "BIGSERIAL",
    "SMALLSERIAL", "INTEGER", "INT2", "INT4", "INT8",
}  # fmt: skip
REALS = {
    "FLOAT", "DOUBLE", "DECIMAL", "UDECIMAL", "BIGDECIMAL", "MONEY", "SMALLMONEY", "UDOUBLE",
    "DECIMAL32", "DECIMAL64", "DECIMAL128", "DECIMAL256", "NUMERIC", "REAL", "FLOAT4", "FLOAT8",
}  # fmt: skip
DATETIMES = {
    "DATETIME", "DATETIME2", "DATETIME64", "SMALLDATETIME", "TIMESTAMP", "TIMESTAMPTZ",
    "TIMESTAMPLTZ", "TIMESTAMPNTZ", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS",
    "DATETIMEOFFSET",
}  # fmt: skip
BINARIES = {"BINARY", "VARBINARY", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BYTEA", "IMAGE"}
SERIALS = {"SERIAL", "BIGSERIAL", "SMALLSERIAL"}


def looks_like_sql(path: Path, text: str) -> bool:
    """A .sql file, or text whose first statement is SQL (after comments)."""
    if path.suffix.lower() == ".sql":
        return True
    rest = text[_LEADING.match(text).end() :]  # type: ignore[union-attr]
    return bool(_STATEMENT.match(rest)) and bool(_CREATE.search(text))


def _statement_end(text: str, start: int) -> int:
    """Where the statement starting at `start` ends (its `;` at depth 0, or the end)."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c in "'\"`":
            j = i + 1
            while j < n:
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:  # a doubled quote
                        j += 2
                        continue
                    break
                if text[j] == "\\" and c == "'":
                    j += 1
                j += 1
            i = j + 1
            continue
        if c == "-" and text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == ";" and depth <= 0:
            return i
        i += 1
    return n


def _parse(statement: str, want: Any) -> Any:
    """The statement parsed as a `want` (sqlglot expression class) by the first dialect
    that understands it (backquotes: MySQL first)."""
    import logging

    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    dialects: tuple[str | None, ...] = DIALECTS
    if "`" in statement:
        dialects = ("mysql", *[d for d in DIALECTS if d != "mysql"])
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)  # its "falling back to a Command" notes: we try another
    last = "not understood"
    try:
        for dialect in dialects:
            try:
                parsed = sqlglot.parse_one(statement, read=dialect)
            except (ParseError, TokenError) as exc:
                last = str(exc).splitlines()[0]
                continue
            if isinstance(parsed, want):
                return parsed
    finally:
        log.setLevel(level)
    raise InvalidInput(f"cannot parse {statement[:60]!r}... ({last})")


def tables_of(text: str, warnings: list[str]) -> dict[str, Any]:
    """{table name: its parsed CREATE TABLE} in the order of the file."""
    from sqlglot import exp

    out: dict[str, Any] = {}
    for m in _CREATE.finditer(text):
        statement = text[m.start() : _statement_end(text, m.start())]
        try:
            create = _parse(statement, exp.Create)
        except InvalidInput as exc:
            warnings.append(str(exc))
            continue
        schema = create.this
        if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
            continue  # CREATE TABLE ... AS SELECT: no column list
        out[schema.this.name] = schema
    return out


def _type_name(kind: Any) -> str:
    from sqlglot import exp

    name = kind.this.name
    if kind.this == exp.DataType.Type.USERDEFINED:
        name = str(kind.args.get("kind") or kind.sql()).split("(")[0]
    return name.upper().strip()


def _params(kind: Any) -> list[int]:
    out = []
    for p in kind.expressions:
        text = p.sql()
        if text.isdigit():
            out.append(int(text))
    return out


def _literal(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Neg):
        inner = _literal(node.this)
        return -inner if isinstance(inner, int | float) else None
    if isinstance(node, exp.Cast):
        return _literal(node.this)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this)
        text = str(node.this)
        try:
            return int(text)
        except ValueError:
            return float(text)
    return None


class Column:
    def __init__(self, name: str, kind: Any):
        self.name = name
        self.kind = kind  # sqlglot DataType or None
        self.not_null = False
        self.primary = False
        self.unique = False
        self.serial = False
        self.low: tuple[Any, bool] | None = None  # (bound, exclusive)
        self.high: tuple[Any, bool] | None = None
        self.values: list[Any] | None = None  # CHECK (c IN (...))
        self.reference: tuple[str, str] | None = None
        self.notes: list[str] = []


def _checks(expr: Any, columns: dict[str, Column]) -> None:
    """Apply a CHECK expression's bounds to the columns it names (AND splits it)."""
    from sqlglot import exp

    if isinstance(expr, exp.Paren):
        _checks(expr.this, columns)
        return
    if isinstance(expr, exp.And):
        _checks(expr.this, columns)
        _checks(expr.expression, columns)
        return
    if isinstance(expr, exp.Between) and isinstance(expr.this, exp.Column):
        col = columns.get(expr.this.name)
        low, high = _literal(expr.args.get("low")), _literal(expr.args.get("high"))
        if col is not None and low is not None and high is not None:
            col.low, col.high = (low, False), (high, False)
            col.notes.append(f"CHECK BETWEEN {low} AND {high}")
        return
    if isinstance(expr, exp.In) and isinstance(expr.this, exp.Column):
        col = columns.get(expr.this.name)
        values = [_literal(v) for v in expr.expressions]
        if col is not None and values and all(v is not None for v in values):
            col.values = values
            col.notes.append(f"CHECK IN ({len(values)} values)")
        return
    ops = {exp.GTE: (">=", "low", False), exp.GT: (">", "low", True)}
    ops.update({exp.LTE: ("<=", "high", False), exp.LT: ("<", "high", True)})
    flipped = {"low": "high", "high": "low"}
    for cls, (symbol, side, exclusive) in ops.items():
        if isinstance(expr, cls):
            left, right = expr.this, expr.expression
            if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
                left, right, side = right, left, flipped[side]  # 0 <= price
            value = _literal(right)
            col = columns.get(left.name) if isinstance(left, exp.Column) else None
            if col is not None and value is not None:
                setattr(col, side, (value, exclusive))
                col.notes.append(f"CHECK {col.name} {symbol} {value}")
            return


def read_columns(schema: Any) -> tuple[list[Column], list[str]]:
    """The columns of one parsed CREATE TABLE with their constraints."""
    from sqlglot import exp

    columns: dict[str, Column] = {}
    warnings: list[str] = []
    table_checks: list[Any] = []
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            col = Column(item.name, item.args.get("kind"))
            columns[col.name] = col
            for constraint in item.args.get("constraints") or []:
                kind = constraint.args.get("kind")
                if isinstance(kind, exp.NotNullColumnConstraint):
                    col.not_null = not kind.args.get("allow_null")
                elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
                    col.primary = col.not_null = True
                elif isinstance(kind, exp.UniqueColumnConstraint):
                    col.unique = True
                elif isinstance(
                    kind,
                    exp.AutoIncrementColumnConstraint | exp.GeneratedAsIdentityColumnConstraint,
                ):
                    col.serial = True
                elif isinstance(kind, exp.CheckColumnConstraint):
                    table_checks.append(kind.this)
                elif isinstance(kind, exp.Reference):
                    col.reference = _target(kind, 0)
        elif isinstance(item, exp.CheckColumnConstraint):
            table_checks.append(item.this)
        else:
            parts = item.expressions if isinstance(item, exp.Constraint) else [item]
            for part in parts:
                _table_constraint(part, columns, warnings)
    for check in table_checks:
        _checks(check, columns)
    return list(columns.values()), warnings


def _target(reference: Any, index: int) -> tuple[str, str] | None:
    target = reference.this
    table = target.this.name if hasattr(target, "this") and target.this is not None else ""
    cols = [c.name for c in getattr(target, "expressions", [])]
    if not table:
        return None
    return table, (cols[index] if index < len(cols) else cols[0] if cols else "id")


def _table_constraint(part: Any, columns: dict[str, Column], warnings: list[str]) -> None:
    from sqlglot import exp

    names = [e.name for e in part.expressions] if hasattr(part, "expressions") else []
    if isinstance(part, exp.ForeignKey):
        reference = part.args.get("reference")
        if reference is None:
            return
        for i, name in enumerate(names):
            if name in columns:
                columns[name].reference = _target(reference, i)
        if len(names) > 1:
            warnings.append(
                f"foreign key ({', '.join(names)}): each column references its own column, "
                "but not from the same row"
            )
    elif isinstance(part, exp.PrimaryKey):
        for name in names:
            if name in columns:
                columns[name].not_null = True
                columns[name].primary = len(names) == 1
    elif isinstance(part, exp.UniqueColumnConstraint):
        unique = [e.name for e in getattr(part.this, "expressions", [])]
        if len(unique) == 1 and unique[0] in columns:
            columns[unique[0]].unique = True


# -- a column as a field ----------------------------------------------------------------------
def generic_type(kind: Any) -> str:
    """INTEGER, REAL, BOOLEAN, TEXT, DATE, DATETIME, JSON, UUID, TIME, ENUM, ARRAY, BINARY."""
    if kind is None:
        return "TEXT"
    name = _type_name(kind)
    if (name in ("TINYINT", "BIT") and _params(kind) == [1]) or name in ("BOOLEAN", "BOOL", "BIT"):
        return "BOOLEAN"
    if name in INTEGERS:
        return "INTEGER"
    if name in REALS:
        return "REAL"
    if name in ("DATE", "DATE32"):
        return "DATE"
    if name in DATETIMES:
        return "DATETIME"
    if name in ("JSON", "JSONB"):
        return "JSON"
    if name in ("UUID", "UNIQUEIDENTIFIER"):
        return "UUID"
    if name in ("TIME", "TIMETZ"):
        return "TIME"
    if name in ("ENUM", "ENUM8", "ENUM16", "SET"):
        return "ENUM"
    if name == "ARRAY":
        return "ARRAY"
    if name in BINARIES:
        return "BINARY"
    return "TEXT"


def _bounded(col: Column, low: float, high: float, integer: bool, step: float) -> tuple[Any, Any]:
    if col.low is not None and isinstance(col.low[0], int | float):
        low = col.low[0] + (step if col.low[1] else 0)
    if col.high is not None and isinstance(col.high[0], int | float):
        high = col.high[0] - (step if col.high[1] else 0)
    if col.low is not None and col.high is None:
        high = max(high, low + (1000 if integer else 1000.0))
    if col.high is not None and col.low is None:
        low = min(low, high - (1000 if integer else 1000.0))
        low = max(low, 0) if high > 0 and col.low is None and low < 0 <= high else low
    if integer:
        return int(low), max(int(high), int(low))
    return float(low), max(float(high), float(low))


def _date_bound(bound: tuple[Any, bool] | None, kind: str, step: int) -> str | None:
    """A CHECK's date bound (an exclusive one moved a day, or a second, inwards)."""
    if bound is None or not isinstance(bound[0], str):
        return None
    try:
        moment = datetime.fromisoformat(bound[0])
    except ValueError:
        return None
    if bound[1]:
        moment += timedelta(days=step) if kind == "DATE" else timedelta(seconds=step)
    return moment.date().isoformat() if kind == "DATE" else moment.isoformat()


def column_field(col: Column, kind: str) -> tuple[dict[str, Any], str]:
    """The field of a column without sample values."""
    from jobtui.engine.datagen.infer_column import _hint, _norm

    if col.values is not None:
        return {"type": "choice", "values": col.values}, "its CHECK's values"
    if kind == "INTEGER":
        if col.primary or col.serial or _type_name(col.kind) in SERIALS:
            return {"type": "sequence", "start": 1}, "an integer key: a sequence from 1"
        low, high = _bounded(col, 0, 1000, True, 1)
        return {"type": "integer", "min": low, "max": high}, f"integer {low}..{high}"
    if kind == "REAL":
        params = _params(col.kind)
        decimals = params[1] if len(params) > 1 else 2
        top = 10.0 ** (params[0] - decimals) - 10.0**-decimals if params else 1000.0
        low, high = _bounded(col, 0.0, min(top, 1000.0), False, 10.0**-decimals)
        spec = {"type": "float", "min": low, "max": high, "decimals": min(decimals, 10)}
        return spec, f"number {low}..{high}, {decimals} decimals"
    if kind == "BOOLEAN":
        return {"type": "boolean"}, "boolean"
    if kind in ("DATE", "DATETIME"):
        start = _date_bound(col.low, kind, 1) or DEFAULT_SPAN[0]
        end = _date_bound(col.high, kind, -1) or DEFAULT_SPAN[1]
        if kind == "DATETIME" and len(end) == 10:
            end += "T23:59:59"
        if end < start:
            end = start
        spec = {"type": "date_range" if kind == "DATE" else "datetime_range"}
        return {**spec, "start": start, "end": end}, kind.lower()
    if kind == "JSON":
        return dict(JSON_FIELD), "JSON: Faker's pydict"
    if kind == "UUID":
        return {"type": "uuid"}, "UUID"
    if kind == "TIME":
        return {"type": "faker", "provider": "time"}, "a time of day"
    if kind == "ENUM":
        from sqlglot import exp

        values = [
            _literal(p.this if isinstance(p, exp.DataTypeParam) else p)
            for p in col.kind.expressions
        ]
        values = [v for v in values if v is not None] or ["a"]
        return {"type": "choice", "values": values}, f"enum of {len(values)}"
    if kind == "ARRAY":
        inner = col.kind.expressions[0] if col.kind.expressions else None
        item_col = Column("item", inner)
        item, why = column_field(item_col, generic_type(inner))
        item.pop("unique", None)
        return {"type": "list", "item": item, "min_items": 0, "max_items": 5}, f"array of {why}"
    if kind == "BINARY":
        return {"type": "faker", "provider": "md5"}, "binary: hex text"
    hint = _hint(_norm(col.name))
    length = (_params(col.kind) or [0])[0]
    if hint == "country" and length in (2, 3):
        hint = "country_code"
    if hint is not None and (not length or length >= 20 or hint == "country_code"):
        return {"type": "faker", "provider": hint}, f"text named like faker.{hint}"
    if length and length < 12:
        return {"type": "pattern", "pattern": "?" * length}, f"text of {length} characters"
    return {"type": "faker", "provider": "word"}, "text: a word"


def field_of(col: Column, dataset: str, sample: list[Any] | None) -> tuple[dict[str, Any], str]:
    """(field, why) of a column; `sample`: its values from INSERTs (nulls
    too)."""
    from jobtui.engine.datagen.formats.typed import Node
    from jobtui.engine.datagen.infer_column import field_name, infer_field
    from jobtui.engine.datagen.infer_typed import conform

    kind = generic_type(col.kind)
    name = field_name(col.name)
    notes = list(col.notes)
    sampled = bool(sample) and any(v is not None for v in sample or [])
    if col.reference is not None and col.reference[0] != dataset:
        table, target = col.reference
        field: dict[str, Any] = {
            "name": name,
            "type": "reference",
            "dataset": table,
            "field": field_name(target),
        }
        why = f"a foreign key to {table}.{target}"
    elif sampled and kind not in ("ENUM", "ARRAY") and col.values is None:
        assert sample is not None
        if kind == "JSON":
            sample = [_json_value(v) for v in sample]
        field = infer_field(col.name, sample, len(sample), text=False)
        node_kind = {"UUID": "TEXT", "TIME": "TEXT", "BINARY": "TEXT"}.get(kind, kind)
        node = Node(col.name, node_kind, not col.not_null)
        field, changed = conform(field, node, [v for v in sample if v is not None])
        why = f"{kind.lower()}, shaped by {len(sample)} inserted values" + (
            f" ({changed})" if changed else ""
        )
        _clamp(field, col)
    else:
        spec, why = column_field(col, kind)
        field = {"name": name, **spec}
    if col.reference is not None and col.reference[0] == dataset:
        notes.append("references its own table: not kept (a dataset cannot reference itself)")
    if (col.unique or col.primary) and field["type"] in ("faker", "pattern", "integer", "uuid"):
        field["unique"] = True
        notes.append("unique")
    if col.not_null:
        notes.append("NOT NULL" if not col.primary else "primary key")
    elif sampled:
        if field.get("nullable"):
            notes.append(f"{field['nullable']}% null in the inserted rows")
    elif field["type"] != "sequence":
        field["nullable"] = NULL_SHARE
        notes.append(f"no NOT NULL: {NULL_SHARE:g}% null (a guess)")
    return field, "; ".join([why, *notes])


def _json_value(value: Any) -> Any:
    """A JSON column's inserted text as the value it holds."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _clamp(field: dict[str, Any], col: Column) -> None:
    """Keep a sampled number range inside the column's CHECK bounds."""
    if field.get("type") not in ("integer", "float"):
        return
    if col.low is not None and isinstance(col.low[0], int | float):
        field["min"] = max(field["min"], col.low[0])
    if col.high is not None and isinstance(col.high[0], int | float):
        field["max"] = min(field["max"], col.high[0])
    field["max"] = max(field["max"], field["min"])
    if field.get("quantiles"):
        field["quantiles"] = [min(max(q, field["min"]), field["max"]) for q in field["quantiles"]]


# -- INSERT statements as a sample --------------------------------------------------------------
def insert_sample(text: str, table: str, columns: list[str]) -> list[dict[str, Any]]:
    """Up to MAX_SAMPLE rows of `INSERT INTO table ... VALUES` statements."""
    from sqlglot import exp

    rows: list[dict[str, Any]] = []
    for m in _INSERT.finditer(text):
        end = _statement_end(text, m.start())
        statement = text[m.start() : end]
        head = statement[:300]
        if table.lower() not in head.lower():
            continue
        try:
            insert = _parse(statement, exp.Insert)
        except InvalidInput:
            continue
        target = insert.this
        if isinstance(target, exp.Schema):
            names = [c.name for c in target.expressions] or columns
            target = target.this
        else:
            names = columns
        if not isinstance(target, exp.Table) or target.name != table:
            continue
        values = insert.expression
        if not isinstance(values, exp.Values):
            continue
        for row in values.expressions:
            cells = [_literal(c) for c in row.expressions]
            rows.append(dict(zip(names, cells, strict=False)))
            if len(rows) >= MAX_SAMPLE:
                return rows
    return rows


def pick_table(tables: dict[str, Any], name: str, table: str | None, path: str | Path) -> str:
    if not tables:
        raise InvalidInput(f"{path}: no CREATE TABLE statement with columns found")
    if table is not None:
        if table not in tables:
            raise InvalidInput(
                f"table: {path} has no table {table!r} (tables: {', '.join(tables)})"
            )
        return table
    if len(tables) == 1:
        return next(iter(tables))
    for candidate in tables:
        if candidate.lower() == name.lower():
            return candidate
    raise InvalidInput(
        f"table: {path} creates {len(tables)} tables ({', '.join(tables)}): choose one with "
        "--table (or name the dataset like one of them)"
    )


def infer_sql(
    text: str, path: str | Path, name: str, table: str | None, explain: bool
) -> dict[str, Any]:
    """A dataset spec from the CREATE TABLE of `table` in SQL text (see the module's doc)."""
    from jobtui.engine.datagen.infer_column import summary

    warnings: list[str] = []
    tables = tables_of(text, warnings)
    chosen = pick_table(tables, name, table, path)
    columns, more = read_columns(tables[chosen])
    warnings += more
    rows = insert_sample(text, chosen, [c.name for c in columns]) if _INSERT.search(text) else []
    fields, reasons, used = [], [], set()
    refs: set[str] = set()
    for col in columns:
        sample = [r.get(col.name) for r in rows] if rows else None
        field, why = field_of(col, name, sample)
        base, n = field["name"], 2
        while field["name"] in used:
            field["name"] = f"{base}_{n}"
            n += 1
        used.add(field["name"])
        if field["type"] == "reference":
            refs.add(field["dataset"])
        fields.append(field)
        column_type = _type_name(col.kind) if col.kind is not None else "untyped"
        reasons.append(
            {"column": col.name, "field": field["name"], "type": summary(field), "why": why}
        )
        reasons[-1]["why"] = f"{column_type}: {why}"
    for ref in sorted(refs):
        warnings.append(
            f"references dataset {ref!r}: infer and save it first "
            f"(`jobtui datasets infer {Path(path).name} --table {ref} --name {ref} --save`)"
            if ref in tables
            else f"references dataset {ref!r}: it must exist before this one is saved"
        )
    sampled = f", {len(rows)} inserted rows" if rows else ""
    spec = {
        "name": name,
        "description": f"Inferred from CREATE TABLE {chosen} in {Path(path).name}{sampled}",
        "fields": fields,
    }
    if not explain:
        return spec
    return {"dataset": spec, "columns": reasons, "warnings": warnings}

"""The generic column type of each field (INTEGER, REAL, BOOLEAN, TEXT, DATE, DATETIME,
JSON): what typed formats (SQL, Parquet, Avro, Excel) and table sinks build on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FAKER_TYPES = {
    "random_int": "INTEGER",
    "pyint": "INTEGER",
    "random_number": "INTEGER",
    "random_digit": "INTEGER",
    "unix_time": "REAL",
    "pyfloat": "REAL",
    "pydecimal": "REAL",
    "latitude": "REAL",
    "longitude": "REAL",
    "boolean": "BOOLEAN",
    "pybool": "BOOLEAN",
    "null_boolean": "BOOLEAN",
    "date": "DATE",
    "date_object": "DATE",
    "date_of_birth": "DATE",
    "date_this_year": "DATE",
    "date_this_month": "DATE",
    "date_this_decade": "DATE",
    "date_between": "DATE",
    "future_date": "DATE",
    "past_date": "DATE",
    "date_time": "DATETIME",
    "iso8601": "DATETIME",
    "date_time_this_year": "DATETIME",
    "date_time_between": "DATETIME",
    "future_datetime": "DATETIME",
    "past_datetime": "DATETIME",
    "pylist": "JSON",
    "pydict": "JSON",
    "pytuple": "JSON",
    "pyset": "JSON",
}


def _type_of_values(values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "TEXT"
    if all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "INTEGER"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "REAL"
    if all(isinstance(v, dict | list) for v in present):
        return "JSON"
    return "TEXT"


def field_type(field: Mapping[str, Any], resolve: Any = None) -> str:
    """The SQL-ish type of one field spec."""
    kind = field.get("type")
    if kind in ("sequence", "integer"):
        return "INTEGER"
    if kind == "float":
        return "REAL"
    if kind == "boolean":
        return "BOOLEAN"
    if kind == "date_range":
        return "TEXT" if field.get("format") else "DATE"
    if kind == "datetime_range":
        return "TEXT" if field.get("format") else "DATETIME"
    if kind in ("object", "list"):
        return "JSON"
    if kind == "choice":
        return _type_of_values(field.get("values") or [])
    if kind == "constant":
        return _type_of_values([field.get("value")])
    if kind == "faker":
        return FAKER_TYPES.get(str(field.get("provider")), "TEXT")
    if kind == "reference":
        target = resolve(field.get("dataset")) if resolve else None
        if target is None:
            from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

            target = BUILTIN_DATASETS.get(str(field.get("dataset")))
        if target:
            for f in target.get("fields", []):
                if f.get("name") == field.get("field"):
                    return field_type(f)
        return "TEXT"
    return "TEXT"


def column_types(dataset: Mapping[str, Any], resolve: Any = None) -> dict[str, str]:
    """{field name: INTEGER | REAL | BOOLEAN | TEXT | DATE | DATETIME | JSON}.

    `resolve(name)` may give other datasets' specs (for reference fields)."""
    return {f["name"]: field_type(f, resolve) for f in dataset.get("fields", [])}

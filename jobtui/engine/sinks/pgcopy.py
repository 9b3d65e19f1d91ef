"""PostgreSQL's COPY text format: rows (given column by column) as the body of
`COPY ... FROM STDIN`. An encoding, not a sink: the PostgreSQL sink sends it, and the
generating processes make it straight from the generator's columns (`encodings.encode_columns`).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from jobtui.engine.sinks.base import plain_value

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_COPY_PAIRS = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _copy_cell(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        value = plain_value(value)
        if not isinstance(value, str):
            return _copy_cell(value)
    return value.translate(_COPY_ESCAPES)


def copy_column(values: Sequence[Any]) -> list[str]:
    """A column of values in COPY's text format (one pass per column, not per value)."""
    kinds = set(map(type, values))
    if kinds == {str}:
        # Escape the whole column at once: join on NUL (which text never holds in
        # PostgreSQL), replace, split; far faster than a translate per value. Most columns
        # hold nothing to escape and are used as they are.
        joined = "\0".join(values)
        if not any(char in joined for char, _ in _COPY_PAIRS):
            return values if isinstance(values, list) else list(values)
        if joined.count("\0") != len(values) - 1:
            esc = _COPY_ESCAPES
            return [v.translate(esc) for v in values]
        for char, escaped in _COPY_PAIRS:
            if char in joined:
                joined = joined.replace(char, escaped)
        return joined.split("\0")
    if kinds == {int} or kinds == {float}:
        return list(map(str, values))
    return list(map(_copy_cell, values))


def copy_columns(columns: Sequence[Sequence[Any]]) -> bytes:
    """Rows given column by column as the body of `COPY ... FROM STDIN` (text format)."""
    cells = [copy_column(col) for col in columns]
    if not cells or not cells[0]:
        return b""
    return ("\n".join(map("\t".join, zip(*cells, strict=True))) + "\n").encode()


def copy_text(records: Sequence[dict[str, Any]], columns: list[str]) -> bytes:
    """Records as the body of `COPY ... FROM STDIN` (text format)."""
    if len(columns) == 1:
        name = columns[0]
        return copy_columns([[r.get(name) for r in records]])
    try:
        rows = list(map(operator.itemgetter(*columns), records))
    except KeyError:
        rows = [tuple(r.get(c) for c in columns) for r in records]
    return copy_columns(list(zip(*rows, strict=True)))

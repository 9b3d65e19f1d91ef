"""MySQL's `LOAD DATA` text: tab-separated fields, backslash escapes, `\\N` for NULL. An
encoding, not a sink: the MySQL sink sends it, and the generating processes make it
straight from the generator's columns (`encodings.encode_columns`).

It is PostgreSQL's COPY text (same escapes, same NULL) but for booleans, which MySQL
stores as 1 and 0.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from jobtui.engine.sinks.pgcopy import copy_column


def _tsv_column(values: Sequence[Any]) -> list[str]:
    if any(v is True or v is False for v in values):
        values = [int(v) if isinstance(v, bool) else v for v in values]
    return copy_column(values)


def tsv_columns(columns: Sequence[Sequence[Any]]) -> bytes:
    """Rows given column by column as the body of `LOAD DATA` (defaults: tab, `\\`, LF)."""
    cells = [_tsv_column(col) for col in columns]
    if not cells or not cells[0]:
        return b""
    return ("\n".join(map("\t".join, zip(*cells, strict=True))) + "\n").encode()


def tsv_text(records: Sequence[dict[str, Any]], columns: list[str]) -> bytes:
    """Records as the body of `LOAD DATA`."""
    if len(columns) == 1:
        name = columns[0]
        return tsv_columns([[r.get(name) for r in records]])
    try:
        rows = list(map(operator.itemgetter(*columns), records))
    except KeyError:
        rows = [tuple(r.get(c) for c in columns) for r in records]
    return tsv_columns(list(zip(*rows, strict=True)))

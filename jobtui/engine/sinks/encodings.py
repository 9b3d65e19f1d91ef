"""Rows in a table sink's own encoding, made straight from the generator's columns in
whichever process made the batch (no dict per record): see `Sink.encoding`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.sinks.pgcopy import copy_columns


def encode_columns(encoding: str, columns: Sequence[Sequence[Any]]) -> Any:
    """Rows given as a list of values per column, in a sink's own encoding: "pgcopy"
    (COPY text, bytes), "mysqltsv" (LOAD DATA text, bytes), "tuples" (a list of row
    tuples, what executemany binds) or "flat" (every row's values one after another in one
    list, what a multi-row INSERT binds)."""
    if encoding == "pgcopy":
        return copy_columns(columns)
    if encoding == "mysqltsv":
        from jobtui.engine.sinks.mysqltsv import tsv_columns

        return tsv_columns(columns)
    if encoding == "tuples":
        return list(zip(*columns, strict=True))
    if encoding == "flat":
        return list(itertools.chain.from_iterable(zip(*columns, strict=True)))
    raise InvalidInput(f"unknown row encoding {encoding!r}")

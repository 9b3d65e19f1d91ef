"""Generators (output formats): record batches → bytes, and bytes → records for replay.

`make_encoder(format, options, dataset, fields)` gives an `Encoder` with `header()`,
`encode(batch)`, `encode_at(batch, start)` (stateless: for batches encoded in other
processes; `start` is the number of the batch's first record in the output) and
`footer()`. `dataset` is a dataset spec (dict) or just its name; with the spec, SQL's
CREATE TABLE and CSV/XML decoding know each column's type.

`make_decoder(format, options, dataset, fields).decode(stream)` yields batches of dicts
from bytes made by the matching encoder (jsonl, json, csv, sql, xml).

`column_types(dataset)` maps each top-level field to INTEGER, REAL, BOOLEAN, TEXT, DATE,
DATETIME or JSON, for table sinks.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from jobtui.engine.datagen.formats.base import (
    Batch,
    Decoder,
    Encoder,
    fields_of,
    name_of,
    spec_of,
)
from jobtui.engine.datagen.formats.types import column_types, field_type
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.formats import FORMAT_OPTIONS
from jobtui.engine.model.sql import quote_identifier

__all__ = [
    "Batch",
    "Decoder",
    "Encoder",
    "column_types",
    "encode_all",
    "field_type",
    "make_decoder",
    "make_encoder",
    "quote_identifier",
    "sql_literal",
]

# format → (module, encoder class, decoder class or None). Modules are imported when a
# format is used: a run in JSON lines never loads pyarrow.
FORMATS: dict[str, tuple[str, str, str | None]] = {
    "jsonl": ("jsonl", "JsonLinesEncoder", "JsonLinesDecoder"),
    "json": ("json_array", "JsonArrayEncoder", "JsonArrayDecoder"),
    "csv": ("csv_format", "CsvEncoder", "CsvDecoder"),
    "sql": ("sql", "SqlEncoder", "SqlDecoder"),
    "xml": ("xml_format", "XmlEncoder", "XmlDecoder"),
    "parquet": ("parquet", "ParquetEncoder", "ParquetDecoder"),
    "avro": ("avro", "AvroEncoder", "AvroDecoder"),
    "excel": ("excel", "ExcelEncoder", "ExcelDecoder"),
    "template": ("template", "TemplateEncoder", None),
}


def _class(fmt: str, which: int) -> Any:
    entry = FORMATS[fmt]
    module = importlib.import_module(f"{__name__}.{entry[0]}")
    name = entry[which]
    return getattr(module, name) if name else None


def sql_literal(value: Any, dialect: str) -> str:
    from jobtui.engine.datagen.formats.sql import sql_literal as literal

    return literal(value, dialect)


def check_options(fmt: str, options: Mapping[str, Any] | None) -> Any:
    model = FORMAT_OPTIONS.get(fmt)
    if model is None:
        raise InvalidInput(f"unknown format {fmt!r} (one of {', '.join(FORMAT_OPTIONS)})")
    from pydantic import ValidationError

    from jobtui.engine.model.errors import SpecError
    from jobtui.engine.model.spec import errors_of

    try:
        return model.model_validate(dict(options or {}))
    except ValidationError as exc:
        raise SpecError(errors_of(exc, "generator.options")) from None


def make_encoder(
    fmt: str,
    options: Mapping[str, Any] | None,
    dataset: str | Mapping[str, Any] | None,
    fields: Sequence[str] | None = None,
) -> Encoder:
    """The encoder of a format, its options checked (SpecError names bad options)."""
    opts = check_options(fmt, options)
    name = name_of(dataset)
    spec = spec_of(dataset)
    names = fields_of(dataset, fields)
    if spec is not None and [f["name"] for f in spec.get("fields", [])] != names:
        spec = None  # a different field list: do not trust the types
    encoder: Encoder = _class(fmt, 1)(name, names, spec, opts)
    return encoder


def make_decoder(
    fmt: str,
    options: Mapping[str, Any] | None,
    dataset: str | Mapping[str, Any] | None,
    fields: Sequence[str] | None = None,
) -> Decoder:
    """The decoder of a format (InvalidInput for a format that cannot be read back)."""
    opts = check_options(fmt, options)
    cls = _class(fmt, 2)
    if cls is None:
        raise InvalidInput(
            f"{fmt}: its output cannot be read back into records (a template writes any "
            "text); replay it into a stream sink (file, console, HTTP) instead"
        )
    spec = spec_of(dataset)
    names = fields_of(dataset, fields)
    decoder: Decoder = cls(names, spec, opts)
    return decoder


def encode_all(
    fmt: str,
    options: Mapping[str, Any] | None,
    dataset: str | Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    fields: Sequence[str] | None = None,
) -> bytes:
    """A whole (small) output in one go: header, records, footer."""
    encoder = make_encoder(fmt, options, dataset, fields)
    return encoder.header() + encoder.encode(records) + b"".join(encoder.footer_parts())

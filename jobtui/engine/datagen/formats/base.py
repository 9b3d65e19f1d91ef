"""What every format is made of: the `Encoder` and `Decoder` bases and their helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import orjson

from jobtui.engine.datagen.formats.types import column_types

Batch = Sequence[Mapping[str, Any]]
DECODE_BATCH = 1000


def spec_of(dataset: str | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if isinstance(dataset, Mapping):
        return dataset
    if isinstance(dataset, str):
        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

        return BUILTIN_DATASETS.get(dataset)
    return None


def name_of(dataset: str | Mapping[str, Any] | None) -> str:
    if isinstance(dataset, Mapping):
        return str(dataset.get("name", "data"))
    return dataset or "data"


def fields_of(dataset: str | Mapping[str, Any] | None, fields: Sequence[str] | None) -> list[str]:
    if fields:
        return [str(f) for f in fields]
    spec = spec_of(dataset)
    return [f["name"] for f in spec.get("fields", [])] if spec else []


class Encoder:
    """Turns batches into bytes, in two steps so that batches can be made in other
    processes: `encode_at(batch, start)` is stateless (any process; `start` is the number
    of the batch's first record in the output), and `seal(data, n)` takes its result in
    record order, in the process that writes the output (it counts, and a whole-file
    format such as Parquet turns the batch into the file's bytes there). `encode(batch)`
    does both. `notes()` are lines for the run's results (what the format had to change).
    """

    # Takes the generator's columns (`encode_columns_at`: a list of values per field)
    # without a dict per record being made.
    columnar = False
    # Bytes that are not text (Parquet, Avro, Excel): a preview shows `describe()` and the
    # records instead.
    binary = False

    def __init__(self, name: str, fields: list[str], spec: Mapping[str, Any] | None):
        self.name = name
        self.fields = fields
        self.spec = spec
        self.count = 0

    def header(self) -> bytes:
        return b""

    def footer(self) -> bytes:
        return b""

    def encode_at(self, batch: Batch, start: int) -> bytes:
        raise NotImplementedError

    def encode_columns_at(self, columns: list[list[Any]], start: int) -> bytes:
        """`encode_at` of records given as a list of values per field (in field order)."""
        fields = self.fields
        rows = [dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)]
        return self.encode_at(rows, start)

    def seal(self, data: bytes, n: int) -> bytes:
        """The output bytes of `n` records that `encode_at` made (here or elsewhere)."""
        self.count += n
        return data

    def encode(self, batch: Batch) -> bytes:
        return self.seal(self.encode_at(batch, self.count), len(batch))

    def advance(self, n: int) -> None:
        """Count records encoded elsewhere whose bytes are not needed here."""
        self.seal(b"", n)

    def footer_parts(self) -> Iterator[bytes]:
        """`footer()` in pieces: a format whose library writes the file only at its end
        (Excel) hands it over a piece at a time instead of in one bytes object."""
        yield self.footer()

    def notes(self) -> list[str]:
        return []

    def describe(self) -> str:
        """The output's schema, for formats that have one (shown by the preview)."""
        return ""


def json_default(value: Any) -> Any:
    from jobtui.engine.datagen.providers import plain

    return plain(value)


_INT = re.compile(r"^-?(0|[1-9]\d*)$")
_FLOAT = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$")


def convert(text: str, kind: str | None) -> Any:
    """A present (non-null) text cell back into a value: by the field's type when known,
    else by its look. Text stays text, the empty string included."""
    if kind is None:
        if _INT.match(text):
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        if text in ("true", "false"):
            return text == "true"
        if text[:1] in "[{":
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                return text
        return text
    if text == "" and kind != "TEXT":
        return None
    try:
        if kind == "INTEGER":
            return int(text)
        if kind == "REAL":
            return float(text)
        if kind == "BOOLEAN":
            return text.lower() in ("true", "1")
        if kind == "JSON":
            return orjson.loads(text)
    except ValueError:
        return text
    return text


class Decoder:
    def __init__(self, fields: list[str], spec: Mapping[str, Any] | None, opts: Any):
        self.fields = fields
        self.spec = spec
        self.types: dict[str, str] | None = column_types(spec) if spec else None
        self.specs: dict[str, Mapping[str, Any]] = {
            f["name"]: f for f in (spec or {}).get("fields", [])
        }
        self.opts = opts

    def kind(self, name: str) -> str | None:
        return self.types.get(name) if self.types is not None else None

    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        raise NotImplementedError


def batched(records: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= DECODE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch

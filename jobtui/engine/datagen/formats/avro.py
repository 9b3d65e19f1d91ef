"""Avro object container files (fastavro): a schema derived from the dataset (nullable
fields as `["null", T]` unions, dates as `date`, timestamps as `local-timestamp-micros`,
objects as records, lists as arrays), a block codec.

Each batch is one data block, and a block does not depend on where it sits in the file:
`encode_at` writes it in any process (fastavro writing a file of that batch alone, its
header cut off). The sync marker is derived from the schema, not random, so the same seed
gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from jobtui.engine.datagen.formats.base import Batch, Decoder, Encoder, batched, json_default
from jobtui.engine.datagen.formats.typed import LIST, OBJECT, Node, from_native, nodes_of, to_native
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.formats import AvroOptions

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SYNC_INTERVAL = 1 << 40  # never cut a batch into several blocks


def _avro_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            f"avro: {what} {name!r} is not a valid Avro name (letters, digits, _; not "
            "starting with a digit)"
        )
    return name


def avro_type(node: Node, path: str) -> Any:
    kind = node.kind
    if kind == OBJECT:
        kind_type: Any = {
            "type": "record",
            "name": _avro_name(path.replace(".", "_"), "record"),
            "fields": [avro_field(c, f"{path}_{c.name}") for c in node.children],
        }
    elif kind == LIST:
        kind_type = {"type": "array", "items": avro_type(node.children[0], f"{path}_item")}
    else:
        kind_type = {
            "INTEGER": "long",
            "REAL": "double",
            "BOOLEAN": "boolean",
            "DATE": {"type": "int", "logicalType": "date"},
            "DATETIME": {"type": "long", "logicalType": "local-timestamp-micros"},
        }.get(kind, "string")
    return ["null", kind_type] if node.nullable else kind_type


def avro_field(node: Node, path: str) -> dict[str, Any]:
    return {"name": _avro_name(node.name, "field"), "type": avro_type(node, path)}


def avro_schema(name: str, nodes: list[Node]) -> dict[str, Any]:
    record = re.sub(r"\W", "_", name) or "record"
    if record[0].isdigit():
        record = "_" + record
    return {
        "type": "record",
        "name": record,
        "namespace": "jobtui",
        "fields": [avro_field(n, f"{record}_{n.name}") for n in nodes],
    }


class AvroEncoder(Encoder):
    binary = True
    columnar = True

    def __init__(self, name: str, fields: list[str], spec: Any, opts: AvroOptions):
        import fastavro

        super().__init__(name, fields, spec)
        self.opts = opts
        self.nodes = nodes_of(spec, fields)
        self.schema = avro_schema(name, self.nodes)
        text = json.dumps(self.schema, sort_keys=True)
        self.sync = hashlib.md5(text.encode()).digest()  # 16 bytes, the same every run
        try:
            self.parsed = fastavro.parse_schema(self.schema)
        except Exception as exc:  # fastavro's SchemaParseException and friends
            raise InvalidInput(f"avro: the schema cannot be made: {exc}") from None
        self._header = self._file([])

    def _file(self, records: list[dict[str, Any]]) -> bytes:
        import fastavro

        out = io.BytesIO()
        fastavro.writer(
            out,
            self.parsed,
            records,
            codec=self.opts.codec,
            sync_interval=SYNC_INTERVAL,
            sync_marker=self.sync,
        )
        return out.getvalue()

    def describe(self) -> str:
        return f"Avro schema (codec {self.opts.codec}):\n{json.dumps(self.schema, indent=2)}\n"

    def header(self) -> bytes:
        return self._header

    def encode_at(self, batch: Batch, start: int) -> bytes:
        return self.encode_columns_at([[r.get(f) for r in batch] for f in self.fields], start)

    def encode_columns_at(self, columns: list[list[Any]], start: int) -> bytes:
        if not columns or not columns[0]:
            return b""
        # Only the columns that need it are converted (dates to date objects...), a
        # column at a time; the records are then zipped from the columns.
        typed = [_native_column(c, n) for c, n in zip(columns, self.nodes, strict=True)]
        names = self.fields
        records = [dict(zip(names, values, strict=True)) for values in zip(*typed, strict=True)]
        try:
            data = self._file(records)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"avro: a record does not fit the schema: {exc}") from None
        return data[len(self._header) :]


def _native_column(values: list[Any], node: Node) -> list[Any]:
    if node.kind in ("INTEGER", "REAL", "BOOLEAN"):
        return values
    if node.kind == "TEXT":
        try:
            "".join(values)  # all text already (the usual case): nothing to do
            return values
        except TypeError:
            pass
    return [to_native(v, node) for v in values]


class AvroDecoder(Decoder):
    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return batched(self._records(stream))

    def _records(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        import fastavro

        reader = fastavro.reader(stream)
        names = [f["name"] for f in reader.writer_schema.get("fields", [])]  # type: ignore[union-attr]
        known = {n.name: n for n in nodes_of(self.spec, names)} if self.spec else {}
        for record in reader:
            assert isinstance(record, dict)
            yield {
                k: from_native(v, known[k]) if k in known else json_default(v)
                for k, v in record.items()
            }

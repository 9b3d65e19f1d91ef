"""JSON array: `[`, one record per line (indented when asked), `]`; decoded as a stream."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import IO, Any

import orjson

from jobtui.engine.datagen.formats.base import Batch, Decoder, Encoder, batched, json_default
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.formats import JsonArrayOptions


class JsonArrayEncoder(Encoder):
    """`[` + one record per line (indented when asked) + `]`."""

    def __init__(self, name: str, fields: list[str], spec: Any, opts: JsonArrayOptions):
        super().__init__(name, fields, spec)
        self.indent = opts.indent
        self.ascii = opts.ensure_ascii

    def header(self) -> bytes:
        return b"["

    def _one(self, record: Mapping[str, Any]) -> str:
        if self.indent:
            text = json.dumps(
                record, indent=self.indent, ensure_ascii=self.ascii, default=json_default
            )
            pad = " " * self.indent
            return pad + text.replace("\n", "\n" + pad)
        if self.ascii:
            return json.dumps(
                record, ensure_ascii=True, separators=(",", ":"), default=json_default
            )
        return orjson.dumps(record, default=json_default).decode()

    def encode_at(self, batch: Batch, start: int) -> bytes:
        if not batch:
            return b""
        parts = [self._one(r) for r in batch]
        head = "\n" if start == 0 else ",\n"
        return (head + ",\n".join(parts)).encode()

    def footer(self) -> bytes:
        return b"\n]\n" if self.count else b"]\n"


class JsonArrayDecoder(Decoder):
    """Streams the objects of a JSON array (never the whole file in memory)."""

    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return batched(self._objects(stream))

    def _objects(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        decoder = json.JSONDecoder()
        reader = io.TextIOWrapper(stream, encoding="utf-8")
        buf = ""
        pos = 0
        eof = False
        started = False
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if pos < len(buf) and not started:
                if buf[pos] != "[":
                    raise InvalidInput("json: the output is not a JSON array")
                started = True
                pos += 1
                continue
            if pos < len(buf) and buf[pos] == "]":
                return
            if pos < len(buf):
                try:
                    obj, end = decoder.raw_decode(buf, pos)
                except json.JSONDecodeError:
                    if eof:
                        raise InvalidInput("json: the output is cut short") from None
                else:
                    if end < len(buf) or eof:
                        yield obj
                        pos = end
                        continue
            if eof:
                return
            chunk = reader.read(1 << 20)
            if not chunk:
                eof = True
            buf = buf[pos:] + chunk
            pos = 0

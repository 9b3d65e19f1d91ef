"""JSON lines: one compact JSON object per line (orjson)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

import orjson

from jobtui.engine.datagen.formats.base import Batch, Decoder, Encoder, batched, json_default
from jobtui.engine.model.formats import JsonLinesOptions


class JsonLinesEncoder(Encoder):
    def __init__(self, name: str, fields: list[str], spec: Any, opts: JsonLinesOptions):
        super().__init__(name, fields, spec)
        self.ascii = opts.ensure_ascii

    def encode_at(self, batch: Batch, start: int) -> bytes:
        if self.ascii:
            return "".join(
                json.dumps(r, ensure_ascii=True, separators=(",", ":"), default=json_default) + "\n"
                for r in batch
            ).encode()
        # Appending each record's bytes at once (not joining a list of them) lets malloc
        # reuse one chunk: ~4x faster than b"".join on fresh heaps.
        dumps, opt = orjson.dumps, orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
        buf = bytearray()
        try:
            for r in batch:
                buf += dumps(r, option=opt)
        except TypeError:
            buf = bytearray()
            for r in batch:
                buf += dumps(r, default=json_default, option=opt)
        return bytes(buf)


class JsonLinesDecoder(Decoder):
    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return batched(orjson.loads(line) for line in stream if line.strip())

"""A pipeline's reader chain: the source, then the bytes and parse readers after it."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.pipeline import BYTES_READERS, PARSE_READERS
from jobtui.engine.pipeline import remote
from jobtui.engine.pipeline.chunks import Chunk, Item, OnBad, decompress
from jobtui.engine.pipeline.parse import parse_blob
from jobtui.engine.pipeline.readers import DatagenSource, FileSource, ReaderEnv, Source


# -- the chain ------------------------------------------------------------------------------
def make_source(kind: str, options: dict[str, Any], env: ReaderEnv) -> Source:
    if kind == "file":
        return FileSource(options, env)
    if kind == "datagen":
        return DatagenSource(options, env)
    classes: dict[str, type[Source]] = {
        "sql": remote.SqlSource,
        "http": remote.HttpSource,
        "redis-stream": remote.RedisStreamSource,
    }
    return classes[kind](options, env)


def chain(
    source: Source, readers: list[dict[str, Any]], on_bad: OnBad, size: int
) -> Generator[Chunk, None, None]:
    """The source's items through the readers after it, as chunks of records."""
    items: Iterator[Item] = source.items()
    for reader in readers:
        kind, options = reader["type"], dict(reader.get("options") or {})
        if kind in BYTES_READERS:
            items = _decompressing(items, kind, str(options.get("member", "*")))
        elif kind in PARSE_READERS:
            items = _parsing(items, kind, options, on_bad, size)
    for item in items:
        if not isinstance(item, Chunk):
            raise InvalidInput(f"readers: {item.where} is still bytes after the last reader")
        yield item


def _decompressing(items: Iterator[Item], codec: str, member: str) -> Iterator[Item]:
    for item in items:
        if isinstance(item, Chunk):
            raise InvalidInput(f"readers: the {codec} reader takes bytes, not records")
        yield from decompress(item, codec, member)


def _parsing(
    items: Iterator[Item], fmt: str, options: dict[str, Any], on_bad: OnBad, size: int
) -> Iterator[Item]:
    for item in items:
        if isinstance(item, Chunk):
            raise InvalidInput(f"readers: the {fmt} reader takes bytes, not records")
        yield from parse_blob(item, fmt, options, on_bad, size=size)

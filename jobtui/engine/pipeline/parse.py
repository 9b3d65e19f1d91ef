"""Parse readers: bytes → records (jsonl, json, csv, xml), each record with its position.

A line that cannot be read is a `Bad` record (with its line number), not the end of the
run: the run's `max_errors` decides. JSON lines and CSV are read a line at a time (csv and
orjson, both in C); a JSON document and XML are read whole (the XML decoder is the one the
formats share)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import IO, Any

import orjson

from jobtui.engine.datagen.formats.base import _FLOAT, _INT, convert
from jobtui.engine.model.formats import FORMAT_OPTIONS, CsvOptions
from jobtui.engine.pipeline.chunks import Bad, Blob, Chunk, OnBad
from jobtui.engine.pipeline.csv_blocks import csv_block_chunks, fast_path_possible

CHUNK = 5000
_MAYBE_TYPED = re.compile(r"-?\d|true$|false$|[\[{]")
_BOOLEANS = frozenset(("true", "false"))
RAW_SHOWN = 2000  # characters of a bad line kept in its dead letter


def parse_blob(
    blob: Blob,
    fmt: str,
    options: dict[str, Any],
    on_bad: OnBad,
    *,
    types: str = "infer",
    records_field: str | None = None,
    size: int = CHUNK,
) -> Iterator[Chunk]:
    with blob.open() as stream:
        if fmt == "jsonl":
            yield from jsonl_chunks(stream, blob.where, on_bad, size)
        elif fmt == "csv":
            opts: CsvOptions = FORMAT_OPTIONS["csv"].model_validate(options)  # type: ignore[assignment]
            if not fast_path_possible(opts):
                yield from csv_chunks(stream, blob.where, opts, on_bad, types, size)
                return

            def rest(
                tail: IO[bytes],
                header: list[str] | None,
                line: int,
                rows: list[Any] | None,
                lines: list[int] | None,
            ) -> Iterator[Chunk]:
                return csv_chunks(
                    tail,
                    blob.where,
                    opts,
                    on_bad,
                    types,
                    size,
                    header=header,
                    first_line=line,
                    rows=rows,
                    lines=lines,
                )

            typed = _typed if types == "infer" else None
            yield from csv_block_chunks(stream, blob.where, opts, typed, size, rest)
        elif fmt == "json":
            yield from json_chunks(stream.read(), blob.where, on_bad, records_field, size)
        elif fmt == "xml":
            yield from xml_chunks(stream, blob.where, options, on_bad)
        else:
            raise ValueError(f"cannot read format {fmt!r}")


def jsonl_chunks(stream: IO[bytes], where: str, on_bad: OnBad, size: int) -> Iterator[Chunk]:
    loads, JSONError = orjson.loads, orjson.JSONDecodeError
    records: list[dict[str, Any]] = []
    positions: list[int] = []
    number = 0
    for line in stream:
        number += 1
        if not line.strip():
            continue
        try:
            record = loads(line)
        except JSONError as exc:
            on_bad(Bad(where, number, f"not JSON: {exc}", _raw(line)))
            continue
        if type(record) is not dict:
            on_bad(Bad(where, number, "not a JSON object", _raw(line)))
            continue
        records.append(record)
        positions.append(number)
        if len(records) >= size:
            yield Chunk(records, where, positions)
            records, positions = [], []
    if records:
        yield Chunk(records, where, positions)


def _raw(line: bytes | str) -> str:
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    return text if len(text) <= RAW_SHOWN else text[:RAW_SHOWN] + "…"


def csv_chunks(
    stream: IO[bytes],
    where: str,
    opts: CsvOptions,
    on_bad: OnBad,
    types: str,
    size: int,
    *,
    header: list[str] | None = None,
    first_line: int = 0,
    rows: list[Any] | None = None,
    lines: list[int] | None = None,
) -> Iterator[Chunk]:
    """The `csv` module's reading (from `first_line` on, with the `header` already read
    and the `rows` not yet in a chunk, ending on `lines`, when the block reader hands
    over)."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")
    quoting: Any = {
        "minimal": csv.QUOTE_MINIMAL,
        "all": csv.QUOTE_MINIMAL,
        "nonnumeric": csv.QUOTE_MINIMAL,
        "none": csv.QUOTE_NONE,
    }[opts.quoting]
    reader = csv.reader(
        text,
        delimiter=opts.delimiter,
        quotechar=opts.quotechar,
        quoting=quoting,
        escapechar="\\" if opts.quoting == "none" else None,
        strict=True,
    )
    infer = types == "infer"
    rows = list(rows or [])
    lines = list(lines or [])  # the line each row ends on
    while True:
        try:
            if header is None:
                first = next(reader, None)
                if first is None:
                    return
                if opts.header:
                    header = first
                else:
                    header = [f"field{i + 1}" for i in range(len(first))]
                    rows.append(first if infer else dict(zip(header, first)))  # type: ignore[arg-type]  # noqa: B905
                    lines.append(first_line + reader.line_num)
            width = len(header)
            keys = header
            # The hot loop: a length check and two appends per row. Text records are made
            # here, while the row is fresh in the cache (making them a chunk later costs
            # 70% more); typed ones a column at a time at the chunk's end.
            made: list[Any] = rows
            append, note = made.append, lines.append
            for row in reader:
                if len(row) != width:
                    if row:  # a blank line is no record and no error
                        shown = opts.delimiter.join(row)[:RAW_SHOWN]
                        message = f"{len(row)} field(s) where the header has {width}"
                        on_bad(Bad(where, first_line + reader.line_num, message, shown))
                    continue
                append(row if infer else dict(zip(keys, row)))  # noqa: B905
                note(first_line + reader.line_num)
                if len(made) >= size:
                    yield Chunk(_records(header, made, infer), where, lines)
                    rows = made = []
                    lines = []
                    append, note = made.append, lines.append
            break
        except csv.Error as exc:
            on_bad(Bad(where, first_line + reader.line_num, f"not CSV: {exc}"))
        except UnicodeDecodeError as exc:
            on_bad(Bad(where, first_line + reader.line_num + 1, f"not UTF-8 text: {exc}"))
            break  # the text stream cannot go on past undecodable bytes
    if rows and header is not None:
        yield Chunk(_records(header, rows, infer), where, lines)


def _records(header: list[str], rows: list[list[str]], infer: bool) -> list[dict[str, Any]]:
    # Every row has the header's width (checked while reading): zip need not be strict,
    # which costs half as much again per record.
    if not infer:
        return rows  # type: ignore[return-value]  # made while reading
    columns = [_typed(list(column)) for column in zip(*rows)]  # noqa: B905
    return [dict(zip(header, values)) for values in zip(*columns)]  # noqa: B905


def _typed(column: list[str]) -> list[Any]:
    """A CSV column's cells typed by their look (empty: null), a whole column at a time when
    every cell has one look (integers, decimals, booleans), else cell by cell."""
    # `"" in column` is one C scan; a column without empty cells is converted by `map`.
    full = "" not in column
    present = column if full else [c for c in column if c]
    if not present:
        return [None] * len(column)
    if all(map(_INT.match, present)):
        return list(map(int, column)) if full else [int(c) if c else None for c in column]
    if all(map(_FLOAT.match, present)):
        return list(map(float, column)) if full else [float(c) if c else None for c in column]
    if not any(map(_MAYBE_TYPED.match, present)):
        return column if full else [c if c else None for c in column]  # text: nothing to do
    if set(present) <= _BOOLEANS:
        return [c == "true" if c else None for c in column]
    return [convert(c, None) if c else None for c in column]


def dig(document: Any, path: str | None) -> Any:
    """The part of a JSON document at a dotted path (`data.items`); None when absent."""
    if not path:
        return document
    node = document
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def json_chunks(
    data: bytes, where: str, on_bad: OnBad, records_field: str | None, size: int
) -> Iterator[Chunk]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        on_bad(Bad(where, None, f"not JSON: {exc}", _raw(data[:RAW_SHOWN])))
        return
    yield from records_chunks(dig(document, records_field), where, on_bad, records_field, size)


def records_chunks(
    found: Any, where: str, on_bad: OnBad, records_field: str | None, size: int
) -> Iterator[Chunk]:
    if isinstance(found, dict):
        found = [found]
    if not isinstance(found, list):
        what = f"field {records_field!r}" if records_field else "the document"
        on_bad(Bad(where, None, f"{what} holds no list of records"))
        return
    records: list[dict[str, Any]] = []
    positions: list[int] = []
    for i, record in enumerate(found):
        if not isinstance(record, dict):
            on_bad(Bad(where, i, "not a JSON object", _raw(orjson.dumps(record))))
            continue
        records.append(record)
        positions.append(i)
        if len(records) >= size:
            yield Chunk(records, where, positions)
            records, positions = [], []
    if records:
        yield Chunk(records, where, positions)


def xml_chunks(
    stream: IO[bytes], where: str, options: dict[str, Any], on_bad: OnBad
) -> Iterator[Chunk]:
    from jobtui.engine.datagen.formats import make_decoder

    decoder = make_decoder("xml", options, "records", [])
    count = 0
    try:
        for batch in decoder.decode(stream):
            yield Chunk(batch, where, list(range(count, count + len(batch))))
            count += len(batch)
    except Exception as exc:
        on_bad(Bad(where, count, f"not XML: {exc}"))

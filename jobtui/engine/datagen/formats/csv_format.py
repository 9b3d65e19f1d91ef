"""CSV text (RFC 4180), with options for the delimiter, the quote character, the quoting
and the line ends.

What every reader reads back (issue 17):
- a field holding `\\r` or `\\n` is always quoted (escaped with `quoting: none`), whatever
  the line terminator, so a lone carriage return never splits a row;
- a null is an empty, unquoted field and an empty string is `""` (quoted): the file stays
  plain CSV for any reader, and readers that honour quoting (PostgreSQL's `COPY ... CSV`,
  this module's decoder) tell them apart. With `quoting: none` there are no quotes to do
  it with: an empty field reads back as null;
- booleans are `true` / `false`, nested objects and lists are JSON text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson

from jobtui.engine.datagen.formats.base import (
    Batch,
    Decoder,
    Encoder,
    batched,
    convert,
    json_default,
)
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.formats import CsvOptions

ESCAPE = "\\"  # the escape character of `quoting: none`


def text_of(value: Any) -> str:
    """A non-null value's CSV text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return orjson.dumps(value, default=json_default).decode()


def cell_writer(opts: CsvOptions) -> Callable[[Any], str]:
    """The function writing one cell under the options' quoting rules."""
    q, d = opts.quotechar, opts.delimiter
    qq = q + q
    special = re.compile("[" + re.escape(q + d) + "\r\n]")
    if opts.quoting == "none":
        escape = re.compile("[" + re.escape(q + d + ESCAPE) + "\r\n]")

        def none(value: Any) -> str:
            if value is None:
                return ""
            return escape.sub(lambda m: ESCAPE + m.group(0), text_of(value))

        return none
    if opts.quoting == "all":

        def all_(value: Any) -> str:
            if value is None:
                return ""
            return q + text_of(value).replace(q, qq) + q

        return all_
    numeric = opts.quoting == "nonnumeric"

    def minimal(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return repr(value)
        text = text_of(value)
        if numeric or not text or special.search(text):
            return q + text.replace(q, qq) + q
        return text

    return minimal


class CsvEncoder(Encoder):
    def __init__(self, name: str, fields: list[str], spec: Any, opts: CsvOptions):
        super().__init__(name, fields, spec)
        self.opts = opts
        self.cell = cell_writer(opts)

    def _line(self, cells: list[str]) -> str:
        line = self.opts.delimiter.join(cells)
        return line + self.opts.line_terminator

    def header(self) -> bytes:
        if not self.opts.header:
            return b""
        return self._line([self.cell(f) for f in self.fields]).encode()

    def encode_at(self, batch: Batch, start: int) -> bytes:
        fields, cell, line = self.fields, self.cell, self._line
        return "".join([line([cell(r.get(f)) for f in fields]) for r in batch]).encode()


class CsvDecoder(Decoder):
    """Reads the CSV this module writes (and plain CSV): a quoted field is text, even
    empty; an empty unquoted field is null; other fields are typed by the dataset."""

    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return batched(self._records(stream))

    def _pattern(self) -> re.Pattern[str]:
        opts: CsvOptions = self.opts
        q, d = re.escape(opts.quotechar), re.escape(opts.delimiter)
        if opts.quoting == "none":
            bare = rf"((?:[^{d}\\\r\n]|\\.)*)"
            return re.compile(rf"(){bare}({d}|\r\n|\n|\r|\Z)", re.S)
        # A quoted field, or an unquoted one (a quote inside it is taken literally).
        return re.compile(
            rf"(?:{q}((?:[^{q}]|{q}{q})*){q}|([^{d}{q}\r\n][^{d}\r\n]*|))({d}|\r\n|\n|\r|\Z)"
        )

    def _rows(self, stream: IO[bytes]) -> Iterator[list[str | None]]:
        """Each row's cells: a str, or None for an empty unquoted field."""
        opts: CsvOptions = self.opts
        pattern = self._pattern()
        quote = opts.quotechar
        none = opts.quoting == "none"
        unescape = re.compile(r"\\(.)", re.S)
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        buf, pos, eof = "", 0, False
        row: list[str | None] = []
        while True:
            if eof and pos >= len(buf):
                if row:
                    yield row
                return
            m = pattern.match(buf, pos)
            # A match reaching the end of what is read may go on in the next chunk.
            if m is None or (m.end() == len(buf) and not eof):
                if eof:
                    raise InvalidInput(f"csv: cannot read the text at {buf[pos : pos + 40]!r}")
                chunk = text.read(1 << 20)
                eof = not chunk
                buf, pos = buf[pos:] + chunk, 0
                continue
            quoted, bare, end = m.group(1), m.group(2), m.group(3)
            if none:
                row.append(unescape.sub(r"\1", bare) if bare else None)
            elif quoted is not None:
                row.append(quoted.replace(quote + quote, quote))
            else:
                row.append(bare or None)
            pos = m.end()
            if end != opts.delimiter:
                yield row
                row = []
                if not end:
                    return

    def _records(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        opts: CsvOptions = self.opts
        rows = self._rows(stream)
        fields = self.fields
        if opts.header:
            header = next(rows, None)
            if header:
                fields = [h or "" for h in header]
        kinds = [self.kind(f) for f in fields]
        for row in rows:
            if row == [None] and len(fields) > 1:
                continue  # a blank line
            yield {
                f: None if v is None else convert(v, k)
                for f, v, k in zip(fields, row, kinds, strict=False)
            }

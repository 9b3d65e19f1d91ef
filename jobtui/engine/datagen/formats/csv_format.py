"""CSV text (RFC 4180 style, options for the delimiter, quoting and line ends)."""

from __future__ import annotations

import csv
import io
import operator
from collections.abc import Iterator
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
from jobtui.engine.datagen.formats.types import column_types
from jobtui.engine.model.formats import CsvOptions

QUOTING = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}


_PLAIN_TYPES = {str, int, float, type(None)}


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=json_default).decode()
    return value


class CsvEncoder(Encoder):
    def __init__(self, name: str, fields: list[str], spec: Any, opts: CsvOptions):
        super().__init__(name, fields, spec)
        self.opts = opts
        self.dialect: dict[str, Any] = {
            "delimiter": opts.delimiter,
            "quotechar": opts.quotechar,
            "quoting": QUOTING[opts.quoting],
            "lineterminator": opts.line_terminator,
            "escapechar": "\\" if opts.quoting == "none" else None,
            "doublequote": opts.quoting != "none",
        }
        self.nonnumeric = opts.quoting == "nonnumeric"
        self._getter = operator.itemgetter(*fields) if fields else (lambda r: ())
        self._typed_fix: list[int] | None = None
        self._scan: list[int] = []

    def _writer(self) -> tuple[io.StringIO, Any]:
        buf = io.StringIO()
        return buf, csv.writer(buf, **self.dialect)

    def header(self) -> bytes:
        if not self.opts.header:
            return b""
        buf, writer = self._writer()
        writer.writerow(self.fields)
        return buf.getvalue().encode()

    def _fix_columns(self, rows: list[tuple[Any, ...]]) -> list[int]:
        """Columns holding booleans or nested values (written as true/false or JSON): the
        spec's BOOLEAN/JSON columns, plus any other column whose values in this batch are
        not all plain (a Faker provider may give lists); without a spec, every column."""
        if self.spec is not None and self._typed_fix is None:
            types = column_types(self.spec)
            self._typed_fix = [
                i for i, f in enumerate(self.fields) if types.get(f) in ("BOOLEAN", "JSON")
            ]
            self._scan = [
                i
                for i, f in enumerate(self.fields)
                if types.get(f) == "TEXT"
                and self._kind(f) in ("faker", "choice", "constant", "reference", None)
            ]
        fix = list(self._typed_fix or [])
        scan = self._scan if self.spec is not None else range(len(self.fields))
        plain = _PLAIN_TYPES
        for i in scan:
            if not {type(row[i]) for row in rows} <= plain:
                fix.append(i)
        return fix

    def _kind(self, name: str) -> str | None:
        for f in (self.spec or {}).get("fields", []):
            if f.get("name") == name:
                return str(f.get("type"))
        return None

    def encode_at(self, batch: Batch, start: int) -> bytes:
        if not batch:
            return b""
        fields = self.fields
        try:
            rows: list[Any] = list(map(self._getter, batch))
        except KeyError:
            rows = [tuple(r.get(f) for f in fields) for r in batch]
        if len(fields) == 1:
            rows = [(r,) for r in rows]
        fix = self._fix_columns(rows)
        if fix:
            fixed = []
            for row in rows:
                cells = list(row)
                for i in fix:
                    cells[i] = _csv_cell(cells[i])
                fixed.append(cells)
            rows = fixed
        if self.nonnumeric:
            # QUOTE_NONNUMERIC writes None as "" quoted; keep nulls empty and unquoted.
            rows = [["" if v is None else v for v in row] for row in rows]
        buf, writer = self._writer()
        writer.writerows(rows)
        return buf.getvalue().encode()


class CsvDecoder(Decoder):
    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        opts: CsvOptions = self.opts
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        reader = csv.reader(
            text,
            delimiter=opts.delimiter,
            quotechar=opts.quotechar,
            quoting=csv.QUOTE_NONE if opts.quoting == "none" else csv.QUOTE_MINIMAL,
            escapechar="\\" if opts.quoting == "none" else None,
            doublequote=opts.quoting != "none",
        )
        fields = self.fields
        if opts.header:
            header = next(reader, None)
            if header:
                fields = header
        kinds = [self.kind(f) for f in fields]

        def records() -> Iterator[dict[str, Any]]:
            for row in reader:
                if not row:
                    continue
                yield {f: convert(v, k) for f, v, k in zip(fields, row, kinds, strict=False)}

        return batched(records())

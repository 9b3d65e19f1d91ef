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

import csv
import io
import json
import math
import operator
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape

import orjson

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.formats import (
    FORMAT_OPTIONS,
    CsvOptions,
    JsonArrayOptions,
    JsonLinesOptions,
    SqlOptions,
    XmlOptions,
)
from jobtui.engine.model.sql import SQL_TYPES, quote_identifier

Batch = Sequence[Mapping[str, Any]]
DECODE_BATCH = 1000


# -- column types ---------------------------------------------------------------------------
FAKER_TYPES = {
    "random_int": "INTEGER",
    "pyint": "INTEGER",
    "random_number": "INTEGER",
    "random_digit": "INTEGER",
    "unix_time": "REAL",
    "pyfloat": "REAL",
    "pydecimal": "REAL",
    "latitude": "REAL",
    "longitude": "REAL",
    "boolean": "BOOLEAN",
    "pybool": "BOOLEAN",
    "null_boolean": "BOOLEAN",
    "date": "DATE",
    "date_object": "DATE",
    "date_of_birth": "DATE",
    "date_this_year": "DATE",
    "date_this_month": "DATE",
    "date_this_decade": "DATE",
    "date_between": "DATE",
    "future_date": "DATE",
    "past_date": "DATE",
    "date_time": "DATETIME",
    "iso8601": "DATETIME",
    "date_time_this_year": "DATETIME",
    "date_time_between": "DATETIME",
    "future_datetime": "DATETIME",
    "past_datetime": "DATETIME",
    "pylist": "JSON",
    "pydict": "JSON",
    "pytuple": "JSON",
    "pyset": "JSON",
}


def _type_of_values(values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "TEXT"
    if all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "INTEGER"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "REAL"
    if all(isinstance(v, dict | list) for v in present):
        return "JSON"
    return "TEXT"


def field_type(field: Mapping[str, Any], resolve: Any = None) -> str:
    """The SQL-ish type of one field spec."""
    kind = field.get("type")
    if kind in ("sequence", "integer"):
        return "INTEGER"
    if kind == "float":
        return "REAL"
    if kind == "boolean":
        return "BOOLEAN"
    if kind == "date_range":
        return "TEXT" if field.get("format") else "DATE"
    if kind == "datetime_range":
        return "TEXT" if field.get("format") else "DATETIME"
    if kind in ("object", "list"):
        return "JSON"
    if kind == "choice":
        return _type_of_values(field.get("values") or [])
    if kind == "constant":
        return _type_of_values([field.get("value")])
    if kind == "faker":
        return FAKER_TYPES.get(str(field.get("provider")), "TEXT")
    if kind == "reference":
        target = resolve(field.get("dataset")) if resolve else None
        if target is None:
            from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

            target = BUILTIN_DATASETS.get(str(field.get("dataset")))
        if target:
            for f in target.get("fields", []):
                if f.get("name") == field.get("field"):
                    return field_type(f)
        return "TEXT"
    return "TEXT"


def column_types(dataset: Mapping[str, Any], resolve: Any = None) -> dict[str, str]:
    """{field name: INTEGER | REAL | BOOLEAN | TEXT | DATE | DATETIME | JSON}.

    `resolve(name)` may give other datasets' specs (for reference fields)."""
    return {f["name"]: field_type(f, resolve) for f in dataset.get("fields", [])}


def _spec_of(dataset: str | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if isinstance(dataset, Mapping):
        return dataset
    if isinstance(dataset, str):
        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

        return BUILTIN_DATASETS.get(dataset)
    return None


def _name_of(dataset: str | Mapping[str, Any] | None) -> str:
    if isinstance(dataset, Mapping):
        return str(dataset.get("name", "data"))
    return dataset or "data"


def _fields_of(dataset: str | Mapping[str, Any] | None, fields: Sequence[str] | None) -> list[str]:
    if fields:
        return [str(f) for f in fields]
    spec = _spec_of(dataset)
    return [f["name"] for f in spec.get("fields", [])] if spec else []


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


# -- encoders -----------------------------------------------------------------------------
class Encoder:
    """Turns batches into bytes. `encode` tracks the record count; `encode_at` is stateless."""

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

    def encode(self, batch: Batch) -> bytes:
        data = self.encode_at(batch, self.count)
        self.count += len(batch)
        return data

    def advance(self, n: int) -> None:
        """Count records encoded elsewhere (by `encode_at` in another process)."""
        self.count += n


def _json_default(value: Any) -> Any:
    from jobtui.engine.datagen.providers import plain

    return plain(value)


class JsonLinesEncoder(Encoder):
    def __init__(self, name: str, fields: list[str], spec: Any, opts: JsonLinesOptions):
        super().__init__(name, fields, spec)
        self.ascii = opts.ensure_ascii

    def encode_at(self, batch: Batch, start: int) -> bytes:
        if self.ascii:
            return "".join(
                json.dumps(r, ensure_ascii=True, separators=(",", ":"), default=_json_default)
                + "\n"
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
                buf += dumps(r, default=_json_default, option=opt)
        return bytes(buf)


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
                record, indent=self.indent, ensure_ascii=self.ascii, default=_json_default
            )
            pad = " " * self.indent
            return pad + text.replace("\n", "\n" + pad)
        if self.ascii:
            return json.dumps(
                record, ensure_ascii=True, separators=(",", ":"), default=_json_default
            )
        return orjson.dumps(record, default=_json_default).decode()

    def encode_at(self, batch: Batch, start: int) -> bytes:
        if not batch:
            return b""
        parts = [self._one(r) for r in batch]
        head = "\n" if start == 0 else ",\n"
        return (head + ",\n".join(parts)).encode()

    def footer(self) -> bytes:
        return b"\n]\n" if self.count else b"]\n"


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
        return orjson.dumps(value, default=_json_default).decode()
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


_MYSQL_ESCAPES = str.maketrans(
    {"\\": "\\\\", "'": "''", "\x00": "\\0", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z"}
)


def sql_literal(value: Any, dialect: str) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        if dialect == "sqlite":
            return "1" if value else "0"
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "NULL"
    if isinstance(value, dict | list):
        value = orjson.dumps(value, default=_json_default).decode()
    elif not isinstance(value, str):
        value = str(_json_default(value))
    if dialect == "mysql":
        return "'" + value.translate(_MYSQL_ESCAPES) + "'"
    if dialect == "postgresql":
        value = value.replace("\x00", "")
    return "'" + value.replace("'", "''") + "'"


class SqlEncoder(Encoder):
    """INSERT statements of `rows_per_statement` rows each (a batch never shares one)."""

    def __init__(self, name: str, fields: list[str], spec: Any, opts: SqlOptions):
        super().__init__(name, fields, spec)
        self.opts = opts
        self.dialect = opts.dialect
        self.table = quote_identifier(opts.table or re.sub(r"\W", "_", name), self.dialect)
        columns = ", ".join(quote_identifier(f, self.dialect) for f in fields)
        self.prefix = f"INSERT INTO {self.table} ({columns}) VALUES\n"

    def header(self) -> bytes:
        if not self.opts.create_table:
            return b""
        types = column_types(self.spec) if self.spec else {}
        mapping = SQL_TYPES[self.dialect]
        cols = ",\n".join(
            f"  {quote_identifier(f, self.dialect)} {mapping[types.get(f, 'TEXT')]}"
            for f in self.fields
        )
        return f"CREATE TABLE IF NOT EXISTS {self.table} (\n{cols}\n);\n".encode()

    def encode_at(self, batch: Batch, start: int) -> bytes:
        if not batch:
            return b""
        dialect, fields, size = self.dialect, self.fields, self.opts.rows_per_statement
        lit = sql_literal
        tuples = ["(" + ", ".join([lit(r.get(f), dialect) for f in fields]) + ")" for r in batch]
        out = []
        for i in range(0, len(tuples), size):
            out.append(self.prefix + ",\n".join(tuples[i : i + size]) + ";\n")
        return "".join(out).encode()


_XML_NAME = re.compile(r"^[A-Za-z_][\w.-]*$")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    else:
        text = str(_json_default(value))
    return xml_escape(_XML_BAD.sub("", text))


class XmlEncoder(Encoder):
    def __init__(self, name: str, fields: list[str], spec: Any, opts: XmlOptions):
        super().__init__(name, fields, spec)
        self.opts = opts
        self.nl = "\n" if opts.indent else ""
        self.pad = "  " if opts.indent else ""

    def header(self) -> bytes:
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<{self.opts.root}>{self.nl}'.encode()

    def footer(self) -> bytes:
        return f"</{self.opts.root}>\n".encode()

    def _element(self, name: str, value: Any) -> str:
        if _XML_NAME.match(name):
            open_tag, close_tag = f"<{name}", f"</{name}>"
        else:
            open_tag = f'<field name="{xml_escape(name, {chr(34): "&quot;"})}"'
            close_tag = "</field>"
        if value is None:
            return f'{open_tag} null="true"/>'
        if isinstance(value, dict):
            inner = "".join(self._element(str(k), v) for k, v in value.items())
            return f'{open_tag} type="object">{inner}{close_tag}'
        if isinstance(value, list):
            inner = "".join(self._element("item", v) for v in value)
            return f'{open_tag} type="list">{inner}{close_tag}'
        return f"{open_tag}>{_xml_text(value)}{close_tag}"

    def encode_at(self, batch: Batch, start: int) -> bytes:
        item, pad, nl, fields = self.opts.item, self.pad, self.nl, self.fields
        element = self._element
        out = []
        for r in batch:
            inner = "".join([element(f, r.get(f)) for f in fields])
            out.append(f"{pad}<{item}>{inner}</{item}>{nl}")
        return "".join(out).encode()


def make_encoder(
    fmt: str,
    options: Mapping[str, Any] | None,
    dataset: str | Mapping[str, Any] | None,
    fields: Sequence[str] | None = None,
) -> Encoder:
    """The encoder of a format, its options checked (SpecError names bad options)."""
    opts = check_options(fmt, options)
    name = _name_of(dataset)
    spec = _spec_of(dataset)
    names = _fields_of(dataset, fields)
    if spec is not None and [f["name"] for f in spec.get("fields", [])] != names:
        spec = None  # a different field list: do not trust the types
    classes: dict[str, Any] = {
        "jsonl": JsonLinesEncoder,
        "json": JsonArrayEncoder,
        "csv": CsvEncoder,
        "sql": SqlEncoder,
        "xml": XmlEncoder,
    }
    encoder: Encoder = classes[fmt](name, names, spec, opts)
    return encoder


# -- decoders -----------------------------------------------------------------------------
_INT = re.compile(r"^-?(0|[1-9]\d*)$")
_FLOAT = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$")


def _convert(text: str | None, kind: str | None) -> Any:
    """A text cell back into a value: by the field's type when known, else by its look."""
    if text is None:
        return None
    if kind is None:
        if text == "":
            return None
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
    return text if text != "" else None


class Decoder:
    def __init__(self, fields: list[str], spec: Mapping[str, Any] | None, opts: Any):
        self.fields = fields
        self.types: dict[str, str] | None = column_types(spec) if spec else None
        self.specs: dict[str, Mapping[str, Any]] = {
            f["name"]: f for f in (spec or {}).get("fields", [])
        }
        self.opts = opts

    def kind(self, name: str) -> str | None:
        return self.types.get(name) if self.types is not None else None

    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        raise NotImplementedError


def _batched(records: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= DECODE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


class JsonLinesDecoder(Decoder):
    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return _batched(orjson.loads(line) for line in stream if line.strip())


class JsonArrayDecoder(Decoder):
    """Streams the objects of a JSON array (never the whole file in memory)."""

    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return _batched(self._objects(stream))

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
                yield {f: _convert(v, k) for f, v, k in zip(fields, row, kinds, strict=False)}

        return _batched(records())


_SQL_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^'\\]|''|\\.)*')
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<word>NULL|TRUE|FALSE)
    | (?P<punct>[(),;])
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_MYSQL_UNESCAPE = {"0": "\x00", "n": "\n", "r": "\r", "Z": "\x1a", "\\": "\\", "'": "'"}


class SqlDecoder(Decoder):
    """Reads back the INSERT statements this module writes (not arbitrary SQL)."""

    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return _batched(self._records(stream))

    def _unquote(self, text: str) -> str:
        body = text[1:-1]
        if self.opts.dialect == "mysql":
            body = re.sub(r"\\(.)", lambda m: _MYSQL_UNESCAPE.get(m.group(1), m.group(1)), body)
        return body.replace("''", "'")

    def _records(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        statement: list[str] = []
        for raw in io.TextIOWrapper(stream, encoding="utf-8"):
            statement.append(raw)
            if raw.rstrip().endswith(";") and not self._open_quote("".join(statement)):
                yield from self._statement("".join(statement))
                statement = []
        if "".join(statement).strip():
            yield from self._statement("".join(statement))

    @staticmethod
    def _open_quote(text: str) -> bool:
        return text.count("'") % 2 == 1

    def _statement(self, text: str) -> Iterator[dict[str, Any]]:
        head = re.match(r"\s*INSERT INTO\s+\S+\s*\((?P<cols>[^)]*)\)\s*VALUES", text, re.I)
        if head is None:
            return
        columns = [c.strip().strip('`"').replace('""', '"') for c in head["cols"].split(",")]
        kinds = [self.kind(c) for c in columns]
        pos = head.end()
        row: list[Any] = []
        while pos < len(text):
            m = _SQL_TOKEN.match(text, pos)
            if m is None:
                break
            pos = m.end()
            if m["str"] is not None:
                row.append(self._unquote(m["str"]))
            elif m["num"] is not None:
                num = m["num"]
                row.append(float(num) if any(c in num for c in ".eE") else int(num))
            elif m["word"] is not None:
                word = m["word"].upper()
                row.append(None if word == "NULL" else word == "TRUE")
            elif m["punct"] == ")":
                yield {c: self._typed(v, k) for c, v, k in zip(columns, row, kinds, strict=False)}
                row = []
            elif m["punct"] == ";":
                break

    @staticmethod
    def _typed(value: Any, kind: str | None) -> Any:
        if value is None:
            return None
        if kind == "BOOLEAN" and isinstance(value, int):
            return bool(value)
        if kind == "JSON" and isinstance(value, str):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                return value
        return value


class XmlDecoder(Decoder):
    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return _batched(self._records(stream))

    def _value(self, el: Any, kind: str | None, field: Mapping[str, Any] | None) -> Any:
        """An element's value; `field` (the spec of an object's or a list's member) types
        what is inside, so a postcode "01234" in an address stays text."""
        if el.get("null") == "true":
            return None
        if el.get("type") == "object":
            members = {m.get("name"): m for m in (field or {}).get("fields", [])}
            return {self._name(c): self._member(c, members.get(self._name(c))) for c in el}
        if el.get("type") == "list":
            item = (field or {}).get("item")
            return [self._member(c, item) for c in el]
        return _convert(el.text or "", kind)

    def _member(self, el: Any, field: Mapping[str, Any] | None) -> Any:
        return self._value(el, field_type(field) if field else None, field)

    @staticmethod
    def _name(el: Any) -> str:
        return str(el.get("name")) if el.tag == "field" and el.get("name") else str(el.tag)

    def _records(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        import xml.etree.ElementTree as ET

        item = self.opts.item
        depth = 0
        for event, el in ET.iterparse(stream, events=("start", "end")):
            if event == "start":
                depth += 1
                continue
            depth -= 1
            if el.tag == item and depth == 1:
                yield {
                    self._name(c): self._value(
                        c, self.kind(self._name(c)), self.specs.get(self._name(c))
                    )
                    for c in el
                }
                el.clear()


def make_decoder(
    fmt: str,
    options: Mapping[str, Any] | None,
    dataset: str | Mapping[str, Any] | None,
    fields: Sequence[str] | None = None,
) -> Decoder:
    opts = check_options(fmt, options)
    spec = _spec_of(dataset)
    names = _fields_of(dataset, fields)
    classes: dict[str, Any] = {
        "jsonl": JsonLinesDecoder,
        "json": JsonArrayDecoder,
        "csv": CsvDecoder,
        "sql": SqlDecoder,
        "xml": XmlDecoder,
    }
    decoder: Decoder = classes[fmt](names, spec, opts)
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
    return encoder.header() + encoder.encode(records) + encoder.footer()

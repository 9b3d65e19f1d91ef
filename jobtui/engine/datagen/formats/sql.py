"""SQL INSERT statements in a dialect (sqlite, postgresql, mysql), optionally with CREATE
TABLE; the decoder reads back what the encoder writes (not arbitrary SQL)."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from typing import IO, Any

import orjson

from jobtui.engine.datagen.formats.base import (
    Batch,
    Decoder,
    Encoder,
    batched,
    json_default,
)
from jobtui.engine.datagen.formats.types import column_types
from jobtui.engine.model.formats import SqlOptions
from jobtui.engine.model.sql import SQL_TYPES, quote_identifier

_MYSQL_ESCAPES = str.maketrans(
    {"\\": "\\\\", "'": "''", "\x00": "\\0", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z"}
)


_SQLITE_CRLF = "'||char(13)||'\n"


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
        value = orjson.dumps(value, default=json_default).decode()
    elif not isinstance(value, str):
        value = str(json_default(value))
    if dialect == "mysql":
        return "'" + value.translate(_MYSQL_ESCAPES) + "'"
    if dialect == "postgresql":
        value = value.replace("\x00", "")
    value = value.replace("'", "''")
    if dialect == "sqlite" and "\r\n" in value:
        # The sqlite3 shell reads a script line by line and drops the \r of each \r\n.
        value = value.replace("\r\n", _SQLITE_CRLF)
    return "'" + value + "'"


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


_SQL_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^'\\]|''|\\.)*')
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<word>NULL|TRUE|FALSE)
    | (?P<cr>\|\|char\(13\)\|\|)
    | (?P<punct>[(),;])
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_MYSQL_UNESCAPE = {"0": "\x00", "n": "\n", "r": "\r", "Z": "\x1a", "\\": "\\", "'": "'"}


class SqlDecoder(Decoder):
    """Reads back the INSERT statements this module writes (not arbitrary SQL)."""

    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return batched(self._records(stream))

    def _unquote(self, text: str) -> str:
        body = text[1:-1]
        if self.opts.dialect == "mysql":
            body = re.sub(r"\\(.)", lambda m: _MYSQL_UNESCAPE.get(m.group(1), m.group(1)), body)
        return body.replace("''", "'")

    def _records(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        statement: list[str] = []
        quotes = 0  # an odd count: the line ends inside a string
        for raw in io.TextIOWrapper(stream, encoding="utf-8", newline=""):
            statement.append(raw)
            quotes += raw.count("'")
            if raw.rstrip().endswith(";") and quotes % 2 == 0:
                yield from self._statement("".join(statement))
                statement, quotes = [], 0
        if "".join(statement).strip():
            yield from self._statement("".join(statement))

    def _statement(self, text: str) -> Iterator[dict[str, Any]]:
        head = re.match(r"\s*INSERT INTO\s+\S+\s*\((?P<cols>[^)]*)\)\s*VALUES", text, re.I)
        if head is None:
            return
        columns = [c.strip().strip('`"').replace('""', '"') for c in head["cols"].split(",")]
        kinds = [self.kind(c) for c in columns]
        pos = head.end()
        row: list[Any] = []
        joined = False  # after `||char(13)||`: the next string goes on the last value
        while pos < len(text):
            m = _SQL_TOKEN.match(text, pos)
            if m is None:
                break
            pos = m.end()
            if m["str"] is not None:
                if joined:
                    row[-1] += "\r" + self._unquote(m["str"])
                    joined = False
                else:
                    row.append(self._unquote(m["str"]))
            elif m["cr"] is not None:
                joined = True
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

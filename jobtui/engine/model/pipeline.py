"""The pipeline job kind's spec (issue 22): readers → transformers → writers.

```json
"pipeline": {
  "readers": [{"type": "file", "options": {"base_dir": "~/in", "pattern": "*.csv.gz"}}],
  "transformers": [{"type": "rename", "options": {"fields": {"qty": "quantity"}}},
                   {"type": "filter", "options": {"expr": "quantity > 0"}}],
  "writers": [{"type": "mysql", "options": {"url": "mysql://root@127.0.0.1/test"}}],
  "format": {"format": "jsonl"}, "max_errors": "5%"
}
```

A reader is a *source* (file, http, sql, redis-stream, datagen) or, after one, a *bytes*
reader (gzip, bz2, xz, zstd, zip: bytes in, bytes out) or a *parse* reader (jsonl, json,
csv, xml: bytes in, records out), so `[http, zip, json]` chains like seed 001's. A writer is
a sink (inline or a preset) with an optional format of its own. Expressions are Jinja2
expressions compiled in its sandbox; they are compiled here so a typo is refused at create.
No I/O.
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jobtui.engine.model.base import Strict
from jobtui.engine.model.formats import FORMAT_OPTIONS
from jobtui.engine.model.secrets import is_secret_reference


class ReaderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


PARSE_FORMATS = ("jsonl", "json", "csv", "xml")
COMPRESSIONS = ("gzip", "bz2", "xz", "zstd", "zip")


def _duration(value: Any) -> Any:
    from jobtui.engine.model.durations import parse_duration

    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("must be a duration such as 30s or 1m, or a number of seconds")
    if parse_duration(value) <= 0:
        raise ValueError("must be longer than zero")
    return value


class FileReaderOptions(ReaderOptions):
    base_dir: str = Field(..., description="Directory the pattern is matched under")
    pattern: str = Field("*", description="Glob under base_dir (** crosses directories)")
    format: Literal["auto", "jsonl", "json", "csv", "xml", "bytes"] = Field(
        "auto", description="auto: by the extension; bytes: hand the bytes to the next reader"
    )
    format_options: dict[str, Any] = Field(default_factory=dict)
    compression: Literal["auto", "none", "gzip", "bz2", "xz", "zstd", "zip"] = Field(
        "auto", description="auto: by the extension (.gz .bz2 .xz .zst .zip)"
    )
    incremental: bool = Field(True, description="Read only files not read before (or changed)")
    types: Literal["infer", "text"] = Field(
        "infer", description="CSV cells: infer numbers and booleans, or keep text"
    )

    @field_validator("base_dir")
    @classmethod
    def _given(cls, value: str) -> str:
        if not value.strip():  # "" would read the current directory of whoever runs it
            raise ValueError("must name a directory")
        return value

    @field_validator("pattern")
    @classmethod
    def _inside(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if os.path.isabs(value) or ".." in value.replace("\\", "/").split("/"):
            raise ValueError("must stay under base_dir (no absolute path, no '..')")
        return value


_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")


class SqlReaderOptions(ReaderOptions):
    url: str = Field(
        ...,
        description="sqlite:///path, postgresql://…, mysql://… (or env:NAME / file:PATH)",
    )
    query: str = Field(..., description="A SELECT; :since is the watermark")
    watermark: str | None = Field(
        None, description="Column whose largest value read becomes the next :since"
    )
    initial: str | int | float | None = Field(
        None, description=":since when nothing was read yet (none: the last success's start)"
    )
    batch_size: int = Field(5000, ge=1, le=1_000_000, description="Rows fetched at a time")
    count: bool = Field(
        False, description="Count the rows first (a second query) so progress has an ETA"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if is_secret_reference(value):
            return value
        scheme = value.partition("://")[0].lower()
        if "://" not in value or scheme not in _SQL_SCHEMES:
            raise ValueError("must start with sqlite://, postgresql:// or mysql://")
        if re.search(r"://[^/@:]*:[^/@]+@", value):
            raise ValueError("contains a password in clear; store the URL as env:NAME or file:PATH")
        return value

    @field_validator("query")
    @classmethod
    def _select(cls, value: str) -> str:
        if not re.match(r"^\s*(select|with)\b", value, re.I):
            raise ValueError("must be a SELECT (or WITH … SELECT)")
        return value


class Pagination(Strict):
    type: Literal["none", "link", "next_field", "cursor"] = "none"
    field: str | None = Field(None, description="Body field with the next URL or cursor")
    param: str = Field("cursor", description="Query parameter that carries the cursor")
    max_pages: int = Field(10_000, ge=1)

    @model_validator(mode="after")
    def _field(self) -> Pagination:
        if self.type in ("next_field", "cursor") and not self.field:
            raise ValueError(f"field: is required for {self.type} pagination")
        return self


class HttpReaderOptions(ReaderOptions):
    url: str = Field(..., description="GET this URL")
    params: dict[str, str] = Field(
        default_factory=dict, description="Query parameters; {since} is the watermark"
    )
    headers: dict[str, str] = Field(default_factory=dict)
    format: Literal["json", "jsonl", "csv", "xml", "bytes"] = Field(
        "json", description="bytes: hand the body to the next reader"
    )
    records_field: str | None = Field(
        None, description="Dotted path of the records in a JSON body (none: the body)"
    )
    pagination: Pagination = Field(default_factory=Pagination)
    watermark: str | None = Field(None, description="Record field whose largest value is kept")
    total_field: str | None = Field(
        None, description="Dotted path of the record count in the first JSON page (an ETA)"
    )
    timeout: str | int | float = "30s"
    retries: int = Field(3, ge=0, le=20)
    backoff: str | int | float = "1s"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if is_secret_reference(value):
            return value
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must start with http:// or https:// and name a host")
        return value

    @field_validator("timeout", "backoff", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return _duration(value)


class RedisStreamReaderOptions(ReaderOptions):
    url: str = Field("redis://127.0.0.1:6379/0", description="redis://host:port/db")
    stream: str = Field(..., min_length=1, description="Stream key")
    json_field: str | None = Field(
        None, description="An entry field holding the record as JSON (none: the entry's fields)"
    )
    count: int = Field(1000, ge=1, le=100_000, description="Entries per XRANGE")


class DatagenReaderOptions(ReaderOptions):
    dataset: str = Field(..., description="A built-in or custom dataset")
    records: int = Field(1000, ge=1, le=10_000_000_000)
    seed: int | None = None
    locale: str = "en_US"


class NoOptions(ReaderOptions):
    pass


class ZipOptions(ReaderOptions):
    member: str = Field("*", description="Glob of the archive members read")


SOURCE_READERS: dict[str, type[BaseModel]] = {
    "file": FileReaderOptions,
    "sql": SqlReaderOptions,
    "http": HttpReaderOptions,
    "redis-stream": RedisStreamReaderOptions,
    "datagen": DatagenReaderOptions,
}
BYTES_READERS: dict[str, type[BaseModel]] = {
    "gzip": NoOptions,
    "bz2": NoOptions,
    "xz": NoOptions,
    "zstd": NoOptions,
    "zip": ZipOptions,
}
PARSE_READERS: dict[str, type[BaseModel]] = {f: FORMAT_OPTIONS[f] for f in PARSE_FORMATS}
READER_OPTIONS: dict[str, type[BaseModel]] = {
    **SOURCE_READERS,
    **BYTES_READERS,
    **PARSE_READERS,
}


# -- transformers ----------------------------------------------------------------------------
def check_expression(text: str) -> str:
    """Compile a sandboxed expression; ValueError with the reason when it does not."""
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    if not text.strip():
        raise ValueError("must not be empty")
    try:
        ImmutableSandboxedEnvironment().compile_expression(text)
    except TemplateSyntaxError as exc:
        raise ValueError(f"not an expression: {exc.message}") from None
    return text


_FIELD = re.compile(r"^[^\s].{0,199}$", re.S)


def _fields(value: list[str]) -> list[str]:
    for name in value:
        if not _FIELD.match(name):
            raise ValueError(f"{name!r} is not a field name")
    return value


class SelectOptions(ReaderOptions):
    fields: list[str] = Field(..., min_length=1, description="Keep these fields, in this order")

    @field_validator("fields")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return _fields(value)


class DropOptions(ReaderOptions):
    fields: list[str] = Field(..., min_length=1, description="Remove these fields")

    @field_validator("fields")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return _fields(value)


class RenameOptions(ReaderOptions):
    fields: dict[str, str] = Field(..., min_length=1, description="old name → new name")

    @field_validator("fields")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        _fields(list(value.values()))
        return value


class FilterOptions(ReaderOptions):
    expr: str = Field(..., description="Keep records for which this is true")

    @field_validator("expr")
    @classmethod
    def _expr(cls, value: str) -> str:
        return check_expression(value)


class SetOptions(ReaderOptions):
    fields: dict[str, str] = Field(..., min_length=1, description="field → expression")

    @field_validator("fields")
    @classmethod
    def _exprs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, expr in value.items():
            try:
                check_expression(expr)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value


class ConstantOptions(ReaderOptions):
    fields: dict[str, Any] = Field(..., min_length=1, description="field → value")


class DedupeOptions(ReaderOptions):
    key: list[str] = Field(..., min_length=1, description="Fields that identify a record")
    max_keys: int = Field(10_000_000, ge=1, description="Keys remembered within a run")


class PythonOptions(ReaderOptions):
    function: str = Field(
        ..., description="module.function: takes a record, returns a record, a list or None"
    )

    @field_validator("function")
    @classmethod
    def _dotted(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*[.:][A-Za-z_]\w*$", value):
            raise ValueError("must be a dotted path such as mypackage.module.function")
        return value


TRANSFORMER_OPTIONS: dict[str, type[BaseModel]] = {
    "select": SelectOptions,
    "drop": DropOptions,
    "rename": RenameOptions,
    "filter": FilterOptions,
    "set": SetOptions,
    "constant": ConstantOptions,
    "dedupe": DedupeOptions,
    "python": PythonOptions,
}


def _one_of(names: dict[str, Any]) -> str:
    quoted = [repr(n) for n in names]
    return f"must be one of {', '.join(quoted[:-1])} or {quoted[-1]}"


class ReaderSpec(Strict):
    type: str
    options: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        if not isinstance(value, str) or value not in READER_OPTIONS:
            raise ValueError(_one_of(READER_OPTIONS))
        return value


class TransformerSpec(Strict):
    type: str
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        if not isinstance(value, str) or value not in TRANSFORMER_OPTIONS:
            raise ValueError(_one_of(TRANSFORMER_OPTIONS))
        return value


class DeadLetterSpec(Strict):
    base_dir: str | None = Field(None, description="none: <data dir>/dead-letter")
    path: str = Field("{job}/run-{run}.jsonl", description="Path template under base_dir")


class FormatSpec(Strict):
    format: Literal["jsonl", "json", "csv", "sql", "xml", "parquet", "avro", "excel"] = "jsonl"
    options: dict[str, Any] = Field(default_factory=dict)


def parse_max_errors(value: int | str | None) -> tuple[int | None, float | None]:
    """(count, percent): `10` → (10, None); `"5%"` → (None, 5.0); None → no limit."""
    if value is None:
        return None, None
    if isinstance(value, int):
        return value, None
    text = value.strip()
    if text.endswith("%"):
        return None, float(text[:-1])
    return int(text), None


class PipelineReplay(Strict):
    enabled: bool = False
    keep: int = Field(3, ge=1, le=1000)


class PipelineSpec(Strict):
    readers: list[ReaderSpec] = Field(..., min_length=1)
    transformers: list[TransformerSpec] = Field(default_factory=list)
    # Writers are sinks (model.spec.SinkSpec) with an optional `format`; checked in spec.py.
    writers: list[dict[str, Any]] = Field(..., min_length=1)
    format: FormatSpec = Field(default_factory=FormatSpec)
    batch_size: int = Field(5000, ge=1, le=1_000_000)
    max_errors: int | str | None = Field(None, description="Bad records allowed: 10 or 5%")
    dead_letter: DeadLetterSpec = Field(default_factory=DeadLetterSpec)
    # Keep what was written (in `format`) so `runs replay` can deliver it again.
    replay: PipelineReplay = Field(default_factory=PipelineReplay)

    @field_validator("max_errors")
    @classmethod
    def _max_errors(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, bool):
            raise ValueError("must be a count (10) or a percentage ('5%')")
        if isinstance(value, int) and value < 0:
            raise ValueError("must be at least 0")
        if isinstance(value, str):
            if not re.match(r"^\s*\d+(\.\d+)?%?\s*$", value):
                raise ValueError("must be a count (10) or a percentage ('5%')")
            _, percent = parse_max_errors(value)
            if percent is not None and percent > 100:
                raise ValueError("a percentage is at most 100%")
        return value

    @model_validator(mode="after")
    def _chain(self) -> PipelineSpec:
        first = self.readers[0].type
        if first not in SOURCE_READERS:
            raise ValueError(
                f"readers: the first reader must be a source ({', '.join(SOURCE_READERS)}), "
                f"not {first!r}"
            )
        return self


def chain_errors(readers: list[Any]) -> list[tuple[int, str]]:
    """Where the reader chain does not fit together: (index, reason). A source after the
    first, a bytes or parse reader after one that gives records."""
    out: list[tuple[int, str]] = []
    gives = None  # "bytes" or "records"
    for i, reader in enumerate(readers):
        if not isinstance(reader, dict):
            continue
        kind = reader.get("type")
        options = reader.get("options") or {}
        if not isinstance(kind, str):
            continue
        if i > 0 and kind in SOURCE_READERS:
            out.append((i, f"a {kind} reader can only come first"))
            continue
        if kind in SOURCE_READERS:
            fmt = options.get("format", "auto") if isinstance(options, dict) else "auto"
            gives = "bytes" if kind in ("file", "http") and fmt == "bytes" else "records"
        elif kind in BYTES_READERS or kind in PARSE_READERS:
            if gives != "bytes":
                out.append(
                    (i, f"a {kind} reader takes bytes: give the reader before it format 'bytes'")
                )
            gives = "bytes" if kind in BYTES_READERS else "records"
    if gives == "bytes":
        out.append((len(readers) - 1, "the last reader must give records (add jsonl, csv…)"))
    return out

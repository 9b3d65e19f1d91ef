"""What every sink is, and the registry of sink types.

A sink is opened before the first record is made (so a refused path or an unreachable
server fails the task before anything is written), then fed either bytes (stream sinks:
the generator's encoded output) or records (table sinks), and closed with a one-line
result ("users: 1000 records → /out/users.jsonl").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from jobtui.engine.model.errors import InvalidInput

LogFn = Callable[[str, str, str], None]  # message, level, stream


def _no_log(message: str, level: str = "info", stream: str = "sink") -> None:
    pass


def _no_note(path: str) -> None:
    pass


@dataclass
class SinkContext:
    """Where a sink is used: names for templates, the dataset's columns, the run's log."""

    job: str = "job"
    workspace: str = "default"
    run_id: int = 0
    dataset: str = "data"
    fields: list[str] = field(default_factory=list)
    format: str = "jsonl"
    ext: str = "jsonl"
    started_at: float = 0.0
    task: str = ""
    log: LogFn = _no_log
    cancel: threading.Event = field(default_factory=threading.Event)
    # Told the path of a file written until complete (to be removed should the worker be
    # killed before it can do so itself).
    note_partial: Callable[[str], None] = _no_note
    # The dataset's first records, for a sink given encoded rows that must still create a
    # table from the values' kinds.
    sample: Callable[[], list[dict[str, Any]]] = list
    # The dataset's generic column types (model.sql.SQL_TYPES keys), from its field specs;
    # empty when unknown (a replay of output without its dataset).
    column_types: dict[str, str] = field(default_factory=dict)

    @property
    def ts(self) -> str:
        return datetime.fromtimestamp(self.started_at, UTC).strftime("%Y%m%dT%H%M%SZ")

    def template_values(self) -> dict[str, str]:
        def safe(value: str) -> str:
            return value.replace("/", "_").replace("\\", "_").replace("\0", "")

        return {
            "job": safe(self.job),
            "workspace": safe(self.workspace),
            "run": str(self.run_id),
            "dataset": safe(self.dataset),
            "ts": self.ts,
            "ext": self.ext,
            "task": safe(self.task or self.dataset),
        }


class Sink:
    """Base class. Subclasses set `type` and `takes` and implement open/write/close."""

    type: ClassVar[str] = ""
    takes: ClassVar[str] = "bytes"  # "bytes" (stream sinks) or "records" (table sinks)
    # A table sink may also take its rows already encoded (`write_encoded`) in an encoding
    # of `encode_columns`, made in the generating process straight from the columns. A sink
    # may change it in `open` (the MySQL sink falls back to tuples when LOAD DATA is refused).
    encoding: str | None = None
    # Written in the generating thread even with `use_buffer` (still bounded: a slow write
    # slows generation): a sink whose work holds the GIL or is cheap (a buffered local
    # file, sqlite3 binding rows) gains nothing from a thread, and the hand-overs cost
    # 25-35% of a run's speed. Network sinks (PostgreSQL, HTTP) keep their thread.
    inline: ClassVar[bool] = False
    # A pipeline run that hands it no record leaves nothing behind (`abort`), rather than
    # an empty output: a file sink writes no empty file for a run with nothing new.
    discard_empty: ClassVar[bool] = False

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        self.options = options
        self.ctx = ctx
        self.records = 0
        self.bytes = 0

    def open(self) -> None:
        """Check and prepare the destination; nothing is written before this succeeds."""

    def write_bytes(self, data: bytes, records: int = 0) -> None:
        raise NotImplementedError(f"the {self.type} sink takes records")

    def write_records(self, records: Sequence[dict[str, Any]]) -> None:
        raise NotImplementedError(f"the {self.type} sink takes bytes")

    def write_encoded(self, data: Any, records: int) -> None:
        raise NotImplementedError(f"the {self.type} sink takes no encoded rows")

    def flush(self) -> None:
        """Push what is buffered to the destination (flush_each_record calls it per record)."""

    def close(self) -> str:
        """Finish; returns where the output went."""
        return self.type

    def abort(self) -> None:
        """Stop after a failure or a cancel; must not raise."""

    def delivered(self) -> int:
        """Records the destination keeps after `abort` (a task's delivered figure when it
        failed): `records` counts only what was committed, acknowledged or sent, so by
        default all of it."""
        return self.records

    @classmethod
    def test(cls, options: dict[str, Any], ctx: SinkContext) -> str:
        """Check the configuration can work ("test connection"); raise InvalidInput."""
        return f"{cls.type}: nothing to check"


def plain_value(value: Any) -> Any:
    """A value a database driver takes: nested structures as JSON text, dates as ISO."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list | tuple):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def column_kinds(records: Sequence[dict[str, Any]], columns: list[str]) -> dict[str, str]:
    """Each column's kind (int, float, bool, text) from the first non-null value seen."""
    kinds: dict[str, str] = {}
    for column in columns:
        kind = "text"
        for record in records:
            value = record.get(column)
            if value is None:
                continue
            if isinstance(value, bool):
                kind = "bool"
            elif isinstance(value, int):
                kind = "int"
            elif isinstance(value, float | Decimal):
                kind = "float"
            break
        kinds[column] = kind
    return kinds


def columns_of(ctx: SinkContext, records: Sequence[dict[str, Any]]) -> list[str]:
    if ctx.fields:
        return list(ctx.fields)
    return list(records[0].keys()) if records else []


# A sampled kind's generic column type, for output replayed without its dataset.
_KIND_TYPES = {"int": "INTEGER", "float": "REAL", "bool": "BOOLEAN", "text": "TEXT"}


def generic_types(
    ctx: SinkContext, records: Sequence[dict[str, Any]], columns: list[str]
) -> dict[str, str]:
    """Each column's generic type (a model.sql.SQL_TYPES key): the dataset's own when known
    (`ctx.column_types`), else the kind of the first values seen (replay without dataset)."""
    if ctx.column_types:
        return {c: ctx.column_types.get(c, "TEXT") for c in columns}
    kinds = column_kinds(records, columns)
    return {c: _KIND_TYPES[kinds[c]] for c in columns}


def sql_types(
    ctx: SinkContext, records: Sequence[dict[str, Any]], columns: list[str], dialect: str
) -> dict[str, str]:
    """Each column's type as `dialect` spells it (model.sql.SQL_TYPES)."""
    from jobtui.engine.model.sql import SQL_TYPES

    spelling = SQL_TYPES[dialect]
    return {c: spelling[t] for c, t in generic_types(ctx, records, columns).items()}


# Imported only when used: a run into a file need not load httpx (~0.1 s) or psycopg.
SINK_CLASSES = {
    "console": ("jobtui.engine.sinks.console", "ConsoleSink"),
    "file": ("jobtui.engine.sinks.file", "FileSink"),
    "sqlite": ("jobtui.engine.sinks.sqlite", "SqliteSink"),
    "http": ("jobtui.engine.sinks.http", "HttpSink"),
    "postgres": ("jobtui.engine.sinks.postgres", "PostgresSink"),
    "mysql": ("jobtui.engine.sinks.mysql", "MysqlSink"),
    "redis": ("jobtui.engine.sinks.redis", "RedisSink"),
    "rabbitmq": ("jobtui.engine.sinks.rabbitmq", "RabbitmqSink"),
    "mqtt": ("jobtui.engine.sinks.mqtt", "MqttSink"),
    "nats": ("jobtui.engine.sinks.nats", "NatsSink"),
}


def sink_class(sink_type: str) -> type[Sink]:
    import importlib

    where = SINK_CLASSES.get(sink_type)
    if where is None:
        raise InvalidInput(f"unknown sink type {sink_type!r}")
    cls: type[Sink] = getattr(importlib.import_module(where[0]), where[1])
    return cls


def make_sink(sink_type: str, options: dict[str, Any], ctx: SinkContext) -> Sink:
    return sink_class(sink_type)(options, ctx)

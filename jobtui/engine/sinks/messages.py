"""What the message sinks (Redis, RabbitMQ, MQTT, NATS) share: a record as a JSON body,
and a name template (key, routing key, topic, subject) filled from the run and the record.

A helper, not a sink: sinks import it, it imports no sink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.sinks import NAME_PLACEHOLDERS as RUN_PLACEHOLDERS
from jobtui.engine.model.sinks import placeholders
from jobtui.engine.sinks.base import SinkContext


def json_body(record: dict[str, Any]) -> bytes:
    """One record as a compact JSON object (dates as ISO text, as in the jsonl format)."""
    return orjson.dumps(record, default=str)


def ndjson_body(records: Sequence[dict[str, Any]]) -> bytes:
    """Records as JSON lines: one message per batch."""
    return b"".join(orjson.dumps(r, default=str) + b"\n" for r in records)


class NameTemplate:
    """A name made from the run's names and, per record, the record's fields.

    A template that uses no field is rendered once; one that does is rendered per record
    (`{dataset}.{status}` → `orders.paid`). A field that is null renders as `null`."""

    def __init__(self, template: str, ctx: SinkContext, option: str):
        self.template = template
        names = placeholders(template)
        run = {k: v for k, v in ctx.template_values().items() if k in RUN_PLACEHOLDERS}
        self.fields = [n for n in names if n not in run]
        unknown = [n for n in self.fields if ctx.fields and n not in ctx.fields]
        if unknown:
            raise InvalidInput(
                f"{option}: {{{unknown[0]}}} is neither a field of {ctx.dataset} nor one of "
                + " ".join("{" + p + "}" for p in RUN_PLACEHOLDERS)
            )
        # The run's names filled in now; the fields' braces kept for the records.
        self.partial = template.format(**run, **{f: "{" + f + "}" for f in self.fields})
        self.constant = None if self.fields else self.partial

    def render(self, record: dict[str, Any]) -> str:
        if self.constant is not None:
            return self.constant
        values = {f: _text(record.get(f)) for f in self.fields}
        return self.partial.format(**values)

    def renderer(self) -> Callable[[dict[str, Any]], str]:
        constant = self.constant
        if constant is not None:
            return lambda record: constant
        return self.render


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return str(value)

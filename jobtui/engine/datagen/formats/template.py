"""Any text a user needs (fixed-width, LDIF, YAML, log lines...) from Jinja2 templates in a
sandboxed environment: a header, a template per record, a footer.

The record template sees each field by name (when the name is an identifier), `record`
(the whole record), `index` (the record's 0-based number in the output) and `dataset`;
the header and the footer see `dataset` and `fields`, the footer `count` too. A null
renders as an empty string; an undefined name fails the run naming it. Filters beyond
Jinja's own: `json` (compact JSON, no HTML escaping), `fixed(width, align="left")` (padded
or cut to exactly `width` characters), `ldif(attribute)` (`attr: value`, or `attr::
base64` when LDIF requires it). Records depend only on their number, so batches render in
any process. There is no decoder: the text is whatever the template says.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson

from jobtui.engine.datagen.formats.base import Batch, Encoder, json_default
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.formats import TemplateOptions

# LDIF (RFC 2849): a SAFE-STRING starts with neither space, ':' nor '<', holds only
# ASCII without NUL, LF, CR, and does not end with a space.
_LDIF_SAFE = re.compile(r"^(?![ :<])[\x01-\x09\x0b\x0c\x0e-\x7f]*(?<! )$")


def _json(value: Any) -> str:
    return orjson.dumps(value, default=json_default).decode()


def _fixed(value: Any, width: int, align: str = "left") -> str:
    text = "" if value is None else str(value)
    text = text[:width]
    return text.rjust(width) if align == "right" else text.ljust(width)


def _ldif(value: Any, attribute: str) -> str:
    text = "" if value is None else str(value)
    if _LDIF_SAFE.match(text):
        return f"{attribute}: {text}"
    return f"{attribute}:: {base64.b64encode(text.encode()).decode()}"


def environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=lambda value: "" if value is None else value,
    )
    env.filters.update({"json": _json, "fixed": _fixed, "ldif": _ldif})
    return env


class TemplateEncoder(Encoder):
    def __init__(self, name: str, fields: list[str], spec: Any, opts: TemplateOptions):
        super().__init__(name, fields, spec)
        self.opts = opts
        env = environment()
        self._header = env.from_string(opts.header)
        self._record = env.from_string(opts.record)
        self._footer = env.from_string(opts.footer)
        self._names = [f for f in fields if f.isidentifier()]

    def _render(self, which: str, template: Any, values: dict[str, Any]) -> str:
        from jinja2 import TemplateError

        try:
            return str(template.render(values))
        except TemplateError as exc:
            raise InvalidInput(f"template: the {which} template: {exc}") from None

    def header(self) -> bytes:
        values = {"dataset": self.name, "fields": self.fields}
        return self._render("header", self._header, values).encode()

    def footer(self) -> bytes:
        values = {"dataset": self.name, "fields": self.fields, "count": self.count}
        return self._render("footer", self._footer, values).encode()

    def encode_at(self, batch: Batch, start: int) -> bytes:
        end, name, names = self.opts.line_end, self.name, self._names
        out = []
        for i, record in enumerate(batch):
            values = {k: record.get(k) for k in names}
            values.update(record=record, index=start + i, dataset=name)
            out.append(self._render("record", self._record, values) + end)
        return "".join(out).encode()

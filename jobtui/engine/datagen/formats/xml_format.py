"""XML: a root element, an element per record, an element per field (`null="true"` for
nulls, `type="object"` / `type="list"` for nested values)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import IO, Any

from jobtui.engine.datagen.formats.base import (
    Batch,
    Decoder,
    Encoder,
    batched,
    convert,
    json_default,
)
from jobtui.engine.datagen.formats.types import field_type
from jobtui.engine.model.formats import XmlOptions

_XML_NAME = re.compile(r"^[A-Za-z_][\w.-]*$")
# Characters XML 1.0 cannot hold at all (not even as &#...;): replaced by U+FFFD, which is
# itself written as a character reference when it is in the data, so that every raw
# U+FFFD in the output is a replacement and `seal` counts them in the bytes.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = "\ufffd"
_REPLACED = REPLACEMENT.encode()
_ATTR_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\r": "&#13;",
        "\n": "&#10;",
        "\t": "&#9;",
        REPLACEMENT: "&#xFFFD;",
    }
)


def xml_text(text: str) -> str:
    """`text` as XML character data: markup characters and `\\r` (which parsers would read
    as `\\n`) escaped, characters XML 1.0 cannot hold replaced by U+FFFD."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if REPLACEMENT in text:
        text = text.replace(REPLACEMENT, "&#xFFFD;")
    return _XML_BAD.sub(REPLACEMENT, text)


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    else:
        text = str(json_default(value))
    return xml_text(text)


class XmlEncoder(Encoder):
    def __init__(self, name: str, fields: list[str], spec: Any, opts: XmlOptions):
        super().__init__(name, fields, spec)
        self.opts = opts
        self.nl = "\n" if opts.indent else ""
        self.pad = "  " if opts.indent else ""
        self.replaced = 0

    def header(self) -> bytes:
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<{self.opts.root}>{self.nl}'.encode()

    def footer(self) -> bytes:
        return f"</{self.opts.root}>\n".encode()

    def seal(self, data: bytes, n: int) -> bytes:
        self.replaced += data.count(_REPLACED)
        return super().seal(data, n)

    def notes(self) -> list[str]:
        if not self.replaced:
            return []
        return [
            f"{self.replaced} character(s) that XML 1.0 cannot hold (control characters) "
            "written as U+FFFD"
        ]

    def _element(self, name: str, value: Any) -> str:
        if _XML_NAME.match(name):
            open_tag, close_tag = f"<{name}", f"</{name}>"
        else:
            open_tag = f'<field name="{_XML_BAD.sub(REPLACEMENT, name.translate(_ATTR_ESCAPES))}"'
            close_tag = "</field>"
        if value is None:
            return f'{open_tag} null="true"/>'
        if isinstance(value, dict):
            inner = "".join(self._element(str(k), v) for k, v in value.items())
            return f'{open_tag} type="object">{inner}{close_tag}'
        if isinstance(value, list):
            inner = "".join(self._element("item", v) for v in value)
            return f'{open_tag} type="list">{inner}{close_tag}'
        return f"{open_tag}>{_xml_value(value)}{close_tag}"

    def encode_at(self, batch: Batch, start: int) -> bytes:
        item, pad, nl, fields = self.opts.item, self.pad, self.nl, self.fields
        element = self._element
        out = []
        for r in batch:
            inner = "".join([element(f, r.get(f)) for f in fields])
            out.append(f"{pad}<{item}>{inner}</{item}>{nl}")
        return "".join(out).encode()


class XmlDecoder(Decoder):
    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return batched(self._records(stream))

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
        return convert(el.text or "", kind)  # no null="true": text, "" included

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

"""A dataset's fields as a typed tree, for the typed binary formats (Parquet, Avro, Excel).

Each field becomes a `Node`: a scalar type (INTEGER, REAL, BOOLEAN, TEXT, DATE, DATETIME),
an OBJECT with children (an `object` field), a LIST of an item (a `list` field), or JSON
(nested values of unknown shape, e.g. Faker's `pydict`: written as JSON text). The
generator gives dates and timestamps as ISO text; these formats store them typed, and
their decoders give ISO text back, so replay gives back the run's values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson

from jobtui.engine.datagen.formats.base import json_default
from jobtui.engine.datagen.formats.types import field_type

OBJECT = "OBJECT"
LIST = "LIST"


@dataclass
class Node:
    name: str
    kind: str  # INTEGER REAL BOOLEAN TEXT DATE DATETIME JSON OBJECT LIST
    nullable: bool
    children: list[Node] = field(default_factory=list)  # OBJECT members, or LIST's item


def _target(spec: Mapping[str, Any], resolve: Callable[[str], Any] | None) -> Any:
    target = resolve(str(spec.get("dataset"))) if resolve else None
    if target is None:
        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

        target = BUILTIN_DATASETS.get(str(spec.get("dataset")))
    for f in (target or {}).get("fields", []):
        if f.get("name") == spec.get("field"):
            return f
    return None


def may_be_null(spec: Mapping[str, Any], resolve: Callable[[str], Any] | None = None) -> bool:
    """Whether a field can give null: nullable, a null choice or constant, Faker's
    null_boolean, or a reference to a field that can."""
    if float(spec.get("nullable") or 0) > 0:
        return True
    kind = spec.get("type")
    if kind == "choice":
        return None in (spec.get("values") or [])
    if kind == "constant":
        return spec.get("value") is None
    if kind == "faker":
        return spec.get("provider") == "null_boolean"
    if kind == "reference":
        target = _target(spec, resolve)
        return bool(target) and may_be_null(target, resolve)
    return False


def node_of(spec: Mapping[str, Any], resolve: Callable[[str], Any] | None = None) -> Node:
    name = str(spec.get("name", "item"))
    nullable = may_be_null(spec, resolve)
    kind = spec.get("type")
    if kind == "object":
        return Node(name, OBJECT, nullable, [node_of(f, resolve) for f in spec["fields"]])
    if kind == "list":
        item = {**spec["item"], "name": spec["item"].get("name", "item")}
        return Node(name, LIST, nullable, [node_of(item, resolve)])
    if kind == "reference":
        target = _target(spec, resolve)
        if target is not None:
            inner = node_of(target, resolve)
            return Node(name, inner.kind, nullable, inner.children)
    return Node(name, field_type(spec, resolve), nullable)


def nodes_of(dataset: Mapping[str, Any] | None, fields: list[str]) -> list[Node]:
    """The tree of each field (TEXT for a field the dataset does not describe)."""
    specs = {f["name"]: f for f in (dataset or {}).get("fields", [])}
    return [node_of(specs[f]) if f in specs else Node(f, "TEXT", True) for f in fields]


def as_text(value: Any) -> str:
    """A value that should be text but is not (a Faker provider's list...) as JSON text."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=json_default).decode()


def to_native(value: Any, node: Node) -> Any:
    """A generated value as the typed value a writer takes (dates as date objects...)."""
    if value is None:
        return None
    kind = node.kind
    if kind == "DATE":
        return date.fromisoformat(value) if isinstance(value, str) else value
    if kind == "DATETIME":
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if kind == OBJECT:
        return {c.name: to_native(value.get(c.name), c) for c in node.children}
    if kind == LIST:
        item = node.children[0]
        return [to_native(v, item) for v in value]
    if kind == "TEXT":
        return as_text(value)
    if kind == "JSON":
        return orjson.dumps(value, default=json_default).decode()
    return value


def from_native(value: Any, node: Node) -> Any:
    """What a reader gives back, as the generator gave it (ISO text for dates...)."""
    if value is None:
        return None
    kind = node.kind
    if kind in ("DATE", "DATETIME"):
        return value.isoformat() if isinstance(value, date) else value
    if kind == OBJECT:
        return {c.name: from_native(value.get(c.name), c) for c in node.children}
    if kind == LIST:
        item = node.children[0]
        return [from_native(v, item) for v in value]
    if kind == "JSON" and isinstance(value, str):
        return orjson.loads(value)
    if kind == "REAL" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value

"""Datasets from schema documents, for `datasets infer`: a JSON Schema (this module) or SQL
`CREATE TABLE` statements (infer_sql.py). No sample values: the fields follow what the
schema states.

JSON Schema (draft 4 to 2020-12, and OpenAPI's `nullable`): the root object's
`properties` become fields (an array of objects: its `items`); `integer` and `number`
keep `minimum`/`maximum` (exclusive bounds too), strings their `format` (date,
date-time, email, uri, uuid, ipv4, ipv6, hostname, time), `enum` becomes a choice and
`const` a constant, simple `pattern`s (letters, digits, literals) a pattern field,
otherwise a Faker provider suggested by the property's name; `object` nests, `array`
becomes a list (`minItems`/`maxItems`). `$ref` to `#/$defs/...` or `#/definitions/...`
is followed; `allOf` is merged; `oneOf`/`anyOf` take their first branch that is not null.
A `null` type (or `nullable: true`) makes a field nullable (10%: the schema does not say
how often).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jobtui.engine.datagen.infer_typed import JSON_FIELD
from jobtui.engine.model.errors import InvalidInput

NULL_SHARE = 10.0  # % of nulls where a schema allows null but cannot say how often
MAX_NEST = 6
Reasons = list[dict[str, str]]

STRING_FORMATS: dict[str, dict[str, Any]] = {
    "date": {"type": "date_range", "start": "2020-01-01", "end": "2025-12-31"},
    "date-time": {
        "type": "datetime_range",
        "start": "2020-01-01T00:00:00",
        "end": "2025-12-31T23:59:59",
    },
    "email": {"type": "faker", "provider": "email"},
    "idn-email": {"type": "faker", "provider": "email"},
    "uri": {"type": "faker", "provider": "url"},
    "url": {"type": "faker", "provider": "url"},
    "iri": {"type": "faker", "provider": "url"},
    "uuid": {"type": "uuid"},
    "ipv4": {"type": "faker", "provider": "ipv4"},
    "ipv6": {"type": "faker", "provider": "ipv6"},
    "hostname": {"type": "faker", "provider": "hostname"},
    "idn-hostname": {"type": "faker", "provider": "hostname"},
    "time": {"type": "faker", "provider": "time"},
}


def is_json_schema(doc: Any) -> bool:
    """Whether a JSON document is a JSON Schema (rather than one JSON record)."""
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("$schema"), str):
        return True
    props = doc.get("properties")
    if doc.get("type") == "object" and isinstance(props, dict) and props:
        return all(isinstance(v, dict | bool) for v in props.values())
    items = doc.get("items")
    return doc.get("type") == "array" and isinstance(items, dict) and is_json_schema(items)


def schema_kind(path: Path) -> tuple[str, Any] | None:
    """("jsonschema", document) or ("sql", text) when the file is a schema; else None."""
    from jobtui.engine.datagen.infer_sql import looks_like_sql

    try:
        with path.open("rb") as fh:
            head = fh.read(4)
        if head[:4] in (b"PAR1", b"Obj\x01", b"PK\x03\x04"):
            return None
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None  # read_table says why
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except ValueError:
            return None
        return ("jsonschema", doc) if is_json_schema(doc) else None
    if looks_like_sql(path, stripped):
        return "sql", text
    return None


class JsonSchemaReader:
    def __init__(self, root: dict[str, Any], reasons: Reasons | None, warnings: list[str]):
        self.root = root
        self.reasons = reasons
        self.warnings = warnings

    def resolve(self, schema: Any, depth: int = 0) -> dict[str, Any]:
        """A schema with its `$ref` followed and its `allOf` merged."""
        if schema is True or not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if depth > 20:
                raise InvalidInput(f"$ref {ref!r}: references loop")
            target = self._pointer(ref)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self.resolve(target, depth + 1), **rest}
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part, depth + 1)
                props = {**part.get("properties", {}), **merged.get("properties", {})}
                required = list(part.get("required", [])) + list(merged.get("required", []))
                merged = {**part, **merged}
                if props:
                    merged["properties"] = props
                if required:
                    merged["required"] = required
            schema = merged
        return schema

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise InvalidInput(f"$ref {ref!r}: only references inside the document are read")
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise InvalidInput(f"$ref {ref!r}: not found in the document")
            node = node[part]
        return node

    def variants(self, schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(the schema to follow, whether null is allowed) through oneOf/anyOf and types."""
        nullable = bool(schema.get("nullable"))
        for key in ("oneOf", "anyOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                resolved = [self.resolve(o) for o in options]
                real = [o for o in resolved if o.get("type") != "null"]
                nullable = nullable or len(real) < len(resolved)
                if real:
                    rest = {k: v for k, v in schema.items() if k != key}
                    inner, inner_null = self.variants({**rest, **real[0]})
                    return inner, nullable or inner_null
        kind = schema.get("type")
        if isinstance(kind, list):
            real_kinds = [k for k in kind if k != "null"]
            nullable = nullable or len(real_kinds) < len(kind)
            schema = {**schema, "type": real_kinds[0] if real_kinds else "string"}
        if isinstance(schema.get("enum"), list) and None in schema["enum"]:
            nullable = True
        return schema, nullable

    def field(self, name: str, raw: Any, path: str, depth: int = 0) -> dict[str, Any]:
        from jobtui.engine.datagen.infer_column import field_name, summary

        schema, nullable = self.variants(self.resolve(raw))
        spec, why = self._kind(name, schema, path, depth)
        field: dict[str, Any] = {"name": field_name(name), **spec}
        if isinstance(schema.get("description"), str):
            field["description"] = schema["description"][:500]
        if nullable:
            field["nullable"] = NULL_SHARE
            why += f"; null allowed: {NULL_SHARE:g}% null"
        if self.reasons is not None:
            self.reasons.append(
                {"column": path, "field": field["name"], "type": summary(field), "why": why}
            )
        return field

    def _kind(self, name: str, schema: dict[str, Any], path: str, depth: int) -> tuple[Any, str]:
        if "const" in schema:
            return {"type": "constant", "value": schema["const"]}, "const"
        enum = schema.get("enum")
        if isinstance(enum, list) and [v for v in enum if v is not None]:
            values = [v for v in enum if v is not None]
            return {"type": "choice", "values": values}, f"enum of {len(values)}"
        kind = schema.get("type")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else None
        if kind == "object":
            return self._object(name, schema, path, depth)
        if kind == "array":
            return self._array(name, schema, path, depth)
        if kind == "integer":
            return _number(schema, True)
        if kind == "number":
            return _number(schema, False)
        if kind == "boolean":
            return {"type": "boolean"}, "boolean"
        if kind in ("string", None):
            return _string(name, schema)
        self.warnings.append(f"{path}: type {kind!r} is not read; a word")
        return {"type": "faker", "provider": "word"}, f"type {kind!r}: a word"

    def _object(
        self, name: str, schema: dict[str, Any], path: str, depth: int
    ) -> tuple[dict[str, Any], str]:
        props = schema.get("properties")
        if not isinstance(props, dict) or not props or depth >= MAX_NEST:
            if depth >= MAX_NEST:
                self.warnings.append(f"{path}: nested deeper than {MAX_NEST}: a JSON value")
            return dict(JSON_FIELD), "an object without properties"
        fields = [self.field(k, v, f"{path}.{k}", depth + 1) for k, v in props.items()]
        return {"type": "object", "fields": fields}, f"object of {len(fields)} properties"

    def _array(
        self, name: str, schema: dict[str, Any], path: str, depth: int
    ) -> tuple[dict[str, Any], str]:
        item = self.field("item", schema.get("items", {}), f"{path}[]", depth + 1)
        item.pop("name", None)
        item.pop("unique", None)
        low = _int(schema.get("minItems"), 0)
        high = _int(schema.get("maxItems"), max(low, 5))
        low, high = min(max(low, 0), 1000), min(max(high, low, 0), 1000)
        spec = {"type": "list", "item": item, "min_items": low, "max_items": high}
        return spec, f"array of {low}..{high} items"


def _int(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _bound(schema: dict[str, Any], which: str) -> tuple[float | None, bool]:
    """(minimum or maximum, exclusive?) in draft 4 (boolean exclusive) or 6+ form."""
    plain = "minimum" if which == "min" else "maximum"
    exclusive = "exclusiveMinimum" if which == "min" else "exclusiveMaximum"
    value, flag = schema.get(plain), schema.get(exclusive)
    if isinstance(flag, int | float) and not isinstance(flag, bool):
        return float(flag), True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), flag is True
    return None, False


def _number(schema: dict[str, Any], integer: bool) -> tuple[dict[str, Any], str]:
    low, low_ex = _bound(schema, "min")
    high, high_ex = _bound(schema, "max")
    if integer:
        lo = 0 if low is None else int(low) + (1 if low_ex and low == int(low) else 0)
        hi = (
            max(lo, 1000)
            if high is None
            else int(high) - (1 if high_ex and high == int(high) else 0)
        )
        spec: dict[str, Any] = {"type": "integer", "min": lo, "max": max(hi, lo)}
    else:
        step = 0.01
        lo_f = 0.0 if low is None else low + (step if low_ex else 0)
        hi_f = max(lo_f, 1000.0) if high is None else high - (step if high_ex else 0)
        spec = {"type": "float", "min": lo_f, "max": max(hi_f, lo_f), "decimals": 2}
    stated = "" if low is None and high is None else " (from the schema's bounds)"
    return spec, f"{spec['type']} {spec['min']}..{spec['max']}{stated}"


# A regex made only of literals, [A-Z], [a-z], [0-9], \d and {n} counts: a pattern field.
_PIECE = re.compile(
    r"(\[A-Z\]|\[a-z\]|\[0-9\]|\\d|\[A-Za-z\]|\\[.\-_/ ]|[A-Za-z0-9\-_/ :.])(\{(\d+)\})?"
)


def regex_pattern(regex: str) -> tuple[str, str] | None:
    """(pattern, case) of a simple anchored regex such as ^[A-Z]{3}-\\d{4}$; else None."""
    body = regex.removeprefix("^").removesuffix("$")
    out, case, pos = [], "upper", 0
    while pos < len(body):
        m = _PIECE.match(body, pos)
        if m is None:
            return None
        atom, count = m.group(1), int(m.group(3) or 1)
        if count > 100:
            return None
        if atom in ("[A-Z]", "[a-z]", "[A-Za-z]"):
            symbol = "?"
            case = "lower" if atom == "[a-z]" else case
        elif atom in ("[0-9]", "\\d"):
            symbol = "#"
        else:
            literal = atom[-1]
            symbol = "\\" + literal if literal in "?#\\" else literal
            if literal == "." and not atom.startswith("\\"):
                return None  # an unescaped dot is any character
        out.append(symbol * count)
        pos = m.end()
    return ("".join(out), case) if out else None


def _string(name: str, schema: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from jobtui.engine.datagen.infer_column import _hint, _norm

    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in STRING_FORMATS:
        return dict(STRING_FORMATS[fmt]), f"string of format {fmt}"
    regex = schema.get("pattern")
    if isinstance(regex, str):
        made = regex_pattern(regex)
        if made is not None:
            spec: dict[str, Any] = {"type": "pattern", "pattern": made[0]}
            if made[1] != "upper":
                spec["case"] = made[1]
            return spec, f"string matching {regex}"
    hint = _hint(_norm(name))
    if hint is not None:
        return {"type": "faker", "provider": hint}, f"a string named like faker.{hint}"
    longest = _int(schema.get("maxLength"), 0)
    if longest and longest < 10:
        shortest = max(1, min(_int(schema.get("minLength"), longest), longest))
        return {"type": "pattern", "pattern": "?" * shortest, "case": "lower"}, (
            f"a string of at most {longest} characters"
        )
    if longest >= 200:
        return {"type": "faker", "provider": "sentence"}, f"text of up to {longest} characters"
    return {"type": "faker", "provider": "word"}, "a string: a word"


def infer_json_schema(
    doc: dict[str, Any], path: str | Path, name: str, explain: bool
) -> dict[str, Any]:
    """A dataset spec from a JSON Schema document (see the module's doc)."""
    reasons: Reasons | None = [] if explain else None
    warnings: list[str] = []
    reader = JsonSchemaReader(doc, reasons, warnings)
    root, _ = reader.variants(reader.resolve(doc))
    if root.get("type") == "array" and "properties" not in root:
        root, _ = reader.variants(reader.resolve(root.get("items", {})))
    props = root.get("properties")
    if not isinstance(props, dict) or not props:
        raise InvalidInput(f"{path}: the JSON Schema describes no object with properties")
    fields = [reader.field(k, v, k) for k, v in props.items()]
    used: set[str] = set()
    for field in fields:
        base, n = field["name"], 2
        while field["name"] in used:
            field["name"] = f"{base}_{n}"
            n += 1
        used.add(field["name"])
    title = root.get("title") or doc.get("title")
    described = f"Inferred from the JSON Schema {Path(path).name}"
    if isinstance(title, str) and title:
        described += f" ({title[:80]})"
    spec = {"name": name, "description": described, "fields": fields}
    if not explain:
        return spec
    return {"dataset": spec, "columns": reasons or [], "warnings": warnings}

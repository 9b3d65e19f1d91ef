"""BASELINE, NOT USED BY JOBTUI: a frozen copy of `jobtui/engine/datagen/infer.py` as it
was on main before issue 17 (commit bd46e9d), kept so `python -m benchmarks infer` can
score today's inference beside the one it replaced, in the same run. Do not edit or fix.

Original docstring follows.

Infer a dataset spec from a sample file (CSV, JSON array or JSON lines), like DataMaker.

Each column gets a field: a Faker provider guessed from its name and values (email, phone,
person name, first/last name, city, country, date, datetime, uuid, amount, url, ip,
company, zip...), else a built-in kind (sequence for 1,2,3..., integer/float ranges,
choice for a few repeated values, boolean, pattern for fixed-shape codes, nested objects
and lists). Nulls seen become `nullable` %, all-distinct identifiers `unique`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jobtui.engine.model.errors import InvalidInput

MAX_ROWS = 5000

# (name regex, provider) — first match wins; checked against the normalised column name.
NAME_HINTS: list[tuple[str, str]] = [
    (r"e_?mail", "email"),
    (r"(phone|mobile|cell|tel|fax)", "phone_number"),
    (r"^(first_?name|given_?name|fname|forename)$", "first_name"),
    (r"^(last_?name|surname|family_?name|lname)$", "last_name"),
    (r"^(full_?name|name|customer_?name|person|contact|user_?full_?name)$", "name"),
    (r"(user_?name|login|handle)", "user_name"),
    (r"(company|employer|organi[sz]ation|org_?name|business)", "company"),
    (r"(street|address_?line|addr1|address1)", "street_address"),
    (r"^(address|full_?address|postal_?address)$", "address"),
    (r"(city|town)", "city"),
    (r"(state|province|region)", "state"),
    (r"(country_?code)", "country_code"),
    (r"country", "country"),
    (r"(zip|postcode|postal_?code)", "postcode"),
    (r"(latitude|^lat$)", "latitude"),
    (r"(longitude|^lon$|^lng$)", "longitude"),
    (r"(url|website|homepage|link)", "url"),
    (r"(ipv6)", "ipv6"),
    (r"(^ip$|ip_?addr|ipv4|client_?ip)", "ipv4"),
    (r"(job|title|position|occupation)", "job"),
    (r"(currency)", "currency_code"),
    (r"(color|colour)", "color_name"),
    (r"(user_?agent)", "user_agent"),
    (r"(iban)", "iban"),
    (r"(credit_?card|card_?number)", "credit_card_number"),
    (r"(description|comment|notes?|text|message|body|summary)", "sentence"),
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_URL = re.compile(r"^https?://\S+$")
_IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
_PHONE = re.compile(r"^\+?[\d\s().x-]{7,}$")
_INT = re.compile(r"^-?(0|[1-9]\d*)$")
_FLOAT = re.compile(r"^-?\d+\.\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def read_sample(path: str | Path) -> list[dict[str, Any]]:
    """Up to MAX_ROWS records of a CSV, JSON array or JSON lines file."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    stripped = text.lstrip()
    if not stripped:
        raise InvalidInput(f"{path}: the file is empty")
    records: list[Any]
    if stripped[0] == "[":
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    elif stripped[0] == "{":
        records = []
        for n, line in enumerate(stripped.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}: line {n} is not JSON ({exc.msg})") from None
            if len(records) >= MAX_ROWS:
                break
    else:
        try:
            dialect: Any = csv.Sniffer().sniff(stripped[:4096], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(stripped), dialect=dialect)
        records = []
        for row in reader:
            records.append({k: (v if v != "" else None) for k, v in row.items() if k})
            if len(records) >= MAX_ROWS:
                break
    records = [r for r in records[:MAX_ROWS] if isinstance(r, dict)]
    if not records:
        raise InvalidInput(f"{path}: no records found (expected CSV, JSON array or JSON lines)")
    return records


def field_name(raw: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", raw.strip()).strip("_").lower()
    if not name:
        name = "field"
    if not re.match(r"^[A-Za-z_]", name):
        name = f"f_{name}"
    return name[:100]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _typed(value: Any) -> Any:
    """CSV cells as numbers / booleans when they look like them."""
    if not isinstance(value, str):
        return value
    v = value.strip()
    if _INT.match(v) and len(v) < 19:
        return int(v)
    if _FLOAT.match(v):
        return float(v)
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    return value


def _all(values: list[Any], pattern: re.Pattern[str]) -> bool:
    return bool(values) and all(isinstance(v, str) and pattern.match(v) for v in values)


def _shape(value: str) -> str:
    return re.sub(r"[A-Z]", "?", re.sub(r"\d", "#", value))


def infer_field(name: str, raw_values: list[Any], total: int) -> dict[str, Any]:
    present = [v for v in raw_values if v is not None and v != ""]
    nulls = total - len(present)
    values = [_typed(v) for v in present]
    field = {"name": field_name(name), **_infer(name, values)}
    if nulls and total:
        field["nullable"] = round(100.0 * nulls / total, 1)
    return field


def _infer(name: str, values: list[Any]) -> dict[str, Any]:
    norm = _norm(name)
    distinct = len({json.dumps(v, sort_keys=True, default=str) for v in values})
    all_distinct = bool(values) and distinct == len(values) and len(values) > 1
    if not values:
        return {"type": "faker", "provider": "word"}
    if all(isinstance(v, dict) for v in values):
        keys: dict[str, list[Any]] = {}
        for v in values:
            for k in v:
                keys.setdefault(k, [])
        for v in values:
            for k in keys:
                keys[k].append(v.get(k))
        return {
            "type": "object",
            "fields": [infer_field(k, vs, len(values)) for k, vs in keys.items()],
        }
    if all(isinstance(v, list) for v in values):
        items = [x for v in values for x in v]
        lengths = [len(v) for v in values]
        item = _infer(name, items) if items else {"type": "faker", "provider": "word"}
        item.pop("unique", None)
        return {
            "type": "list",
            "item": item,
            "min_items": min(lengths),
            "max_items": max(max(lengths), min(lengths)),
        }
    if all(isinstance(v, bool) for v in values):
        share = 100.0 * sum(1 for v in values if v) / len(values)
        return {"type": "boolean", "true_percent": round(share, 1)}
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        hint = _hint(norm)
        if hint in ("postcode", "phone_number"):
            return {"type": "faker", "provider": hint}
        if re.search(r"(amount|price|total|cost|balance|salary|revenue|fee)", norm):
            low, high = float(min(values)), float(max(values))
            return {"type": "float", "min": low, "max": max(high, low), "decimals": 2}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        ordered = sorted(values)
        if (
            all_distinct
            and len(values) >= 3
            and (re.search(r"(^|_)id$", norm) or values == ordered)
            and ordered[-1] - ordered[0] == len(values) - 1
        ):
            return {"type": "sequence", "start": ordered[0], "step": 1, "unique": True}
        if distinct <= 6 and len(values) >= 12:
            return _choice(values)
        return {"type": "integer", "min": ordered[0], "max": ordered[-1]}
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        provider = _hint(norm)
        if provider in ("latitude", "longitude"):
            return {"type": "faker", "provider": provider}
        decimals = max(
            (len(repr(float(v)).split(".")[1]) for v in values if isinstance(v, float)),
            default=2,
        )
        return {
            "type": "float",
            "min": float(min(values)),
            "max": float(max(values)),
            "decimals": min(decimals, 6),
        }
    strings = [str(v) for v in values]
    if _all(strings, _UUID):
        return {"type": "uuid"}
    if _all(strings, _EMAIL):
        return {"type": "faker", "provider": "email", "unique": all_distinct}
    if _all(strings, _DATE):
        return {"type": "date_range", "start": _day(min(strings)), "end": _day(max(strings))}
    if _all(strings, _DATETIME):
        return {
            "type": "datetime_range",
            "start": _moment(min(strings)),
            "end": _moment(max(strings)),
        }
    if _all(strings, _URL):
        return {"type": "faker", "provider": "url"}
    if _all(strings, _IPV4) and all(
        all(int(p) < 256 for p in _IPV4.match(s).groups())  # type: ignore[union-attr]
        for s in strings
    ):
        return {"type": "faker", "provider": "ipv4"}
    provider = _hint(norm)
    if provider == "phone_number" and not _all(strings, _PHONE):
        provider = None
    if provider:
        field: dict[str, Any] = {"type": "faker", "provider": provider}
        if all_distinct and provider in ("email", "user_name"):
            field["unique"] = True
        return field
    if distinct <= max(3, min(12, len(values) // 4)) and len(values) >= 8:
        return _choice(strings)
    shapes = {_shape(s) for s in strings}
    if len(shapes) == 1:
        shape = shapes.pop()
        if re.fullmatch(r"[?#A-Za-z0-9_./:-]+", shape) and ("#" in shape or "?" in shape):
            out: dict[str, Any] = {"type": "pattern", "pattern": shape}
            if all_distinct:
                out["unique"] = True
            return out
    words = sum(len(s.split()) for s in strings) / len(strings)
    if words >= 6:
        return {"type": "faker", "provider": "paragraph" if words > 25 else "sentence"}
    if words >= 2 and all(s[:1].isupper() for s in strings):
        return (
            {"type": "faker", "provider": "name"}
            if words <= 3
            else {
                "type": "faker",
                "provider": "sentence",
            }
        )
    return {"type": "faker", "provider": "word"}


def _choice(values: list[Any]) -> dict[str, Any]:
    counts = Counter(values)
    ordered = counts.most_common()
    return {
        "type": "choice",
        "values": [v for v, _ in ordered],
        "weights": [c for _, c in ordered],
    }


def _hint(norm: str) -> str | None:
    for pattern, provider in NAME_HINTS:
        if re.search(pattern, norm):
            return provider
    return None


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return "2020-01-01"


def _moment(text: str) -> str:
    try:
        return (
            datetime.fromisoformat(text.replace("Z", "+00:00"))
            .replace(tzinfo=None, microsecond=0)
            .isoformat()
        )
    except ValueError:
        return "2020-01-01T00:00:00"


def infer_spec(path: str | Path, name: str) -> dict[str, Any]:
    """A dataset spec (not saved) from a sample file."""
    records = read_sample(path)
    columns: dict[str, list[Any]] = {}
    for record in records:
        for key in record:
            columns.setdefault(str(key), [])
    for record in records:
        for key in columns:
            columns[key].append(record.get(key))
    fields = []
    used: set[str] = set()
    for key, values in columns.items():
        field = infer_field(key, values, len(records))
        base, n = str(field["name"]), 2
        while field["name"] in used:
            field["name"] = f"{base}_{n}"
            n += 1
        used.add(field["name"])
        if not field.get("unique"):
            field.pop("unique", None)
        fields.append(field)
    return {
        "name": name,
        "description": f"Inferred from {Path(path).name} ({len(records)} sample records)",
        "fields": fields,
    }

"""One column of a sample: its field (infer_field), and the names every inference shares
(field_name, hint: the Faker provider a column's name suggests, summary). See infer.py.
"""

from __future__ import annotations

import re
from typing import Any

from jobtui.engine.datagen.infer_text import PERSON_PROVIDERS, fitting_provider, person_share
from jobtui.engine.datagen.infer_values import (
    Guess,
    choice,
    few_distinct,
    guess_code,
    guess_date,
    guess_number,
    guess_words,
)

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
ID_NAME = re.compile(r"(^|_)(id|no|num|number|index|idx|row|key|seq|pk)$")
YEAR_NAME = re.compile(r"(^|_)(year|yr|yyyy)s?($|_)")
NULL_MARKERS = {"NA", "N/A", "n/a", "NULL", "null", "None", "nan", "NaN", "-", "?"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_URL = re.compile(r"^https?://\S+$")
_IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
_INT = re.compile(r"^-?(0|[1-9]\d*)$")
_FLOAT = re.compile(r"^-?\d+\.\d+$")


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


def _hint(norm: str) -> str | None:
    for pattern, provider in NAME_HINTS:
        if re.search(pattern, norm):
            return provider
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# -- one column --------------------------------------------------------------------------------
Reasons = list[dict[str, str]]


def infer_field(
    name: str, raw_values: list[Any], total: int, text: bool = True, reasons: Reasons | None = None
) -> dict[str, Any]:
    """The field of one column (`text`: the values came as text, as in CSV). What was
    inferred and why is appended to `reasons` (nested fields too)."""
    present = [v for v in raw_values if v is not None and v != ""]
    why_null = ""
    if text:
        typed = [_typed(v) for v in present]
        markers = [v for v in typed if isinstance(v, str) and v.strip() in NULL_MARKERS]
        numbers = [v for v in typed if _is_number(v)]
        if markers and numbers and len(markers) + len(numbers) == len(typed):
            why_null = f"; {len(markers)} value(s) like {markers[0]!r} read as null"
            typed = numbers
        values = typed
    else:
        values = present
    nulls = total - len(values)
    field_spec, why = _infer(name, values, text, reasons)
    field = {"name": field_name(name), **field_spec}
    if nulls and total:
        field["nullable"] = round(100.0 * nulls / total, 1)
        why += f"; {field['nullable']}% null{why_null}"
    if reasons is not None:
        reasons.append({"column": name, "field": field["name"], "type": summary(field), "why": why})
    return field


def _infer(name: str, values: list[Any], text: bool, reasons: Reasons | None) -> Guess:
    norm = _norm(name)
    if not values:
        return {"type": "faker", "provider": "word"}, "no values in the sample: a word"
    if all(isinstance(v, dict) for v in values):
        keys: dict[str, list[Any]] = {}
        for v in values:
            for k in v:
                keys.setdefault(k, [])
        for v in values:
            for k in keys:
                keys[k].append(v.get(k))
        inner: Reasons | None = [] if reasons is not None else None
        fields = [infer_field(k, vs, len(values), text, inner) for k, vs in keys.items()]
        if reasons is not None and inner is not None:
            reasons += [{**r, "column": f"{name}.{r['column']}"} for r in inner]
        return {"type": "object", "fields": fields}, f"objects of {len(fields)} fields"
    if all(isinstance(v, list) for v in values):
        items = [x for v in values for x in v]
        lengths = [len(v) for v in values]
        if items:
            item, why = _infer(name, items, text, None)
        else:
            item, why = {"type": "faker", "provider": "word"}, "empty lists"
        item.pop("unique", None)
        item.pop("after", None)
        field = {
            "type": "list",
            "item": item,
            "min_items": min(lengths),
            "max_items": max(lengths),
        }
        return field, f"lists of {min(lengths)}..{max(lengths)} items; items: {why}"
    if all(isinstance(v, bool) for v in values):
        share = 100.0 * sum(1 for v in values if v) / len(values)
        return {
            "type": "boolean",
            "true_percent": round(share, 1),
        }, f"true/false, {share:.0f}% true"
    if all(_is_number(v) for v in values):
        return _infer_number(norm, values)
    return _infer_text(norm, [str(v) for v in values])


def _infer_number(norm: str, values: list[Any]) -> Guess:
    hint = _hint(norm)
    ints = all(isinstance(v, int) for v in values)
    if hint == "postcode" and ints and all(10000 <= v <= 99999 for v in values):
        return {"type": "faker", "provider": "postcode"}, "five-digit numbers in a postcode column"
    distinct = len(set(values))
    ordered = sorted(values)
    if (
        ints
        and ID_NAME.search(norm)
        and distinct == len(values) >= 3
        and ordered[-1] - ordered[0] == len(values) - 1
    ):
        field = {"type": "sequence", "start": ordered[0], "step": 1, "unique": True}
        return field, f"consecutive distinct identifiers from {ordered[0]}: a sequence"
    if distinct <= 12 and len(values) >= 3 * distinct:
        return choice(values, f"only {distinct} distinct numbers in {len(values)} rows")
    field, why = guess_number(values)
    if hint in ("latitude", "longitude") or re.search(
        r"(^|_)(lat|latitude|lon|lng|longitude)$", norm
    ):
        why += " (a coordinate: the sample's range, not the globe's)"
    return field, why


def _infer_text(norm: str, strings: list[str]) -> Guess:
    distinct = len(set(strings))
    all_distinct = distinct == len(strings) and len(strings) > 1
    if _all(strings, _UUID):
        return {"type": "uuid"}, "UUIDs"
    if _all(strings, _EMAIL):
        field: dict[str, Any] = {"type": "faker", "provider": "email"}
        if all_distinct:
            field["unique"] = True
        return field, "e-mail addresses" + (", all distinct: unique" if all_distinct else "")
    if _all(strings, _URL):
        return {"type": "faker", "provider": "url"}, "URLs"
    if _all(strings, _IPV4) and all(
        all(int(p) < 256 for p in _IPV4.match(s).groups())  # type: ignore[union-attr]
        for s in strings
    ):
        return {"type": "faker", "provider": "ipv4"}, "IPv4 addresses"
    dated = guess_date(strings, bool(YEAR_NAME.search(norm)))
    if dated is not None:
        if few_distinct(len(strings), distinct) and distinct <= 24:
            return choice(strings, f"{dated[1]}, but only {distinct} distinct")
        return dated
    hint = _hint(norm)
    tried: list[str] = []
    if hint in PERSON_PROVIDERS:
        provider, tried = fitting_provider(hint, strings)
        if provider is not None:
            return {"type": "faker", "provider": provider}, "; ".join(tried)
    if few_distinct(len(strings), distinct):
        field, why = choice(strings, f"only {distinct} distinct values in {len(strings)} rows")
        return field, _with_tried(why, tried)
    if hint is not None and hint not in PERSON_PROVIDERS:
        provider, more = fitting_provider(hint, strings)
        tried += more
        if provider is not None:
            field = {"type": "faker", "provider": provider}
            if all_distinct and provider in ("user_name",):
                field["unique"] = True
            return field, "; ".join(tried)
    if hint is None:
        guess = _person_without_hint(strings)
        if guess is not None:
            return guess
    code = guess_code(strings, all_distinct)
    if code is not None:
        return code[0], _with_tried(code[1], tried)
    words = sum(len(s.split()) for s in strings) / len(strings)
    if words >= 6:
        provider = "paragraph" if words > 25 else "sentence"
        return {"type": "faker", "provider": provider}, _with_tried(
            f"free text of {words:.0f} words on average: faker.{provider}", tried
        )
    field, why = guess_words(strings)
    return field, _with_tried(why, tried)


def _person_without_hint(strings: list[str]) -> Guess | None:
    """Person names in a column whose name does not say so (a stricter share)."""
    if not all(s[:1].isupper() for s in strings):
        return None
    share = person_share(strings)
    if share < 0.8:
        return None
    words = sum(len(s.split()) for s in strings) / len(strings)
    provider = "name" if words >= 1.5 else "first_name"
    if provider == "first_name":
        from jobtui.engine.datagen.infer_text import provider_values

        firsts = set(provider_values("first_name"))
        if sum(s in firsts for s in strings) * 2 < len(strings):
            provider = "last_name"
    return {"type": "faker", "provider": provider}, (
        f"{share:.0%} of the values are person names Faker knows: faker.{provider}"
    )


def _with_tried(why: str, tried: list[str]) -> str:
    return f"{why} ({'; '.join(tried)})" if tried else why


def _all(values: list[str], pattern: re.Pattern[str]) -> bool:
    return bool(values) and all(pattern.match(v) for v in values)


def summary(field: dict[str, Any]) -> str:
    """A field in a few words, for --explain."""
    kind = str(field.get("type"))
    if kind == "faker":
        return f"faker.{field.get('provider')}"
    if kind == "choice":
        return f"choice of {len(field.get('values') or [])}"
    if kind in ("integer", "float"):
        return f"{kind} {field.get('min')}..{field.get('max')}"
    if kind in ("date_range", "datetime_range"):
        out = f"{kind} {field.get('start')}..{field.get('end')}"
        if field.get("format"):
            out += f" as {field['format']}"
        return out + (f" after {field['after']}" if field.get("after") else "")
    if kind == "pattern":
        return f"pattern {field.get('pattern')}" + (
            f" (+{len(field['alternatives'])} more)" if field.get("alternatives") else ""
        )
    if kind == "list":
        return f"list of {summary(field.get('item') or {})}"
    return kind

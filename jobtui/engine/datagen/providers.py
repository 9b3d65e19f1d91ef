"""Faker, fast: values Faker makes, drawn column-wise from pools Faker fills once per run.

A plain loop that calls Faker per field per record makes ~1,300 records/s. Here:

- **Lazy pools.** A generic provider (`city`, `job`, `ipv4`...) gets a pool of
  `POOL_SIZE` slots; slot *k* is filled on first use by Faker seeded with
  `(seed, locale, provider, args, k)`, so a pool's values depend on the seed only, never on
  the order slots are reached in, the batch size or the process. Records draw slots with
  16-bit indices from `Random.randbytes`, ~0.05 µs a value. Name lists (first/last names)
  are sampled with Faker's own weights in one `choices` call instead.
- **Composed values.** Providers that Faker itself builds from a format (`name`, `address`,
  `street_address`, `city`, `company`, `phone_number`...) are rebuilt the same way here:
  the locale's own formats (with their weights), each `{{token}}` drawn from a lazy pool of
  that token, `#`/`%`/`$` digits from a hash. Composed values go into a lazy pool of 16,384
  slots (slot k from a hash of (seed, k)), so they cost what a pool draw costs.
- **Emails and user names** are composed from the locale's first/last-name pools
  (ASCII-folded) and domain pools; `unique` appends the record number, so uniqueness holds
  by construction across chunks and processes.
- Dates, integers, booleans and UUIDs are mapped onto the vectorised built-in kinds.

Values that depend on "today" (Faker's `date_this_year`...) are drawn once per pool slot;
prefer `date_range` for byte-identical output across days.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from faker import Faker

POOL_SIZE = 2048

# Methods of a Faker proxy that are not value providers (or are unsafe / useless here).
DENIED = {
    "add_provider",
    "binary",
    "del_arguments",
    "enum",
    "format",
    "get_arguments",
    "get_formatter",
    "get_providers",
    "image",
    "json",
    "json_bytes",
    "parse",
    "provider",
    "pyobject",
    "pystruct",
    "seed",
    "seed_instance",
    "seed_locale",
    "set_arguments",
    "set_formatter",
    "tar",
    "xml",
    "zip",
    "fixed_width",
    "dsv",
    "csv",
    "tsv",
    "psv",
}


def derive(*parts: Any) -> int:
    """A 64-bit seed from any parts (stable across processes and Python runs)."""
    text = "\x1f".join(repr(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


_FAKERS: dict[str, Faker] = {}


def faker_for(locale: str) -> Faker:
    """One Faker per locale per process (building one costs ~40 ms)."""
    fake = _FAKERS.get(locale)
    if fake is None:
        from faker import Faker

        fake = Faker(locale)
        _FAKERS[locale] = fake
    return fake


@lru_cache(maxsize=1)
def provider_names() -> tuple[str, ...]:
    fake = faker_for("en_US")
    names = set()
    for provider in fake.providers:
        for name in dir(provider):
            if name.startswith("_") or name in DENIED:
                continue
            if callable(getattr(provider, name, None)):
                names.add(name)
    return tuple(sorted(names))


def provider_exists(name: str) -> bool:
    return name in provider_names()


# What a locale without a provider has instead, in its own words: de_DE has no
# `state_abbr`, and an American state beside a German street and city is wrong data.
SAME_LOCALE_SUBSTITUTES = {
    "state_abbr": "administrative_unit",  # Hessen, Midi-Pyrénées, 広島県
    "state": "administrative_unit",
}


def usable_provider(locale: str, provider: str) -> tuple[str, str]:
    """(locale, provider) to draw from: the locale's own, or what it has instead
    (`SAME_LOCALE_SUBSTITUTES`), or en_US's when it has neither. A built-in dataset then
    works in every locale, with values of that locale wherever it has them."""
    if locale == "en_US" or hasattr(faker_for(locale), provider):
        return locale, provider
    substitute = SAME_LOCALE_SUBSTITUTES.get(provider)
    if substitute is not None and hasattr(faker_for(locale), substitute):
        return locale, substitute
    return "en_US", provider


def plain(value: Any) -> Any:
    """A Faker value as JSON-friendly data (dates as ISO strings, Decimal as float...)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)


def call_provider(locale: str, provider: str, args: dict[str, Any], seed: int) -> Any:
    fake = faker_for(locale)
    fake.seed_instance(seed)
    return plain(getattr(fake, provider)(**args))


def check_call(provider: str, args: dict[str, Any], locale: str = "en_US") -> str | None:
    """Why calling the provider with these arguments fails (None when it works)."""
    fake = faker_for(locale)
    if not hasattr(fake, provider):
        return f"the {locale} locale has no provider {provider!r}"
    try:
        call_provider(locale, provider, args, 1)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        return f"{provider}({', '.join(f'{k}=' for k in args)}): {exc}"
    return None


# -- the catalog for pickers -------------------------------------------------------------
@lru_cache(maxsize=1)
def provider_catalog() -> tuple[tuple[str, str, str], ...]:
    """(provider, description, example) of every Faker provider, for a searchable picker."""
    fake = faker_for("en_US")
    out = []
    for name in provider_names():
        method = getattr(fake, name)
        doc = inspect.getdoc(method) or ""
        first = doc.strip().split("\n\n")[0].replace("\n", " ") if doc else ""
        first = re.sub(r":\w+:.*", "", first).strip()
        try:
            example = str(call_provider("en_US", name, {}, 1))
        except Exception:
            example = ""
        if len(example) > 60:
            example = example[:57] + "..."
        description = first or name.replace("_", " ").capitalize()
        out.append((name, description, example))
    return tuple(out)

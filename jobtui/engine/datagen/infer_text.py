"""Does a text column look like a Faker provider's output? For `datasets infer`.

A column's name only suggests a provider; the sample decides:
- person names: every significant word of a value is a first or last name that Faker knows
  in one of many locales, and capitalised (airport names, car models and release code
  names are not person names);
- providers that draw from a fixed list (states, countries, currencies, colours, jobs):
  the sample's values are found among a few thousand values the provider makes;
- other providers (cities, street addresses, companies): the sample's values have shapes
  (`Aa Aa`, `9 Aa Aa.`...) that the provider makes in a few thousand values;
- providers with a fixed syntax (phone numbers, postcodes, IBANs...): a check of that syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from jobtui.engine.datagen.providers import faker_for, provider_exists

PERSON_PROVIDERS = {
    "name",
    "name_male",
    "name_female",
    "first_name",
    "first_name_male",
    "first_name_female",
    "last_name",
    "last_name_male",
    "last_name_female",
}
# Locales whose name lists (and romanised lists) are read: a sample of names from much of
# the world is recognised, not only American ones.
NAME_LOCALES = (
    "en_US",
    "en_GB",
    "en_IN",
    "es_ES",
    "es_MX",
    "fr_FR",
    "de_DE",
    "it_IT",
    "pt_BR",
    "nl_NL",
    "pl_PL",
    "sv_SE",
    "tr_TR",
    "vi_VN",
    "cs_CZ",
    "ru_RU",
    "uk_UA",
    "el_GR",
    "ja_JP",
    "zh_CN",
    "zh_TW",
    "ko_KR",
    "hi_IN",
    "ar_AA",
)
_NAME_LIST = re.compile(r"^(first|last|male|female|unisex)_(romanized_)?names")
TITLES = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "jr", "sr", "ii", "iii", "iv", "md"}
PARTICLES = {"de", "da", "del", "la", "le", "van", "von", "der", "den", "di", "du", "y", "al"}
PERSON_SHARE = 0.6  # of values that must be person names
LIST_SHARE = 0.8  # of values found in a list provider's values
SHAPE_SHARE = 0.8  # of values whose shape other providers make
DRAWS = 3000

# A provider the column name suggests, and its relatives tried when it does not fit.
FAMILIES = {
    "state": ("state", "state_abbr"),
    "state_abbr": ("state_abbr", "state"),
    "country": ("country", "country_code"),
    "country_code": ("country_code", "country"),
    "address": ("address", "street_address"),
    "street_address": ("street_address", "street_name"),
    "name": ("name", "first_name", "last_name"),
    "currency_code": ("currency_code", "currency_name"),
    "color_name": ("color_name", "safe_color_name", "hex_color"),
}
SYNTAX = {
    "phone_number": re.compile(r"^\+?[\d\s().x-]{7,}$"),
    "postcode": re.compile(r"^\d{5}(-\d{4})?$"),
    "iban": re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9 ]{10,30}$"),
    "credit_card_number": re.compile(r"^\d[\d -]{11,22}\d$"),
    "hex_color": re.compile(r"^#[0-9a-fA-F]{6}$"),
    "user_agent": re.compile(r"^Mozilla/\d"),
    "ipv6": re.compile(r"^[0-9a-fA-F:]{2,39}$"),
}
_SPLIT = re.compile(r"[\s]+")


@lru_cache(maxsize=1)
def person_name_words() -> frozenset[str]:
    """First and last names Faker knows in NAME_LOCALES, lower case (~20,000 words)."""
    from faker import Faker
    from faker.providers.person import Provider as PersonProvider

    words: set[str] = set()
    for locale in NAME_LOCALES:
        # Not faker_for's shared instances: these are read once and dropped.
        for provider in Faker(locale).providers:
            if not isinstance(provider, PersonProvider):
                continue
            for attr in dir(provider):
                if _NAME_LIST.match(attr):
                    names = getattr(provider, attr)
                    if isinstance(names, dict | list | tuple):
                        words.update(n.lower() for n in names if isinstance(n, str))
    return frozenset(words)


def _name_parts(value: str) -> list[str] | None:
    """The significant words of a person's name (None: something a name does not hold)."""
    if any(c.isdigit() for c in value) or len(value) > 60:
        return None
    out = []
    for raw in _SPLIT.split(value.strip()):
        word = raw.strip(".,")
        low = word.lower()
        if not word or low in TITLES or low in PARTICLES or (len(word) == 1 and word.isalpha()):
            continue
        if not word[0].isupper():
            return None
        out.append(word)
    return out or None


def is_person_name(value: str, known: frozenset[str]) -> bool:
    parts = _name_parts(value)
    if parts is None:
        return False
    # Hyphenated and O'Brien-like names: each part of two letters or more is a name.
    return all(all(p.lower() in known for p in re.split(r"[-']", w) if len(p) > 1) for w in parts)


def person_share(strings: Sequence[str]) -> float:
    known = person_name_words()
    return sum(1 for s in strings if is_person_name(s, known)) / max(1, len(strings))


def text_shape(value: str) -> str:
    """Letters, digits and spaces as classes, runs collapsed: `Bay Springs` → `Aa Aa`,
    `00M` → `9A`, `2009 W. 6th St.` → `9 A. 9a Aa.`."""
    out: list[str] = []
    for ch in value:
        c = "A" if ch.isupper() else "a" if ch.isalpha() else "9" if ch.isdigit() else ch
        if c.isspace():
            c = " "
        if not (out and c == out[-1] and c in "Aa9 "):
            out.append(c)
    return "".join(out)


@lru_cache(maxsize=64)
def provider_values(provider: str, locale: str = "en_US", count: int = DRAWS) -> tuple[str, ...]:
    """`count` values of a provider (seeded: the same every time)."""
    fake = faker_for(locale)
    fake.seed_instance(20240601)
    method = getattr(fake, provider)
    return tuple(str(method()) for _ in range(count))


@lru_cache(maxsize=64)
def provider_shapes(provider: str) -> frozenset[str]:
    return frozenset(map(text_shape, provider_values(provider)))


def fits(provider: str, strings: Sequence[str]) -> tuple[bool, str]:
    """Whether the sample looks like the provider's output, and why (for --explain)."""
    if not provider_exists(provider):
        return False, f"no Faker provider {provider}"
    if provider in PERSON_PROVIDERS:
        share = person_share(strings)
        ok = share >= PERSON_SHARE
        return ok, f"{share:.0%} of the values are person names Faker knows"
    syntax = SYNTAX.get(provider)
    if syntax is not None:
        share = sum(1 for s in strings if syntax.match(s)) / max(1, len(strings))
        return share >= 0.95, f"{share:.0%} of the values have the syntax of faker.{provider}"
    made = provider_values(provider)
    distinct = set(made)
    if len(distinct) * 3 < len(made):  # a list provider: compare the values themselves
        share = sum(1 for s in strings if s in distinct) / max(1, len(strings))
        return share >= LIST_SHARE, (
            f"{share:.0%} of the values are among the {len(distinct)} values of faker.{provider}"
        )
    shapes = provider_shapes(provider)
    share = sum(1 for s in strings if text_shape(s) in shapes) / max(1, len(strings))
    return share >= SHAPE_SHARE, (
        f"{share:.0%} of the values have a shape faker.{provider} makes (such as "
        f"{', '.join(repr(s) for s in sorted(shapes, key=len)[:3])})"
    )


def fitting_provider(hint: str, strings: Sequence[str]) -> tuple[str | None, list[str]]:
    """The first provider of the hint's family that fits the sample and why; or None and
    why the hint itself does not fit."""
    first = ""
    for provider in FAMILIES.get(hint, (hint,)):
        ok, why = fits(provider, strings)
        if ok:
            return provider, [f"faker.{provider}: {why}"]
        first = first or f"not faker.{provider}: {why}"
    return None, [first]

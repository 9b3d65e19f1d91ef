"""What a sample's values show, for `datasets infer`: dates in common formats (the format
kept), numbers spread like the sample, codes of a few shapes, texts as words.

Every function returns a field (without its name) and the reason, for `--explain`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

Guess = tuple[dict[str, Any], str]

# strptime formats tried on a text column, dates then date-times. Each is kept only when
# every sampled value reads back exactly from it (with or without zero padding).
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y.%m.%d",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%B %d %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%a, %d %b %Y",
    "%Y-%m",
    "%Y%m%d",
)
DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S.%f",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%b %d %Y %H:%M",
    "%d %b %Y %H:%M:%S",
)
_UNPADDED = ("%d", "%m", "%H", "%I")
_YEAR = re.compile(r"^\d{4}$")
_ISO_MOMENT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def _variants(fmt: str) -> list[str]:
    """The format, then with glibc's `%-d` (no zero padding) for each padded part."""
    out = [fmt]
    for part in _UNPADDED:
        if part in fmt:
            out += [v.replace(part, "%-" + part[1]) for v in list(out)]
    return out


def _reads(strings: Sequence[str], fmt: str) -> list[datetime] | None:
    parsed = []
    for s in strings:
        try:
            parsed.append(datetime.strptime(s, fmt))
        except ValueError:
            return None
    return parsed


def date_format(strings: Sequence[str]) -> tuple[str, str, list[datetime]] | None:
    """("date" or "datetime", the output format, the parsed values) when every value is a
    date (or date-time) in one format that writes each of them back exactly."""
    if not strings or any(len(s) > 40 or not any(c.isdigit() for c in s) for s in strings):
        return None
    probe = strings[:200]
    for kind, formats in (("date", DATE_FORMATS), ("datetime", DATETIME_FORMATS)):
        for fmt in formats:
            if fmt == "%Y%m%d" and not all(s.isdigit() and len(s) == 8 for s in probe):
                continue
            if _reads(probe, fmt) is None:
                continue
            parsed = _reads(strings, fmt)
            if parsed is None:
                continue
            for out in _variants(fmt):
                if all(p.strftime(out) == s for p, s in zip(parsed, strings, strict=True)):
                    return kind, out, parsed
    if all(_ISO_MOMENT.match(s) for s in strings):
        try:
            moments = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in strings]
        except ValueError:
            return None
        return "iso", "", [m.replace(tzinfo=None, microsecond=0) for m in moments]
    return None


def guess_date(strings: Sequence[str], year_like: bool) -> Guess | None:
    found = date_format(strings)
    if found is None and year_like and all(_YEAR.match(s) for s in strings):
        years = [int(s) for s in strings]
        if min(years) >= 1000 and max(years) <= 2999:
            field = {
                "type": "date_range",
                "start": date(min(years), 1, 1).isoformat(),
                "end": date(max(years), 12, 31).isoformat(),
                "format": "%Y",
            }
            return field, f"years written as text ({min(years)}..{max(years)}), kept as text"
    if found is None:
        return None
    kind, fmt, parsed = found
    low, high = min(parsed), max(parsed)
    if kind == "iso":
        field = {
            "type": "datetime_range",
            "start": low.isoformat(),
            "end": high.isoformat(),
        }
        return field, "ISO 8601 date-times with offsets or fractions: written as plain ISO"
    if kind == "date":
        field = {
            "type": "date_range",
            "start": low.date().isoformat(),
            "end": high.date().isoformat(),
        }
    else:
        field = {"type": "datetime_range", "start": low.isoformat(), "end": high.isoformat()}
    iso = fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S")
    if not iso:
        field["format"] = fmt
    what = "dates" if kind == "date" else "date-times"
    return field, f"{what} in the format {fmt!r} from {strings[parsed.index(low)]} to " + (
        f"{strings[parsed.index(high)]} (format kept)"
        if not iso
        else f"{strings[parsed.index(high)]}"
    )


# -- numbers ---------------------------------------------------------------------------------
def quantiles(values: Sequence[float], pieces: int) -> list[float]:
    """`pieces + 1` cut points (linear interpolation between order statistics)."""
    ordered = sorted(values)
    last = len(ordered) - 1
    out = []
    for i in range(pieces + 1):
        pos = last * i / pieces
        lo = int(pos)
        hi = min(lo + 1, last)
        out.append(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))
    return out


def pieces_for(count: int) -> int:
    return 20 if count >= 400 else 10 if count >= 50 else max(2, count // 5)


def decimals_of(values: Sequence[float]) -> int:
    most = 0
    for v in values:
        if isinstance(v, float) and not v.is_integer():
            text = repr(v)
            if "e" in text:
                return 8
            most = max(most, len(text.split(".")[1]))
    return min(most, 8)


def guess_number(values: Sequence[int | float]) -> Guess:
    """A range from the sample, spread like the sample when it has enough distinct values."""
    low, high = min(values), max(values)
    ints = all(isinstance(v, int) for v in values)
    distinct = len(set(values))
    field: dict[str, Any]
    if ints:
        field = {"type": "integer", "min": int(low), "max": int(high)}
        what = f"whole numbers {low}..{high}"
        digits = 2
    else:
        digits = max(decimals_of(values), 1)
        field = {"type": "float", "min": float(low), "max": float(high), "decimals": digits}
        what = f"numbers {low}..{high} with up to {digits} decimals"
    if distinct >= 8 and high > low:
        pieces = pieces_for(len(values))
        cuts = [round(q, digits + 1) for q in quantiles([float(v) for v in values], pieces)]
        cuts[0], cuts[-1] = float(low), float(high)
        for i in range(1, len(cuts)):
            cuts[i] = min(max(cuts[i], cuts[i - 1]), float(high))
        field["quantiles"] = cuts
        return field, f"{what}, spread like the sample ({pieces} equal-count slices)"
    return field, f"{what} (too few distinct values to follow their spread)"


def choice(values: Sequence[Any], why: str) -> Guess:
    ordered = Counter(values).most_common()
    if len(ordered) == 1:
        return {"type": "constant", "value": ordered[0][0]}, (
            f"the same value in every row ({ordered[0][0]}): a constant"
        )
    field = {
        "type": "choice",
        "values": [v for v, _ in ordered],
        "weights": [c for _, c in ordered],
    }
    top = ", ".join(f"{v} ×{c}" for v, c in ordered[:3]) + ("..." if len(ordered) > 3 else "")
    return (
        field,
        f"{why}: weighted choice of {len(ordered)} values ({top})",
    )


def few_distinct(count: int, distinct: int) -> bool:
    """Few enough distinct values, each seen often enough, to be categories."""
    return count >= 6 and distinct <= min(100, max(3, count // 3))


# -- codes and texts ---------------------------------------------------------------------------
def code_shape(value: str) -> str:
    """A pattern for one code: letters `?`, digits `#`, other characters escaped when they
    mean something to the pattern field."""
    out = []
    for ch in value:
        if ch.isascii() and ch.isalpha():
            out.append("?")
        elif ch.isascii() and ch.isdigit():
            out.append("#")
        elif ch in "?#\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def guess_code(strings: Sequence[str], all_distinct: bool) -> Guess | None:
    """Codes (`00M`, `ORD`, `AB-1234`): one word of ASCII letters and digits in one case,
    whose shapes are few. A pattern, weighted between shapes when there are several."""
    if any(not s or len(s) > 24 or not s.isascii() or any(c.isspace() for c in s) for s in strings):
        return None
    letters = "".join(c for s in strings for c in s if c.isalpha())
    if letters and not (letters.isupper() or letters.islower()):
        return None
    if not any(c.isdigit() for s in strings for c in s) and not letters.isupper():
        return None  # lower-case words are words, not codes
    shapes = Counter(code_shape(s) for s in strings).most_common()
    kept = [(p, c) for p, c in shapes[:8] if c * 200 >= len(strings)]
    covered = sum(c for _, c in kept)
    if not kept or covered * 100 < len(strings) * 97:
        return None
    field: dict[str, Any] = {"type": "pattern", "pattern": kept[0][0]}
    if letters.islower():
        field["case"] = "lower"
    if len(kept) > 1:
        field["alternatives"] = [p for p, _ in kept[1:]]
        field["weights"] = [c for _, c in kept]
        names = ", ".join(f"{p} ×{c}" for p, c in kept[:4])
        return field, f"codes of {len(kept)} shapes ({names}): weighted patterns"
    if all_distinct and 26 ** kept[0][0].count("?") * 10 ** kept[0][0].count("#") >= 100_000:
        field["unique"] = True
    return field, f"codes of one shape ({kept[0][0]})" + (
        ", all distinct: unique" if field.get("unique") else ""
    )


MAX_VOCABULARY = 1000
MAX_WORDS = 12


def guess_words(strings: Sequence[str]) -> Guess:
    """Texts that match nothing else: words drawn from the sample's own vocabulary (case
    kept), as many per value as the sample has."""
    tokens: Counter[str] = Counter()
    counts: Counter[int] = Counter()
    for s in strings:
        words = s.split()
        counts[min(len(words), MAX_WORDS)] += 1
        tokens.update(words)
    common = tokens.most_common(MAX_VOCABULARY)
    low, high = max(1, min(counts)), max(1, max(counts))
    field: dict[str, Any] = {
        "type": "words",
        "words": [w for w, _ in common],
        "weights": [c for _, c in common],
        "min_words": low,
        "max_words": high,
    }
    if high > low:
        field["count_weights"] = [counts.get(n, 0) for n in range(low, high + 1)]
        if not any(field["count_weights"]):
            field.pop("count_weights")
    return field, (
        f"{len(set(strings))} distinct texts of {low}..{high} words that look like no Faker "
        f"provider: words from the sample's vocabulary ({len(common)} of {len(tokens)} words)"
    )

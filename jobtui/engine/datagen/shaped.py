"""Columns that follow a sample's shape, for what `datasets infer` finds in a sample file.

- integers and floats with `quantiles`: equally many values between each two consecutive
  cut points (a skewed sample stays skewed, instead of spreading evenly from min to max);
- patterns with `alternatives`: each value follows one of several weighted patterns
  (airport codes are `???` mostly, `##?` sometimes);
- `words`: a few words drawn from a weighted vocabulary (names of places, car models);
- dates and date-times `after` another date field: never before that field's value in
  the same record (a release never precedes its creation), at a distance spread like the
  sample's (`gaps`) when given.

Every column keeps columns.py's rules: record i depends only on (seed, dataset, field
path, i), and each value is drawn one after the other, so the first m values of a block
never depend on how many are made.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from math import ceil, floor
from random import Random
from typing import Any

from jobtui.engine.datagen.columns import (
    Column,
    DateColumn,
    DatetimeColumn,
    FloatColumn,
    IntegerColumn,
    PatternColumn,
)
from jobtui.engine.datagen.pools import uniform_indices, weighted_table
from jobtui.engine.datagen.providers import derive

TABLE = 65536


def compile_shaped(spec: dict[str, Any], args: tuple[Any, ...]) -> Column | None:
    """The column for a field that uses one of the options above (None: a plain one)."""
    kind = spec.get("type")
    if kind == "integer" and spec.get("quantiles"):
        return QuantileIntegerColumn(*args)
    if kind == "float" and spec.get("quantiles"):
        return QuantileFloatColumn(*args)
    if kind == "pattern" and spec.get("alternatives"):
        return MixedPatternColumn(*args)
    if kind == "words":
        return WordsColumn(*args)
    if kind == "date_range" and spec.get("after"):
        return OrderedDateColumn(*args)
    if kind == "datetime_range" and spec.get("after"):
        return OrderedDatetimeColumn(*args)
    return None


def _table(weights: list[float] | None, count: int) -> list[int]:
    return weighted_table(weights if weights else [1.0] * count, TABLE)


# -- numbers spread like a sample ---------------------------------------------------------
def _piece(r: float, pieces: int) -> tuple[int, float]:
    """One uniform draw as (piece, position in the piece): the fractional part left after
    picking the piece is itself uniform, so one draw per value is enough."""
    scaled = r * pieces
    p = min(int(scaled), pieces - 1)
    return p, scaled - p


class QuantileIntegerColumn(IntegerColumn):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        cuts = [float(q) for q in self.spec["quantiles"]]
        self.spans: list[tuple[int, int]] = []
        for a, b in itertools.pairwise(cuts):
            low, high = ceil(a), floor(b)
            if high < low:
                low = high = round(a)
            self.spans.append((low, high))

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        spans, r, out = self.spans, rng.random, []
        for _ in range(n):
            p, frac = _piece(r(), len(spans))
            low, high = spans[p]
            out.append(low + min(int(frac * (high - low + 1)), high - low))
        return out


class QuantileFloatColumn(FloatColumn):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.cuts = [float(q) for q in self.spec["quantiles"]]

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        cuts, d, r, out = self.cuts, self.decimals, rng.random, []
        pieces = len(cuts) - 1
        for _ in range(n):
            p, frac = _piece(r(), pieces)
            out.append(round(cuts[p] + frac * (cuts[p + 1] - cuts[p]), d))
        return out


# -- codes of several shapes ----------------------------------------------------------------
class MixedPatternColumn(Column):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        patterns = [self.spec["pattern"], *self.spec["alternatives"]]
        case = self.spec.get("case", "upper")
        self.subs = [
            PatternColumn(
                {"name": self.name, "type": "pattern", "pattern": p, "case": case},
                f"{self.path}#{j}",
                self.gen,
                self.dataset,
            )
            for j, p in enumerate(patterns)
        ]
        self.table = _table(self.spec.get("weights"), len(patterns))
        self.unique_space = sum(s.unique_space or 0 for s in self.subs)

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        base = rng.getrandbits(64)
        table = self.table
        picks = [table[i] for i in uniform_indices(rng, n, TABLE)]
        # The j-th use of a pattern takes that pattern's j-th value: each pattern's stream
        # is itself drawn value by value, so prefixes still do not depend on n.
        made = [sub.draw(Random(base + j), 0, picks.count(j)) for j, sub in enumerate(self.subs)]
        used = [0] * len(self.subs)
        out = []
        for j in picks:
            out.append(made[j][used[j]])
            used[j] += 1
        return out

    def at(self, k: int) -> Any:
        for sub in self.subs:
            space = sub.unique_space or 0
            if k < space:
                return sub.at(k)
            k -= space
        raise IndexError(k)


# -- words from a vocabulary ----------------------------------------------------------------
class WordsColumn(Column):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.words = [str(w) for w in self.spec["words"]]
        self.word_table = _table(self.spec.get("weights"), len(self.words))
        self.low = int(self.spec.get("min_words", 1))
        high = int(self.spec.get("max_words", 3))
        self.count_table = _table(self.spec.get("count_weights"), high - self.low + 1)
        self.unique_space = None  # words repeat: `unique` is refused by the field model

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        words, wt, ct, low, r = self.words, self.word_table, self.count_table, self.low, rng.random
        out = []
        for _ in range(n):
            count = low + ct[int(r() * TABLE)]
            out.append(" ".join(words[wt[int(r() * TABLE)]] for _ in range(count)))
        return out


# -- dates that keep their order ------------------------------------------------------------
def parse_format(fmt: str) -> str:
    """A strftime format as strptime reads it (glibc's `%-d` "no padding" is `%d` there)."""
    return fmt.replace("%-", "%")


class _Ordered:
    """Shared by ordered dates and date-times. With `gaps`: the earlier field's value plus a
    gap drawn from them. Without: an offset in the field's own range, moved proportionally
    into [the earlier value, end] when it falls before it, so the order holds."""

    unique_space: int | None
    spec: dict[str, Any]
    gen: Any
    dataset: str
    path: str
    null: float

    def offset_of(self, value: str) -> int:
        raise NotImplementedError

    def render(self, k: int) -> str:
        raise NotImplementedError

    def values(self, block: int, start: int, n: int) -> list[Any]:
        size = max(1, self.unique_space or 1)
        rng = Random(derive(self.gen.seed, self.dataset, self.path, block))
        offsets = uniform_indices(rng, n, size)
        earlier = self.gen.column_of(self.dataset, self.spec["after"]).values(block, start, n)
        gaps = [float(g) for g in self.spec.get("gaps") or []]
        r = Random(derive(self.gen.seed, self.dataset, self.path, block, "gap")).random
        out: list[Any] = []
        for k, before in zip(offsets, earlier, strict=True):
            if before is not None:
                low = self.offset_of(before)
                if gaps:
                    # The time from the earlier field, spread like the sample's.
                    j, frac = _piece(r(), len(gaps) - 1)
                    k = low + round(gaps[j] + frac * (gaps[j + 1] - gaps[j]))
                elif k < low:
                    k = low + (k * (size - low)) // size if low < size else low
            out.append(self.render(k))
        if self.null > 0:
            share = self.null
            rnull = Random(derive(self.gen.seed, self.dataset, self.path, block, "null")).random
            out = [None if rnull() < share else v for v in out]
        return out


class OrderedDateColumn(_Ordered, DateColumn):
    def offset_of(self, value: str) -> int:
        other = self.gen.column_of(self.dataset, self.spec["after"])
        fmt = getattr(other, "fmt", None)
        day = (
            datetime.strptime(value, parse_format(fmt)).date() if fmt else date.fromisoformat(value)
        )
        return (day - self.first).days

    def render(self, k: int) -> str:
        return self.day(k)


class OrderedDatetimeColumn(_Ordered, DatetimeColumn):
    def offset_of(self, value: str) -> int:
        other = self.gen.column_of(self.dataset, self.spec["after"])
        fmt = getattr(other, "fmt", None)
        moment = (
            datetime.strptime(value, parse_format(fmt)) if fmt else datetime.fromisoformat(value)
        )
        return ceil((moment.replace(tzinfo=None) - self.first).total_seconds())

    def render(self, k: int) -> str:
        moment = self.first + timedelta(seconds=k)
        return moment.strftime(self.fmt) if self.fmt else moment.isoformat()

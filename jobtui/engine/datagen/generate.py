"""Fast, reproducible record generation.

Determinism. Record *i* of a dataset depends only on (seed, dataset, field path, i): the
record range is cut into blocks of `BLOCK` records, and each (block, field) draws from its
own `random.Random` seeded from those parts (`providers.derive`). So the values do not
depend on the batch size, on which process makes which block, or on the order blocks are
made in: the same seed gives the same bytes with 1 process or several.

Speed. Each block is made column by column: indices into pools, tables and ranges come
from `Random.randbytes` (16 or 32 bits each, decoded by `array`), weighted choices go
through a 65,536-slot table, UUIDs are 128 random bits with the version bits set, dates are
precomputed day strings; the columns are then zipped into dicts. Every column draws value
by value, so the first m values of a block never depend on how many are made (a sample of
5 is the start of the run).

Uniqueness is by construction, never by retrying: sequences and UUIDs are unique as they
are; integer / float / date / pattern / choice / reference fields map the record number
through a seeded permutation of their value space (a Feistel network with cycle walking),
so a run of N records takes N distinct values (an error when the space is smaller than N);
emails and user names append the record number; other Faker providers take a distinct
pool in a seeded order and append `-<round>` once the pool is used up.

References. `orders.customer_id → customers.id` draws a record number of the referenced
dataset in [0, count) and gives that record's value, computed from the referenced
dataset's own column generators (sequences in O(1); other fields from the first
`REF_POOL` records) — so every value exists in the referenced dataset made by the same run
with the same seed. `count` is the referenced dataset's record count in the run: given
with `counts=`, else the count of its last `batches()` call on this generator, else the
count being generated. A referenced dataset that is not part of the run is taken from the
built-ins when it is one.

`randomize_records` (job setting, applied by the pipeline): each dataset makes a seeded
random number of records in [1, max_records] instead of exactly max_records; see
`record_count`.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import repeat
from random import Random
from typing import Any

from jobtui.engine.datagen.fields import validate_dataset
from jobtui.engine.datagen.providers import (
    EMAIL_PROVIDERS,
    USERNAME_PROVIDERS,
    Composer,
    EmailComposer,
    Pools,
    derive,
    draw_from,
    uniform_indices,
    weighted_table,
)
from jobtui.engine.model.errors import InvalidInput

BLOCK = 1000
REF_POOL = 100_000
LETTERS_UPPER = string.ascii_uppercase
LETTERS_LOWER = string.ascii_lowercase
DIGITS = string.digits

Batch = list[dict[str, Any]]


def record_count(seed: int, dataset: str, max_records: int, randomize: bool) -> int:
    """How many records a dataset makes: max_records, or a seeded random 1..max_records."""
    if not randomize:
        return max_records
    return Random(derive(seed, dataset, "count")).randint(1, max(1, max_records))


# -- permutations (unique values) ----------------------------------------------------------
class Permutation:
    """A seeded bijection of [0, size): a 4-round Feistel network with cycle walking."""

    def __init__(self, size: int, seed: int):
        self.size = size
        bits = max(2, (size - 1).bit_length())
        bits += bits % 2
        self.half = bits // 2
        self.mask = (1 << self.half) - 1
        rng = Random(seed)
        self.keys = [rng.getrandbits(64) for _ in range(4)]

    def __call__(self, i: int) -> int:
        half, mask, keys = self.half, self.mask, self.keys
        size = self.size
        while True:
            left, right = i >> half, i & mask
            for key in keys:
                f = ((right ^ key) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
                f ^= f >> 29
                left, right = right, left ^ (f & mask)
            i = (left << half) | right
            if i < size:
                return i


# -- column generators ---------------------------------------------------------------------
class Column:
    """One field compiled: draws values for record numbers [start, start+n) of a block."""

    unique_space: int | None = None  # distinct values available when unique (None: unlimited)
    inherently_unique = False

    def __init__(self, spec: dict[str, Any], path: str, gen: DatasetGenerator, dataset: str):
        self.spec = spec
        self.name = spec.get("name", "item")
        self.path = path
        self.gen = gen
        self.dataset = dataset
        self.null = float(spec.get("nullable") or 0) / 100.0
        self.unique = bool(spec.get("unique"))
        self.locale = spec.get("locale") or gen.locale
        self._perm: Permutation | None = None

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        raise NotImplementedError

    def at(self, k: int) -> Any:
        """The k-th value of the field's value space (for unique fields)."""
        raise NotImplementedError

    def check_count(self, count: int) -> None:
        if self.unique and self.unique_space is not None and count > self.unique_space:
            raise InvalidInput(
                f"{self.dataset}.{self.path}: unique, but only {self.unique_space} distinct "
                f"value(s) exist for {count} records"
            )

    def unique_values(self, start: int, n: int) -> list[Any]:
        if self.unique_space is None:
            raise InvalidInput(f"{self.dataset}.{self.path}: cannot be unique")
        if self._perm is None:
            self._perm = Permutation(
                self.unique_space, derive(self.gen.seed, self.dataset, self.path, "perm")
            )
        perm, at = self._perm, self.at
        return [at(perm(i)) for i in range(start, start + n)]

    def values(self, block: int, start: int, n: int) -> list[Any]:
        rng = Random(derive(self.gen.seed, self.dataset, self.path, block))
        if self.unique and not self.inherently_unique:
            values = self.unique_values(start, n)
        else:
            values = self.draw(rng, start, n)
        if self.null > 0:
            p = self.null
            r = Random(derive(self.gen.seed, self.dataset, self.path, block, "null")).random
            values = [None if r() < p else v for v in values]
        return values


class SequenceColumn(Column):
    inherently_unique = True

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        first, step = int(self.spec.get("start", 1)), int(self.spec.get("step", 1))
        return list(range(first + start * step, first + (start + n) * step, step))

    def at(self, k: int) -> Any:
        return int(self.spec.get("start", 1)) + k * int(self.spec.get("step", 1))


class IntegerColumn(Column):
    def __init__(self, *args: Any, low: int | None = None, high: int | None = None) -> None:
        super().__init__(*args)
        self.low = int(self.spec.get("min", 0) if low is None else low)
        self.high = int(self.spec.get("max", 1000) if high is None else high)
        self.unique_space = self.high - self.low + 1
        self.population = range(self.low, self.high + 1)

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        return list(uniform_indices(rng, n, self.unique_space or 1, self.low))

    def at(self, k: int) -> Any:
        return self.low + k


class FloatColumn(Column):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.low = float(self.spec.get("min", 0.0))
        self.high = float(self.spec.get("max", 1000.0))
        self.decimals = int(self.spec.get("decimals", 2))
        scale = 10**self.decimals
        self.unique_space = round((self.high - self.low) * scale) + 1

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        low, width, d, r = self.low, self.high - self.low, self.decimals, rng.random
        return [round(low + width * r(), d) for _ in repeat(None, n)]

    def at(self, k: int) -> Any:
        return round(self.low + k / 10**self.decimals, self.decimals)


class BooleanColumn(Column):
    def __init__(self, *args: Any, percent: float | None = None) -> None:
        super().__init__(*args)
        pct = self.spec.get("true_percent", 50) if percent is None else percent
        self.p = float(pct) / 100.0

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        p, r = self.p, rng.random
        return [r() < p for _ in repeat(None, n)]


class UuidColumn(Column):
    inherently_unique = True

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        # Version-4 UUIDs from 128 random bits each (version and variant bits set), laid
        # out column-wise: each hex digit is copied into place for all n at once (strided
        # slices), then the text is split; ~3x faster than formatting each UUID.
        if n <= 0:
            return []
        raw = bytearray(rng.randbytes(16 * n))
        raw[6::16] = raw[6::16].translate(_VERSION_BYTE)
        raw[8::16] = raw[8::16].translate(_VARIANT_BYTE)
        hx = raw.hex().encode()
        out = bytearray(b"-" * (37 * n))
        for j, p in enumerate(_UUID_POS):
            out[p::37] = hx[j::32]
        out[36::37] = b"\n" * n
        return out[:-1].decode("ascii").split("\n")


_VERSION_BYTE = bytes((b & 0x0F) | 0x40 for b in range(256))
_VARIANT_BYTE = bytes((b & 0x3F) | 0x80 for b in range(256))
# Where hex digit j of a UUID goes in its 36-character text (dashes after 8, 12, 16, 20).
_UUID_POS = [j + (j >= 8) + (j >= 12) + (j >= 16) + (j >= 20) for j in range(32)]


class ChoiceColumn(Column):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.options = list(self.spec["values"])
        weights = self.spec.get("weights")
        self.table: list[Any] | None = None
        if weights and len(self.options) <= 4096:
            # Weighted draws through a 65,536-slot table: one 16-bit draw per value.
            self.table = [self.options[i] for i in weighted_table(weights)]
        self.cum: list[float] | None = None
        if weights and self.table is None:
            total = 0.0
            self.cum = []
            for w in weights:
                total += float(w)
                self.cum.append(total)
        self.unique_space = len(self.options)

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        if self.table is not None:
            return draw_from(rng, self.table, n)
        if self.cum is not None:
            return rng.choices(self.options, cum_weights=self.cum, k=n)
        return draw_from(rng, self.options, n)

    def at(self, k: int) -> Any:
        return self.options[k]


class ConstantColumn(Column):
    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        return [self.spec.get("value")] * n


_TIMES: list[str] = []


def _times() -> list[str]:
    if not _TIMES:
        _TIMES.extend(
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        )
    return _TIMES


class DateColumn(Column):
    def __init__(self, *args: Any, first: str | None = None, last: str | None = None) -> None:
        super().__init__(*args)
        self.first = date.fromisoformat(first or self.spec.get("start", "2020-01-01"))
        self.last = date.fromisoformat(last or self.spec.get("end", "2025-12-31"))
        self.fmt = self.spec.get("format")
        self.unique_space = (self.last - self.first).days + 1
        self._days: list[str] | None = None

    def day(self, k: int) -> str:
        d = self.first + timedelta(days=k)
        return d.strftime(self.fmt) if self.fmt else d.isoformat()

    def days(self) -> list[str]:
        if self._days is None:
            self._days = [self.day(k) for k in range(self.unique_space or 1)]
        return self._days

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        if (self.unique_space or 0) <= 500_000:
            return draw_from(rng, self.days(), n)
        return [self.day(k) for k in uniform_indices(rng, n, self.unique_space or 1)]

    def at(self, k: int) -> Any:
        if (self.unique_space or 0) <= 500_000:
            return self.days()[k]
        return self.day(k)


class DatetimeColumn(Column):
    def __init__(self, *args: Any, first: str | None = None, last: str | None = None) -> None:
        super().__init__(*args)
        self.first = datetime.fromisoformat(first or self.spec.get("start", "2020-01-01T00:00:00"))
        self.last = datetime.fromisoformat(last or self.spec.get("end", "2025-12-31T23:59:59"))
        self.fmt = self.spec.get("format")
        seconds = int((self.last - self.first).total_seconds())
        self.unique_space = seconds + 1
        self.offset = self.first.hour * 3600 + self.first.minute * 60 + self.first.second
        self.base = self.first.date()
        ndays = (self.offset + seconds) // 86400 + 1
        self._days: list[str] | None = None
        self._ndays = ndays

    def days(self) -> list[str]:
        if self._days is None:
            self._days = [(self.base + timedelta(days=k)).isoformat() for k in range(self._ndays)]
        return self._days

    def at(self, k: int) -> Any:
        if self.fmt:
            return (self.first + timedelta(seconds=k)).strftime(self.fmt)
        d, r = divmod(k + self.offset, 86400)
        return f"{self.days()[d]}T{_times()[r]}"

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        offs = uniform_indices(rng, n, self.unique_space or 1)
        if self.fmt:
            return [self.at(k) for k in offs]
        days, times, offset = self.days(), _times(), self.offset
        out = []
        for k in offs:
            d, r = divmod(k + offset, 86400)
            out.append(days[d] + "T" + times[r])
        return out


class PatternColumn(Column):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        letters = LETTERS_LOWER if self.spec.get("case") == "lower" else LETTERS_UPPER
        self.parts: list[str] = []  # "" marks a literal already merged below
        parts: list[tuple[str, str]] = []  # (kind, text): kind "L" letter, "D" digit, "" lit
        text = self.spec["pattern"]
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\\" and i + 1 < len(text):
                parts.append(("", text[i + 1]))
                i += 2
                continue
            if ch == "?":
                parts.append(("L", letters))
            elif ch == "#":
                parts.append(("D", DIGITS))
            else:
                parts.append(("", ch))
            i += 1
        self.pieces = parts
        space = 1
        for kind, alphabet in parts:
            if kind:
                space *= len(alphabet)
        self.unique_space = space

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        # One stream per position, so the first m values never depend on n.
        seed = rng.getrandbits(64)
        columns = [
            draw_from(Random(seed + i), alpha, n) if kind else repeat(alpha)
            for i, (kind, alpha) in enumerate(self.pieces)
        ]
        return ["".join(t) for t in zip(*columns, strict=False)] if n else []

    def at(self, k: int) -> Any:
        out = []
        for kind, alpha in reversed(self.pieces):
            if kind:
                k, r = divmod(k, len(alpha))
                out.append(alpha[r])
            else:
                out.append(alpha)
        return "".join(reversed(out))


class FakerPoolColumn(Column):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.provider = self.spec["provider"]
        self.args = dict(self.spec.get("args") or {})
        self.pool = self.gen.pools.provider(self.locale, self.provider, self.args)
        self._distinct: list[Any] | None = None

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        return self.pool.draw(rng, n)

    def distinct(self) -> list[Any]:
        if self._distinct is None:
            values = self.gen.pools.distinct(self.locale, self.provider, self.args)
            rng = Random(derive(self.gen.seed, self.dataset, self.path, "order"))
            values = list(values)
            rng.shuffle(values)
            self._distinct = values
        return self._distinct

    def check_count(self, count: int) -> None:
        if not self.unique:
            return
        values = self.distinct()
        if count > len(values) and not all(isinstance(v, str) for v in values):
            raise InvalidInput(
                f"{self.dataset}.{self.path}: unique, but faker.{self.provider} gave only "
                f"{len(values)} distinct value(s) for {count} records"
            )

    def unique_values(self, start: int, n: int) -> list[Any]:
        values = self.distinct()
        d = len(values)
        return [
            values[i % d] if i < d else f"{values[i % d]}-{i // d}" for i in range(start, start + n)
        ]


class ComposedColumn(Column):
    def __init__(self, composer: Composer, *args: Any) -> None:
        super().__init__(*args)
        self.composer = composer
        self._args = args
        self._fallback: FakerPoolColumn | None = None

    @property
    def fallback(self) -> FakerPoolColumn:
        """Faker's own values, for unique fields only: made on first use, so a column that
        is not unique never fills (or ships to helper processes) a pool it never draws."""
        if self._fallback is None:
            self._fallback = FakerPoolColumn(*self._args)
        return self._fallback

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        return self.composer.draw(rng, n)

    def check_count(self, count: int) -> None:
        if self.unique:
            self.fallback.check_count(count)

    def unique_values(self, start: int, n: int) -> list[Any]:
        return self.fallback.unique_values(start, n)


class EmailColumn(Column):
    inherently_unique = True  # the composer appends the record number when unique

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.composer = EmailComposer(
            self.gen.pools, self.locale, self.spec["provider"], self.unique
        )

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        return self.composer.draw(rng, start, n)


class ReferenceColumn(Column):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.target = self.spec["dataset"]
        self.field = self.spec["field"]

    def _count(self) -> int:
        return self.gen.ref_count(self.target)

    def _target(self) -> Column:
        return self.gen.column_of(self.target, self.field)

    def check_count(self, count: int) -> None:
        if not self.unique:
            return
        target = self._target()
        space = (
            self._count() if isinstance(target, SequenceColumn) else min(self._count(), REF_POOL)
        )
        if count > space:
            raise InvalidInput(
                f"{self.dataset}.{self.path}: unique reference, but {self.target} has only "
                f"{space} record(s) to point at for {count} records"
            )

    @property
    def unique_space(self) -> int | None:  # type: ignore[override]
        target = self._target()
        return self._count() if isinstance(target, SequenceColumn) else min(self._count(), REF_POOL)

    def at(self, k: int) -> Any:
        target = self._target()
        if isinstance(target, SequenceColumn) and not target.null:
            return target.at(k)
        return self.gen.reference_values(self.target, self.field, k + 1)[k]

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        target = self._target()
        count = max(1, self._count())
        if isinstance(target, SequenceColumn) and not target.null:
            first, step = int(target.spec.get("start", 1)), int(target.spec.get("step", 1))
            return [first + k * step for k in uniform_indices(rng, n, count)]
        values = self.gen.reference_values(self.target, self.field, min(count, REF_POOL))
        return draw_from(rng, values, n)


class ObjectColumn(Column):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.children = [
            self.gen.compile_field(f, f"{self.path}.{f['name']}", self.dataset)
            for f in self.spec["fields"]
        ]
        self.names = [c.name for c in self.children]

    def check_count(self, count: int) -> None:
        for child in self.children:
            child.check_count(count)

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        block = start // BLOCK
        columns = [c.values(block, start, n) for c in self.children]
        names = self.names
        return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


class ListColumn(Column):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        item = {**self.spec["item"], "name": self.spec["item"].get("name", "item")}
        self.item = self.gen.compile_field(item, f"{self.path}[]", self.dataset)
        self.low = int(self.spec.get("min_items", 0))
        self.high = int(self.spec.get("max_items", 5))

    def check_count(self, count: int) -> None:
        self.item.check_count(count * max(1, self.high))

    def draw(self, rng: Random, start: int, n: int) -> list[Any]:
        width = max(1, self.high)
        lengths = [self.low + i for i in uniform_indices(rng, n, self.high - self.low + 1)]
        items = self.item.values(start // BLOCK, start * width, n * width)
        return [items[j * width : j * width + size] for j, size in enumerate(lengths)]


FAKER_DATES = {
    "date": ("date", "1970-01-01", "2025-12-31"),
    "date_object": ("date", "1970-01-01", "2025-12-31"),
    "date_of_birth": ("date", "1940-01-01", "2007-12-31"),
    "date_time": ("datetime", "1970-01-01T00:00:00", "2025-12-31T23:59:59"),
    "iso8601": ("datetime", "1970-01-01T00:00:00", "2025-12-31T23:59:59"),
}


# -- the generator ------------------------------------------------------------------------
class DatasetGenerator:
    """Records of the given datasets, reproducible from `seed` (see the module's doc)."""

    def __init__(
        self,
        datasets: Sequence[Mapping[str, Any]],
        seed: int | None = None,
        locale: str = "en_US",
        counts: Mapping[str, int] | None = None,
        validate: bool = True,
    ):
        self.seed = int(seed) if seed is not None else random.SystemRandom().randrange(2**31)
        self.locale = locale or "en_US"
        self.specs: dict[str, dict[str, Any]] = {}
        for ds in datasets:
            spec = validate_dataset(dict(ds)) if validate else dict(ds)
            self.specs[spec["name"]] = spec
        self.counts: dict[str, int] = dict(counts or {})
        self._explicit = set(self.counts)
        self._current = 0
        self._prepared: tuple[str, int] | None = None
        self.pools = Pools(self.seed)
        self._columns: dict[str, list[Column]] = {}
        self._block: tuple[str, int, list[list[Any]], list[dict[str, Any]] | None] | None = None
        self._refs: dict[tuple[str, str], list[Any]] = {}
        self._row_makers: dict[str, Callable[[list[list[Any]]], list[dict[str, Any]]]] = {}

    # -- compiling ------------------------------------------------------------------
    def spec_of(self, name: str) -> dict[str, Any]:
        spec = self.specs.get(name)
        if spec is None:
            from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

            if name not in BUILTIN_DATASETS:
                raise InvalidInput(f"dataset {name!r} is not part of this run")
            spec = dict(BUILTIN_DATASETS[name])
            self.specs[name] = spec
        return spec

    def columns(self, name: str) -> list[Column]:
        cols = self._columns.get(name)
        if cols is None:
            spec = self.spec_of(name)
            cols = [self.compile_field(f, f["name"], name) for f in spec["fields"]]
            self._columns[name] = cols
        return cols

    def column_of(self, dataset: str, field: str) -> Column:
        for col in self.columns(dataset):
            if col.name == field:
                return col
        raise InvalidInput(f"dataset {dataset!r} has no field {field!r}")

    def compile_field(self, spec: dict[str, Any], path: str, dataset: str) -> Column:
        kind = spec.get("type")
        args = (spec, path, self, dataset)
        from jobtui.engine.datagen.shaped import compile_shaped  # it builds on this module

        shaped = compile_shaped(spec, args)
        if shaped is not None:
            return shaped
        if kind == "sequence":
            return SequenceColumn(*args)
        if kind == "integer":
            return IntegerColumn(*args)
        if kind == "float":
            return FloatColumn(*args)
        if kind == "boolean":
            return BooleanColumn(*args)
        if kind == "uuid":
            return UuidColumn(*args)
        if kind == "choice":
            return ChoiceColumn(*args)
        if kind == "constant":
            return ConstantColumn(*args)
        if kind == "date_range":
            return DateColumn(*args)
        if kind == "datetime_range":
            return DatetimeColumn(*args)
        if kind == "pattern":
            return PatternColumn(*args)
        if kind == "reference":
            return ReferenceColumn(*args)
        if kind == "object":
            return ObjectColumn(*args)
        if kind == "list":
            return ListColumn(*args)
        if kind == "faker":
            return self._faker_column(spec, args)
        raise InvalidInput(f"{dataset}.{path}: unknown field type {kind!r}")

    def _faker_column(self, spec: dict[str, Any], args: tuple[Any, ...]) -> Column:
        provider = spec["provider"]
        fargs = spec.get("args") or {}
        if provider in ("uuid4",) and not fargs:
            return UuidColumn(*args)
        if provider in EMAIL_PROVIDERS | USERNAME_PROVIDERS and not fargs:
            return EmailColumn(*args)
        if provider in FAKER_DATES and not fargs:
            kind, first, last = FAKER_DATES[provider]
            if kind == "date":
                return DateColumn(*args, first=first, last=last)
            return DatetimeColumn(*args, first=first, last=last)
        if provider in ("random_int", "pyint") and set(fargs) <= {
            "min",
            "max",
            "min_value",
            "max_value",
        }:
            low = fargs.get("min", fargs.get("min_value", 0))
            high = fargs.get("max", fargs.get("max_value", 9999))
            if isinstance(low, int) and isinstance(high, int) and low <= high:
                return IntegerColumn(*args, low=low, high=high)
        if provider in ("boolean", "pybool") and set(fargs) <= {"chance_of_getting_true"}:
            return BooleanColumn(*args, percent=fargs.get("chance_of_getting_true", 50))
        if not fargs:
            composer = Composer.build(self.pools, spec.get("locale") or self.locale, provider)
            if composer is not None:
                return ComposedColumn(composer, *args)
        return FakerPoolColumn(*args)

    # -- references -----------------------------------------------------------------
    def ref_count(self, dataset: str) -> int:
        count = self.counts.get(dataset)
        return count if count is not None else max(1, self._current)

    def reference_values(self, dataset: str, field: str, n: int) -> list[Any]:
        """The values of `field` for the first n records of `dataset`."""
        key = (dataset, field)
        have = self._refs.get(key, [])
        if len(have) < n:
            column = self.column_of(dataset, field)
            out: list[Any] = list(have)
            while len(out) < n:
                block = len(out) // BLOCK
                start = block * BLOCK
                out = out[:start] + column.values(block, start, BLOCK)
            self._refs[key] = out
            have = out
        return have[:n] if len(have) > n else have

    # -- making records -----------------------------------------------------------------
    def prepare(self, name: str, count: int) -> None:
        """Record the count of a dataset about to be made and check unique fields fit."""
        self._current = count
        self._prepared = (name, count)
        if name not in self._explicit:
            self.counts[name] = count
        for col in self.columns(name):
            col.check_count(count)

    def touch_pools(self, name: str, count: int) -> None:
        """Compile every column of `name`, so every Faker pool it uses (references
        included) exists."""
        if self._prepared != (name, count):
            self.prepare(name, count)
        for col in self.columns(name):
            col.values(0, 0, 1)  # compile the column and touch its pools

    def fill_pools(self, name: str, count: int) -> None:
        """Compile every column of `name` and fill every Faker pool it uses. Pool values
        depend only on the seed, so the bytes do not change."""
        self.touch_pools(name, count)
        self.pools.fill_all()

    def block_columns(self, name: str, block: int) -> list[list[Any]]:
        """The values of one block, a list per top-level field. The last block of a run is
        made only up to the run's count: every column draws value by value, so a shorter
        block is a prefix of the full one (a sample of 5 makes 5 records, not a block)."""
        cached = self._block
        if cached is not None and cached[0] == name and cached[1] == block:
            return cached[2]
        start = block * BLOCK
        size = BLOCK
        if self._prepared is not None and self._prepared[0] == name:
            size = max(0, min(BLOCK, self._prepared[1] - start))
        columns = [c.values(block, start, size) for c in self.columns(name)]
        self._block = (name, block, columns, None)
        return columns

    def block_rows(self, name: str, block: int) -> list[dict[str, Any]]:
        """The records of one block (see `block_columns`)."""
        columns = self.block_columns(name, block)
        cached = self._block
        assert cached is not None
        if cached[3] is not None:
            return cached[3]
        rows = self._row_maker(name)(columns)
        self._block = (name, block, columns, rows)
        return rows

    def _row_maker(self, name: str) -> Callable[[list[list[Any]]], list[dict[str, Any]]]:
        """A function turning a block's columns into dicts, written for this dataset's
        fields: a dict display per record is about twice as fast as dict(zip(...))."""
        maker = self._row_makers.get(name)
        if maker is None:
            names = [c.name for c in self.columns(name)]
            if not names:
                return lambda columns: []
            values = [f"v{i}" for i in range(len(names))]
            pairs = ", ".join(f"{key!r}: {v}" for key, v in zip(names, values, strict=True))
            source = f"lambda columns: [{{{pairs}}} for {', '.join(values)}, in zip(*columns)]"
            # Keys are repr() of the field names, so the source is only literals.
            maker = eval(source, {"zip": zip})
            self._row_makers[name] = maker
        return maker

    def _spans(self, start: int, n: int) -> Iterator[tuple[int, int, int]]:
        """(block, lo, hi) for records start..start+n-1: slice [lo:hi] of each block."""
        pos, end = start, start + n
        while pos < end:
            block = pos // BLOCK
            hi = min(BLOCK, end - block * BLOCK)
            yield block, pos - block * BLOCK, hi
            pos = block * BLOCK + hi

    @staticmethod
    def _past_count(name: str) -> InvalidInput:
        return InvalidInput(f"{name}: records past the run's count were asked for")

    def column_values(self, name: str, start: int, n: int) -> list[list[Any]]:
        """Records start..start+n-1 as a list of values per top-level field (what `rows`
        gives, without making a dict per record)."""
        width = len(self.columns(name))
        out: list[list[Any]] = [[] for _ in range(width)]
        for block, lo, hi in self._spans(start, n):
            columns = self.block_columns(name, block)
            if width and hi > len(columns[0]):
                raise self._past_count(name)
            for mine, theirs in zip(out, columns, strict=True):
                mine.extend(theirs if lo == 0 and hi == len(theirs) else theirs[lo:hi])
        return out

    def rows(self, name: str, start: int, n: int) -> list[dict[str, Any]]:
        """Records number start..start+n-1 of a dataset (call `prepare` first)."""
        out: list[dict[str, Any]] = []
        for block, lo, hi in self._spans(start, n):
            rows = self.block_rows(name, block)
            if hi > len(rows):
                raise self._past_count(name)
            out.extend(rows if lo == 0 and hi == len(rows) else rows[lo:hi])
        return out

    def batches(self, name: str, count: int, batch_size: int = 1000) -> Iterator[Batch]:
        """`count` records of `name` as lists of dicts, `batch_size` at a time."""
        self.prepare(name, count)
        batch_size = max(1, batch_size)
        for start in range(0, count, batch_size):
            yield self.rows(name, start, min(batch_size, count - start))

    def sample(self, name: str, n: int = 5) -> list[dict[str, Any]]:
        self.prepare(name, self.counts.get(name, n))
        return self.rows(name, 0, n)


# -- parallel generation -------------------------------------------------------------------
_WORKER_CACHE: dict[str, tuple[DatasetGenerator, dict[tuple[str, str], Any]]] = {}


def _cached_generator(args: dict[str, Any]) -> tuple[DatasetGenerator, dict[Any, Any]]:
    import orjson

    key = orjson.dumps(
        [args["datasets"], args["seed"], args["locale"], args.get("counts") or {}],
        option=orjson.OPT_SORT_KEYS,
    ).decode()
    cached = _WORKER_CACHE.get(key)
    if cached is None:
        if len(_WORKER_CACHE) > 8:
            _WORKER_CACHE.clear()
        gen = DatasetGenerator(
            args["datasets"],
            seed=args["seed"],
            locale=args["locale"],
            counts=args.get("counts"),
            validate=False,
        )
        cached = (gen, {})
        _WORKER_CACHE[key] = cached
    if args.get("pools"):
        cached[0].pools.load(args["pools"])
    return cached


def warm_pools(args: dict[str, Any]) -> dict[tuple[Any, ...], list[Any]]:
    """Fill, in this process, every pool the dataset of `args` uses and return them, for
    workers (`generate_chunk(dict(args, pools=...))`): a worker then skips its own warm-up.
    Pool values depend only on the seed, so the bytes are the same either way."""
    gen, _ = _cached_generator(args)
    gen.fill_pools(args["name"], args["total"])
    return gen.pools.export()


def pool_shares(args: dict[str, Any], shares: int) -> list[list[tuple[Any, ...]]]:
    """The keys of the pools the dataset of `args` uses, in `shares` lists of about equal
    work, the same in every process (`parallel_chunks` shares the filling out)."""
    gen, _ = _cached_generator(args)
    gen.touch_pools(args["name"], args["total"])
    return gen.pools.split(shares)


def fill_share(
    args: dict[str, Any], keys: list[tuple[Any, ...]], stop: Callable[[], bool] | None = None
) -> dict[tuple[Any, ...], list[Any]]:
    """Fill the pools `keys` of the dataset of `args` in this process (until `stop()`, which
    is asked before each pool); the values of those filled."""
    gen, _ = _cached_generator(args)
    gen.pools.fill(keys, stop)
    return gen.pools.export(keys)


def load_pools(args: dict[str, Any], pools: dict[tuple[Any, ...], list[Any]]) -> None:
    """Take pools filled by another process (see `warm_pools`)."""
    _cached_generator(dict(args, pools=pools))


Chunk = tuple[bytes, list[dict[str, Any]] | None, int, dict[str, Any]]


def generate_chunk(args: dict[str, Any]) -> Chunk:
    """Make (and encode) records start..start+count-1 of one dataset, in any process.

    `args`: datasets (list of specs), seed, locale, counts ({dataset: run count}), name,
    start, count, total (the dataset's record count in the run), format, options,
    need_bytes, need_records, and `encodings`: names of the sinks' own encodings (COPY
    text for PostgreSQL), made straight from the columns, so a table sink's rows are
    encoded where they are made. Returns (the format's bytes, records or None, number of
    records, {encoding: bytes}). Generators and encoders are cached per process, so pools
    fill once per worker.
    """
    import orjson

    from jobtui.engine.datagen.formats import make_encoder

    gen, encoders = _cached_generator(args)
    name = args["name"]
    if gen._prepared != (name, args["total"]):
        gen.prepare(name, args["total"])
    encoder = None
    if args.get("need_bytes", True):
        fmt = args.get("format", "jsonl")
        ekey = (name, orjson.dumps([fmt, args.get("options") or {}]).decode())
        encoder = encoders.get(ekey)
        if encoder is None:
            encoder = make_encoder(fmt, args.get("options") or {}, gen.spec_of(name))
            encoders[ekey] = encoder
    return make_chunk(
        gen,
        name,
        args["start"],
        args["count"],
        encoder,
        need_records=bool(args.get("need_records")),
        encodings=args.get("encodings") or [],
    )


def make_chunk(
    gen: DatasetGenerator,
    name: str,
    start: int,
    count: int,
    encoder: Any,
    *,
    need_records: bool,
    encodings: Sequence[str],
) -> Chunk:
    """Records start..start+count-1 of a prepared dataset as a `Chunk`: the format's bytes
    (when `encoder` is given; it is not advanced), the records when asked, and each sink
    encoding made straight from the columns."""
    from jobtui.engine.sinks.encodings import encode_columns

    rows = gen.rows(name, start, count) if encoder is not None or need_records else None
    data = encoder.encode_at(rows, start) if encoder is not None and rows is not None else b""
    encoded: dict[str, Any] = {}
    if encodings and count:
        columns = gen.column_values(name, start, count)
        encoded = {encoding: encode_columns(encoding, columns) for encoding in encodings}
    n = len(rows) if rows is not None else count
    return data, (rows if need_records else None), n, encoded

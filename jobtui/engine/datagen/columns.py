"""Column generators: one field of a dataset compiled into something that draws its
values for a block of record numbers (see generate.py for the determinism rules).

Speed. Each block is made column by column: indices into pools, tables and ranges come
from `Random.randbytes` (16 or 32 bits each, decoded by `array`), weighted choices go
through a 65,536-slot table, UUIDs are 128 random bits with the version bits set, dates are
precomputed day strings. Every column draws value by value, so the first m values of a
block never depend on how many are made (a sample of 5 is the start of the run).

Uniqueness is by construction, never by retrying: sequences and UUIDs are unique as they
are; integer / float / date / pattern / choice / reference fields map the record number
through a seeded permutation of their value space (a Feistel network with cycle walking),
so a run of N records takes N distinct values (an error when the space is smaller than N);
emails and user names append the record number; other Faker providers take a distinct
pool in a seeded order and append `-<round>` once the pool is used up.
"""

from __future__ import annotations

import string
from datetime import date, datetime, timedelta
from itertools import repeat
from random import Random
from typing import Any, Protocol

from jobtui.engine.datagen.draws import FixedText, Indexed, Permutation, uniform_draws
from jobtui.engine.datagen.pools import (
    EMAIL_PROVIDERS,
    USERNAME_PROVIDERS,
    Composer,
    EmailComposer,
    LazyPool,
    draw_from,
    uniform_indices,
    weighted_table,
)
from jobtui.engine.datagen.providers import derive
from jobtui.engine.model.errors import InvalidInput


class DatasetGenerator(Protocol):
    """What a column needs of the generator that compiles it (generate.DatasetGenerator;
    named here, not imported, so the generator can import the columns)."""

    seed: int
    locale: str
    pools: Any

    def column_of(self, dataset: str, field: str) -> Column: ...

    def compile_field(self, spec: dict[str, Any], path: str, dataset: str) -> Column: ...

    def ref_count(self, dataset: str) -> int: ...

    def reference_values(self, dataset: str, field: str, n: int) -> list[Any]: ...


BLOCK = 1000
REF_POOL = 100_000
LETTERS_UPPER = string.ascii_uppercase
LETTERS_LOWER = string.ascii_lowercase
DIGITS = string.digits


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

    def draw_indexed(self, rng: Random, start: int, n: int) -> Indexed | FixedText | None:
        """`draw` as indices into a pool (draws.py), for columns that draw that way."""
        return None

    def indexed(self, block: int, start: int, n: int) -> Indexed | FixedText | None:
        """What `values` gives, not yet made into Python values (draws.py); None when this
        column does not draw from a pool (the caller then asks `values`)."""
        if (self.unique and not self.inherently_unique) or not _indexable(type(self)):
            return None
        rng = Random(derive(self.gen.seed, self.dataset, self.path, block))
        out = self.draw_indexed(rng, start, n)
        if out is not None and self.null > 0:
            p = self.null
            r = Random(derive(self.gen.seed, self.dataset, self.path, block, "null")).random
            out.nulls = [r() < p for _ in repeat(None, n)]
        return out


_INDEXABLE: dict[type, bool] = {}


def _indexable(cls: type) -> bool:
    """Whether `draw_indexed` mirrors the `draw` and `values` this class uses: a subclass
    drawing its own way (quantiles, ordered dates) must not inherit its parent's."""
    ok = _INDEXABLE.get(cls)
    if ok is None:
        ok = False
        for klass in cls.__mro__:
            own = vars(klass)
            if "draw_indexed" in own:
                ok = klass is not Column
                break
            if "draw" in own or "values" in own:
                break
        _INDEXABLE[cls] = ok
    return ok


def _pool_indexed(pool: LazyPool, rng: Random, n: int) -> Indexed | None:
    """`pool.draw(rng, n)` as indices, once the pool is full (a pool still filling lazily
    is left to `draw`, which fills the slots it draws)."""
    if pool.filled != pool.size:
        return None
    return Indexed(uniform_draws(rng, n, pool.size), pool.values)


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

    def draw_indexed(self, rng: Random, start: int, n: int) -> Indexed | FixedText | None:
        return Indexed(uniform_draws(rng, n, self.unique_space or 1, self.low), None)

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

    def draw_indexed(self, rng: Random, start: int, n: int) -> Indexed | FixedText | None:
        # `draw`'s bytes without the separators: the text of n UUIDs end to end.
        raw = bytearray(rng.randbytes(16 * n))
        raw[6::16] = raw[6::16].translate(_VERSION_BYTE)
        raw[8::16] = raw[8::16].translate(_VARIANT_BYTE)
        hx = raw.hex().encode()
        out = bytearray(b"-" * (36 * n))
        for j, p in enumerate(_UUID_POS):
            out[p::36] = hx[j::32]
        return FixedText(bytes(out), 36)


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

    def draw_indexed(self, rng: Random, start: int, n: int) -> Indexed | FixedText | None:
        population = self.table if self.table is not None else self.options
        if self.cum is not None:
            return None
        return Indexed(uniform_draws(rng, n, len(population)), population)

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

    def draw_indexed(self, rng: Random, start: int, n: int) -> Indexed | FixedText | None:
        if (self.unique_space or 0) > 500_000:
            return None
        days = self.days()
        return Indexed(uniform_draws(rng, n, len(days)), days)

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

    def draw_indexed(self, rng: Random, start: int, n: int) -> Indexed | FixedText | None:
        return _pool_indexed(self.pool, rng, n)

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

    def draw_indexed(self, rng: Random, start: int, n: int) -> Indexed | FixedText | None:
        return _pool_indexed(self.composer.pool, rng, n)

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

    def draw_indexed(self, rng: Random, start: int, n: int) -> Indexed | FixedText | None:
        # The pool holds (local part, "@domain"); `EmailComposer.draw` joins them.
        out = _pool_indexed(self.composer.pool, rng, n)
        if out is not None:
            out.compose = "numbered" if self.composer.unique else "pairs"
            out.first = start + 1
        return out


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


def compile_field(gen: DatasetGenerator, spec: dict[str, Any], path: str, dataset: str) -> Column:
    """A field spec compiled into its column generator."""
    kind = spec.get("type")
    args = (spec, path, gen, dataset)
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
        return _faker_column(gen, spec, args)
    raise InvalidInput(f"{dataset}.{path}: unknown field type {kind!r}")


def _faker_column(gen: DatasetGenerator, spec: dict[str, Any], args: tuple[Any, ...]) -> Column:
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
        composer = Composer.build(gen.pools, spec.get("locale") or gen.locale, provider)
        if composer is not None:
            return ComposedColumn(composer, *args)
    return FakerPoolColumn(*args)

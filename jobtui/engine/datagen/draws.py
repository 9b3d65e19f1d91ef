"""A column's values before they become Python objects: the random words a column drew, how
they map to indices into a value pool, and which values are null. A columnar writer (the
Parquet encoder) maps them in bulk, with Arrow kernels, instead of making a Python string
per record; `values()` gives exactly what the column's own `values` gives, so both paths
write the same file.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, replace
from random import Random
from typing import Any

from jobtui.engine.datagen.pools import _words


@dataclass
class Draws:
    """What `uniform_indices(rng, n, size, offset)` gives, not yet mapped: the raw words,
    and `how` each becomes an index ("index": as it is; "mask": w & (size - 1); "scale":
    (w * size) >> 32), plus `offset`."""

    words: Sequence[int]
    how: str
    size: int
    offset: int = 0

    def __len__(self) -> int:
        return len(self.words)

    def indices(self) -> list[int]:
        words, size, offset = self.words, self.size, self.offset
        if self.how == "mask":
            mask = size - 1
            out = [w & mask for w in words]
        elif self.how == "scale":
            out = [(w * size) >> 32 for w in words]
        else:
            out = list(words)
        return [k + offset for k in out] if offset else out

    def sliced(self, lo: int, hi: int) -> Draws:
        return replace(self, words=self.words[lo:hi])


def uniform_draws(rng: Random, n: int, size: int, offset: int = 0) -> Draws:
    """`uniform_indices(rng, n, size, offset)` as `Draws` (the same randomness consumed)."""
    if n <= 0:
        return Draws(array("H"), "index", size, offset)
    if size <= 65536 and size & (size - 1) == 0:
        return Draws(_words(rng, n, 2), "index" if size == 65536 else "mask", size, offset)
    if size < 2**32:
        return Draws(_words(rng, n, 4), "scale", size, offset)
    return Draws([rng.randrange(size) for _ in range(n)], "index", size, offset)


@dataclass
class Indexed:
    """n values of a column as indices into `population` (None: the index is the value).
    `compose` "pairs": each population item is (a, b), the value a + b; "numbered": a +
    str(record number + 1) + b, numbered from `first` (unique e-mails). `nulls`: which
    values are null (None: none)."""

    draws: Draws
    population: Sequence[Any] | None
    compose: str = ""
    first: int = 0
    nulls: list[bool] | None = None

    def __len__(self) -> int:
        return len(self.draws)

    def values(self) -> list[Any]:
        """The values as the column's `values` gives them."""
        idx = self.draws.indices()
        pop = self.population
        out: list[Any] = idx if pop is None else list(map(pop.__getitem__, idx))
        if self.compose == "pairs":
            out = [a + b for a, b in out]
        elif self.compose == "numbered":
            numbers = range(self.first, self.first + len(out))
            out = [f"{a}{i}{b}" for (a, b), i in zip(out, numbers, strict=True)]
        if self.nulls is not None:
            out = [None if z else v for v, z in zip(out, self.nulls, strict=True)]
        return out

    def sliced(self, lo: int, hi: int) -> Indexed:
        nulls = None if self.nulls is None else self.nulls[lo:hi]
        return replace(self, draws=self.draws.sliced(lo, hi), first=self.first + lo, nulls=nulls)


@dataclass
class FixedText:
    """n strings of `width` ASCII characters each, laid end to end in `data` (UUIDs)."""

    data: bytes
    width: int
    nulls: list[bool] | None = None

    def __len__(self) -> int:
        return len(self.data) // self.width

    def values(self) -> list[Any]:
        w, data = self.width, self.data.decode("ascii")
        out: list[Any] = [data[i : i + w] for i in range(0, len(data), w)]
        if self.nulls is not None:
            out = [None if z else v for v, z in zip(out, self.nulls, strict=True)]
        return out

    def sliced(self, lo: int, hi: int) -> FixedText:
        nulls = None if self.nulls is None else self.nulls[lo:hi]
        return replace(self, data=self.data[lo * self.width : hi * self.width], nulls=nulls)


Piece = Indexed | FixedText | list[Any]


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

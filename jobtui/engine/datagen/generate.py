"""Fast, reproducible record generation.

Determinism. Record *i* of a dataset depends only on (seed, dataset, field path, i): the
record range is cut into blocks of `BLOCK` records, and each (block, field) draws from its
own `random.Random` seeded from those parts (`providers.derive`). So the values do not
depend on the batch size, on which process makes which block, or on the order blocks are
made in: the same seed gives the same bytes with 1 process or several. Each block is made
column by column (columns.py) and only then, when a consumer needs records, zipped into
dicts.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from random import Random
from typing import Any

from jobtui.engine.datagen.columns import BLOCK, REF_POOL, Column, Permutation, compile_field
from jobtui.engine.datagen.draws import Piece
from jobtui.engine.datagen.fields import validate_dataset
from jobtui.engine.datagen.pools import Pools
from jobtui.engine.datagen.providers import derive
from jobtui.engine.datagen.shaped import compile_shaped
from jobtui.engine.model.errors import InvalidInput

# BLOCK, REF_POOL and Permutation are re-exported: callers know them from here.
__all__ = ["BLOCK", "REF_POOL", "DatasetGenerator", "Permutation", "make_chunk", "record_count"]

Batch = list[dict[str, Any]]


def record_count(seed: int, dataset: str, max_records: int, randomize: bool) -> int:
    """How many records a dataset makes: max_records, or a seeded random 1..max_records."""
    if not randomize:
        return max_records
    return Random(derive(seed, dataset, "count")).randint(1, max(1, max_records))


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
        # Options that follow a sample (quantiles, weighted patterns, words, ordered dates)
        # have columns of their own; everything else is the plain column of its type.
        shaped = compile_shaped(spec, (spec, path, self, dataset))
        if shaped is not None:
            return shaped
        return compile_field(self, spec, path, dataset)

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

    def column_pieces(self, name: str, start: int, n: int) -> list[list[Piece]]:
        """Records start..start+n-1 as, per top-level field, a piece per block: what
        `column_values` gives, but for columns that draw from a pool as indices into it
        (draws.py), for a writer that maps them in bulk. The same values either way."""
        out: list[list[Piece]] = [[] for _ in self.columns(name)]
        count = self._prepared[1] if self._prepared and self._prepared[0] == name else None
        for block, lo, hi in self._spans(start, n):
            first = block * BLOCK
            if count is not None and first + hi > count:
                raise self._past_count(name)
            for mine, col in zip(out, self.columns(name), strict=True):
                # A block drawn only up to `hi` is a prefix of the whole block.
                piece: Piece | None = col.indexed(block, first, hi)
                if piece is None:
                    piece = col.values(block, first, hi)
                mine.append(piece[lo:hi] if isinstance(piece, list) else piece.sliced(lo, hi))
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

    columnar = (
        encoder is not None
        and encoder.columnar
        and encoder.fields == [c.name for c in gen.columns(name)]
    )
    # A writer that maps pool indices in bulk (Parquet) is handed them when nothing else
    # needs the Python values (else they would be made twice).
    pieces = (
        columnar and getattr(encoder, "takes_pieces", False) and not encodings and not need_records
    )
    columnar = columnar and not pieces
    columns = gen.column_values(name, start, count) if columnar or encodings else None
    wants_rows = need_records or (encoder is not None and not columnar and not pieces)
    rows = gen.rows(name, start, count) if wants_rows else None
    data = b""
    if encoder is not None:
        if pieces:
            data = encoder.encode_pieces_at(gen.column_pieces(name, start, count), start)
        elif columnar:
            assert columns is not None
            data = encoder.encode_columns_at(columns, start)
        else:
            assert rows is not None
            data = encoder.encode_at(rows, start)
    encoded: dict[str, Any] = {}
    if encodings and count:
        assert columns is not None
        encoded = {encoding: encode_columns(encoding, columns) for encoding in encodings}
    n = len(rows) if rows is not None else count
    return data, (rows if need_records else None), n, encoded

"""Batches, in one process or several.

Parallel generation uses processes (datagen/parallel.py): on CPython the GIL makes threads
no faster for generation, which is pure Python. Batches are made (and encoded, with
`encode_at(batch, start)`) by `threads` processes, the caller included, and come back in
order; record values depend only on (seed, dataset, field, record number), so the bytes
are those of one process. The main encoder is advanced by each batch so that its footer
(a JSON array's) knows records were written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from jobtui.engine.datagen.settings import Settings
from jobtui.engine.model.runtime import RunContext

if TYPE_CHECKING:
    from jobtui.engine.datagen.generate import Chunk

BATCH_SIZE = 5000


def _batch_plan(count: int, batch_size: int) -> list[tuple[int, int]]:
    return [(start, min(batch_size, count - start)) for start in range(0, count, batch_size)]


def serial_batches(gen: Any, name: str, count: int, batch_size: int) -> Iterator[Any]:
    yield from gen.batches(name, count, batch_size)


# Parallel generation uses processes (datagen/parallel.py): on CPython the GIL makes threads
# no faster for generation, which is pure Python. Batches are made (and encoded, with
# `encode_at(batch, start)`) by `threads` processes, the caller included, and come back
# in order; record values depend only on (seed, dataset, field, record number), so the
# bytes are those of one process. The main encoder is advanced by each batch so that its
# footer (a JSON array's) knows records were written.
WARM_FROM = 50_000  # records from which filling every pool first pays for itself


def warm(gen: Any, name: str, count: int) -> None:
    """Fill every Faker pool the dataset uses before a big serial run: filled pools are
    drawn from without a per-value check, and filling them in chunks costs less than
    filling them slot by slot as draws reach them (~35% of a 1M-record run). Pool values
    depend only on the seed, so the bytes do not change."""
    if count >= WARM_FROM and can_split(gen):
        gen.fill_pools(name, count)


def can_split(gen: Any) -> bool:
    """Whether this generator's records can be made in other processes (the real one)."""
    from jobtui.engine.datagen.generate import DatasetGenerator

    return isinstance(gen, DatasetGenerator)


def parallel_batches(
    ctx: RunContext,
    datasets: list[dict[str, Any]],
    dataset: dict[str, Any],
    count: int,
    batch_size: int,
    settings: Settings,
    counts: dict[str, int],
    encoder: Any,
    *,
    pool: Any = None,
    need_bytes: bool,
    need_records: bool,
    encodings: list[str],
) -> Iterator[Chunk]:
    """`threads` processes make and encode the batches, this one included (it also
    delivers them): `threads: 2` is this process and one helper."""
    from jobtui.engine.datagen.parallel import chunk_args, parallel_chunks

    base = chunk_args(
        datasets,
        settings.seed,
        settings.locale,
        dataset["name"],
        count,
        counts=counts,
        fmt=settings.format,
        options=settings.format_options,
        need_bytes=need_bytes,
        need_records=need_records,
        encodings=encodings,
    )
    # A cancel SIGTERMs the whole process group, helpers included; a helper that is gone
    # only means this process makes the batches, until its own handler sets `stop`.
    for chunk in parallel_chunks(
        base,
        batch_size,
        settings.processes,
        pool=pool,
        stop=ctx.stop.is_set,
        report=lambda text: ctx.log.write(text, "debug", "engine"),
    ):
        data, records, n, encoded = chunk
        yield encoder.seal(data, n), records, n, encoded
    ctx.check()  # the chunks end early when `stop` is set: a cancel, not the end


def serial_chunks(
    gen: Any,
    name: str,
    count: int,
    batch_size: int,
    encoder: Any,
    *,
    need_bytes: bool,
    need_records: bool,
    encodings: list[str],
) -> Iterator[Chunk]:
    """The batches, made in this process the way helpers make theirs (`make_chunk`): the
    format's bytes, records when a sink takes them, and sink encodings made straight from
    the generator's columns (no record dicts unless a sink or the format needs them)."""
    from jobtui.engine.datagen.generate import make_chunk

    gen.prepare(name, count)
    for start in range(0, count, batch_size):
        chunk = make_chunk(
            gen,
            name,
            start,
            min(batch_size, count - start),
            encoder if need_bytes else None,
            need_records=need_records,
            encodings=encodings,
        )
        data, records, n, encoded = chunk
        yield encoder.seal(data, n), records, n, encoded

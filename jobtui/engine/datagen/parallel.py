"""Generation (and encoding) in several processes, delivered in order.

`parallel_chunks(...)` cuts a dataset's record range into batches, has a process pool make
and encode them with `generate.generate_chunk`, and yields `(bytes, records|None, n)` in
record order with a bounded number of batches in flight, so memory stays flat. Since
record values depend only on (seed, dataset, field, record number), the bytes are the
same as one process would make with the same batch size.

Workers are started with the `forkserver` method (never `fork` from a process that may
have threads) and import the generator once. The caller fills the Faker pools while the
workers boot and hands them over with each worker's first batch, so no worker repeats
the warm-up; pool values depend only on the seed, so this never changes the bytes.

Using it from the pipeline (`threads` > 1): pass the run's record counts (`counts=`) so
references resolve against the counts actually made, the referenced datasets in
`datasets`, and call `encoder.advance(n)` on the main encoder for every batch received so
its footer (JSON array) knows records were written.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from jobtui.engine.datagen.generate import generate_chunk, warm_pools

PRELOAD = ["jobtui.engine.datagen.generate", "jobtui.engine.datagen.formats", "faker", "orjson"]


def _ready() -> bool:
    return True


def make_pool(processes: int) -> ProcessPoolExecutor:
    """A process pool for generation (forkserver, the generator pre-imported)."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    return ProcessPoolExecutor(max_workers=max(1, processes), mp_context=context)


def chunk_args(
    datasets: Sequence[Mapping[str, Any]],
    seed: int,
    locale: str,
    name: str,
    total: int,
    *,
    counts: Mapping[str, int] | None = None,
    fmt: str = "jsonl",
    options: Mapping[str, Any] | None = None,
    need_bytes: bool = True,
    need_records: bool = False,
) -> dict[str, Any]:
    """The arguments every chunk of one dataset shares (add `start` and `count`)."""
    return {
        "datasets": [dict(d) for d in datasets],
        "seed": int(seed),
        "locale": locale,
        "counts": dict(counts or {}),
        "name": name,
        "total": int(total),
        "format": fmt,
        "options": dict(options or {}),
        "need_bytes": need_bytes,
        "need_records": need_records,
    }


def parallel_chunks(
    base: Mapping[str, Any],
    batch_size: int,
    processes: int,
    *,
    pool: ProcessPoolExecutor | None = None,
    in_flight: int | None = None,
    ahead: int = 32,
    stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[bytes, list[dict[str, Any]] | None, int]]:
    """(bytes, records or None, n) of each batch of `base["total"]` records, in order.

    `processes` counts the calling process: `processes - 1` workers take batches in order
    (`in_flight` each at most), and whenever the next batch to deliver is not ready the
    caller makes the next unassigned batch itself instead of waiting (at most `ahead`
    batches buffered). So a worker that is still starting, or slower, costs nothing, and on
    2 cores two generating processes do not fight a third, idle one.
    `pool`: an executor of `processes - 1` workers to reuse (else one is made and shut down
    here). `stop()` is polled between batches; when true, pending work is cancelled.
    """
    total = int(base["total"])
    batch_size = max(1, int(batch_size))
    processes = max(1, int(processes))
    plan = [(start, min(batch_size, total - start)) for start in range(0, total, batch_size)]

    def local(i: int) -> tuple[bytes, list[dict[str, Any]] | None, int]:
        start, count = plan[i]
        return generate_chunk(dict(base, start=start, count=count))

    if processes == 1 or len(plan) < 2:
        for i in range(len(plan)):
            if stop is not None and stop():
                return
            yield local(i)
        return
    own = pool is None
    executor = pool or make_pool(processes - 1)
    window = in_flight or max(2, (processes - 1) * 3)
    # Start the workers now (they boot while this process fills the pools), then hand the
    # filled pools to the first batch of each worker so none repeats the warm-up.
    booting: list[Future[bool]] = [executor.submit(_ready) for _ in range(processes - 1)]
    shared = warm_pools(dict(base, start=0, count=0))
    to_share = processes - 1
    futures: dict[int, Future[tuple[bytes, list[dict[str, Any]] | None, int]]] = {}
    made: dict[int, tuple[bytes, list[dict[str, Any]] | None, int]] = {}
    unassigned = 0
    try:
        for i in range(len(plan)):
            while True:
                if stop is not None and stop():
                    return
                while unassigned < len(plan) and len(futures) < window:
                    start, count = plan[unassigned]
                    args = dict(base, start=start, count=count)
                    if to_share > 0:
                        args["pools"] = shared
                        to_share -= 1
                    futures[unassigned] = executor.submit(generate_chunk, args)
                    unassigned += 1
                if i in made:
                    result = made.pop(i)
                    break
                future = futures.get(i)
                if future is not None and future.done():
                    result = futures.pop(i).result()
                    break
                if future is None:  # assigned to nobody yet: make it here
                    result = local(i)
                    unassigned = max(unassigned, i + 1)
                    break
                if unassigned < len(plan) and len(made) < ahead:
                    made[unassigned] = local(unassigned)
                    unassigned += 1
                    continue
                result = futures.pop(i).result()
                break
            yield result
    finally:
        for future in futures.values():
            future.cancel()
        for boot in booting:
            boot.cancel()
        if own:
            executor.shutdown(wait=True, cancel_futures=True)

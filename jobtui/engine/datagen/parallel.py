"""Generation (and encoding) in several processes, delivered in order.

`parallel_chunks(...)` cuts a dataset's record range into batches and yields what
`generate.generate_chunk` makes of each, in record order. The calling process makes batches
itself and `processes - 1` helper processes make the others. Record values depend only on
(seed, dataset, field, record number), so the bytes are the same as one process would make
with the same batch size.

Why the caller generates too, and why results travel through files: on 2 cores, a caller
that only delivers leaves a core's worth of work to two helpers plus itself, and a helper
that sends a 2.6 MB batch through a pipe blocks until the caller reads it, which a caller
busy in Python does only between batches (the GIL). So a helper writes each result to a
spool file (tmpfs where there is one) and sends a few bytes saying it is there; it never
waits for the caller, and the caller picks results up between its own batches.

Helpers are started with the `forkserver` method (never `fork` from a process that may have
threads) and import the generator once; `GeneratorProcesses` starts them in a thread, so
the caller fills the Faker pools meanwhile and hands them over with the dataset, and no
helper repeats that warm-up (pool values depend only on the seed: the bytes do not
change). Until a helper has its pools, the caller makes every batch itself.

A helper that fails a batch or dies costs only speed: the caller makes that batch itself
(an error that is real then surfaces there, with its own traceback). A helper reads EOF
and exits when the caller goes away.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from jobtui.engine.datagen.generate import Chunk, generate_chunk, warm_pools

PRELOAD = [
    "jobtui.engine.datagen.parallel",
    "jobtui.engine.datagen.generate",
    "jobtui.engine.datagen.formats",
    "jobtui.engine.sinks.postgres",
    "faker",
    "orjson",
]

IN_FLIGHT = 2  # batches queued per helper, so it never waits for the caller to ask


def _spool_root() -> str | None:
    """tmpfs when the machine has one (results never touch a disk), else the default."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


SPOOL_PREFIX = "jobtui-spool-"


def _sweep_spools(root: str) -> None:
    """Remove spool directories left by workers that died without cleaning up (SIGKILL
    after a cancel's grace period): their names carry the owner's pid."""
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        if not name.startswith(SPOOL_PREFIX):
            continue
        pid_text = name[len(SPOOL_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
            continue  # alive (or not ours to signal): leave it
        except ProcessLookupError:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        except OSError:
            continue


def _serve(conn: Connection, spool: str) -> None:
    """A helper's loop: take the dataset (and its pools), then make batches until EOF."""
    base: dict[str, Any] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] == "dataset":
            base = message[1]
            try:
                # No records: this compiles the dataset and loads the pools it was sent.
                generate_chunk(dict(base, start=0, count=0))
                base.pop("pools", None)
                conn.send(("ready",))
            except Exception as exc:
                conn.send(("failed", None, f"{type(exc).__name__}: {exc}"))
            continue
        _, key, start, count = message
        try:
            data, records, n, encoded = generate_chunk(dict(base, start=start, count=count))
            path = os.path.join(spool, f"{os.getpid()}-{key}")
            pickled = records is not None or bool(encoded)
            with open(path, "wb") as fh:
                if pickled:
                    pickle.dump((data, records, encoded), fh, protocol=pickle.HIGHEST_PROTOCOL)
                else:
                    fh.write(data)
            conn.send(("done", key, path, n, pickled))
        except Exception as exc:
            conn.send(("failed", key, f"{type(exc).__name__}: {exc}"))


class _Helper:
    def __init__(self, conn: Connection, process: Any):
        self.conn = conn
        self.process = process
        self.ready = False
        self.alive = True
        self.assigned: list[int] = []


class GeneratorProcesses:
    """`count` helper processes for `parallel_chunks`, started in the background."""

    def __init__(self, count: int):
        method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        self._context: Any = multiprocessing.get_context(method)
        if method == "forkserver":
            self._context.set_forkserver_preload(PRELOAD)
        root = _spool_root() or tempfile.gettempdir()
        _sweep_spools(root)
        self.spool = tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-", dir=root)
        self.helpers: list[_Helper] = []
        self._count = max(0, count)
        self._closed = False
        # Starting a forkserver child waits for the server's imports (~0.3 s): do it beside
        # the caller, which opens sinks and fills pools meanwhile.
        self._starter = threading.Thread(target=self._start, name="jobtui-generators")
        self._starter.daemon = True
        self._starter.start()

    def _start(self) -> None:
        for _ in range(self._count):
            if self._closed:
                return
            ours, theirs = self._context.Pipe(duplex=True)
            process = self._context.Process(
                target=_serve, args=(theirs, self.spool), daemon=True, name="jobtui-generator"
            )
            try:
                process.start()
            except Exception:
                return  # no helpers: the caller makes every batch
            theirs.close()
            self.helpers.append(_Helper(ours, process))

    def started(self) -> list[_Helper]:
        self._starter.join()
        return [h for h in self.helpers if h.alive]

    def shutdown(self) -> None:
        self._closed = True
        self._starter.join()
        for helper in self.helpers:
            with contextlib.suppress(OSError, ValueError):
                helper.conn.send(None)
        for helper in self.helpers:
            helper.process.join(timeout=2)
            if helper.process.is_alive():
                helper.process.kill()
                helper.process.join(timeout=2)
            helper.conn.close()
        self.helpers = []
        shutil.rmtree(self.spool, ignore_errors=True)


def make_pool(processes: int) -> GeneratorProcesses:
    """`processes` helper processes (the caller is not counted), starting now."""
    return GeneratorProcesses(processes)


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
    encodings: Sequence[str] = (),
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
        "encodings": list(encodings),
    }


def _load(path: str, pickled: bool, n: int) -> Chunk:
    with open(path, "rb") as fh:
        raw = fh.read()
    with contextlib.suppress(OSError):
        os.unlink(path)
    if not pickled:
        return raw, None, n, {}
    data, records, encoded = pickle.loads(raw)
    return data, records, n, encoded


def parallel_chunks(
    base: Mapping[str, Any],
    batch_size: int,
    processes: int,
    *,
    pool: GeneratorProcesses | None = None,
    ahead: int = 8,
    stop: Callable[[], bool] | None = None,
    report: Callable[[str], None] | None = None,
) -> Iterator[Chunk]:
    """(bytes, records or None, n, {encoding: rows}) of each batch of `base["total"]`
    records, in order (see `generate_chunk`).

    `processes` counts the calling process. Helpers are given batches in order
    (`IN_FLIGHT` each); the caller delivers the next batch when it is ready and otherwise
    makes the next unassigned one itself, keeping at most `ahead` made batches waiting
    (memory stays flat). `pool`: helpers to reuse (else `processes - 1` are started and
    stopped here). `stop()` is polled between batches. `report(text)` gets a line on how
    the work was shared, at the end.
    """
    total = int(base["total"])
    batch_size = max(1, int(batch_size))
    plan = [(start, min(batch_size, total - start)) for start in range(0, total, batch_size)]

    def local(i: int) -> Chunk:
        start, count = plan[i]
        return generate_chunk(dict(base, start=start, count=count))

    if processes <= 1 or len(plan) < 2:
        for i in range(len(plan)):
            if stop is not None and stop():
                return
            yield local(i)
        return
    own = pool is None
    began = time.monotonic()
    helpers = pool or make_pool(processes - 1)
    pools = warm_pools(dict(base, start=0, count=0))
    warmed = time.monotonic() - began
    ready_after: list[float] = []
    by_caller = 0
    waited = 0.0  # the caller's time spent waiting for a helper's batch
    live = helpers.started()
    for helper in live:
        helper.assigned = []
        helper.ready = False
        try:
            helper.conn.send(("dataset", dict(base, pools=pools)))
        except (OSError, ValueError):
            helper.alive = False
    del pools
    owner: dict[int, _Helper] = {}  # batch -> the helper making it
    done: dict[int, tuple[str, bool, int]] = {}  # batch -> (spool path, pickled, n)
    made: dict[int, Chunk] = {}
    unassigned = 0

    def lost(helper: _Helper) -> None:
        helper.alive = False
        for key in helper.assigned:
            owner.pop(key, None)  # the caller makes it
        helper.assigned = []

    def receive(helper: _Helper) -> None:
        try:
            while helper.conn.poll():
                message = helper.conn.recv()
                if message[0] == "ready":
                    helper.ready = True
                    ready_after.append(time.monotonic() - began)
                elif message[0] == "done":
                    _, key, path, n, pickled = message
                    done[key] = (path, pickled, n)
                    owner.pop(key, None)
                    helper.assigned.remove(key)
                elif message[0] == "failed":
                    key = message[1]
                    if key is None:
                        lost(helper)
                        return
                    owner.pop(key, None)
                    helper.assigned.remove(key)
        except (EOFError, OSError):
            lost(helper)

    def assign() -> None:
        nonlocal unassigned
        for helper in live:
            if not helper.alive:
                continue
            receive(helper)
            while helper.alive and helper.ready and len(helper.assigned) < IN_FLIGHT:
                if unassigned >= len(plan):
                    return
                start, count = plan[unassigned]
                try:
                    helper.conn.send(("batch", unassigned, start, count))
                except (OSError, ValueError):
                    lost(helper)
                    break
                helper.assigned.append(unassigned)
                owner[unassigned] = helper
                unassigned += 1

    try:
        for i in range(len(plan)):
            while True:
                if stop is not None and stop():
                    return
                assign()
                if i in made:
                    result = made.pop(i)
                    break
                if i in done:
                    result = _load(*done.pop(i))
                    break
                maker = owner.get(i)
                if maker is None:  # nobody has it (not yet given out, or a helper failed)
                    by_caller += 1
                    result = local(i)
                    unassigned = max(unassigned, i + 1)
                    break
                if unassigned < len(plan) and len(made) < ahead:
                    by_caller += 1
                    made[unassigned] = local(unassigned)
                    unassigned += 1
                    continue
                waiting = time.monotonic()
                wait([maker.conn], timeout=0.25)  # then receive() in assign()
                waited += time.monotonic() - waiting
            yield result
        if report is not None:
            ready = ", ".join(f"{t:.2f} s" for t in ready_after) or "never"
            report(
                f"parallel generation: pools filled in {warmed:.2f} s; helper(s) ready after "
                f"{ready}; this process made {by_caller} of {len(plan)} batches in "
                f"{time.monotonic() - began:.2f} s, waiting {waited:.2f} s of it for helpers"
            )
    finally:
        for path, _, _ in done.values():
            with contextlib.suppress(OSError):
                os.unlink(path)
        if own:
            helpers.shutdown()
        else:
            # Drain what the helpers are still making for this dataset, so the next one
            # starts with empty queues.
            for helper in live:
                while helper.alive and helper.assigned:
                    if not wait([helper.conn], timeout=5):
                        lost(helper)
                        break
                    receive(helper)
            for path, _, _ in done.values():
                with contextlib.suppress(OSError):
                    os.unlink(path)
            for helper in live:
                if not helper.alive:
                    with contextlib.suppress(Exception):
                        helper.process.kill()
                    helper.conn.close()
            helpers.helpers = [h for h in helpers.helpers if h.alive]

"""Generation (and encoding) in several processes, delivered in order.

`parallel_chunks(...)` cuts a dataset's record range into batches and yields what
`generate.generate_chunk` makes of each, in record order. The calling process makes batches
itself and `processes - 1` helper processes make the others. Record values depend only on
(seed, dataset, field, record number), so the bytes are the same as one process would make
with the same batch size.

Why the caller generates too, and why results travel through shared memory: on 2 cores, a
caller that only delivers leaves a core's worth of work to two helpers plus itself, and a
helper that sends a 2.6 MB batch through a pipe blocks until the caller reads it, which a
caller busy in Python does only between batches (the GIL). So each helper has a few slots
in one file both processes map (tmpfs where there is one): a batch given out holds a slot,
the helper writes its result there and sends a few bytes saying so, and the caller copies
it out between its own batches and frees the slot. The helper never waits for the caller.
A result bigger than a slot goes into a spool file of its own.

Helpers are started with the `forkserver` method (never `fork` from a process that may have
threads), whose server imports the generator once; the worker starts that server before its
own imports (`prestart.py`). `GeneratorProcesses` starts the helpers in a thread and sends
each the dataset as soon as it is up, with a share of the Faker pools to fill: the caller
fills its own share meanwhile, takes the helpers' shares when they come (filling whatever
has not come in time itself) and hands every helper the rest. Pool values depend only on
the seed, so who filled a pool does not change the bytes. Until a helper has its pools,
the caller makes every batch itself.

A helper that fails a batch or dies costs only speed: the caller makes that batch itself
(an error that is real then surfaces there, with its own traceback). A helper reads EOF
and exits when the caller goes away.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, NamedTuple

from jobtui.engine.datagen.generate import (
    Chunk,
    fill_share,
    generate_chunk,
    load_pools,
    pool_shares,
    warm_pools,
)
from jobtui.engine.datagen.prestart import helper_context
from jobtui.engine.datagen.spool import SPOOL_PREFIX, spool_root, sweep_spools
from jobtui.paths import open_private

# Batches queued per helper, so it never waits for the caller to ask. Between two top-ups
# the caller makes a batch itself (~10 ms) and hands one to the sink; with 2 queued a helper
# still ran dry for 0.03-0.10 s of a 3M-record run, with 3 for ~0.005 s.
IN_FLIGHT = 3
# Each helper's results go into slots of one shared file mapped by both processes: a batch
# given out holds a slot until the caller has read it. Pages are touched once and reused,
# where a spool file per batch cost ~0.9 ms a batch (allocate, copy, read, free on tmpfs)
# against ~0.06 ms. A result bigger than a slot goes through a spool file instead.
SLOT_SIZE = 4 << 20
RING_SLOTS = IN_FLIGHT + 2
# A helper's share of the Faker pools comes back through this slot: it is written before
# any batch is taken (messages are handled in order) and read before any is given out.
SHARE_SLOT = 0
# How long the caller waits for the helpers' shares once it has filled its own, as a
# multiple of the time its own took (the shares are of equal size; a helper that has not
# delivered by then is late, and the caller fills its share itself).
SHARE_PATIENCE = 1.0


class Result(NamedTuple):
    """Where a helper put a batch: `path` a spool file, or None for the batch's slot."""

    path: str | None
    size: int
    n: int
    pickled: bool


def _open_ring(path: str | None, slot_size: int) -> mmap.mmap | None:
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        return mmap.mmap(fd, RING_SLOTS * slot_size)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def _serve(conn: Connection, spool: str, ring_path: str | None, slot_size: int) -> None:
    """A helper's loop: take the dataset (and its pools), then make batches until EOF."""
    base: dict[str, Any] = {}
    ring = _open_ring(ring_path, slot_size)

    def put(payload: bytes, slot: int | None, name: str) -> tuple[str | None, int]:
        """Write a result into its slot, or a spool file when there is no ring or it does
        not fit: (the file or None, its size). Only a few bytes go through the pipe, so
        this never waits for the caller to read."""
        if ring is not None and slot is not None and len(payload) <= slot_size:
            offset = slot * slot_size
            ring[offset : offset + len(payload)] = payload
            return None, len(payload)
        path = os.path.join(spool, f"{os.getpid()}-{name}")
        with open_private(path, "wb") as fh:
            fh.write(payload)
        return path, len(payload)

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] in ("dataset", "pools"):
            try:
                if message[0] == "dataset":
                    # Sent as soon as this helper starts, with its share of the pools to
                    # fill beside the caller (None: the caller has them all already).
                    _, base, share, shares, greeting = message
                    if share is None:
                        generate_chunk(dict(base, start=0, count=0))  # compile only
                    else:
                        keys = pool_shares(dict(base, start=0, count=0), shares)[share]
                        # A message waiting means the caller has every pool already.
                        filled = fill_share(base, keys, stop=conn.poll)
                        pools = pickle.dumps(filled, pickle.HIGHEST_PROTOCOL)
                        path, size = put(pools, SHARE_SLOT, "pools")
                        conn.send(("filled", greeting, Result(path, size, 0, True)))
                else:
                    generate_chunk(dict(base, pools=message[1], start=0, count=0))
                    conn.send(("ready",))
            except Exception as exc:
                conn.send(("failed", None, f"{type(exc).__name__}: {exc}"))
            continue
        _, key, start, count, slot = message
        try:
            data, records, n, encoded = generate_chunk(dict(base, start=start, count=count))
            pickled = records is not None or bool(encoded)
            payload = (
                pickle.dumps((data, records, encoded), protocol=pickle.HIGHEST_PROTOCOL)
                if pickled
                else data
            )
            path, size = put(payload, slot, str(key))
            conn.send(("done", key, Result(path, size, n, pickled)))
        except Exception as exc:
            conn.send(("failed", key, f"{type(exc).__name__}: {exc}"))


# -- helpers forked ahead by the warm launcher's spare (run/zygote.py) ----------------------
# (its connection, the process) of each helper the worker's process forked before its
# threads existed: `GeneratorProcesses` takes these first, and starts others only when
# there are too few. A fork of a process that has every module already costs milliseconds,
# where a forkserver's first helper waits ~0.25 s for the server's imports.
FORKED: list[tuple[Connection, Any]] = []


class ForkedHelper:
    """A helper process forked by this process (not by multiprocessing): what
    `GeneratorProcesses.shutdown` asks of a `Process`."""

    def __init__(self, pid: int):
        self.pid = pid
        self.exitcode: int | None = None

    def _poll(self) -> bool:
        if self.exitcode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.exitcode = -1
                return True
            if pid == 0:
                return False
            self.exitcode = os.waitstatus_to_exitcode(status)
        return True

    def is_alive(self) -> bool:
        return not self._poll()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._poll():
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(0.01)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, 9)


def fork_helpers(count: int) -> None:
    """Fork `count` helpers now (into `FORKED`). Only from a process without threads (the
    warm launcher's spare, before the worker starts any): a helper waits for where to put
    its results, then serves like one multiprocessing started."""
    import socket

    for _ in range(count):
        try:
            ours, theirs = socket.socketpair()
            pid = os.fork()
        except OSError:
            return
        if pid == 0:  # pragma: no cover - the child ends in os._exit
            code = 0
            try:
                ours.close()
                for conn, _ in FORKED:
                    conn.close()
                conn = Connection(theirs.detach())
                try:
                    spool, ring_path, slot_size = conn.recv()
                except (EOFError, OSError):
                    os._exit(0)
                _serve(conn, spool, ring_path, slot_size)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        FORKED.append((Connection(ours.detach()), ForkedHelper(pid)))


def release_forked() -> None:
    """Let the helpers forked ahead that no pool took go (they read EOF and exit)."""
    while FORKED:
        conn, process = FORKED.pop()
        conn.close()
        process.join(2)
        if process.is_alive():
            process.kill()
            process.join(2)


class _Helper:
    def __init__(
        self, number: int, conn: Connection, process: Any, ring: mmap.mmap | None, slot_size: int
    ):
        self.number = number  # its share of the pools is number + 1 (the caller's is 0)
        self.conn = conn
        self.process = process
        self.ring = ring
        self.slot_size = slot_size
        self.free = list(range(RING_SLOTS)) if ring is not None else []
        self.slots: dict[int, int] = {}  # batch -> its slot
        self.alive = True
        self.assigned: list[int] = []
        self.sharing = False  # given a share of the current dataset's pools, not yet back
        self.filled: set[Any] = set()  # the keys of the pools it filled

    def take_slot(self, key: int) -> int | None:
        """A free slot for the batch, or None: its result then goes through a spool file
        (a helper never waits for the caller to free a slot)."""
        if not self.free:
            return None
        slot = self.free.pop()
        self.slots[key] = slot
        return slot

    def release(self, key: int) -> None:
        slot = self.slots.pop(key, None)
        if slot is not None:
            self.free.append(slot)

    def read(self, slot: int | None, result: Result) -> bytes:
        """What the helper put in `slot` or in the result's spool file."""
        if result.path is None:
            assert self.ring is not None and slot is not None
            offset = slot * self.slot_size
            return self.ring[offset : offset + result.size]
        with open(result.path, "rb") as fh:
            return fh.read()

    def load(self, key: int, result: Result) -> Chunk:
        """The batch's chunk; its slot or spool file is free again."""
        raw = self.read(self.slots.get(key), result)
        self.discard(key, result)
        if not result.pickled:
            return raw, None, result.n, {}
        data, records, encoded = pickle.loads(raw)
        return data, records, result.n, encoded

    def discard(self, key: int, result: Result | None) -> None:
        self.release(key)
        self.remove(result)

    @staticmethod
    def remove(result: Result | None) -> None:
        """Delete the result's spool file, if it has one."""
        if result is not None and result.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(result.path)

    def close(self) -> None:
        self.conn.close()
        if self.ring is not None:
            self.ring.close()
            self.ring = None


class GeneratorProcesses:
    """`count` helper processes for `parallel_chunks`, started in the background."""

    def __init__(self, count: int, slot_size: int = SLOT_SIZE):
        self.slot_size = slot_size
        self._context: Any = helper_context()
        root = spool_root()
        sweep_spools(root)
        self.spool = tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-", dir=root)
        self.helpers: list[_Helper] = []
        self._count = max(0, count)
        self._closed = False
        # The starter thread and the caller both send first messages: one at a time.
        self._lock = threading.Lock()
        self._greeting: tuple[dict[str, Any], int] | None = None  # the dataset, shares
        self._sharing = False
        # Greetings are numbered: a share that comes back is the current dataset's.
        self.greetings = 0
        # Starting a forkserver child waits for the server's imports (~0.25 s) unless the
        # worker started it first: do it beside the caller, which opens sinks meanwhile.
        self._starter = threading.Thread(target=self._start, name="jobtui-generators")
        self._starter.daemon = True
        self._starter.start()

    def _make_ring(self, number: int) -> tuple[str | None, mmap.mmap | None]:
        """A helper's slots: a file in the spool directory, its space reserved now (a
        mapped page tmpfs cannot back would kill the process that touches it)."""
        path = os.path.join(self.spool, f"ring-{number}")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return None, None
        try:
            os.posix_fallocate(fd, 0, RING_SLOTS * self.slot_size)
            return path, mmap.mmap(fd, RING_SLOTS * self.slot_size)
        except (OSError, ValueError, AttributeError):
            with contextlib.suppress(OSError):
                os.unlink(path)
            return None, None  # spool files only
        finally:
            os.close(fd)

    def _start(self) -> None:
        for number in range(self._count):
            if self._closed:
                return
            ring_path, ring = self._make_ring(number)
            if FORKED:  # forked ahead: told where its results go, and it serves
                ours, process = FORKED.pop(0)
                try:
                    ours.send((self.spool, ring_path, self.slot_size))
                except (OSError, ValueError):
                    ours.close()
                    process.kill()
                    process.join(2)
                    if ring is not None:
                        ring.close()
                    continue  # this one is gone: the next (or the caller) does its work
                helper = _Helper(number, ours, process, ring, self.slot_size)
                with self._lock:
                    self.helpers.append(helper)
                    self._greet(helper)
                continue
            ours, theirs = self._context.Pipe(duplex=True)
            process = self._context.Process(
                target=_serve,
                args=(theirs, self.spool, ring_path, self.slot_size),
                daemon=True,
                name="jobtui-generator",
            )
            try:
                process.start()
            except Exception:
                if ring is not None:
                    ring.close()
                return  # no helpers: the caller makes every batch
            theirs.close()
            helper = _Helper(number, ours, process, ring, self.slot_size)
            with self._lock:
                self.helpers.append(helper)
                self._greet(helper)

    @staticmethod
    def _send(helper: _Helper, message: Any) -> None:
        try:
            helper.conn.send(message)
        except (OSError, ValueError):
            helper.alive = False

    def _greet(self, helper: _Helper) -> None:
        if self._greeting is None or not helper.alive:
            return
        base, shares = self._greeting
        share = helper.number + 1 if self._sharing and helper.number + 1 < shares else None
        helper.sharing = share is not None
        helper.filled = set()
        self._send(helper, ("dataset", base, share, shares, self.greetings))

    def greet(self, base: dict[str, Any], shares: int) -> None:
        """Send every helper the dataset and its share of the pools (of `shares`) now, or
        as soon as it has started, without waiting for the helpers to start."""
        with self._lock:
            self.greetings += 1
            self._greeting = (base, shares)
            self._sharing = shares > 1
            for helper in self.helpers:
                self._greet(helper)

    def stop_sharing(self) -> None:
        """Helpers that start from now on get no share (the caller has every pool)."""
        with self._lock:
            self._sharing = False

    def current(self) -> list[_Helper]:
        """The helpers started so far and alive (the starter may still be at work)."""
        with self._lock:
            return [h for h in self.helpers if h.alive]

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
            helper.close()
        self.helpers = []
        shutil.rmtree(self.spool, ignore_errors=True)


def make_pool(processes: int, slot_size: int = SLOT_SIZE) -> GeneratorProcesses:
    """`processes` helper processes (the caller is not counted), starting now; results up
    to `slot_size` bytes travel through shared memory, bigger ones through spool files."""
    return GeneratorProcesses(processes, slot_size)


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
    helpers.greet(dict(base), processes)
    warming = True
    from_helpers: list[Any] = []  # the keys of the pools helpers filled
    ready_after: list[float] = []
    by_caller = 0
    waited = 0.0  # the caller's time spent waiting for a helper's batch
    owner: dict[int, _Helper] = {}  # batch -> the helper making it
    done: dict[int, tuple[_Helper, Result]] = {}  # batch -> who made it, and where
    made: dict[int, Chunk] = {}
    unassigned = 0

    def lost(helper: _Helper) -> None:
        helper.alive = False
        for key in helper.assigned:
            owner.pop(key, None)  # the caller makes it
            helper.release(key)
        helper.assigned = []

    def receive(helper: _Helper) -> None:
        try:
            while helper.conn.poll():
                message = helper.conn.recv()
                if message[0] == "ready":
                    ready_after.append(time.monotonic() - began)
                elif message[0] == "filled":
                    _, greeting, where = message
                    if greeting == helpers.greetings:  # else an earlier dataset's
                        helper.sharing = False
                        if warming:  # else too late: the caller filled them itself
                            share = pickle.loads(helper.read(SHARE_SLOT, where))
                            load_pools(dict(base), share)
                            helper.filled = set(share)
                            from_helpers.extend(share)
                    helper.remove(where)
                elif message[0] == "done":
                    _, key, result = message
                    done[key] = (helper, result)
                    owner.pop(key, None)
                    helper.assigned.remove(key)
                elif message[0] == "failed":
                    key = message[1]
                    if key is None:  # its dataset or pools: it cannot make batches
                        lost(helper)
                        return
                    owner.pop(key, None)
                    helper.assigned.remove(key)
                    helper.release(key)
        except (EOFError, OSError):
            lost(helper)

    def assign() -> None:
        nonlocal unassigned
        for helper in live:
            if not helper.alive:
                continue
            receive(helper)
            # Batches go out before the helper says it has its pools (it takes messages
            # in order), so it starts on one the moment it is ready.
            while helper.alive and len(helper.assigned) < IN_FLIGHT:
                if unassigned >= len(plan):
                    break  # not return: the next helpers must still be read from
                start, count = plan[unassigned]
                slot = helper.take_slot(unassigned)
                try:
                    helper.conn.send(("batch", unassigned, start, count, slot))
                except (OSError, ValueError):
                    helper.release(unassigned)
                    lost(helper)
                    break
                helper.assigned.append(unassigned)
                owner[unassigned] = helper
                unassigned += 1

    def warm_up() -> dict[Any, list[Any]]:
        """Fill the caller's share of the pools, take the helpers' shares when they come
        (waiting `SHARE_PATIENCE` at most: the caller then fills them itself) and return
        every pool."""
        nonlocal warming
        args = dict(base, start=0, count=0)
        keys = pool_shares(args, processes)
        sharing_began = time.monotonic()
        fill_share(args, keys[0])
        deadline = time.monotonic() + SHARE_PATIENCE * (time.monotonic() - sharing_began)
        while True:
            for helper in helpers.current():
                receive(helper)
            busy = [h for h in helpers.current() if h.sharing]
            left = deadline - time.monotonic()
            if not busy or left <= 0:
                break
            wait([h.conn for h in busy], timeout=left)
        helpers.stop_sharing()
        warming = False
        return warm_pools(args)  # whatever did not come in time, and the rest

    live: list[_Helper] = []
    try:
        pools = warm_up()
        warmed = time.monotonic() - began
        pool_count = len(pools)
        live = helpers.started()
        for helper in live:
            helper.assigned = []
            try:
                helper.conn.send(
                    ("pools", {k: v for k, v in pools.items() if k not in helper.filled})
                )
            except (OSError, ValueError):
                helper.alive = False
        del pools
        for i in range(len(plan)):
            while True:
                if stop is not None and stop():
                    return
                assign()
                if i in made:
                    result = made.pop(i)
                    break
                if i in done:
                    made_by, where = done.pop(i)
                    result = made_by.load(i, where)
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
                f"parallel generation: pools filled in {warmed:.2f} s ({len(from_helpers)} of "
                f"{pool_count} by helpers); helper(s) ready after "
                f"{ready}; this process made {by_caller} of {len(plan)} batches in "
                f"{time.monotonic() - began:.2f} s, waiting {waited:.2f} s of it for helpers"
            )
    finally:
        for key, (made_by, where) in done.items():
            made_by.discard(key, where)
        done.clear()
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
            for key, (made_by, where) in done.items():
                made_by.discard(key, where)
            for helper in live:
                if not helper.alive:
                    with contextlib.suppress(Exception):
                        helper.process.kill()
                    helper.close()
            helpers.helpers = [h for h in helpers.helpers if h.alive]

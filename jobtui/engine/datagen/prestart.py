"""Starting the generating helpers' forkserver as the worker starts, before its imports.

A helper comes from a `multiprocessing` forkserver, which first imports the generator
(`PRELOAD`, ~0.25 s). Started when the run's pipeline asks for helpers, that comes on top
of the worker's own imports and set-up, and the helper is up only after the caller has
filled the Faker pools alone. Started here, from `python -m jobtui.engine.run.worker` before it
imports the engine, the server boots on the other core while the worker imports, and the
helper is there to fill its share of the pools (see `parallel.py`).

Only stdlib imports: this runs before anything else in the worker. `helpers_wanted` reads
the run's settings straight from the database; it is a hint (a wrong guess costs a
forkserver nobody uses, or the later start), never what the run does.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
from typing import Any

PRELOAD = [
    "jobtui.engine.datagen.parallel",
    "jobtui.engine.datagen.generate",
    "jobtui.engine.datagen.formats",
    "jobtui.engine.sinks.postgres",
    "faker",
    "orjson",
]


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # the worker's own parsing reports it
        raise ValueError(message)


def worker_arguments(argv: list[str] | None, *, quiet: bool = False) -> argparse.Namespace:
    """The worker's command line (`quiet`: bad arguments raise ValueError, nothing printed)."""
    kind = _QuietParser if quiet else argparse.ArgumentParser
    parser = kind(prog="python -m jobtui.engine.run.worker")
    parser.add_argument("--db", required=True, help="the jobtui database file")
    parser.add_argument("--data-dir", default=None, help="the data directory")
    parser.add_argument("run_id", type=int)
    return parser.parse_args(argv)


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def processes_for(threads: int, flush_each_record: bool = False) -> int:
    """Processes a run with `threads` generates in: no more than the CPUs it may use (on 2
    CPUs, 8 processes made 1M users at 0.65x the rate of 2, and each holds ~20 MB of
    shared memory), and one with flush_each_record (each record reaches the sink before
    the next is made)."""
    if flush_each_record:
        return 1
    return max(1, min(int(threads), usable_cpus()))


def start_method() -> str:
    """How helpers start: `forkserver` (never `fork` from a process that may have threads)
    where there is one, else `spawn`."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def helper_context() -> Any:
    """The multiprocessing context helpers start from, its forkserver set to preload the
    generator."""
    from jobtui.engine.datagen.spool import multiprocessing_temp_in_spool

    multiprocessing_temp_in_spool()
    method = start_method()
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    return context


def helpers_wanted(db_path: str, run_id: int) -> int:
    """How many helper processes the run will ask for (`processes_for` its `threads`, the
    run's override first, - 1), 0 for a command job, `flush_each_record`, a replay or any
    doubt."""
    from jobtui.engine.store.hints import run_settings

    found = run_settings(db_path, run_id)
    if found is None:
        return 0
    return helpers_for(*found)


def helpers_for(options: dict[str, Any], spec: dict[str, Any]) -> int:
    """`helpers_wanted` of a run's options and its job version's spec."""
    try:
        datagen = spec.get("datagen")
        if not isinstance(datagen, dict) or options.get("replay_of") is not None:
            return 0
        threads = options.get("threads") or datagen.get("threads") or 1
        return processes_for(int(threads), bool(datagen.get("flush_each_record"))) - 1
    except (ValueError, TypeError, AttributeError):
        return 0


def prestart(argv: list[str]) -> None:
    """Start the helpers' forkserver now when the run in `argv` will want helpers. Never
    fails: without it the pipeline starts the server itself, later."""
    with contextlib.suppress(Exception):
        args = worker_arguments(argv, quiet=True)
        if helpers_wanted(args.db, args.run_id) and start_method() == "forkserver":
            from multiprocessing import forkserver

            helper_context()
            forkserver.ensure_running()

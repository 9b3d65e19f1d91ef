"""The executor seam: where a claimed run executes, behind one protocol.

`Supervisor` is what the daemon (and `wait_for_run` without a daemon) ticks: it claims due
queued runs through the lifecycle, hands each to the executor of its job's `queue` (a
registry name → executor it is given), lets every executor watch its runs, and reports the
runs that ended. `LocalExecutor` (run/local.py) starts one worker process per run on this
host; another executor (Celery workers on other hosts, reporting over Redis) implements the
same protocol, and its workers run the same body through `run.context.execute` with their
own RunReporter. See docs/INTERNALS.md, "Adding an executor".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

from jobtui.engine.model.clock import Clock, SystemClock
from jobtui.engine.model.durations import parse_duration
from jobtui.engine.model.types import Run
from jobtui.engine.run import lifecycle
from jobtui.engine.run.proc import group_members
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store

__all__ = ["Executor", "Supervisor", "group_members", "run_timeout"]

# The timing contract between workers and whatever watches them.
HEARTBEAT_INTERVAL = 1.0
# A live worker silent for this many heartbeats (and at least STALE_MIN seconds: a loaded
# machine delays threads and SQLite writes) is hung. A dead worker is found at once by its pid.
STALE_HEARTBEATS = 3
STALE_MIN = 15.0
STARTUP_GRACE = 60.0  # a worker not yet started (importing, opening the store) may take this
GRACE = 10.0  # between asking a run to stop (SIGTERM) and making it (SIGKILL)
REMOTE = "*"  # the registry key of the executor of every queue but `local` (celery_exec.py)


def run_timeout(spec: dict[str, Any]) -> float | None:
    value = (spec.get("policies") or {}).get("timeout")
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None


class Executor(Protocol):
    """Where runs execute. The supervisor claims a run (queued → running) before `submit`;
    the executor then owns it until it ends: it finishes it through the lifecycle when its
    worker cannot (gone, hung, timed out), and reports it from `watch` once ended."""

    name: str

    def has_room(self) -> bool:
        """Whether it takes another run now."""
        ...

    def submit(self, run_id: int) -> None:
        """Start a claimed run (a run it cannot start, it finishes as failed)."""
        ...

    def cancel(self, run_id: int) -> None:
        """Make a run whose cancel was requested stop now."""
        ...

    def watch(self) -> list[int]:
        """One pass over its running runs, those it started and those it finds in the store
        (so after a restart it adopts live workers and ends dead ones): enforce cancel and
        timeouts, end runs whose worker is gone. The ids of the runs that ended since the
        last pass."""
        ...

    def stop_all(self, grace: float) -> None:
        """Cancel every run it started here and wait up to `grace` for them."""
        ...


class Supervisor:
    """Claims due queued runs, routes each to its queue's executor, watches them all."""

    def __init__(
        self,
        store: Store,
        executors: Mapping[str, Executor],
        clock: Clock | None = None,
        *,
        epoch: int | None = None,
        on_run_finished: Callable[[Run], None] | None = None,
        only_runs: Collection[int] | None = None,
    ):
        self.store = store
        self.executors = dict(executors)
        self.clock: Clock = clock or SystemClock()
        self.epoch = epoch
        self.on_run_finished = on_run_finished
        self.only_runs = set(only_runs) if only_runs is not None else None

    def tick(self, start_queued: bool = True) -> None:
        """One pass: every executor watches its runs, then (unless draining) due queued
        runs are claimed and started."""
        for executor in self.executors.values():
            for run_id in executor.watch():
                self._ended(run_id)
        if start_queued:
            self._start_queued()

    def _ended(self, run_id: int) -> None:
        if self.on_run_finished is None:
            return
        try:
            run = run_rows.get_run(self.store, run_id)
        except Exception:
            return
        if run.state.is_final:
            self.on_run_finished(run)

    def _start_queued(self) -> None:
        if not any(e.has_room() for e in self.executors.values()):
            return
        for row in run_rows.queued_due(self.store, self.clock.now(), self.only_runs):
            executor = self.route(row["queue"])
            if executor is None:
                continue  # no executor serves this queue here: the run waits
            if not executor.has_room():
                if executor is self.executors.get(row["queue"]):
                    return
                continue  # the remote executor is full or its broker is down: others go on
            self.start(int(row["id"]), executor)

    def route(self, queue: str) -> Executor | None:
        """The executor of a queue: its own entry, else the one registered as REMOTE ("*",
        the Celery executor, which serves every queue but `local`)."""
        executor = self.executors.get(queue)
        if executor is None and queue != "local":
            executor = self.executors.get(REMOTE)
        return executor

    def start(self, run_id: int, executor: Executor) -> bool:
        """Claim a queued run for `executor` and submit it; False when someone else took it."""
        now = self.clock.now()
        if not lifecycle.claim(self.store, run_id, now, epoch=self.epoch, executor=executor.name):
            return False
        executor.submit(run_id)
        return True

    def stop_all(self, grace: float | None = None) -> None:
        """Cancel every run started here (a foreground run interrupted by ^C)."""
        for executor in self.executors.values():
            with contextlib.suppress(Exception):
                executor.stop_all(GRACE if grace is None else grace)
        self.tick(start_queued=False)

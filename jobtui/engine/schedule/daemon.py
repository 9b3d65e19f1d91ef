"""The daemon: the only process that fires schedules (DESIGN.md §1). This module is its
loop; its parts are the lease (lease.py), firing (firing.py), post-run (postrun.py) and
start-up (startup.py), each a base class of `Daemon`, and starting one in the background
(detach.py).

The core is driven by the clock it is given: tests build one with
`engine.make_daemon(use_scheduler=False)` on a `ManualClock` and call `startup()` and `step()`.
The daemon never sees the facade: it gets the store, the clock, the data directory, its
executors (by queue name) and the few callables it needs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jobtui.engine.model.clock import Clock
from jobtui.engine.model.types import Run, RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.run.executor import Executor, Supervisor
from jobtui.engine.run.proc import group_alive, signal_group
from jobtui.engine.schedule.firing import Scheduled, StartReport
from jobtui.engine.schedule.lease import (
    HEARTBEAT_S,
    DaemonRunning,
    LeaseLost,
    log,
)
from jobtui.engine.schedule.startup import Startup
from jobtui.engine.store import lease, space
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store

__all__ = ["Daemon", "DaemonRunning", "LeaseLost"]

TICK_S = 0.25  # queued runs, cancel requests, finished runs, job changes
# With the doorbell (run/doorbell.py) clients and workers wake the loop when they queue,
# cancel or finish a run, so the poll is only the safety net.
POLL_WITH_DOORBELL_S = 1.0
# On a full disk: how long the runs' workers get to stop before SIGKILL (the reserve is
# given up after, so that what they still write cannot take it).
SPACE_STOP_GRACE_S = 1.5
WAKE = 0  # on the due queue: not a job id (ids start at 1), just "look now"
SAFETY_SCAN_S = 5.0  # overdue fires the timer may have dropped
DEFAULT_GRACE_S = 30.0


class Daemon(Startup):
    """The scheduler loop over one database. See the module docstring."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        data_dir: Path,
        *,
        ensure_system_jobs: Callable[[], object] | None = None,
        grace: float = DEFAULT_GRACE_S,
        use_scheduler: bool = True,
        executors: Mapping[str, Executor] | None = None,
        tick: float = TICK_S,
        heartbeat: float = HEARTBEAT_S,
    ):
        self.store = store
        self.clock = clock
        self.data_dir = Path(data_dir)
        self._ensure_system_jobs = ensure_system_jobs
        self.grace = grace
        self.use_scheduler = use_scheduler
        self.tick = tick
        self.heartbeat = heartbeat
        self.epoch = 0
        self.paused = False
        self.draining = False
        self.lost = False
        self.report = StartReport()
        self._lock_fd: int | None = None
        self._jobs: dict[int, Scheduled] = {}
        self._next: dict[int, float] = {}  # mirror of jobs.next_fire_at for scheduled jobs
        self._change_seq = -1
        self._due: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._scheduler: Any = None
        # Where runs execute, by queue name (`local`: a worker process per run). None given:
        # this daemon fires schedules and applies post-run but starts no run.
        self.executors: dict[str, Executor] = dict(executors or {})
        self.supervisor: Supervisor | None = None
        self._alerts: Any = None
        self._last_flags = 0.0
        self._held_fires = False
        self._started_at = 0.0
        self._last_safety = 0.0
        self._heartbeat_thread: threading.Thread | None = None
        self._holder: dict[str, Any] = {}
        # A full disk under the database: what the daemon says about it (None: all well),
        # and whether the runs it had to stop are all recorded as stopped.
        self.condition: str | None = None
        self._reason = ""
        self._full_since = 0.0  # monotonic: a write refused for room is not forgotten at once
        self._runs_stopped = True
        self._doorbell: Any = None

    def _on_run_finished(self, run: Run) -> None:
        # Called by the supervisor when a run ends: apply retry/alerts at once.
        try:
            self.finish_run(int(run.id))
        except LeaseLost:
            raise
        except Exception:  # never let the hook break the supervisor
            log.exception("post-processing run %s failed", run.id)

    def _supervise(self) -> None:
        """Start due queued runs on their executors (unless paused or draining) and watch
        the running ones."""
        if not self.executors:
            return
        if self.supervisor is None:
            self.supervisor = Supervisor(
                self.store, self.executors, self.clock, on_run_finished=self._on_run_finished
            )
        self.supervisor.epoch = self.epoch
        try:
            self.supervisor.tick(start_queued=not (self.paused or self.draining or self.condition))
        except LeaseLost:
            raise
        except Exception:
            log.exception("supervisor tick failed")

    def _read_pause(self) -> None:
        row = lease.read(self.store)
        if row is None:
            return
        if row.epoch != self.epoch:
            self.lost = True
            self._stop.set()
            return
        was = self.paused
        self.paused = row.paused
        if was and not self.paused:
            log.info("resumed")
            self._fire_overdue()
        elif self.paused and not was:
            log.info("paused: no new fires; running runs finish")

    def step(self) -> None:
        """One pass of the loop's periodic work (the clock-driven tests call it)."""
        self.check_space()
        self._read_pause()
        self.sync_jobs()
        if not self.use_scheduler or self.now() - self._last_safety >= SAFETY_SCAN_S:
            self._last_safety = self.now()
            if not (self.paused or self.draining or self.condition):
                self._fire_overdue()
        self._supervise()
        self.process_finished()
        self.process_retries()
        self.release_held()
        self.refresh_flags()

    # -- a full disk (issue 16.6) ---------------------------------------------------
    def check_space(self, error: BaseException | None = None) -> None:
        """Notice a full filesystem under the database (`error`: a write just failed for
        it), and its end. While full: the reserve is given up so the daemon can still write,
        running runs are stopped and recorded as failed saying why, no run starts and no
        fire is taken (missed fires follow the misfire policy afterwards); `condition`
        says so in `daemon status`. When space returns, all of it resumes by itself."""
        free = space.free_bytes(self.store.path.parent)
        if self.condition is None:
            if error is not None or (free is not None and free < space.LOW_WATER_BYTES):
                self._enter_full()
        elif error is not None:
            self._full_since = time.monotonic()
        elif (free is None or free >= space.RESERVE_BYTES + 2 * space.LOW_WATER_BYTES) and (
            time.monotonic() - self._full_since >= 1.0
        ):
            self._leave_full()
        if self.condition is not None and not self._runs_stopped:
            self._stop_runs_for_space()

    def _enter_full(self) -> None:
        reason = space.describe_full(self.store.path)
        self.condition = f"disk full: {reason}; runs are stopped and none start until it has"
        self.condition += " room again (jobtui resumes by itself)"
        log.error("%s", self.condition)
        self._reason = reason
        self._full_since = time.monotonic()
        self._runs_stopped = False
        # The reserve is given up only once the runs' workers are gone (their writes would
        # eat it first: issue 16, a run left `running` with nothing able to record its end).
        self._stop_workers_for_space()
        if not space.release_reserve(self.store.path.parent):
            log.warning("no reserve to give up: the database may stay unwritable")
        self._say_condition()

    def _leave_full(self) -> None:
        log.info("space is back under %s: starting runs again", self.store.path.parent)
        self.condition = None
        self._runs_stopped = True
        space.make_reserve(self.store.path.parent)
        self._say_condition()
        self._fire_overdue()

    def _say_condition(self) -> None:
        self._write_holder(condition=self.condition, pulse_at=self.now())
        with contextlib.suppress(sqlite3.Error):
            info = {**self.report.as_info(), "condition": self.condition}
            lease.set_info(self.store, self.epoch, info)

    def _stop_workers_for_space(self) -> None:
        """Stop every running run's workers, and wait (a little) until they are gone: a
        run's worker or command still writing would take the room freed to record its end.
        SIGTERM first (a file sink removes its partial file), SIGKILL what is left."""
        try:
            rows = run_rows.running_rows(self.store)
            groups = _local_groups(self.store)
        except sqlite3.Error as exc:
            log.warning("cannot list the running runs: %s", exc)
            return
        for row in rows:
            for executor in self.executors.values():
                with contextlib.suppress(Exception):
                    executor.cancel(int(row["id"]))
        groups = self._wait_gone(groups, SPACE_STOP_GRACE_S)
        for group in groups:
            signal_group(group, signal.SIGKILL)
        self._wait_gone(groups, SPACE_STOP_GRACE_S)  # a SIGKILL takes effect a bit later

    def _wait_gone(self, groups: list[int], limit: float) -> list[int]:
        """Wait up to `limit` seconds for the process groups to end; those still alive."""
        deadline = time.monotonic() + limit
        while True:
            self._reap_workers()
            groups = [g for g in groups if group_alive(g)]
            if not groups or time.monotonic() >= deadline:
                return groups
            time.sleep(0.05)

    def _reap_workers(self) -> None:
        for executor in self.executors.values():
            reap = getattr(executor, "reap", None)
            if reap is not None:
                with contextlib.suppress(Exception):
                    reap()

    def _stop_runs_for_space(self) -> None:
        """End every running run as failed saying why (its worker was stopped on entering
        the condition; one still there is stopped now)."""
        message = f"stopped: {self._reason}"
        try:
            rows = run_rows.running_rows(self.store)
            for group in _local_groups(self.store):
                signal_group(group, signal.SIGKILL)
            for row in rows:
                run_id = int(row["id"])
                with self.fenced():
                    ended = lifecycle.end_unreported(
                        self.store, run_id, self.now(), RunState.FAILED, message
                    )
                if ended:
                    log.warning("run %s %s", run_id, message)
                    for executor in self.executors.values():
                        with contextlib.suppress(Exception):
                            executor.cancel(run_id)
            self._runs_stopped = True
        except sqlite3.Error as exc:  # no room even so: the next pass tries again
            log.warning("cannot record the stopped runs yet: %s", exc)

    def _start_scheduler(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        self._scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone="UTC",
        )
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        # Added before start, the timers are stored in one batch (adding 10,000 to a
        # running scheduler costs seconds of CPU: each add re-sorts and wakes it up).
        for job_id, at in list(self._next.items()):
            self._set_timer(job_id, at)
        self._scheduler.start()

    def request_stop(self, *_: Any) -> None:
        if not self.draining:
            log.info("stop requested: draining (grace %.0fs)", self.grace)
        self.draining = True

    def run(self) -> int:
        """Run in the foreground until SIGTERM/SIGINT (drain, then stop). Exit code."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
        free = space.free_bytes(self.store.path.parent)
        if free is not None and free < space.LOW_WATER_BYTES:
            space.release_reserve(self.store.path.parent)  # so that it can start and say so
        self.acquire()
        try:
            self.startup()
            if self.condition is None:
                space.make_reserve(self.store.path.parent)
            if self.use_scheduler:
                self._start_scheduler()
            self._heartbeat_thread = threading.Thread(
                target=self._heartbeat_loop, name="jobtui-heartbeat", daemon=True
            )
            self._heartbeat_thread.start()
            period = self._listen()
            log.info("daemon running: pid %d, epoch %d", os.getpid(), self.epoch)
            drain_deadline: float | None = None
            last_step = 0.0
            while not self._stop.is_set():
                try:
                    try:
                        self._fire(self._due.get(timeout=min(self.tick, period)))
                    except queue.Empty:
                        pass
                    else:
                        # (The drain loop's Empty once skipped this `else`: every fire then
                        # waited for the next tick, the 250 ms floor issue 18 measured.)
                        with contextlib.suppress(queue.Empty):
                            while True:
                                self._fire(self._due.get_nowait())
                        self._supervise()  # start what just fired without waiting for a tick
                    if time.monotonic() - last_step >= period:
                        last_step = time.monotonic()
                        self.step()
                except sqlite3.Error as exc:
                    if not space.is_disk_full(exc):
                        raise
                    # A full disk does not stop the daemon: it says so and waits for room.
                    self.check_space(exc)
                    self._stop.wait(self.tick)
                if self.draining:
                    if drain_deadline is None:
                        drain_deadline = time.monotonic() + self.grace
                    if not self._running_runs() or time.monotonic() >= drain_deadline:
                        break
            if self.lost:
                log.error("lease lost: another daemon owns this database now")
                return 1
            return 0
        except LeaseLost:
            log.error("lease lost: another daemon owns this database now")
            return 1
        finally:
            self._stop.set()
            if self._scheduler is not None:
                with contextlib.suppress(Exception):
                    self._scheduler.shutdown(wait=False)
            if self._alerts is not None:
                self._alerts.close()
            if self._doorbell is not None:
                self._doorbell.close()
            for executor in self.executors.values():
                close = getattr(executor, "close", None)  # optional: the warm launcher's
                if close is not None:
                    with contextlib.suppress(Exception):
                        close()
            self.release()
            log.info("daemon stopped")

    def _fire(self, job_id: int) -> None:
        if job_id != WAKE and not (self.paused or self.draining):
            self.fire_job(job_id)

    def _listen(self) -> float:
        """Start the executors' listeners (remote events), bind the doorbell and start its
        thread; the poll period (slower with the doorbell)."""
        from jobtui.engine.run.doorbell import Doorbell

        for executor in self.executors.values():
            listen = getattr(executor, "listen", None)  # optional: remote events' wake-up
            if listen is not None:
                listen(lambda: self._due.put(WAKE), self._stop)
        bell = Doorbell(self.store.path)
        if bell.sock is None:
            return self.tick
        self._doorbell = bell
        threading.Thread(target=self._doorbell_loop, name="jobtui-doorbell", daemon=True).start()
        return max(self.tick, POLL_WITH_DOORBELL_S) if self.tick == TICK_S else self.tick

    def _doorbell_loop(self) -> None:
        bell = self._doorbell
        if bell is None or bell.sock is None:
            return
        sock = bell.sock
        sock.settimeout(1.0)
        while not self._stop.is_set():
            try:
                sock.recv(64)
            except TimeoutError:
                continue
            except OSError:
                return
            self._due.put(WAKE)

    def _running_runs(self) -> int:
        # A drain waits for the runs this host executes; a remote run goes on without the
        # daemon (its events wait in Redis and come home at the next start).
        return run_rows.running_count(self.store, executor="local")


def _local_groups(store: Store) -> list[int]:
    """The process groups of the runs this machine's workers execute."""
    return [int(r["pgid"]) for r in run_rows.watched_rows(store, executor="local") if r["pgid"]]

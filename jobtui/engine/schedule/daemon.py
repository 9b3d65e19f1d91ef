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
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jobtui.engine.model.clock import Clock
from jobtui.engine.model.types import Run
from jobtui.engine.run.executor import Executor, Supervisor
from jobtui.engine.schedule.firing import Scheduled, StartReport
from jobtui.engine.schedule.lease import (
    HEARTBEAT_S,
    DaemonRunning,
    LeaseLost,
    log,
)
from jobtui.engine.schedule.startup import Startup
from jobtui.engine.store import lease
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store

__all__ = ["Daemon", "DaemonRunning", "LeaseLost"]

TICK_S = 0.25  # queued runs, cancel requests, finished runs, job changes
# With the doorbell (run/doorbell.py) clients and workers wake the loop when they queue,
# cancel or finish a run, so the poll is only the safety net.
POLL_WITH_DOORBELL_S = 1.0
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
        self._started_at = 0.0
        self._last_safety = 0.0
        self._heartbeat_thread: threading.Thread | None = None
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
            self.supervisor.tick(start_queued=not (self.paused or self.draining))
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
        self._read_pause()
        self.sync_jobs()
        if not self.use_scheduler or self.now() - self._last_safety >= SAFETY_SCAN_S:
            self._last_safety = self.now()
            if not (self.paused or self.draining):
                self._fire_overdue()
        self._supervise()
        self.process_finished()
        self.process_retries()
        self.refresh_flags()

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
        self.acquire()
        try:
            self.startup()
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
        """Bind the doorbell and start its thread; the poll period (slower with it)."""
        from jobtui.engine.run.doorbell import Doorbell

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
        return run_rows.running_count(self.store)

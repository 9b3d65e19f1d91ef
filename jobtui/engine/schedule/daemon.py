"""The daemon: the only process that fires schedules (DESIGN.md §1).

Exactly one per database: an exclusive `flock` on `<data_dir>/daemon.lock`, opened once
(O_CLOEXEC, so workers never inherit it) and held for the life of the process, plus the
lease row `daemon_lease` (owner, pid, epoch, heartbeat) renewed in its own transaction.
Every scheduler write runs in a BEGIN IMMEDIATE transaction that first checks the
lease's epoch is still ours: a fence against any second writer.

APScheduler (3.x, BackgroundScheduler, in-memory job store only) is the timer: one
date-triggered APScheduler job per scheduled jobtui job, due at that job's persisted
`jobs.next_fire_at`. When it goes off the main loop does the real work from our own
bookkeeping (the persisted next fire), so nothing depends on APScheduler's misfire
handling: fires that were due while no daemon ran are recorded as `missed` runs and
caught up according to the job's misfire policy.

The core is driven by the clock it is given: tests build one with
`engine.make_daemon(use_scheduler=False)` on a `ManualClock` and call `startup()` and `step()`.
The daemon never sees the facade: it gets the store, the clock, the data directory and the
few callables it needs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobtui.engine.model.clock import Clock
from jobtui.engine.model.errors import JobtuiError, NotFound
from jobtui.engine.model.host import owner_name
from jobtui.engine.model.run_options import check_parameters
from jobtui.engine.model.spec import Alerts, JobSpec
from jobtui.engine.model.types import Run, RunState, Trigger
from jobtui.engine.run import lifecycle
from jobtui.engine.run.executor import Executor, Supervisor
from jobtui.engine.run.proc import group_members
from jobtui.engine.schedule.alerts import alerts_from
from jobtui.engine.schedule.rules import OnceRule, RandomRule, Rule, WindowRule, make_rule
from jobtui.engine.store import fires, lease
from jobtui.engine.store import jobs as job_rows
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store

log = logging.getLogger("jobtui.daemon")

LOCK_NAME = "daemon.lock"
LOG_NAME = "daemon.log"
HEARTBEAT_S = 1.0
STALE_AFTER_S = 5.0  # a lease not renewed for this long belongs to a frozen daemon
TICK_S = 0.25  # queued runs, cancel requests, finished runs, job changes
FLAGS_EVERY_S = 1.0  # window / expiry flags
SAFETY_SCAN_S = 5.0  # overdue fires the timer may have dropped
RUNTIME_GRACE_S = 5.0  # a fire later than this (frozen, suspended, paused) counts as missed
MAX_MISSED_ROWS = 100  # per job and catch-up: history shows the gap, not a million rows
RETRY_HORIZON_S = 86_400.0  # finished runs older than this at pick-up get no retry
ALERT_HORIZON_S = 3_600.0  # nor alerts
DEFAULT_GRACE_S = 30.0

FAILED_STATES = ("failed", "interrupted")
SUCCESS_STATES = ("succeeded", "partially_succeeded")


class DaemonRunning(JobtuiError):
    """Another daemon holds the lock of this data directory."""

    exit_code = 2


class LeaseLost(JobtuiError):
    """The lease's epoch moved on: another daemon took over; stop writing."""


# -- the lock ---------------------------------------------------------------------
def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_NAME


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOG_NAME


def lock_is_held(data_dir: Path) -> bool:
    """True while a daemon holds the lock (probed without disturbing it for long)."""
    path = lock_path(data_dir)
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops our probe lock, if we got it
    return False


def read_holder(data_dir: Path) -> dict[str, Any]:
    """What the holder wrote into the lock file (pid, owner, since)."""
    try:
        data = json.loads(lock_path(data_dir).read_text() or "{}")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


# -- the in-memory view of one scheduled job ------------------------------------------
@dataclass
class Scheduled:
    job_id: int
    version: int
    name: str
    spec: JobSpec
    schedule: dict[str, Any]
    rule: Rule
    outside_window: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.rule.kind


@dataclass
class StartReport:
    adopted: list[int] = field(default_factory=list)
    interrupted: list[int] = field(default_factory=list)
    missed: int = 0
    caught_up: int = 0

    def as_info(self) -> dict[str, Any]:
        return {
            "adopted": self.adopted,
            "interrupted": self.interrupted,
            "missed": self.missed,
            "caught_up": self.caught_up,
        }


class Daemon:
    """The scheduler loop over one engine. See the module docstring."""

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

    def now(self) -> float:
        return self.clock.now()

    # -- lease -----------------------------------------------------------------------
    def acquire(self, wait: float = 1.0) -> None:
        """Take the lock (retrying briefly: a client may be probing it) and the lease."""
        path = lock_path(self.data_dir)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise DaemonRunning(self._holder_text()) from None
                time.sleep(0.05)
        self._lock_fd = fd
        now = self.now()
        holder = {"pid": os.getpid(), "owner": owner_name(), "since": now}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self.epoch, self.paused = lease.take(self.store, str(holder["owner"]), os.getpid(), now)
        log.info("daemon %s took the lease, epoch %d", os.getpid(), self.epoch)

    def _holder_text(self) -> str:
        holder = read_holder(self.data_dir)
        row = lease.read(self.store)
        pid = holder.get("pid") or (row.pid if row else None)
        owner = holder.get("owner") or (row.owner if row else None) or "unknown"
        text = f"another jobtui daemon holds {lock_path(self.data_dir)}: pid {pid} ({owner})"
        if row and row.heartbeat_at is not None:
            age = self.now() - float(row.heartbeat_at)
            if age > STALE_AFTER_S:
                text += f", unresponsive: last heartbeat {age:.0f}s ago"
        return text

    def release(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            lease.release(self.store, self.epoch)
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    @contextlib.contextmanager
    def fenced(self) -> Iterator[None]:
        """A write transaction that only commits while our epoch is the lease's."""
        with self.store.transaction():
            current = lease.current_epoch(self.store)
            if current != self.epoch:
                self.lost = True
                self._stop.set()
                raise LeaseLost(f"lease epoch moved from {self.epoch} to {current}")
            yield

    def renew(self) -> bool:
        if not lease.renew(self.store, self.epoch, self.now()):
            self.lost = True
            self._stop.set()
            return False
        return True

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                if not self.renew():
                    log.error("lease lost to another daemon; stopping")
            except sqlite3.Error as exc:
                log.warning("heartbeat failed: %s", exc)

    # -- supervisor (the run executor) -------------------------------------------------
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

    # -- start-up --------------------------------------------------------------------
    def startup(self) -> StartReport:
        """Reconcile runs left by the previous daemon, then rebuild the schedule and catch up."""
        self.report = StartReport()
        self._started_at = self.now()
        before = run_rows.running_ids(self.store)
        self._supervise()
        if not self.executors:
            self._reconcile_without_executors()
        for run_id, state in sorted(run_rows.states_of(self.store, before).items()):
            if state in ("running", "cancelling"):
                self.report.adopted.append(run_id)
            elif state in ("interrupted", "retrying"):
                self.report.interrupted.append(run_id)
        if self._ensure_system_jobs is not None:
            try:
                self._ensure_system_jobs()
            except Exception:
                log.exception("could not create the system jobs")
        self.sync_jobs(startup=True)
        self.process_finished()
        self.process_retries()
        self.refresh_flags(force=True)
        lease.set_info(self.store, self.epoch, self.report.as_info())
        log.info(
            "start-up: adopted %s, interrupted %s, %d missed fires, %d caught up",
            self.report.adopted,
            self.report.interrupted,
            self.report.missed,
            self.report.caught_up,
        )
        return self.report

    def _reconcile_without_executors(self) -> None:
        """Without an executor, at least tell dead workers from live ones."""
        now = self.now()
        for r in run_rows.running_rows(self.store):
            if not group_members(r["pgid"]):
                with self.fenced():
                    lifecycle.end_unreported(
                        self.store, int(r["id"]), now, RunState.INTERRUPTED, "worker gone"
                    )

    # -- the job table -> schedule ------------------------------------------------------
    def _load(self, row: sqlite3.Row) -> Scheduled | None:
        try:
            raw = json.loads(row["spec"])
            spec = JobSpec.model_validate(raw)
            schedule = raw.get("schedule")
            if not schedule:
                return None
            rule = make_rule(schedule, anchor=float(row["updated_at"]))
        except Exception as exc:
            log.warning("job %s: cannot schedule it: %s", row["id"], exc)
            return None
        return Scheduled(
            job_id=int(row["id"]),
            version=int(row["version"]),
            name=str(row["name"]),
            spec=spec,
            schedule=schedule,
            rule=rule,
        )

    def sync_jobs(self, *, startup: bool = False, force: bool = False) -> None:
        """Rebuild what changed since the last look (cheap when nothing did)."""
        seq = self.store.change_seq()
        if seq == self._change_seq and not force and not startup:
            return
        self._change_seq = seq
        wanted = fires.scheduled_versions(self.store)
        for job_id in list(self._jobs):
            if wanted.get(job_id) != self._jobs[job_id].version:
                self._forget(job_id)
        with self.fenced():
            fires.clear_unscheduled(self.store)
        fresh = [job_id for job_id in wanted if job_id not in self._jobs]
        if not fresh:
            return
        now = self.now()
        due: list[int] = []
        updates: list[tuple[float | None, int, int]] = []
        for row in fires.job_rows(self.store, fresh):
            sched = self._load(row)
            if sched is None:
                continue
            self._jobs[sched.job_id] = sched
            if row["expired"]:
                continue
            nxt = row["next_fire_at"]
            if nxt is None:
                nxt = self._initial_fire(sched, float(row["updated_at"]), now)
                # Nothing will ever fire (past its end, a one-shot already done): expired.
                expired = int(nxt is None and not isinstance(sched.rule, RandomRule))
                updates.append((nxt, expired, sched.job_id))
            if nxt is not None:
                self._set_timer(sched.job_id, float(nxt))
                if nxt <= now:
                    due.append(sched.job_id)
        if updates:
            with self.fenced():
                fires.set_next_fires(self.store, updates)
        for job_id in due:
            self.fire_job(job_id, now, startup=startup)

    def _initial_fire(self, sched: Scheduled, saved_at: float, now: float) -> float | None:
        rule = sched.rule
        if isinstance(rule, RandomRule):
            if run_rows.active_count(self.store, sched.job_id):
                return None  # the next one is drawn when that run ends
            return rule.first(max(saved_at, now))
        first = rule.first(saved_at)
        if isinstance(rule, OnceRule) and first is not None:
            # A re-saved one-shot job whose fire already happened does not fire again.
            if run_rows.fired_at(self.store, sched.job_id, first):
                return None
            if rule.at is None:
                return max(first, now)  # "once, now": when a daemon first sees it
        return first

    def _forget(self, job_id: int) -> None:
        self._jobs.pop(job_id, None)
        self._next.pop(job_id, None)
        if self._scheduler is not None:
            with contextlib.suppress(Exception):
                self._scheduler.remove_job(str(job_id))

    def _on_timer(self, job_id: int) -> None:
        # APScheduler's thread: hand the due job to the main loop, which does the work.
        self._due.put(job_id)

    def _set_timer(self, job_id: int, at: float | None) -> None:
        if at is None:
            self._next.pop(job_id, None)
            if self._scheduler is not None:
                with contextlib.suppress(Exception):
                    self._scheduler.remove_job(str(job_id))
            return
        self._next[job_id] = at
        if self._scheduler is not None:
            from datetime import UTC, datetime

            from apscheduler.triggers.date import DateTrigger

            self._scheduler.add_job(
                self._on_timer,
                trigger=DateTrigger(run_date=datetime.fromtimestamp(at, UTC)),
                args=[job_id],
                id=str(job_id),
                replace_existing=True,
                misfire_grace_time=None,  # late is fine: we judge lateness ourselves
                coalesce=True,
            )

    # -- firing ------------------------------------------------------------------------
    def _queue(
        self,
        job_id: int,
        *,
        trigger: str,
        scheduled_for: float | None,
        state: str = "queued",
        title: str = "",
        attempt: int = 1,
        retry_of: int | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> int:
        """Insert a run of a live job, stamped with our epoch (its parameters checked and
        defaulted the way the API checks them)."""
        job = job_rows.live(self.store, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id}")
        spec = JobSpec.model_validate(job.spec)
        return lifecycle.queue(
            self.store,
            self.now(),
            job_id=job_id,
            job_version=job.version,
            trigger=Trigger(trigger).value,
            title=title,
            parameters=check_parameters(spec, parameters),
            since=job.since_watermark,
            scheduled_for=scheduled_for,
            attempt=attempt,
            retry_of=retry_of,
            state=state,
            epoch=self.epoch,
        )

    def _active_runs(self, job_id: int) -> int:
        return run_rows.active_count(self.store, job_id)

    def fire_job(self, job_id: int, now: float | None = None, *, startup: bool = False) -> None:
        """Handle every fire of a job that is due by `now` (idempotent)."""
        now = self.now() if now is None else now
        if self.paused or self.draining:
            return
        new_next: float | None = None
        with self.fenced():
            row = fires.job_row(self.store, job_id)
            if row is None or not row["active"] or row["deleted_at"] is not None:
                self._forget(job_id)
                return
            sched = self._jobs.get(job_id)
            if sched is None or sched.version != row["version"]:
                sched = self._load(row)
                if sched is None:
                    return
                self._jobs[job_id] = sched
            fire = row["next_fire_at"]
            if row["expired"] or fire is None:
                self._set_timer(job_id, None)
                return
            if fire > now:
                self._set_timer(job_id, float(fire))
                return
            new_next = self._fire_due(sched, row, float(fire), now, startup)
        self._set_timer(job_id, new_next)

    def _fire_due(
        self, sched: Scheduled, row: sqlite3.Row, fire: float, now: float, startup: bool
    ) -> float | None:
        rule = sched.rule
        policies = sched.spec.policies
        misfire = policies.misfire
        keep = max(MAX_MISSED_ROWS, misfire.cap if misfire.policy == "all" else 1)
        due: deque[float] = deque(maxlen=keep)
        count = 0
        nxt: float | None = fire
        while nxt is not None and nxt <= now and count < 1_000_000:
            due.append(nxt)
            count += 1
            nxt = rule.next(nxt)
        fire_count = int(row["fire_count"])
        max_runs = rule.max_runs
        deferred = int(row["deferred_fires"])
        last = due[-1]
        # At start-up every fire due before this daemon began was missed; later, a fire
        # is missed when the daemon comes to it too late (frozen, suspended, paused).
        on_time = now - last <= RUNTIME_GRACE_S and (not startup or last >= self._started_at)
        missed = list(due)[:-1] if on_time else list(due)
        queued_any = False

        def room() -> bool:
            return max_runs is None or fire_count < max_runs

        if missed:
            omitted = count - len(due)
            for i, m in enumerate(missed):
                title = "missed: no daemon was running" if startup else "missed: daemon was late"
                if i == 0 and omitted:
                    title += f" (+{omitted} earlier missed fires not listed)"
                self._queue(
                    sched.job_id, trigger="schedule", scheduled_for=m, state="missed", title=title
                )
            self.report.missed += len(missed) + omitted
            valid = [m for m in missed if (rule.valid_until(m) or now + 1) > now]
            catch: list[float] = []
            if misfire.policy == "once" and valid:
                catch = [valid[-1]]
            elif misfire.policy == "all":
                catch = valid[-misfire.cap :]
            for m in catch:
                if not room():
                    break
                self._queue(
                    sched.job_id,
                    trigger="catch_up",
                    scheduled_for=m,
                    title="catch-up of a missed fire",
                )
                fire_count += 1
                queued_any = True
                self.report.caught_up += 1

        if on_time and room():
            trigger = self._trigger_for(sched, last)
            overlap = policies.overlap_policy
            active = self._active_runs(sched.job_id)
            if overlap.policy == "queue" and active >= 1:
                deferred += 1
                queued_any = True
            elif (overlap.policy == "skip" and active >= 1) or (
                overlap.policy == "allow" and active >= overlap.max
            ):
                self._queue(
                    sched.job_id,
                    trigger=trigger,
                    scheduled_for=last,
                    state="skipped",
                    title=f"skipped: {active} run(s) still active (overlap: {overlap.policy})",
                )
            else:
                self._queue(sched.job_id, trigger=trigger, scheduled_for=last)
                fire_count += 1
                queued_any = True

        expired = 0
        if isinstance(rule, RandomRule):
            nxt = None if queued_any else rule.next(now)
        elif isinstance(rule, OnceRule):
            nxt = None
            if not queued_any:
                expired = 1
        if nxt is None and not isinstance(rule, RandomRule | OnceRule):
            expired = 1
        if not room():
            nxt, expired = None, 1
        fires.set_fired(self.store, sched.job_id, nxt, fire_count, deferred, expired)
        return nxt

    def _trigger_for(self, sched: Scheduled, fire: float) -> str:
        """`retry` for a once/window job's repeat attempt, `schedule` otherwise."""
        rule = sched.rule
        if isinstance(rule, OnceRule | WindowRule) and rule.retry_every():
            if isinstance(rule, OnceRule):
                since = 0.0
            else:
                window = rule.window_at(fire)
                if window is None:
                    return "schedule"
                since = window[0]
            if run_rows.attempted_between(self.store, sched.job_id, since, fire):
                return "retry"
        return "schedule"

    # -- finished runs: retry, schedule follow-ups, alerts ---------------------------------
    def process_finished(self) -> int:
        run_ids = run_rows.unprocessed_ended(self.store)
        for run_id in run_ids:
            self.finish_run(run_id)
        return len(run_ids)

    def finish_run(self, run_id: int) -> None:
        """Apply the retry policy, schedule follow-ups and alerts to one finished run, once."""
        now = self.now()
        alert: dict[str, Any] | None = None
        timer: tuple[int, float | None] | None = None
        with self.fenced():
            run = run_rows.take_for_postrun(self.store, run_id)
            if run is None:
                return
            job = fires.job_with_workspace(self.store, int(run["job_id"]))
            if job is None:
                log.warning("run %s: its job is gone: no retry, follow-up or alert", run_id)
                return
            raw, spec, problem = read_spec(job["spec"])
            state = str(run["state"])
            ended = float(run["ended_at"] or now)
            error = run["error"]
            if spec is None:
                # Its policies are unknown: no retry, no follow-up; it still gets its alert,
                # from what can be read of the alerts section, and says why in its error.
                message = f"the job's spec cannot be read ({problem}): no retry or follow-up"
                lifecycle.note_error(self.store, run_id, message, now)
                error = message if not error else f"{error}; {message}"
                log.warning("run %s: %s", run_id, message)
                alerts = alerts_from(raw)
            else:
                alerts = spec.alerts
                live = bool(job["active"]) and job["deleted_at"] is None
                schedule = raw.get("schedule") or None
                sched_retry = bool(schedule and schedule.get("retry_every"))
                retry = spec.policies.retry
                if (
                    state in FAILED_STATES
                    and live
                    and not sched_retry
                    and retry.attempts > 0
                    and int(run["attempt"]) <= retry.attempts
                    and now - ended < RETRY_HORIZON_S
                ):
                    from jobtui.engine.model.durations import parse_duration

                    retry_at = ended + parse_duration(retry.delay)
                    run_rows.set_retrying(self.store, run_id, retry_at)
                if live and schedule and state not in ("missed", "skipped"):
                    timer = self._follow_up(job, run, schedule, state, ended, now)
            if now - ended < ALERT_HORIZON_S and alerts.emails:
                alert = {
                    "run_id": run_id,
                    "job_id": int(job["id"]),
                    "job": f"{job['workspace']}/{job['name']}",
                    "state": state,
                    "trigger": run["trigger"],
                    "attempt": run["attempt"],
                    "error": error,
                    "started_at": run["started_at"],
                    "ended_at": run["ended_at"],
                }
        if timer is not None:
            self._set_timer(*timer)
        if alert is not None:
            self._alert(alerts, alert)

    def _follow_up(
        self,
        job: sqlite3.Row,
        run: sqlite3.Row,
        schedule: dict[str, Any],
        state: str,
        ended: float,
        now: float,
    ) -> tuple[int, float | None] | None:
        """What a run's end means for the schedule: random's next draw, once/window
        retries, a fire held back by overlap=queue."""
        job_id = int(job["id"])
        sched = self._jobs.get(job_id)
        if sched is None or sched.version != job["version"]:
            sched = self._load(job)
            if sched is None:
                return None
        rule = sched.rule
        active = self._active_runs(job_id)
        nxt = job["next_fire_at"]
        expired = int(job["expired"])
        from_schedule = run["trigger"] in ("schedule", "catch_up", "retry")
        if isinstance(rule, RandomRule) and active == 0 and not expired:
            if rule.max_runs is not None and int(job["fire_count"]) >= rule.max_runs:
                nxt, expired = None, 1
            else:
                nxt = rule.next(ended)
                if nxt is None:
                    expired = 1
        elif isinstance(rule, OnceRule) and from_schedule:
            retry = rule.retry_every()
            deadline = rule.deadline(float(run["scheduled_for"] or ended))
            too_late = deadline is not None and retry is not None and ended + retry > deadline
            if state in SUCCESS_STATES or not retry or too_late:
                nxt, expired = None, 1
            else:
                nxt, expired = ended + retry, 0
        elif isinstance(rule, WindowRule) and from_schedule and state not in SUCCESS_STATES:
            retry = rule.retry_every()
            window = rule.window_at(float(run["scheduled_for"] or ended))
            if retry and window and ended + retry < window[1]:
                candidate = ended + retry
                nxt = candidate if nxt is None else min(float(nxt), candidate)
        deferred = int(job["deferred_fires"])
        if deferred > 0 and active == 0:
            self._queue(
                job_id, trigger="schedule", scheduled_for=now, title="held back by overlap: queue"
            )
            deferred -= 1
        fires.set_follow_up(self.store, job_id, nxt, expired, deferred)
        return job_id, (None if expired else nxt)

    def _alert(self, alerts: Alerts, event: dict[str, Any]) -> None:
        try:
            from jobtui.engine.schedule.alerts import AlertDispatcher

            if self._alerts is None:
                self._alerts = AlertDispatcher(self.store)
            self._alerts.handle(alerts, event)
        except Exception:
            log.exception("alert for run %s failed", event.get("run_id"))

    def process_retries(self) -> int:
        now = self.now()
        run_ids = run_rows.due_retries(self.store, now)
        for run_id in run_ids:
            with self.fenced():
                run = run_rows.take_retry(self.store, run_id)
                if run is None:
                    continue
                if not run["active"] or run["deleted_at"] is not None:
                    continue
                self._queue(
                    int(run["job_id"]),
                    trigger="retry",
                    scheduled_for=now,
                    attempt=int(run["attempt"]) + 1,
                    retry_of=int(run["id"]),
                    parameters=json.loads(run["parameters"] or "{}"),
                    title=f"retry {int(run['attempt']) + 1} of run {run['id']}",
                )
        return len(run_ids)

    # -- flags the job list shows ----------------------------------------------------
    def refresh_flags(self, *, force: bool = False) -> None:
        now = self.now()
        if not force and now - self._last_flags < FLAGS_EVERY_S:
            return
        self._last_flags = now
        changes: list[tuple[int, int, int]] = []
        for sched in self._jobs.values():
            rule = sched.rule
            if not isinstance(rule, WindowRule):
                continue
            outside = not rule.inside(now)
            ends = rule.expired_at()
            expired = ends is not None and now > ends
            if outside != sched.outside_window or expired != sched.extra.get("expired", False):
                sched.outside_window = outside
                sched.extra["expired"] = expired
                changes.append((int(outside), int(expired), sched.job_id))
        if changes:
            with self.fenced():
                fires.set_flags(self.store, changes)
            for _, gone, job_id in changes:
                if gone:
                    self._set_timer(job_id, None)

    # -- the loop ------------------------------------------------------------------------
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

    def _fire_overdue(self) -> None:
        now = self.now()
        for job_id, at in list(self._next.items()):
            if at <= now:
                self.fire_job(job_id, now)

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
            log.info("daemon running: pid %d, epoch %d", os.getpid(), self.epoch)
            drain_deadline: float | None = None
            last_step = 0.0
            while not self._stop.is_set():
                try:
                    job_id = self._due.get(timeout=self.tick)
                    if not (self.paused or self.draining):
                        self.fire_job(job_id)
                    while True:
                        job_id = self._due.get_nowait()
                        if not (self.paused or self.draining):
                            self.fire_job(job_id)
                except queue.Empty:
                    pass
                else:
                    self._supervise()  # start what just fired without waiting for a tick
                if time.monotonic() - last_step >= self.tick:
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
            self.release()
            log.info("daemon stopped")

    def _running_runs(self) -> int:
        return run_rows.running_count(self.store)


# -- starting one in the background -------------------------------------------------------
def spawn_detached(data_dir: Path, db_path: Path, grace: float | None = None) -> None:
    """Start `jobtui daemon` in its own session, logging to <data_dir>/daemon.log.

    A shell in between forks it off and exits at once, so the daemon is nobody's child
    (no zombie in a long-lived TUI) and inherits no descriptor but its log.
    """
    log_file = log_path(data_dir)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    argv = [
        sys.executable,
        "-m",
        "jobtui",
        "--data-dir",
        str(data_dir),
        "--db",
        str(db_path),
        "daemon",
    ]
    if grace is not None:
        argv += ["--grace", str(grace)]
    env = dict(os.environ)
    env["JOBTUI_DAEMON_LOG"] = str(log_file)
    shell = subprocess.Popen(
        ["/bin/sh", "-c", 'exec 0</dev/null 1>>"$JOBTUI_DAEMON_LOG" 2>&1; "$@" &', "sh", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        env=env,
    )
    shell.wait()


def configure_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("jobtui")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def read_spec(text: str) -> tuple[dict[str, Any], JobSpec | None, str]:
    """(the raw spec as far as it parses, the valid spec or None, why not)."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        return {}, None, f"not JSON: {exc}"
    if not isinstance(raw, dict):
        return {}, None, "not a JSON object"
    try:
        return raw, JobSpec.model_validate(raw), ""
    except Exception as exc:
        first = str(exc).splitlines()
        return raw, None, " ".join(first[:3]) if first else type(exc).__name__

"""Firing: the jobs table turned into timers, and what a due fire does (DESIGN.md §2,
Schedules): queue a run, record missed fires and catch up per the misfire policy, skip or
hold back per the overlap policy, keep the window / expiry flags the list shows.

APScheduler (3.x, BackgroundScheduler, in-memory job store only) is only the timer: one
date-triggered job per scheduled jobtui job at its persisted `jobs.next_fire_at`; the work
is done from our own bookkeeping, so nothing depends on APScheduler's misfire handling.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sqlite3
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from jobtui.engine.model.errors import NotFound
from jobtui.engine.model.policies import Policies
from jobtui.engine.model.run_options import check_parameters
from jobtui.engine.model.spec import JobSpec
from jobtui.engine.model.types import Trigger
from jobtui.engine.run import lifecycle
from jobtui.engine.schedule.lease import LeaseHolder, log
from jobtui.engine.schedule.rules import OnceRule, RandomRule, Rule, WindowRule, make_rule
from jobtui.engine.store import fires
from jobtui.engine.store import jobs as job_rows
from jobtui.engine.store import runs as run_rows

FLAGS_EVERY_S = 1.0  # window / expiry flags
RUNTIME_GRACE_S = 5.0  # a fire later than this (frozen, suspended, paused) counts as missed
MAX_MISSED_ROWS = 100  # per job and catch-up: history shows the gap, not a million rows


def overlap_limit(policies: Policies) -> int | None:
    """How many runs of the job may be active at once (None: no limit)."""
    overlap = policies.overlap_policy
    return overlap.max if overlap.policy == "allow" else 1


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


class Firing(LeaseHolder):
    """Timers from the jobs table, and fires (a base of Daemon)."""

    # The daemon's shared state, set by Daemon.__init__ (daemon.py).
    draining: bool
    report: StartReport
    _jobs: dict[int, Scheduled]
    _next: dict[int, float]
    _change_seq: int
    _due: queue.SimpleQueue[int]
    _scheduler: Any
    _last_flags: float
    _started_at: float
    _held_fires: bool = False  # a fire queued held: release what has room

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
        held: bool = False,
    ) -> int:
        """Insert a run of a live job, stamped with our epoch (its parameters checked and
        defaulted the way the API checks them); `held`: released by release_held."""
        job = job_rows.live(self.store, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id}")
        spec = JobSpec.model_validate(job.spec)
        self._held_fires = self._held_fires or (held and state == "queued")
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
            held=held,
        )

    def _active_runs(self, job_id: int) -> int:
        return run_rows.active_count(self.store, job_id)

    def fire_job(self, job_id: int, now: float | None = None, *, startup: bool = False) -> None:
        """Handle every fire of a job that is due by `now` (idempotent)."""
        now = self.now() if now is None else now
        if self.paused or self.draining or self.condition:
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
        if self._held_fires:
            self._held_fires = False
            self.release_held(job_id)

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
            # Catch-ups wait their turn: each is released when the overlap policy has
            # room for it (release_held), after any live fire, one after another under
            # skip, queue and allow max 1.
            for m in catch:
                if not room():
                    break
                self._queue(
                    sched.job_id,
                    trigger="catch_up",
                    scheduled_for=m,
                    title="catch-up of a missed fire",
                    held=True,
                )
                fire_count += 1
                queued_any = True
                self.report.caught_up += 1

        if on_time and room():
            trigger = self._trigger_for(sched, last)
            overlap = policies.overlap_policy
            active, catching_up, waiting = run_rows.overlap_counts(self.store, sched.job_id)
            limit = overlap_limit(policies)
            full = limit is not None and active >= limit
            if overlap.policy == "queue" and active >= 1:
                deferred += 1
                queued_any = True
            elif full and active - catching_up + waiting >= (limit or 0):
                # Live runs (running, or already waiting for a catch-up) fill it.
                self._queue(
                    sched.job_id,
                    trigger=trigger,
                    scheduled_for=last,
                    state="skipped",
                    title=f"skipped: {active} run(s) still active (overlap: {overlap.policy})",
                )
            else:
                # Full only because of catch-ups: a live fire is never refused for them; it
                # waits for the first to end and goes before the others.
                self._queue(
                    sched.job_id,
                    trigger=trigger,
                    scheduled_for=last,
                    held=full,
                    title="waits for a catch-up run to end" if full else "",
                )
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

    def release_held(self, only: int | None = None) -> int:
        """Start (hand to the supervisor) held runs as far as each job's overlap policy has
        room: a held live fire first, then catch-ups oldest first. A `queue` job's fires
        held back by overlap go before its catch-ups. The number released."""
        released = 0
        job_ids = [only] if only is not None else run_rows.jobs_with_held_runs(self.store)
        for job_id in job_ids:
            with self.fenced():
                row = fires.job_row(self.store, job_id)
                if row is None:
                    continue
                sched = self._jobs.get(job_id)
                if sched is not None and sched.version == row["version"]:
                    policies: Policies | None = sched.spec.policies
                else:
                    try:
                        policies = JobSpec.model_validate(json.loads(row["spec"])).policies
                    except Exception:
                        policies = None  # unreadable: one at a time
                limit = overlap_limit(policies) if policies is not None else 1
                if int(row["deferred_fires"]) > 0:
                    continue  # overlap queue: post-run queues the deferred live fire first
                active = run_rows.overlap_counts(self.store, job_id)[0]
                while limit is None or active < limit:
                    run_id = run_rows.next_held(self.store, job_id)
                    if run_id is None:
                        break
                    run_rows.release_held(self.store, run_id)
                    active += 1
                    released += 1
        return released

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

    def _fire_overdue(self) -> None:
        now = self.now()
        for job_id, at in list(self._next.items()):
            if at <= now:
                self.fire_job(job_id, now)

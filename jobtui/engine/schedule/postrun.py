"""Post-run: what a run's end means, applied exactly once per ended run (`post_done`, in
the same fenced transaction): the retry policy, the schedule's follow-ups (random's next
draw, once/window retries, a fire held back by overlap=queue), and alerts. A run whose
job's spec cannot be read says why in its error and still gets its alert.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from jobtui.engine.model.spec import Alerts, JobSpec
from jobtui.engine.run import lifecycle
from jobtui.engine.schedule.alerts import SUCCESS_STATES, alerts_from
from jobtui.engine.schedule.firing import Firing
from jobtui.engine.schedule.lease import log
from jobtui.engine.schedule.rules import OnceRule, RandomRule, WindowRule
from jobtui.engine.store import fires
from jobtui.engine.store import logs as log_rows
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.space import DiskFull

RETRY_HORIZON_S = 86_400.0  # finished runs older than this at pick-up get no retry
ALERT_HORIZON_S = 3_600.0  # nor alerts
FAILED_STATES = ("failed", "interrupted")


class PostRun(Firing):
    """Retry, follow-ups and alerts of ended runs (a base of Daemon)."""

    # The daemon's shared state, set by Daemon.__init__ (daemon.py).
    _alerts: Any

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
                    # `attempts` counts every try, the first included: 2 = one retry.
                    and int(run["attempt"]) < retry.attempts
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
        """Queue the retries that are due. The attempt it supersedes goes back to the state
        it ended in (a retry is a new run: `retried_as` names it), and so does an attempt
        whose retry will not come (its job paused or deleted, its parameters no longer
        valid): no run stays `retrying` once its retry is queued or dropped."""
        now = self.now()
        run_ids = run_rows.due_retries(self.store, now)
        for run_id in run_ids:
            with self.fenced():
                run = run_rows.take_retry(self.store, run_id)
                if run is None:
                    continue
                why = ""
                if run["deleted_at"] is not None:
                    why = "its job was deleted"
                elif not run["active"]:
                    why = "its job is paused"
                else:
                    why = self._queue_retry(run, now)
                if why:
                    self._settle_retry(run_id, f"not retried: {why}", now)
        for run_id in run_rows.stuck_retrying(self.store):
            with self.fenced():
                self._settle_retry(run_id, "not retried: its retry was never queued", now)
        return len(run_ids)

    def _queue_retry(self, run: sqlite3.Row, now: float) -> str:
        """Queue the next attempt of a failed run and settle the one it supersedes; why it
        could not be queued ("" when it was)."""
        from jobtui.engine.model.errors import JobtuiError

        run_id = int(run["id"])
        attempt = int(run["attempt"]) + 1
        job = fires.job_row(self.store, int(run["job_id"]))
        _, spec, _ = read_spec(job["spec"] if job is not None else "")
        of = f" of {spec.policies.retry.attempts}" if spec is not None else ""
        try:  # _queue checks the job and the parameters before it inserts anything
            new_id = self._queue(
                int(run["job_id"]),
                trigger="retry",
                scheduled_for=now,
                attempt=attempt,
                retry_of=run_id,
                parameters=json.loads(run["parameters"] or "{}"),
                title=f"attempt {attempt}{of}: retry of run {run_id}",
            )
        except DiskFull:
            raise  # not the retry's fault: it is queued when there is room again
        except (JobtuiError, ValueError) as exc:  # ValueError: pydantic's
            return str(exc)
        state = run_rows.settle_retrying(self.store, run_id)
        if state is not None:
            log_rows.append_line(self.store, run_id, now, f"retried as run {new_id}", "info")
        return ""

    def _settle_retry(self, run_id: int, message: str, now: float) -> None:
        """A retrying run whose retry will not come: back to the state it ended in, saying why."""
        state = run_rows.settle_retrying(self.store, run_id)
        if state is None:
            return
        lifecycle.note_error(self.store, run_id, message, now)
        log_rows.append_line(self.store, run_id, now, message, "warning")
        log.warning("run %s: %s (left %s)", run_id, message, state)


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

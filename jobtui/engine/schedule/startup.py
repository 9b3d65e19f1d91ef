"""Start-up: reconcile the runs a previous daemon left (adopt live workers, end dead ones),
create the system jobs, rebuild the schedule, catch up missed fires, apply pending post-runs.
"""

from __future__ import annotations

from collections.abc import Callable

from jobtui.engine.model.types import RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.run.executor import Executor
from jobtui.engine.run.proc import group_members
from jobtui.engine.schedule.firing import StartReport
from jobtui.engine.schedule.lease import log
from jobtui.engine.schedule.postrun import PostRun
from jobtui.engine.store import lease
from jobtui.engine.store import runs as run_rows


class Startup(PostRun):
    """What a daemon does once it holds the lease (a base of Daemon)."""

    # The daemon's shared state, set by Daemon.__init__ (daemon.py).
    executors: dict[str, Executor]
    _ensure_system_jobs: Callable[[], object] | None

    def _supervise(self) -> None:
        raise NotImplementedError  # Daemon's

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
        self.release_held()
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

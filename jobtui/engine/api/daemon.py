"""The daemon part of the Engine facade: status, start/stop/pause, previews, maintenance."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobtui.engine.api.base import EngineBase
from jobtui.engine.model.clock import to_datetime
from jobtui.engine.model.errors import InvalidInput, JobtuiError
from jobtui.engine.model.types import DaemonStatus
from jobtui.engine.run.doorbell import ring
from jobtui.engine.store import fires, lease
from jobtui.engine.store import remote as remote_rows

# The daemon renews its count of live workers every 10 s; older is a stopped daemon's.
WORKERS_FRESH = 30.0

if TYPE_CHECKING:
    from jobtui.engine.model.types import Job
    from jobtui.engine.schedule.daemon import Daemon
    from jobtui.engine.schedule.rules import Fire


class DaemonAPI(EngineBase):
    # -- status ---------------------------------------------------------------------
    def daemon_status(self, next_fires: int = 5) -> DaemonStatus:
        """What the lock and the lease row say. A daemon holding the lock without renewing
        its lease (frozen, SIGSTOPped) is `alive` but not `responsive`."""
        from jobtui.engine.schedule.lease import STALE_AFTER_S, lock_is_held, read_holder

        row = lease.read(self.store)
        alive = lock_is_held(self.data_dir)
        heartbeat = row.heartbeat_at if row else None
        responsive = (
            alive and heartbeat is not None and self.now() - float(heartbeat) <= STALE_AFTER_S
        )
        info: dict[str, Any] = dict(row.info) if row else {}
        info.pop("condition", None)
        pid = row.pid if row else None
        condition: str | None = None
        if alive:
            holder = read_holder(self.data_dir)
            pid = holder.get("pid") or pid
            # The lock file's pulse: a daemon that cannot write its lease (a full disk)
            # still shows it is alive and says why.
            pulse = holder.get("pulse_at")
            if isinstance(pulse, int | float) and self.now() - float(pulse) <= STALE_AFTER_S:
                responsive = True
                condition = holder.get("condition") or None
        if alive:
            # Counted by the daemon's Celery executor (absent without a broker).
            workers = remote_rows.workers_online(self.store, self.now(), WORKERS_FRESH)
            if workers is not None:
                info["workers"] = workers
        info["next_fires"] = [
            {"job": job, "at": to_datetime(at)}
            for job, at in fires.upcoming(self.store, next_fires)
        ]
        return DaemonStatus(
            alive=alive,
            responsive=bool(responsive),
            pid=pid,
            owner=row.owner if row else None,
            epoch=row.epoch if row else 0,
            since=to_datetime(row.started_at) if row else None,
            heartbeat_at=to_datetime(heartbeat),
            paused=row.paused if row else False,
            info=info,
            condition=str(condition) if condition else None,
        )

    def ensure_daemon(self, wait: float = 10.0) -> str | None:
        """Start a daemon in the background when none is alive. None when one already was;
        otherwise what happened, in words."""
        from jobtui.engine.schedule.detach import spawn_detached
        from jobtui.engine.schedule.lease import lock_is_held, log_path

        if lock_is_held(self.data_dir):
            return None
        spawn_detached(self.data_dir, self.store.path)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if lock_is_held(self.data_dir):
                status = self.daemon_status(next_fires=0)
                return f"started the jobtui daemon in the background (pid {status.pid})"
            time.sleep(0.05)
        return f"tried to start the jobtui daemon; see {log_path(self.data_dir)}"

    def run_daemon(
        self, grace: float | None = None, verbose: bool = False, metrics: str | None = None
    ) -> int:
        """Run the daemon in the foreground until SIGTERM/SIGINT; its exit code. Raises
        `DaemonRunning` (exit 2) when another daemon holds this data directory.
        `metrics` ("HOST:PORT"): serve Prometheus metrics there meanwhile."""
        from jobtui.engine.schedule.daemon import DEFAULT_GRACE_S
        from jobtui.engine.schedule.detach import configure_logging

        server = self.serve_metrics(metrics) if metrics else None
        configure_logging(verbose)
        daemon = self.make_daemon(grace=DEFAULT_GRACE_S if grace is None else grace, warm=True)
        try:
            return daemon.run()
        finally:
            if server is not None:
                server.shutdown()

    def make_daemon(self, **options: Any) -> Daemon:
        """The daemon over this engine's store, clock and data directory (not started):
        `run_daemon` runs one; tests drive one with `startup()` and `step()`.
        `supervise=False`: it starts no run (no executor). `warm=True`: runs start from
        the warm launcher (run/launcher.py) unless JOBTUI_LAUNCHER=cold."""
        from jobtui.engine.run.local import LocalExecutor, spawn_worker
        from jobtui.engine.schedule.daemon import Daemon

        options.setdefault("ensure_system_jobs", self.ensure_system_jobs)
        warm = options.pop("warm", False) and os.environ.get("JOBTUI_LAUNCHER") != "cold"
        if options.pop("supervise", True) and "executors" not in options:
            # The executors, by queue name: `local` starts a worker process per run here.
            spawn: Any = spawn_worker
            if warm:
                from jobtui.engine.run.launcher import WarmSpawner

                spawn = WarmSpawner(self.data_dir)
            local = LocalExecutor(
                self.store,
                self.data_dir,
                self.clock,
                spawn=spawn,
                started_by=f"the daemon (pid {os.getpid()})",
            )
            options["executors"] = {local.name: local, **self.remote_executors()}
        return Daemon(self.store, self.clock, self.data_dir, **options)

    def start_daemon(self, grace: float | None = None) -> None:
        """Start a daemon in the background, detached (see `daemon_lock_held`)."""
        from jobtui.engine.schedule.detach import spawn_detached

        spawn_detached(self.data_dir, self.store.path, grace)

    def daemon_lock_held(self) -> bool:
        """Whether a daemon holds this data directory's lock right now."""
        from jobtui.engine.schedule.lease import lock_is_held

        return lock_is_held(self.data_dir)

    @property
    def daemon_log_path(self) -> Path:
        from jobtui.engine.schedule.lease import log_path

        return log_path(self.data_dir)

    def pause_daemon(self) -> DaemonStatus:
        """Drain: no new fires and no queued runs start; running runs finish."""
        lease.set_paused(self.store, True)
        ring(self.store.path)
        return self.daemon_status()

    def resume_daemon(self) -> DaemonStatus:
        lease.set_paused(self.store, False)
        ring(self.store.path)
        return self.daemon_status()

    def stop_daemon(self, timeout: float = 60.0, kill: bool = False) -> str:
        """SIGTERM the daemon (it drains for its grace period, then exits) and wait."""
        from jobtui.engine.schedule.lease import lock_is_held

        status = self.daemon_status(next_fires=0)
        if not status.alive or not status.pid:
            return "no jobtui daemon is running"
        pid = int(status.pid)
        try:
            os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
        except ProcessLookupError:
            return "no jobtui daemon is running"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not lock_is_held(self.data_dir):
                return f"stopped the jobtui daemon (pid {pid})"
            time.sleep(0.05)
        return f"the jobtui daemon (pid {pid}) is still draining after {timeout:g}s"

    # -- schedules --------------------------------------------------------------------
    def schedule_preview(
        self,
        schedule: dict[str, Any] | str | int,
        n: int = 10,
        tz: str | None = None,
        after: str | float | None = None,
    ) -> list[Fire]:
        """The next `n` fires of a schedule (a dict) or of a job (a name or id), in the
        schedule's zone, flagged where DST or a window shapes them. `after` (an ISO time,
        read in the zone when it has no offset, or epoch seconds) previews from that
        instant instead of now."""
        from jobtui.engine.schedule.rules import parse_instant, preview_fires, schedule_zone

        anchor = None
        if isinstance(schedule, dict):
            sched = schedule
            from jobtui.engine.model.spec import SCHEDULE_TYPES, errors_of

            model = SCHEDULE_TYPES.get(str(sched.get("type")))
            if model is None:
                raise InvalidInput(f"schedule.type: must be one of {', '.join(SCHEDULE_TYPES)}")
            try:
                model.model_validate(sched)
            except Exception as exc:
                from pydantic import ValidationError

                if isinstance(exc, ValidationError):
                    errors = errors_of(exc, "schedule")
                    raise InvalidInput("; ".join(str(e) for e in errors)) from None
                raise
        else:
            job = self._job(schedule)
            sched = job.spec.get("schedule") or {}
            if not sched:
                return []
            anchor = job.updated_at
        if n < 1:
            raise InvalidInput("n: must be at least 1")
        if tz is not None:
            from jobtui.engine.model.base import _timezone

            try:
                _timezone(tz)
            except ValueError as exc:
                raise InvalidInput(f"tz: {exc}") from None
        start = self.now()
        if isinstance(after, str):
            try:
                start = parse_instant(after, schedule_zone(sched, tz))
            except ValueError:
                raise InvalidInput(
                    f"after: {after!r} is not an ISO time (like 2026-03-29T01:30:00)"
                ) from None
        elif after is not None:
            start = float(after)
        return preview_fires(sched, now=start, n=n, tz=tz, anchor=anchor)

    # -- maintenance & alerts settings -----------------------------------------------------
    def run_maintenance(self, task: str, **options: Any) -> str:
        from jobtui.engine.schedule.system_jobs import run_task

        return run_task(self.store, self.data_dir, self.now(), task, **options)

    def ensure_system_jobs(self) -> list[str]:
        """Create (or correct) the system jobs; their names."""
        from jobtui.engine.schedule.system_jobs import ensure_system_jobs

        return ensure_system_jobs(
            self.store,
            self.data_dir,
            lambda spec, note: self.create_job(spec, note, system=True),
            self.update_job,
        )

    if TYPE_CHECKING:
        # Provided by JobsAPI in the composed Engine (declared for the type checker only).
        def create_job(
            self, data: dict[str, Any], note: str = "created", *, system: bool = False
        ) -> Job: ...

        def update_job(self, ref: str | int, data: dict[str, Any], note: str = "") -> Job: ...

        def remote_executors(self, **options: Any) -> dict[str, Any]: ...

        def serve_metrics(self, address: str) -> Any: ...

    def smtp_settings(self) -> dict[str, Any] | None:
        from jobtui.engine.schedule.alerts import smtp_settings

        settings = smtp_settings(self.store)
        return settings.public() if settings else None

    def set_smtp_settings(self, **values: Any) -> dict[str, Any] | None:
        from jobtui.engine.schedule.alerts import save_smtp_settings

        settings = save_smtp_settings(self.store, **values)
        return settings.public() if settings else None

    def send_test_mail(self, to: str) -> str:
        """Send a test message through the configured SMTP server; where it went."""
        from email.message import EmailMessage

        from jobtui.engine.schedule.alerts import send, smtp_settings

        current = smtp_settings(self.store)
        if current is None:
            raise InvalidInput("smtp: configure a host first")
        msg = EmailMessage()
        msg["Subject"] = "[jobtui] test message"
        msg["From"] = current.sender
        msg["To"] = to
        msg.set_content("jobtui can send alerts through this server.\n")
        try:
            send(current, msg)
        except Exception as exc:
            raise JobtuiError(f"{current.host}:{current.port}: {exc}") from None
        return f"sent a test message to {to}"

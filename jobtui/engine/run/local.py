"""LocalExecutor: one worker process per run on this host (the `local` queue).

`spawn_worker` starts `python -m jobtui.engine.run.worker` in its own session (so its own
process group), with stdin closed and no inherited descriptors but stdio. The executor is
stateless about runs it did not start: everything it needs (pid, pgid, heartbeat, cancel
request, start time) is read from the run rows, so a restarted daemon adopts live workers
just by watching.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

from jobtui.engine.model.clock import Clock, SystemClock
from jobtui.engine.model.secrets import STARTED_BY_VARIABLE, redact
from jobtui.engine.model.types import Run, RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.run.executor import (
    GRACE,
    HEARTBEAT_INTERVAL,
    STALE_HEARTBEATS,
    STALE_MIN,
    STARTUP_GRACE,
    Supervisor,
    run_timeout,
)
from jobtui.engine.run.proc import create_time, is_worker, kill_leftovers, signal_group
from jobtui.engine.sinks.partials import partials_listing, remove_partials
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store import space
from jobtui.engine.store.db import Store
from jobtui.paths import open_private

ACTIVE = ("running", "cancelling")


def worker_log_path(data_dir: Path, run_id: int) -> Path:
    return data_dir / "workers" / f"run-{run_id}.log"


def remove_worker_files(data_dir: Path, run_ids: Iterable[int], only_empty: bool = False) -> None:
    """Delete the runs' worker stderr files (all, or `only_empty`)."""
    for run_id in run_ids:
        path = worker_log_path(data_dir, run_id)
        with contextlib.suppress(OSError):
            if not only_empty or path.stat().st_size == 0:
                path.unlink()


def spawn_worker(
    db_path: str | os.PathLike[str],
    run_id: int,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    stderr_path: str | os.PathLike[str] | None = None,
    started_by: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start the worker of one run in its own session and process group; `started_by`
    names the supervisor in its messages (see `secrets.resolve_secret`)."""
    argv = [sys.executable, "-m", "jobtui.engine.run.worker", "--db", str(db_path)]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
    argv.append(str(run_id))
    stderr: Any = subprocess.DEVNULL
    handle = None
    if stderr_path is not None:
        Path(stderr_path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open_private(stderr_path, "ab")  # handed to the child, closed below
        stderr = handle
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            close_fds=True,
            start_new_session=True,
            env={**os.environ, STARTED_BY_VARIABLE: started_by} if started_by else None,
        )
    finally:
        if handle is not None:
            handle.close()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 8192))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# -- the executor --------------------------------------------------------------------
class LocalExecutor:
    """Starts a worker process per run, enforces cancel and timeout, notices dead workers."""

    name = "local"

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        clock: Clock | None = None,
        *,
        grace: float = GRACE,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        only_runs: Collection[int] | None = None,
        max_workers: int | None = None,
        spawn: Callable[..., subprocess.Popen[bytes]] = spawn_worker,
        started_by: str | None = None,
    ):
        self.store = store
        self.data_dir = Path(data_dir)
        self.clock: Clock = clock or SystemClock()
        self.grace = grace
        self.heartbeat_interval = heartbeat_interval
        self.only_runs = set(only_runs) if only_runs is not None else None
        self.max_workers = max_workers
        self.spawn = spawn
        self.started_by = started_by
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.exit_codes: dict[int, int] = {}
        self._watching: set[int] = set()
        self._ended: list[int] = []
        self._termed: dict[int, float] = {}
        self._timed_out: set[int] = set()
        self._timeouts: dict[int, float | None] = {}

    # -- one pass ---------------------------------------------------------------------
    def watch(self) -> list[int]:
        """Reap, then watch every running run of this executor; the runs that ended."""
        prepare = getattr(self.spawn, "prepare", None)
        if prepare is not None:  # the warm launcher: start (or restart) its zygote
            prepare()
        self._reap()
        self._watch_active()
        ended, self._ended = self._ended, []
        return ended

    def has_room(self) -> bool:
        return self.max_workers is None or self.active_children() < self.max_workers

    def active_children(self) -> int:
        return sum(1 for p in self.children.values() if p.poll() is None)

    def reap(self) -> None:
        """Collect the exit of every worker that ended (no database access)."""
        self._reap()

    def _reap(self) -> None:
        for run_id, proc in list(self.children.items()):
            code = proc.poll()
            if code is not None:
                del self.children[run_id]
                self.exit_codes[run_id] = code
                if code < 0:
                    # Killed by a signal: it could not remove its helpers' shared-memory
                    # spool (~20 MB a helper). Reaped now, so its pid reads as gone.
                    from jobtui.engine.datagen.spool import sweep_spools

                    sweep_spools()

    def _watch_active(self) -> None:
        rows = run_rows.watched_rows(self.store, self.only_runs, executor=self.name)
        seen = set()
        now = self.clock.now()
        for row in rows:
            run_id = row["id"]
            seen.add(run_id)
            self._watching.add(run_id)
            if not self._alive(row, now):
                self._worker_gone(row)
                continue
            if self._hung(row, now):
                signal_group(row["pgid"], signal.SIGKILL)
                self._finish(
                    run_id,
                    RunState.INTERRUPTED,
                    f"the worker (pid {row['pid']}) stopped heartbeating; killed",
                )
                continue
            self._enforce_cancel(row, now)
            self._enforce_timeout(row, now)
        for run_id in list(self._watching - seen):
            self._watching.discard(run_id)
            self._finished(run_id)

    def _alive(self, row: Any, now: float) -> bool:
        proc = self.children.get(row["id"])
        if proc is not None:
            return proc.poll() is None
        if row["pid"] is None:
            # Claimed but the worker has not reported yet: trust a fresh claim.
            return (now - (row["heartbeat_at"] or 0)) < STARTUP_GRACE
        return is_worker(row["pid"], row["worker_started_at"])

    def _stale_after(self) -> float:
        return max(STALE_MIN, STALE_HEARTBEATS * self.heartbeat_interval)

    def _hung(self, row: Any, now: float) -> bool:
        beat = row["heartbeat_at"]
        if beat is None:
            return False
        if beat == row["started_at"]:  # claimed by a supervisor; the worker has not beaten yet
            return now - beat > STARTUP_GRACE
        return now - beat > self._stale_after()

    def _enforce_cancel(self, row: Any, now: float) -> None:
        if row["state"] != "cancelling":
            return
        run_id = row["id"]
        if run_id not in self._termed:
            self._termed[run_id] = time.monotonic()
            self.cancel(run_id, row["pgid"])
            return
        requested = row["cancel_requested_at"] or now
        if now - requested >= self.grace and time.monotonic() - self._termed[run_id] >= min(
            self.grace, 1.0
        ):
            signal_group(row["pgid"], signal.SIGKILL)

    def _timeout_of(self, row: Any) -> float | None:
        run_id = row["id"]
        if run_id not in self._timeouts:
            spec = run_rows.version_spec(self.store, row["job_id"], row["job_version"])
            self._timeouts[run_id] = run_timeout(spec or {})
        return self._timeouts[run_id]

    def _enforce_timeout(self, row: Any, now: float) -> None:
        timeout = self._timeout_of(row)
        if timeout is None or row["started_at"] is None:
            return
        # The worker stops itself at the deadline; this is the backstop when it cannot.
        over = now - row["started_at"] - timeout
        if over < 1.0:
            return
        run_id = row["id"]
        self._timed_out.add(run_id)
        if run_id not in self._termed:
            self._termed[run_id] = time.monotonic()
            signal_group(row["pgid"], signal.SIGTERM)
        elif over >= self.grace:
            signal_group(row["pgid"], signal.SIGKILL)

    def _worker_gone(self, row: Any) -> None:
        run_id = row["id"]
        proc = self.children.pop(run_id, None)
        code = proc.poll() if proc is not None else self.exit_codes.pop(run_id, None)
        current = run_rows.state_of(self.store, run_id)
        if current is None or current not in ACTIVE:
            return  # the worker wrote its final state just before exiting
        left = kill_leftovers(row["pgid"])
        if current == "cancelling":
            state, message = RunState.CANCELLED, "cancelled (the worker was stopped)"
        elif run_id in self._timed_out:
            timeout = self._timeout_of(row)
            state = RunState.FAILED
            message = f"timed out after {timeout:g}s (the worker was killed)"
        else:
            state = RunState.INTERRUPTED
            how = f" (exit code {code})" if code is not None else ""
            message = f"the worker process (pid {row['pid']}) died{how}"
            free = space.free_bytes(self.store.path.parent)
            if free is not None and free < space.LOW_WATER_BYTES:
                message += f": {space.describe_full(self.store.path)}"
        if left:
            message += f"; {left} leftover process(es) of its group killed"
        # The worker redacts its stderr; URL passwords in what it wrote before that (or
        # from a crash below Python) are masked here too.
        detail = redact(_tail(worker_log_path(self.data_dir, run_id)))
        self._finish(run_id, state, message, detail)

    def _finish(self, run_id: int, state: RunState, message: str, detail: str = "") -> None:
        if not lifecycle.end_unreported(
            self.store, run_id, self.clock.now(), state, message, detail
        ):
            return
        self._watching.discard(run_id)
        self._finished(run_id)

    def _finished(self, run_id: int) -> None:
        # Its file sinks renamed or removed what they wrote, unless a signal killed it.
        remove_partials(partials_listing(self.data_dir, run_id))
        # A worker's stderr file is kept only when it holds something (a crash's
        # traceback): an empty one per run piled up by the thousand under a busy schedule.
        remove_worker_files(self.data_dir, [run_id], only_empty=True)
        self._termed.pop(run_id, None)
        self._timed_out.discard(run_id)
        self._timeouts.pop(run_id, None)
        self._ended.append(run_id)

    # -- starting and stopping ---------------------------------------------------------
    def submit(self, run_id: int) -> None:
        """Start the worker of a run claimed for this executor."""
        log_path = worker_log_path(self.data_dir, run_id)
        try:
            proc = self.spawn(
                self.store.path,
                run_id,
                data_dir=self.data_dir,
                stderr_path=log_path,
                started_by=self.started_by,
            )
        except OSError as exc:
            self._finish(run_id, RunState.FAILED, f"could not start the worker: {exc}")
            return
        self.children[run_id] = proc
        self._watching.add(run_id)
        if proc.pid is not None:  # the warm launcher's pid comes later: the worker attaches
            run_rows.set_spawned(self.store, run_id, proc.pid, create_time(proc.pid))

    def cancel(self, run_id: int, pgid: int | None = None) -> None:
        """SIGTERM the run's whole process group (the worker stops within a second; what
        is left is SIGKILLed after the grace period)."""
        if pgid is None:
            row = run_rows.run_row(self.store, run_id)
            pgid = row["pgid"] if row is not None else None
        signal_group(pgid, signal.SIGTERM)

    def close(self) -> None:
        """Let go of the warm launcher's zygote, if any (running workers carry on)."""
        close = getattr(self.spawn, "close", None)
        if close is not None:
            close()

    def stop_all(self, grace: float | None = None) -> None:
        """Cancel every worker this executor started (used when a foreground run is
        interrupted)."""
        for run_id in list(self.children):
            with contextlib.suppress(Exception):
                lifecycle.request_cancel(self.store, run_id, self.clock.now())
        deadline = time.monotonic() + (self.grace if grace is None else grace)
        while self.active_children() and time.monotonic() < deadline:
            self.watch()
            time.sleep(0.05)
        for proc in list(self.children.values()):
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        self.watch()


def local_supervisor(
    store: Store,
    data_dir: Path,
    clock: Clock | None = None,
    *,
    epoch: int | None = None,
    on_run_finished: Callable[[Run], None] | None = None,
    only_runs: Collection[int] | None = None,
    **options: Any,
) -> Supervisor:
    """A supervisor over the local executor alone (the daemon's default registry, and
    `wait_for_run`'s when no daemon runs); `options` go to LocalExecutor."""
    executor = LocalExecutor(store, data_dir, clock, only_runs=only_runs, **options)
    return Supervisor(
        store,
        {executor.name: executor},
        clock,
        epoch=epoch,
        on_run_finished=on_run_finished,
        only_runs=only_runs,
    )

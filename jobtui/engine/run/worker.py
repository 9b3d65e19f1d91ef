"""The worker: executes one run in its own process (`python -m jobtui.engine.run.worker`).

It claims the run (or finds it claimed by the supervisor that started it), records its
pid and process group, heartbeats every second, notices a cancel request within a
second, stops itself at the job's timeout, writes logs and progress in batches and sets
the final state with errors (message and traceback) and results.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # Before the engine's imports (~0.2 s), so a run with threads has its helpers' server
    # booting beside them (see datagen/prestart.py).
    from jobtui.engine.datagen.prestart import prestart

    prestart(sys.argv[1:])

import contextlib
import json
import os
import shlex
import signal
import subprocess
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobtui.engine.api.base import dumps
from jobtui.engine.model.durations import format_duration
from jobtui.engine.model.errors import InvalidInput, JobtuiError
from jobtui.engine.model.secrets import resolve_secret
from jobtui.engine.model.spec import JobSpec
from jobtui.engine.model.types import RunState
from jobtui.engine.run.executor import GRACE, HEARTBEAT_INTERVAL, group_members, run_timeout
from jobtui.engine.run.logs import LogWriter

if TYPE_CHECKING:
    from jobtui.engine.facade import Engine

CANCEL_POLL = 0.25


@dataclass
class TaskState:
    id: int
    name: str
    total: int | None = None
    state: str = "queued"
    records: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None
    result: str | None = None
    dirty: bool = True


@dataclass
class Outcome:
    state: RunState
    error: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    results: list[str] = field(default_factory=list)


class Stopped(Exception):
    """Raised inside the run's body when a cancel or the timeout stops it."""


class RunContext:
    """What the run's body (command or datagen pipeline) gets from the worker."""

    def __init__(
        self,
        engine: Engine,
        run: Any,
        raw_spec: dict[str, Any],
        log: LogWriter,
        *,
        grace: float = GRACE,
    ):
        self.engine = engine
        self.run_id: int = run["id"]
        self.job_id: int = run["job_id"]
        self.job_name: str = run["job_name"]
        self.workspace: str = run["workspace"]
        self.trigger: str = run["trigger"]
        self.title: str = run["title"]
        self.parameters: dict[str, Any] = json.loads(run["parameters"] or "{}")
        self.options: dict[str, Any] = json.loads(run["options"] or "{}")
        self.since: float | None = run["since"]
        self.started_at: float = run["started_at"] or time.time()
        self.raw_spec = raw_spec
        self.spec = JobSpec.model_validate(raw_spec)
        self.data_dir: Path = engine.data_dir
        self.log = log
        self.grace = grace
        self.stop = threading.Event()
        self.stop_reason: str | None = None
        self.lock = threading.Lock()
        self.tasks: list[TaskState] = []
        self.records = 0
        self.total: int | None = None
        self.results: list[str] = []
        self.errors: list[dict[str, Any]] = []

    # -- stopping -----------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self.stop.set()

    def check(self) -> None:
        if self.stop.is_set():
            raise Stopped(self.stop_reason or "cancelled")

    # -- progress -------------------------------------------------------------------
    def add_task(self, name: str, total: int | None = None) -> TaskState:
        cur = self.engine.store.execute(
            "INSERT INTO run_tasks (run_id, position, name, state, total) VALUES (?, ?, ?, ?, ?)",
            (self.run_id, len(self.tasks), name, "queued", total),
        )
        task = TaskState(id=int(cur.lastrowid or 0), name=name, total=total, dirty=False)
        with self.lock:
            self.tasks.append(task)
        return task

    def update_task(self, task: TaskState, **changes: Any) -> None:
        with self.lock:
            for key, value in changes.items():
                setattr(task, key, value)
            if changes.get("state") == "running" and task.started_at is None:
                task.started_at = time.time()
            if changes.get("state") in ("succeeded", "failed", "cancelled"):
                task.ended_at = time.time()
            task.dirty = True

    def add_records(self, n: int) -> None:
        with self.lock:
            self.records += n

    def add_error(self, message: str, detail: str | None = None, task: str | None = None) -> None:
        error: dict[str, Any] = {"message": message, "at": time.time()}
        if task:
            error["task"] = task
        if detail:
            error["traceback"] = detail
        with self.lock:
            self.errors.append(error)

    def write_progress(self, heartbeat: bool = True) -> None:
        """Heartbeat, records, progress and changed tasks in one short transaction."""
        with self.lock:
            records = self.records
            progress = min(1.0, records / self.total) if self.total else None
            dirty = [t for t in self.tasks if t.dirty]
            rows = [
                (t.state, t.records, t.total, t.started_at, t.ended_at, t.error, t.result, t.id)
                for t in dirty
            ]
            for t in dirty:
                t.dirty = False
        store = self.engine.store
        with store.transaction():
            store.execute(
                "UPDATE runs SET heartbeat_at = ?, records = ?, progress = ? WHERE id = ?",
                (time.time(), records, progress, self.run_id),
            )
            if rows:
                store.conn.executemany(
                    "UPDATE run_tasks SET state = ?, records = ?, total = ?, started_at = ?, "
                    "ended_at = ?, error = ?, result = ? WHERE id = ?",
                    rows,
                )


# -- the monitor thread ---------------------------------------------------------------
class Monitor(threading.Thread):
    """Heartbeats, polls the cancel request and watches the deadline."""

    def __init__(self, ctx: RunContext, heartbeat: float, timeout: float | None):
        super().__init__(name=f"monitor-{ctx.run_id}", daemon=True)
        self.ctx = ctx
        self.heartbeat = heartbeat
        self.deadline = ctx.started_at + timeout if timeout else None
        self.timeout = timeout
        self.done = threading.Event()

    def run(self) -> None:
        last_beat = 0.0
        store = self.ctx.engine.store
        while not self.done.wait(CANCEL_POLL):
            now = time.time()
            try:
                row = store.query_one(
                    "SELECT state, cancel_requested_at FROM runs WHERE id = ?", (self.ctx.run_id,)
                )
                if row is not None and (
                    row["cancel_requested_at"] is not None or row["state"] == "cancelling"
                ):
                    if not self.ctx.stop.is_set():
                        self.ctx.log.warning("cancel requested: stopping")
                    self.ctx.request_stop("cancelled")
                if (
                    self.deadline is not None
                    and now >= self.deadline
                    and not self.ctx.stop.is_set()
                ):
                    self.ctx.log.error(f"timed out after {format_duration(self.timeout)}: stopping")
                    self.ctx.request_stop("timeout")
                if now - last_beat >= self.heartbeat:
                    self.ctx.write_progress()
                    last_beat = now
            except Exception as exc:  # a busy database must not kill the heartbeat
                with contextlib.suppress(Exception):
                    print(f"monitor: {exc}", file=sys.stderr)


# -- command jobs ------------------------------------------------------------------------
def _own_group_members() -> list[int]:
    me = os.getpid()
    return [p for p in group_members(os.getpgid(0)) if p != me]


def terminate_children(grace: float) -> None:
    """SIGTERM every other process of our group (the command and whatever it forked), then
    SIGKILL what is still there after the grace period. The worker itself stays."""
    sent: set[int] = set()
    deadline = time.monotonic() + grace
    while True:
        members = _own_group_members()
        if not members:
            return
        if time.monotonic() >= deadline:
            break
        for pid in members:
            if pid not in sent:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
                sent.add(pid)
        _reap_children()
        time.sleep(0.05)
    for _ in range(50):
        members = _own_group_members()
        if not members:
            return
        for pid in members:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _reap_children()
        time.sleep(0.02)


def _reap_children() -> None:
    with contextlib.suppress(ChildProcessError):
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return


def _pump(stream: Any, name: str, log: LogWriter) -> None:
    for raw in iter(stream.readline, b""):
        log.write(raw.rstrip(b"\r\n").decode("utf-8", "replace"), "info", name)
    stream.close()


def command_env(ctx: RunContext) -> dict[str, str]:
    spec = ctx.spec.command
    assert spec is not None
    env = dict(os.environ)
    configured = dict(spec.env)
    configured.update({k: str(v) for k, v in (ctx.options.get("env") or {}).items()})
    for name, value in configured.items():
        env[name] = resolve_secret(value, field=f"command.env.{name}")
    env["JOBTUI_RUN_ID"] = str(ctx.run_id)
    env["JOBTUI_JOB"] = ctx.job_name
    env["JOBTUI_WORKSPACE"] = ctx.workspace
    env["JOBTUI_TRIGGER"] = ctx.trigger
    env["JOBTUI_SINCE"] = (
        datetime.fromtimestamp(ctx.since, UTC).isoformat() if ctx.since is not None else ""
    )
    for name, value in ctx.parameters.items():
        key = "JOBTUI_PARAM_" + "".join(c if c.isalnum() else "_" for c in name).upper()
        env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def command_argv(ctx: RunContext) -> list[str]:
    spec = ctx.spec.command
    assert spec is not None
    argv = list(spec.argv)
    custom = ctx.options.get("args")
    if custom is not None:
        ctx.log.info(
            f"arguments: {json.dumps(list(custom))} (run override; configured: "
            f"{json.dumps(argv[1:])})"
        )
        argv = [argv[0], *[str(a) for a in custom]]
    if spec.shell:
        # The first item is the shell script; the rest become its $1, $2, ...
        return ["/bin/sh", "-c", argv[0], ctx.job_name, *argv[1:]]
    return argv


def run_command(ctx: RunContext) -> Outcome:
    spec = ctx.spec.command
    assert spec is not None
    argv = command_argv(ctx)
    env = command_env(ctx)
    cwd = os.path.expanduser(spec.cwd) if spec.cwd else None
    if cwd is not None and not os.path.isdir(cwd):
        raise InvalidInput(f"command.cwd: {cwd} is not a directory")
    ctx.log.info(
        # Quoted as a shell would need it, so the line can be pasted to try it by hand.
        f"$ {shlex.join(argv) if not spec.shell else argv[2]}" + (f"  (in {cwd})" if cwd else "")
    )
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            close_fds=True,
        )
    except OSError as exc:
        raise InvalidInput(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, "stdout", ctx.log), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, "stderr", ctx.log), daemon=True),
    ]
    for t in pumps:
        t.start()
    while proc.poll() is None:
        if ctx.stop.wait(0.05):
            terminate_children(ctx.grace)
            proc.wait()
            break
    for t in pumps:
        t.join(timeout=2)
    code = proc.returncode
    if ctx.stop.is_set():
        raise Stopped(ctx.stop_reason or "cancelled")
    if code == 0:
        ctx.results.append(f"{argv[0]} exited with code 0")
        return Outcome(RunState.SUCCEEDED, results=ctx.results)
    if code < 0:
        message = f"{argv[0]} was killed by signal {signal.Signals(-code).name}"
    else:
        message = f"{argv[0]} exited with code {code}"
    ctx.results.append(message)
    ctx.add_error(message)
    return Outcome(RunState.FAILED, error=message, results=ctx.results)


# -- the worker ----------------------------------------------------------------------------
class RunWorker:
    def __init__(
        self,
        engine: Engine,
        run_id: int,
        *,
        heartbeat: float = HEARTBEAT_INTERVAL,
        grace: float = GRACE,
    ):
        self.engine = engine
        self.run_id = run_id
        self.heartbeat = heartbeat
        self.grace = grace

    def _claim(self) -> Any:
        store = self.engine.store
        now = time.time()
        pid, pgid = os.getpid(), os.getpgid(0)
        with store.transaction():
            row = store.query_one("SELECT state, pid FROM runs WHERE id = ?", (self.run_id,))
            if row is None:
                raise InvalidInput(f"no run with id {self.run_id}")
            if row["state"] == "queued":
                store.execute(
                    "UPDATE runs SET state = 'running', started_at = ?, heartbeat_at = ?, "
                    "pid = ?, pgid = ? WHERE id = ?",
                    (now, now, pid, pgid, self.run_id),
                )
            elif row["state"] in ("running", "cancelling"):
                if row["pid"] not in (None, pid):
                    from jobtui.engine.run.executor import is_worker

                    if is_worker(row["pid"]):
                        raise InvalidInput(
                            f"run {self.run_id} is already executed by worker {row['pid']}"
                        )
                store.execute(
                    "UPDATE runs SET pid = ?, pgid = ?, heartbeat_at = ?, "
                    "started_at = COALESCE(started_at, ?) WHERE id = ?",
                    (pid, pgid, now, now, self.run_id),
                )
            else:
                raise InvalidInput(f"run {self.run_id} is {row['state']}; nothing to do")
        run = store.query_one(
            "SELECT r.*, j.name AS job_name, w.name AS workspace FROM runs r "
            "JOIN jobs j ON j.id = r.job_id JOIN workspaces w ON w.id = j.workspace_id "
            "WHERE r.id = ?",
            (self.run_id,),
        )
        return run

    def _spec(self, run: Any) -> dict[str, Any]:
        row = self.engine.store.query_one(
            "SELECT spec FROM job_versions WHERE job_id = ? AND version = ?",
            (run["job_id"], run["job_version"]),
        )
        if row is None:
            row = self.engine.store.query_one(
                "SELECT spec FROM jobs WHERE id = ?", (run["job_id"],)
            )
        assert row is not None
        spec: dict[str, Any] = json.loads(row["spec"])
        return spec

    def run(self) -> int:
        run = self._claim()
        log = LogWriter(self.engine.store, self.run_id).start()
        try:
            ctx = RunContext(self.engine, run, self._spec(run), log, grace=self.grace)
        except Exception as exc:
            log.error(f"cannot read the job's spec: {exc}")
            log.close()
            self._final(None, Outcome(RunState.FAILED, error=str(exc)))
            return 1
        monitor = Monitor(ctx, self.heartbeat, run_timeout(ctx.raw_spec))

        def on_term(signum: int, frame: Any) -> None:
            ctx.request_stop("cancelled")

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        monitor.start()
        title = f" — {ctx.title}" if ctx.title else ""
        log.info(
            f"run {self.run_id} of {ctx.workspace}/{ctx.job_name} (version {run['job_version']}, "
            f"{ctx.trigger}){title}: worker pid {os.getpid()}"
        )
        if ctx.parameters:
            log.info(f"parameters: {json.dumps(ctx.parameters, ensure_ascii=False)}")
        if ctx.since is not None:
            log.info(f"since: {datetime.fromtimestamp(ctx.since, UTC).isoformat()}")
        try:
            if run["state"] == "cancelling":
                ctx.request_stop("cancelled")
            ctx.check()
            outcome = self._body(ctx)
        except Stopped as stop:
            outcome = self._stopped(ctx, str(stop))
        except JobtuiError as exc:
            if ctx.stop.is_set():
                outcome = self._stopped(ctx, ctx.stop_reason or "cancelled")
            else:
                log.error(str(exc))
                ctx.add_error(str(exc))
                outcome = Outcome(RunState.FAILED, error=str(exc))
        except Exception as exc:
            detail = traceback.format_exc()
            message = f"{type(exc).__name__}: {exc}"
            log.error(f"failed: {message}")
            log.error(detail)
            ctx.add_error(message, detail)
            outcome = Outcome(RunState.FAILED, error=message)
        monitor.done.set()
        monitor.join(timeout=5)
        summary = f"{outcome.state.value}"
        if outcome.error:
            summary += f": {outcome.error}"
        log.write(
            f"run ended {summary}",
            "info" if outcome.state == RunState.SUCCEEDED else "warning",
        )
        log.close()
        self._final(ctx, outcome)
        return 0 if outcome.state == RunState.SUCCEEDED else 1

    def _body(self, ctx: RunContext) -> Outcome:
        if ctx.spec.kind == "command":
            return run_command(ctx)
        from jobtui.engine.datagen.run import run_datagen, run_replay

        if ctx.options.get("replay_of") is not None:
            return run_replay(ctx)
        return run_datagen(ctx)

    def _stopped(self, ctx: RunContext, reason: str) -> Outcome:
        for task in ctx.tasks:
            if task.state in ("queued", "running"):
                ctx.update_task(task, state="cancelled" if reason != "timeout" else "failed")
        if reason == "timeout":
            timeout = run_timeout(ctx.raw_spec) or 0
            message = f"timed out after {format_duration(timeout)}"
            ctx.add_error(message)
            return Outcome(RunState.FAILED, error=message)
        return Outcome(RunState.CANCELLED, error="cancelled")

    def _final(self, ctx: RunContext | None, outcome: Outcome) -> None:
        store = self.engine.store
        now = time.time()
        if ctx is not None:
            with contextlib.suppress(Exception):
                ctx.write_progress()
            errors = ctx.errors
            results = outcome.results or ctx.results
        else:
            errors = [{"message": outcome.error or "", "at": now}]
            results = outcome.results
        for _ in range(20):
            try:
                with store.transaction():
                    row = store.query_one(
                        "SELECT state, started_at, job_id FROM runs WHERE id = ?", (self.run_id,)
                    )
                    if row is None or row["state"] not in ("running", "cancelling"):
                        return
                    state = outcome.state
                    store.execute(
                        "UPDATE runs SET state = ?, ended_at = ?, heartbeat_at = ?, error = ?, "
                        "errors = ?, results = ?, progress = CASE WHEN ? THEN 1.0 ELSE progress "
                        "END WHERE id = ?",
                        (
                            state.value,
                            now,
                            now,
                            outcome.error,
                            dumps(errors),
                            dumps(results),
                            state == RunState.SUCCEEDED,
                            self.run_id,
                        ),
                    )
                    store.execute(
                        "UPDATE run_tasks SET state = ?, ended_at = ? WHERE run_id = ? "
                        "AND state IN ('queued', 'running')",
                        (
                            "cancelled" if state == RunState.CANCELLED else "failed",
                            now,
                            self.run_id,
                        ),
                    )
                    if state == RunState.SUCCEEDED and row["started_at"] is not None:
                        store.execute(
                            "UPDATE jobs SET since_watermark = ? WHERE id = ? AND "
                            "(since_watermark IS NULL OR since_watermark < ?)",
                            (row["started_at"], row["job_id"], row["started_at"]),
                        )
                return
            except Exception as exc:
                print(f"worker: could not write the final state: {exc}", file=sys.stderr)
                time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    from jobtui.engine.datagen.prestart import worker_arguments
    from jobtui.engine.facade import Engine

    args = worker_arguments(argv)

    data_dir = args.data_dir or str(Path(args.db).expanduser().parent)
    engine = Engine.open(data_dir=data_dir, db=args.db)
    try:
        return RunWorker(engine, args.run_id).run()
    except JobtuiError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.close()


if __name__ == "__main__":
    sys.exit(main())

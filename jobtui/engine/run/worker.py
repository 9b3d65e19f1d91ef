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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobtui.engine.model.clock import Clock, SystemClock
from jobtui.engine.model.durations import format_duration
from jobtui.engine.model.errors import InvalidInput, JobtuiError
from jobtui.engine.model.runtime import Outcome, RunContext, Stopped
from jobtui.engine.model.secrets import resolve_secret
from jobtui.engine.model.types import RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.run.executor import GRACE, HEARTBEAT_INTERVAL, group_members, run_timeout
from jobtui.engine.run.logs import LogWriter
from jobtui.engine.run.order import load_order
from jobtui.engine.run.reporter import SqliteReporter
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store

CANCEL_POLL = 0.25


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
        while not self.done.wait(CANCEL_POLL):
            now = self.ctx.now()
            try:
                if self.ctx.reporter.cancel_requested():
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


def _pump(stream: Any, name: str, log: LogWriter | Any) -> None:
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
        store: Store,
        data_dir: Path,
        run_id: int,
        *,
        heartbeat: float = HEARTBEAT_INTERVAL,
        grace: float = GRACE,
        clock: Clock | None = None,
    ):
        self.store = store
        self.data_dir = Path(data_dir)
        self.run_id = run_id
        self.heartbeat = heartbeat
        self.grace = grace
        self.clock: Clock = clock or SystemClock()

    def _claim(self) -> Any:
        store = self.store
        now = self.clock.now()
        pid, pgid = os.getpid(), os.getpgid(0)
        with store.transaction():
            row = run_rows.worker_state(store, self.run_id)
            if row is None:
                raise InvalidInput(f"no run with id {self.run_id}")
            if row["state"] == "queued" and lifecycle.claim(store, self.run_id, now):
                # Started by hand (a test, `jobtui worker`) on a queued run: the same claim.
                lifecycle.attach(store, self.run_id, now, pid, pgid)
            elif row["state"] in ("running", "cancelling"):
                if row["pid"] not in (None, pid):
                    from jobtui.engine.run.executor import is_worker

                    if is_worker(row["pid"]):
                        raise InvalidInput(
                            f"run {self.run_id} is already executed by worker {row['pid']}"
                        )
                lifecycle.attach(store, self.run_id, now, pid, pgid)
            else:
                raise InvalidInput(f"run {self.run_id} is {row['state']}; nothing to do")
        return run_rows.run_row(store, self.run_id)

    def run(self) -> int:
        run = self._claim()
        reporter = SqliteReporter(self.store, self.run_id)
        log = LogWriter(reporter, clock=self.clock.now).start()
        try:
            order = load_order(self.store, run, self.clock.now())
            ctx = RunContext(
                order, reporter, log, self.data_dir, grace=self.grace, clock=self.clock
            )
        except Exception as exc:
            log.error(f"cannot read the job's spec: {exc}")
            log.close()
            now = self.clock.now()
            outcome = Outcome(RunState.FAILED, error=str(exc))
            reporter.finish(now, outcome, [{"message": str(exc), "at": now}], [])
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

    def _final(self, ctx: RunContext, outcome: Outcome) -> None:
        with contextlib.suppress(Exception):
            ctx.write_progress()
        results = outcome.results or ctx.results
        ctx.reporter.finish(self.clock.now(), outcome, ctx.errors, results)


def main(argv: list[str] | None = None) -> int:
    from jobtui.engine.datagen.prestart import worker_arguments

    args = worker_arguments(argv)
    db_path = Path(args.db).expanduser()
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else db_path.parent
    try:
        store = Store(db_path)
    except JobtuiError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    try:
        return RunWorker(store, data_dir, args.run_id).run()
    except JobtuiError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())

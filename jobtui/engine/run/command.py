"""The command runner: the body of a `command` job (argv or shell, environment with
secrets resolved and run parameters, output pumped into the log, the whole process tree
stopped on cancel)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from typing import Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.runtime import LogSink, Outcome, RunContext, Stopped
from jobtui.engine.model.secrets import resolve_secret
from jobtui.engine.model.types import RunState
from jobtui.engine.run.proc import group_members


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


def _pump(stream: Any, name: str, log: LogSink) -> None:
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

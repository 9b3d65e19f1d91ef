"""Helpers shared by the runs tests: start a run, wait on conditions (never long sleeps)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from jobtui.engine import Engine, Run
from jobtui.engine.run.executor import Supervisor
from jobtui.engine.run.local import local_supervisor
from tests.conftest import PATIENCE

STOP_GRACE = 2.0  # the grace between SIGTERM and SIGKILL of the supervisors started here


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout * PATIENCE
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout * PATIENCE}s")
        time.sleep(interval)


def command_job(engine: Engine, name: str, argv: list[str], **extra: Any) -> None:
    command: dict[str, Any] = {"argv": argv}
    for key in ("env", "cwd", "shell", "output", "inherit_env"):
        if key in extra:
            command[key] = extra.pop(key)
    engine.create_job({"name": name, "kind": "command", "command": command, **extra})


def run_to_end(engine: Engine, name: str, timeout: float = 30.0, **kwargs: Any) -> Run:
    run = engine.queue_run(name, **kwargs)
    return engine.wait_for_run(run.id, timeout=timeout)


def start_running(engine: Engine, run_id: int, timeout: float = 10.0) -> Supervisor:
    """Start the run's worker with a supervisor of our own; return once it reports its pid."""
    supervisor = local_supervisor(
        engine.store, engine.data_dir, engine.clock, only_runs={run_id}, grace=STOP_GRACE
    )
    supervisor.tick()

    def reported() -> bool:
        supervisor.tick()
        run = engine.get_run(run_id)
        return run.state.value == "running" and bool(run.heartbeat_at) and run.pid is not None

    wait_until(reported, timeout)
    return supervisor


def tick_until_final(supervisor: Supervisor, engine: Engine, run_id: int, timeout: float) -> Run:
    """Tick the supervisor until the run is in a final state; return it."""

    def ended() -> bool:
        # Looked at before the tick: the supervisor then ticks once more after the run has
        # ended, as a daemon would, and so sees it end (else the run could end between
        # its last tick and this look, and its end would go unnoticed by it).
        final = engine.get_run(run_id).state.is_final
        supervisor.tick()
        return final

    wait_until(ended, timeout)
    return engine.get_run(run_id)


def live_members(pgid: int) -> list[int]:
    """Non-zombie processes of a process group, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            out.append(int(entry))
    return out

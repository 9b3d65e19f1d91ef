"""Process inspection through psutil: one liveness rule (a zombie is dead), group members,
and a worker told from a recycled pid by its command line and its start time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.run.local import local_supervisor
from jobtui.engine.run.proc import (
    create_time,
    group_members,
    is_worker,
    kill_leftovers,
    pid_alive,
)

from .runs_helpers import wait_until


@pytest.fixture
def group() -> Iterator[subprocess.Popen[bytes]]:
    """A process group: a shell and two sleeps."""
    proc = subprocess.Popen(["/bin/sh", "-c", "sleep 30 & sleep 30 & wait"], start_new_session=True)
    yield proc
    kill_leftovers(proc.pid)
    proc.wait()


def test_group_members_are_found_and_killed(group: subprocess.Popen[bytes]) -> None:
    wait_until(lambda: len(group_members(group.pid)) == 3)
    assert group.pid in group_members(group.pid)
    assert kill_leftovers(group.pid) == 3
    group.wait()
    wait_until(lambda: group_members(group.pid) == [])


def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    # Not reaped: a zombie until waited for. One rule for every caller: dead.
    wait_until(lambda: not pid_alive(child.pid))
    assert child.pid in group_members(os.getpgid(0), include_zombies=True)
    assert child.pid not in group_members(os.getpgid(0))
    child.wait()
    assert not pid_alive(child.pid)


def test_a_worker_is_known_by_its_command_line_and_its_start_time() -> None:
    fake = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "jobtui.engine.run.worker"]
    )
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = wait_until(lambda: create_time(fake.pid))
        assert abs(started - time.time()) < 60
        assert is_worker(fake.pid)
        assert is_worker(fake.pid, started)
        # The run recorded another start: the pid was recycled by another worker.
        assert not is_worker(fake.pid, started - 100)
        assert not is_worker(other.pid)  # alive, but not a worker
        assert not is_worker(None)
    finally:
        for proc in (fake, other):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    assert not is_worker(fake.pid)


def test_a_restarted_supervisor_does_not_adopt_a_recycled_pid(engine: Engine) -> None:
    # The run's worker died; its pid now belongs to another worker started later.
    impostor = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "jobtui.engine.run.worker"]
    )
    try:
        engine.create_job({"name": "gone", "kind": "command", "command": {"argv": ["true"]}})
        run_id = engine.queue_run("gone").id
        now = engine.now()
        assert lifecycle.claim(engine.store, run_id, now)
        started = wait_until(lambda: create_time(impostor.pid))
        lifecycle.attach(engine.store, run_id, now, impostor.pid, impostor.pid, started - 50)
        supervisor = local_supervisor(engine.store, engine.data_dir, engine.clock)
        supervisor.tick()
        run = engine.get_run(run_id)
        assert run.state == RunState.INTERRUPTED
        assert f"pid {impostor.pid}" in (run.error or "")
    finally:
        impostor.send_signal(signal.SIGKILL)
        impostor.wait()

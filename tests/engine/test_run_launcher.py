"""The warm run launcher (issue 18): runs forked from a zygote behave as cold-started ones
(own process group, cancel, kill -9, adoption by another supervisor); the cold path is the
fallback while the zygote is away, and a dead zygote is replaced. The doorbell wakes
whoever listens on the database's address."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.run.doorbell import Doorbell, ring
from jobtui.engine.run.executor import Supervisor
from jobtui.engine.run.launcher import WarmSpawner
from jobtui.engine.run.local import LocalExecutor, spawn_worker
from jobtui.engine.run.proc import is_worker
from jobtui.engine.run.zygote import SPARE_MIN_LIFE

from .runs_helpers import STOP_GRACE, command_job, live_members, tick_until_final, wait_until


@pytest.fixture
def spawner(engine: Engine) -> Iterator[WarmSpawner]:
    warm = WarmSpawner(engine.data_dir)
    warm.prepare()
    assert warm.ready.wait(60), "the zygote did not say ready within 60 s"
    yield warm
    warm.close()


def supervisor_for(engine: Engine, spawn: Callable[..., Any], run_id: int) -> Supervisor:
    executor = LocalExecutor(
        engine.store,
        engine.data_dir,
        engine.clock,
        grace=STOP_GRACE,
        only_runs={run_id},
        spawn=spawn,
    )
    return Supervisor(engine.store, {executor.name: executor}, engine.clock, only_runs={run_id})


def running(engine: Engine, supervisor: Supervisor, run_id: int) -> int:
    """Tick until the run's worker has attached; its pid."""

    def attached() -> int | None:
        supervisor.tick()
        run = engine.get_run(run_id)
        return run.pid if run.executing_at is not None else None

    return int(wait_until(attached, 30))


def test_a_forked_worker_runs_the_job_in_a_session_of_its_own(
    engine: Engine, spawner: WarmSpawner
) -> None:
    command_job(engine, "hello", ["sh", "-c", 'echo "hi $JOBTUI_STARTED_BY"'])
    run = engine.queue_run("hello")
    supervisor = supervisor_for(engine, spawner, run.id)
    pid = running(engine, supervisor, run.id)
    assert spawner.warm_spawns == 1 and spawner.cold_spawns == 0
    ended = tick_until_final(supervisor, engine, run.id, 30)
    assert ended.state == RunState.SUCCEEDED
    assert ended.pgid == pid  # its own process group, not the zygote's
    assert spawner.proc is not None and os.getpgid(spawner.proc.pid) != pid
    assert "hi " in [line.message[:3] for line in engine.read_log(run.id)]
    # Its worker wrote nothing to stderr: no file of it is left behind.
    assert list((engine.data_dir / "workers").iterdir()) == []


def test_cancel_and_kill_9_of_a_forked_worker(engine: Engine, spawner: WarmSpawner) -> None:
    command_job(engine, "sleepy", ["sleep", "60"])
    first = engine.queue_run("sleepy")
    supervisor = supervisor_for(engine, spawner, first.id)
    pgid = running(engine, supervisor, first.id)
    wait_until(lambda: len(live_members(pgid)) >= 2, 10)  # the worker and its `sleep`
    lifecycle.request_cancel(engine.store, first.id, engine.now())
    ended = tick_until_final(supervisor, engine, first.id, 30)
    assert ended.state == RunState.CANCELLED
    wait_until(lambda: live_members(pgid) == [], 10)

    second = engine.queue_run("sleepy")
    supervisor = supervisor_for(engine, spawner, second.id)
    pgid = running(engine, supervisor, second.id)
    os.killpg(pgid, signal.SIGKILL)
    ended = tick_until_final(supervisor, engine, second.id, 30)
    assert ended.state == RunState.INTERRUPTED
    assert "exit code -9" in (ended.error or "")  # the zygote reaped it and said how
    assert spawner.alive()  # the zygote is in no run's group


def test_a_forked_worker_outlives_its_zygote_and_is_adopted(
    engine: Engine, spawner: WarmSpawner
) -> None:
    command_job(engine, "long", ["sleep", "60"])
    run = engine.queue_run("long")
    supervisor = supervisor_for(engine, spawner, run.id)
    pid = running(engine, supervisor, run.id)
    zygote = spawner.proc
    assert zygote is not None
    assert spawner.sock is not None
    # As when the daemon dies (kill -9): the zygote reads EOF and exits.
    spawner.sock.shutdown(socket.SHUT_RDWR)
    assert zygote.wait(30) == 0
    row = engine.store.query_one("SELECT worker_started_at FROM runs WHERE id = ?", (run.id,))
    assert row is not None and is_worker(pid, row["worker_started_at"])
    # A new supervisor (a restarted daemon) adopts the worker from the run row and cancels it.
    adopter = supervisor_for(engine, spawn_worker, run.id)
    adopter.tick()
    assert engine.get_run(run.id).state == RunState.RUNNING
    lifecycle.request_cancel(engine.store, run.id, engine.now())
    assert tick_until_final(adopter, engine, run.id, 30).state == RunState.CANCELLED
    wait_until(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie")


def test_runs_start_cold_while_the_zygote_is_gone_and_it_is_replaced(
    engine: Engine, spawner: WarmSpawner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jobtui.engine.run.launcher.RESTART_BACKOFF", 0.0)
    zygote = spawner.proc
    assert zygote is not None
    zygote.kill()
    zygote.wait(10)
    wait_until(lambda: spawner.lost.is_set(), 10)
    command_job(engine, "fallback", ["true"])
    run = engine.queue_run("fallback")
    executor = LocalExecutor(
        engine.store, engine.data_dir, engine.clock, only_runs={run.id}, spawn=spawner
    )
    supervisor = Supervisor(engine.store, {"local": executor}, engine.clock, only_runs={run.id})
    # The supervisor claims and submits in the same tick that prepares a new zygote: that
    # one is not ready yet, so this run starts cold.
    supervisor.tick()
    assert spawner.cold_spawns == 1 and spawner.warm_spawns == 0
    assert tick_until_final(supervisor, engine, run.id, 60).state == RunState.SUCCEEDED
    assert spawner.starts == 2 and spawner.ready.wait(60)  # a new zygote, ready for the next
    assert spawner.proc is not None and spawner.proc.pid != zygote.pid


def _spare_of(engine: Engine, zygote: int) -> psutil.Process | None:
    """The zygote's child waiting with the database open (no run's worker on its way out)."""
    workers = {r["pid"] for r in engine.store.query("SELECT pid FROM runs")}
    for child in psutil.Process(zygote).children():
        with contextlib.suppress(psutil.Error):
            if child.pid not in workers and str(engine.store.path) in [
                f.path for f in child.open_files()
            ]:
                return child
    return None


def _gone(process: psutil.Process) -> bool:
    """Dead, or a zombie not reaped yet (reaped between two questions: gone too)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_the_next_worker_waits_forked_with_the_database_open_and_goes_with_its_zygote(
    engine: Engine, spawner: WarmSpawner
) -> None:
    """The spare (issue 18: fork -> executing < 20 ms): one worker forked ahead, in a session
    of its own, the database opened; a dead spare costs only the fork it saved, is never
    reported as a run's exit, and is replaced; when the zygote goes, so does its spare."""
    command_job(engine, "quick", ["true"])
    zygote = spawner.proc
    assert zygote is not None
    for _ in range(2):
        run = engine.queue_run("quick")
        supervisor = supervisor_for(engine, spawner, run.id)
        assert tick_until_final(supervisor, engine, run.id, 30).state == RunState.SUCCEEDED
        spare = wait_until(lambda: _spare_of(engine, zygote.pid), 30)
        assert os.getsid(spare.pid) == spare.pid
        # Killed once past the age below which a dead spare is not replaced (no fork
        # loop). psutil's create_time adds the boot time, which Linux gives in whole
        # seconds: it can read up to 1 s early, so the margin is over a second.
        wait_until(lambda s=spare: time.time() - s.create_time() > SPARE_MIN_LIFE + 1.1)
        spare.kill()
        wait_until(lambda s=spare: _gone(s))
        wait_until(lambda s=spare: (n := _spare_of(engine, zygote.pid)) and n.pid != s.pid, 30)
        assert spare.pid not in spawner._exits
    assert spawner.warm_spawns == 2 and spawner.cold_spawns == 0
    spare = wait_until(lambda: _spare_of(engine, zygote.pid), 30)
    spawner.close()
    wait_until(lambda: _gone(spare), 10)


def test_a_forked_worker_forks_its_helpers_into_its_group_and_a_cancel_stops_them(
    engine: Engine, spawner: WarmSpawner, tmp_path: Path
) -> None:
    """`threads: 2` from the warm launcher (issue 18): the worker forks its helper itself (a
    fork, not a forkserver's fresh interpreter), into the run's process group, where a
    cancel reaches it; the bytes are those of one process."""
    from jobtui.engine.datagen.prestart import usable_cpus

    if usable_cpus() < 2:
        pytest.skip("threads: 2 runs in one process on one CPU")
    out = tmp_path / "out"
    for threads in (1, 2):
        spec = {"datasets": ["users"], "max_records": 30_000, "seed": 7, "threads": threads}
        spec["sinks"] = [{"type": "file", "options": {"base_dir": str(out / str(threads))}}]
        engine.create_job({"name": f"same-{threads}", "datagen": spec})
        small = engine.queue_run(f"same-{threads}")
        done = tick_until_final(supervisor_for(engine, spawner, small.id), engine, small.id, 120)
        assert done.state == RunState.SUCCEEDED
    made = [sorted((out / t).rglob("*.jsonl")) for t in ("1", "2")]
    assert [p.read_bytes() for p in made[0]] == [p.read_bytes() for p in made[1]] != []
    datagen = {
        "datasets": ["users"],
        "max_records": 20_000_000,
        "seed": 1,
        "threads": 2,
        "sinks": [{"type": "file", "options": {"base_dir": str(out)}}],
    }
    engine.create_job({"name": "big", "datagen": datagen})
    run = engine.queue_run("big")
    supervisor = supervisor_for(engine, spawner, run.id)
    pid = running(engine, supervisor, run.id)

    def helper() -> psutil.Process | None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(pid).children():
                if "multiprocessing" not in " ".join(child.cmdline()):
                    return child
        return None

    forked = wait_until(helper, 30)
    assert os.getpgid(forked.pid) == pid  # the run's group
    assert "jobtui.engine.run.zygote" in forked.cmdline()  # a fork of the worker
    lifecycle.request_cancel(engine.store, run.id, engine.now())
    assert tick_until_final(supervisor, engine, run.id, 60).state == RunState.CANCELLED
    wait_until(lambda: live_members(pid) == [], 30)


def test_queueing_and_cancelling_ring_the_doorbell(engine: Engine) -> None:
    bell = Doorbell(engine.store.path)
    if bell.sock is None:
        pytest.skip("no abstract socket namespace here: the daemon polls")
    try:
        bell.sock.settimeout(30)
        command_job(engine, "rung", ["true"])
        run = engine.queue_run("rung")
        assert bell.sock.recv(64)  # rung once the run is in the database
        engine.cancel_run(run.id)
        assert bell.sock.recv(64)
        ring(engine.store.path)
        assert bell.drain()
        assert not bell.drain()  # nothing more waiting
        # A second listener on the same database cannot bind: it falls back to polling.
        assert Doorbell(engine.store.path).sock is None
    finally:
        bell.close()

"""Real daemons in subprocesses on a temp data dir: the "Done when" points of issue 4
that need processes (fires, crashes, freezes, adoption). Waits poll the database."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine
from jobtui.engine.run.executor import group_members
from tests.conftest import PATIENCE

pytestmark = pytest.mark.slow


def jobtui(data_dir: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobtui", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout * PATIENCE
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout * PATIENCE}s waiting for {what}")


class Daemons:
    """Starts foreground daemons and cleans up every process a test left behind."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.procs: list[subprocess.Popen[str]] = []
        self.pgids: set[int] = set()

    def start(self, grace: float = 2.0) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jobtui",
                "--data-dir",
                str(self.data_dir),
                "daemon",
                "--grace",
                str(grace),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def cleanup(self, engine: Engine) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGCONT)
                    proc.kill()
            proc.wait(5)
        status = engine.daemon_status(next_fires=0)
        if status.alive and status.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(status.pid, signal.SIGCONT)
                os.kill(status.pid, signal.SIGKILL)
        for row in engine.store.query("SELECT pgid FROM runs WHERE pgid IS NOT NULL"):
            self.pgids.add(int(row["pgid"]))
        for pgid in self.pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def eng(data_dir: Path) -> Iterator[Engine]:
    engine = Engine.open(data_dir=data_dir)
    yield engine
    engine.close()


@pytest.fixture
def daemons(data_dir: Path, eng: Engine) -> Iterator[Daemons]:
    d = Daemons(data_dir)
    yield d
    d.cleanup(eng)


def job(
    name: str, argv: list[str], schedule: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "kind": "command", "command": {"argv": argv}}
    if schedule:
        spec["schedule"] = schedule
    spec.update(extra)
    return spec


def runs_of(engine: Engine, name: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in engine.store.query(
            "SELECT r.* FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = ? ORDER BY r.id",
            (name,),
        )
    ]


def responsive_pid(engine: Engine) -> int | None:
    status = engine.daemon_status(next_fires=0)
    return status.pid if status.alive and status.responsive else None


def test_six_field_cron_fires_every_two_seconds_after_the_client_exits(
    eng: Engine, daemons: Daemons, data_dir: Path
) -> None:
    # A client (standing in for the TUI) creates the job, starts the daemon and exits.
    client = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from jobtui.engine import Engine; e = Engine.open(sys.argv[1]); "
            "e.create_job({'name': 'fast', 'kind': 'command', 'command': {'argv': ['true']}, "
            "'schedule': {'type': 'cron', 'cron': '*/2 * * * * *'}, "
            "'policies': {'misfire': {'policy': 'skip'}}}); print(e.ensure_daemon())",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert client.returncode == 0, client.stderr
    assert "started the jobtui daemon" in client.stdout
    pid = wait_until(lambda: responsive_pid(eng), 10, "the daemon")
    wait_until(
        lambda: (
            sum(
                r["state"] == "succeeded" and r["trigger"] == "schedule"
                for r in runs_of(eng, "fast")
            )
            >= 3
        ),
        12,
        "three scheduled runs",
    )
    fired = [r["scheduled_for"] for r in runs_of(eng, "fast") if r["trigger"] == "schedule"]
    fired = [f for f in fired if f is not None]
    gaps = {round(b - a) for a, b in itertools.pairwise(fired)}
    assert gaps == {2}
    assert all(int(f) % 2 == 0 for f in fired)
    assert responsive_pid(eng) == pid  # the same detached daemon, still alive
    out = jobtui(data_dir, "daemon", "stop", "--timeout", "15")
    assert out.returncode == 0, out.stderr
    assert not eng.daemon_status().alive


def test_two_daemons_at_once_one_wins_the_other_exits_2_naming_the_holder(
    eng: Engine, daemons: Daemons
) -> None:
    first, second = daemons.start(), daemons.start()
    loser = wait_until(
        lambda: next((p for p in (first, second) if p.poll() is not None), None),
        15,
        "one daemon to give up",
    )
    winner = second if loser is first else first
    assert loser.returncode == 2
    stderr = loser.stderr.read() if loser.stderr else ""
    assert f"pid {winner.pid}" in stderr
    assert winner.poll() is None
    assert wait_until(lambda: responsive_pid(eng), 10, "the winner's lease") == winner.pid
    winner.send_signal(signal.SIGTERM)
    assert winner.wait(15) == 0


def test_frozen_leader_unresponsive_no_second_daemon_and_no_duplicate_fires(
    eng: Engine, daemons: Daemons, data_dir: Path
) -> None:
    eng.create_job(
        job(
            "tick",
            ["true"],
            {"type": "interval", "every": "1s"},
            policies={"overlap": {"policy": "allow", "max": 5}},
        )
    )
    leader = daemons.start()
    wait_until(lambda: responsive_pid(eng) == leader.pid, 10, "the leader")
    os.kill(leader.pid, signal.SIGSTOP)
    try:
        status = wait_until(
            lambda: (s := eng.daemon_status()) and s.alive and not s.responsive and s,
            12,
            "the frozen leader to look unresponsive",
        )
        assert status.pid == leader.pid
        text = jobtui(data_dir, "daemon", "status")
        assert text.returncode == 1
        assert "unresponsive" in text.stdout and str(leader.pid) in text.stdout
        second = jobtui(data_dir, "daemon", "--grace", "1")
        assert second.returncode == 2
        assert f"pid {leader.pid}" in second.stderr
        assert eng.ensure_daemon() is None  # it holds the lock: nothing is started
    finally:
        os.kill(leader.pid, signal.SIGCONT)
    wait_until(lambda: responsive_pid(eng) == leader.pid, 10, "the leader to carry on")
    n = len(runs_of(eng, "tick"))
    wait_until(lambda: len(runs_of(eng, "tick")) >= n + 2, 10, "fires after SIGCONT")
    ran = [
        r["scheduled_for"] for r in runs_of(eng, "tick") if r["state"] not in ("missed", "skipped")
    ]
    duplicates = [t for t, k in Counter(ran).items() if k > 1]
    assert duplicates == []
    assert eng.daemon_status().epoch == 1  # nobody took over
    leader.send_signal(signal.SIGTERM)
    assert leader.wait(15) == 0


def test_kill_9_daemon_then_restarted_daemon_adopts_and_cancels_the_run(
    eng: Engine, daemons: Daemons
) -> None:
    eng.create_job(job("long", ["sh", "-c", "sleep 60 & sleep 60 & wait"]))
    first = daemons.start()
    wait_until(lambda: responsive_pid(eng) == first.pid, 10, "the daemon")
    run = eng.queue_run("long")
    wait_until(
        lambda: (r := eng.get_run(run.id)).state.value == "running" and r.pgid,
        10,
        "the run to start",
    )
    pgid = eng.get_run(run.id).pgid
    assert pgid
    daemons.pgids.add(pgid)
    wait_until(lambda: len(group_members(pgid)) >= 3, 5, "the command and its children")
    first.kill()  # kill -9
    first.wait(5)
    time.sleep(1.5)
    assert eng.get_run(run.id).state.value == "running"  # the worker outlived the daemon
    second = daemons.start(grace=2)
    wait_until(lambda: responsive_pid(eng) == second.pid, 10, "the restarted daemon")
    info = wait_until(
        lambda: "adopted" in (i := eng.daemon_status().info) and i, 10, "the start-up report"
    )
    assert info["adopted"] == [run.id]
    assert info["interrupted"] == []
    started = time.monotonic()
    eng.cancel_run(run.id)
    wait_until(lambda: eng.get_run(run.id).state.value == "cancelled", 2 + 10, "the cancel to land")
    wait_until(lambda: group_members(pgid) == [], 2, "the group to be gone")
    assert time.monotonic() - started < 2 + 10
    second.send_signal(signal.SIGTERM)
    assert second.wait(15) == 0


def test_kill_9_of_the_worker_group_interrupts_and_retries(eng: Engine, daemons: Daemons) -> None:
    eng.create_job(
        job("victim", ["sleep", "60"], policies={"retry": {"attempts": 2, "delay": "0s"}})
    )
    daemon = daemons.start()
    wait_until(lambda: responsive_pid(eng) == daemon.pid, 10, "the daemon")
    run = eng.queue_run("victim")
    wait_until(lambda: eng.get_run(run.id).pgid, 10, "the worker")
    pgid = eng.get_run(run.id).pgid
    assert pgid
    daemons.pgids.add(pgid)
    os.killpg(pgid, signal.SIGKILL)
    wait_until(
        lambda: eng.get_run(run.id).state.value in ("interrupted", "retrying"),
        5,
        "the run to be found interrupted",
    )
    retry = wait_until(
        lambda: next((r for r in runs_of(eng, "victim") if r["trigger"] == "retry"), None),
        5,
        "the retry run",
    )
    assert retry["attempt"] == 2 and retry["retry_of"] == run.id
    superseded = eng.get_run(run.id)
    assert (superseded.state.value, superseded.retried_as) == ("interrupted", retry["id"])
    wait_until(lambda: eng.get_run(retry["id"]).state.value == "running", 10, "the retry to run")
    if eng.get_run(retry["id"]).pgid:
        daemons.pgids.add(int(eng.get_run(retry["id"]).pgid or 0))
    eng.cancel_run(retry["id"])
    wait_until(lambda: eng.get_run(retry["id"]).state.value == "cancelled", 15, "cancel")
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(15) == 0


def test_sigterm_drains_running_runs_then_stops(eng: Engine, daemons: Daemons) -> None:
    eng.create_job(job("short", ["sleep", "1.5"]))
    daemon = daemons.start(grace=10)
    wait_until(lambda: responsive_pid(eng) == daemon.pid, 10, "the daemon")
    run = eng.queue_run("short")
    wait_until(lambda: eng.get_run(run.id).state.value == "running", 10, "the run")
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(15) == 0
    # It waited for the running run to finish (well inside the 10 s grace).
    assert eng.get_run(run.id).state.value == "succeeded"

"""`jobtui run --wait` shows a live progress line on a terminal (issue 20, point 20), and
nothing of it when piped or with --quiet. Run under a real pseudo-terminal (`pty`)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobtui.commands.progress import Rates, frame
from jobtui.engine import Engine, Run, RunState, RunTask, Trigger
from tests.conftest import PATIENCE

LIMIT = 30 * PATIENCE


@pytest.fixture
def blocked(tmp_path: Path) -> tuple[Path, Path]:
    """A command job that runs until the test writes a line into its FIFO."""
    data_dir = tmp_path / "data"
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    engine = Engine.open(data_dir=data_dir)
    engine.create_job(
        {
            "name": "gated",
            "kind": "command",
            "command": {"argv": [f"read x < {fifo}"], "shell": True},
        }
    )
    engine.close()
    return data_dir, fifo


def release_when_running(data_dir: Path, fifo: Path) -> threading.Thread:
    def release() -> None:
        engine = Engine.open(data_dir=data_dir)
        deadline = time.monotonic() + LIMIT
        try:
            while time.monotonic() < deadline:
                runs = engine.list_runs(limit=1)
                if runs and runs[0].state == RunState.RUNNING:
                    break
                time.sleep(0.05)
        finally:
            engine.close()
        with open(fifo, "w") as gate:  # blocks until the command opens it
            gate.write("go\n")

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


def env_for(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "JOBTUI_DATA_DIR": str(data_dir), "COLUMNS": "100"}
    env.pop("JOBTUI_DB", None)
    return env


def run_on_a_terminal(data_dir: Path, fifo: Path, *args: str) -> tuple[int, str, bool]:
    """Exit code, everything the terminal got, and whether a progress frame was on screen
    while the run was still blocked (the gate is opened only after one was seen)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobtui", "run", "gated", "--wait", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env_for(data_dir),
        close_fds=True,
    )
    os.close(slave)
    out = b""
    seen_live = False
    released = False
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        if not released and b"running" in out and b"elapsed" in out:
            seen_live = True
        if not released and (seen_live or (args and b"queued" in out)):
            released = True
            release_when_running(data_dir, fifo)
        if proc.poll() is not None and not ready:
            break
    else:
        proc.kill()
        pytest.fail(f"run --wait did not end within {LIMIT:.0f} s; it printed {out!r}")
    os.close(master)
    return proc.wait(timeout=LIMIT), out.decode("utf-8", "replace"), seen_live


def test_a_terminal_gets_a_live_line_that_is_erased_at_the_end(blocked):
    data_dir, fifo = blocked
    code, out, seen_live = run_on_a_terminal(data_dir, fifo)
    assert code == 0, out
    assert seen_live, out  # while it ran: "⠙ run 1 running · elapsed 1s"
    assert "run 1 running" in out
    # The frame is erased, then the summary stays on screen.
    assert out.rindex("\x1b[2K") < out.rindex("run 1 succeeded")


def test_quiet_on_a_terminal_prints_no_progress(blocked):
    data_dir, fifo = blocked
    code, out, seen_live = run_on_a_terminal(data_dir, fifo, "--quiet")
    assert code == 0, out
    assert not seen_live and "elapsed" not in out and "\x1b[" not in out
    assert "run 1 succeeded" in out


def test_a_pipe_gets_no_progress(blocked):
    data_dir, fifo = blocked
    release_when_running(data_dir, fifo)
    done = subprocess.run(
        [sys.executable, "-m", "jobtui", "run", "gated", "--wait"],
        capture_output=True,
        text=True,
        env=env_for(data_dir),
        timeout=LIMIT,
    )
    assert done.returncode == 0, done.stderr
    assert "elapsed" not in done.stderr and "\x1b[" not in done.stderr
    assert "run 1 succeeded" in done.stderr


def _run(tasks: list[RunTask]) -> Run:
    at = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    return Run(
        id=7, job_id=1, job_name="orders", workspace="default", job_version=1,
        trigger=Trigger.MANUAL, title="", state=RunState.RUNNING, parameters={},
        queued_at=at, scheduled_for=None, started_at=at, ended_at=None, heartbeat_at=None,
        pid=None, pgid=None, attempt=1, records=sum(t.records for t in tasks), progress=None,
        error=None, errors=[], results=[], since=None, tasks=tasks,
    )  # fmt: skip


def _task(task_id: int, name: str, records: int) -> RunTask:
    return RunTask(
        id=task_id, run_id=7, name=name, state=RunState.RUNNING, records=records,
        total=10_000, started_at=None, ended_at=None, error=None,
    )  # fmt: skip


def test_several_sinks_get_one_bar_each_with_rate_and_eta():
    rates = Rates()
    start = datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp()
    frame(_run([_task(1, "orders → file", 0), _task(2, "orders → sqlite", 0)]), start + 1, rates)
    lines = frame(
        _run([_task(1, "orders → file", 2_000), _task(2, "orders → sqlite", 1_000)]),
        start + 2,
        rates,
    )
    assert len(lines) == 3
    assert "3,000 records" in lines[0] and "15%" in lines[0] and "3,000/s" in lines[0]
    assert "ETA" in lines[0] and "elapsed 2s" in lines[0]
    file_line, sqlite_line = lines[1], lines[2]
    assert "orders → file" in file_line and "[████░░░░" in file_line
    assert "2,000/10,000" in file_line and "20%" in file_line and "2,000/s" in file_line
    assert "orders → sqlite" in sqlite_line and "1,000/s" in sqlite_line
    assert "ETA 9s" in sqlite_line

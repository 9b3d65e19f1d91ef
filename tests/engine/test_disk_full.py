"""A full disk (issue 16.6): the data directory on a small tmpfs of its own, filled up while
a daemon runs a job. The CLI says which filesystem is full and exits 2; the daemon stays
alive and says so in `daemon status` (and to the dashboard through the facade); the running
run is stopped and recorded saying why (by the daemon's watch on the space, not by the
stale-heartbeat rule); when space returns the same daemon starts runs again.

The test mounts its own tmpfs (we run as root); where mounting is not permitted it skips
with the reason (under CI=true it fails: CI runs where mounting works)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine
from tests.conftest import IN_CI, PATIENCE

pytestmark = pytest.mark.slow

FS_SIZE = "8m"


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout * PATIENCE
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout * PATIENCE}s waiting for {what}")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}"
        if IN_CI:
            pytest.fail(f"{reason}, and CI=true expects it to work")
        pytest.skip(reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(path: Path) -> None:
    """Write `path` until the filesystem refuses another byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 16, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * chunk)
        with pytest.raises(OSError) as refused:
            os.write(fd, b"\0")
        assert refused.value.errno == errno.ENOSPC
    finally:
        os.close(fd)


def jobtui(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobtui", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_full_disk_is_said_plainly_survived_and_recovered_from(
    small_fs: Path, tmp_path: Path
) -> None:
    data_dir = small_fs / "data"
    engine = Engine.open(data_dir=data_dir)
    daemon: subprocess.Popen[bytes] | None = None
    try:
        engine.create_job(
            {
                "name": "chatty",
                "kind": "command",
                "command": {
                    "argv": [
                        "sh",
                        "-c",
                        "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.02; done",
                    ]
                },
            }
        )
        engine.create_job({"name": "quick", "kind": "command", "command": {"argv": ["true"]}})
        with open(tmp_path / "daemon.err", "wb") as err:  # outside the small filesystem
            daemon = subprocess.Popen(
                [sys.executable, "-m", "jobtui", "--data-dir", str(data_dir), "daemon"],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        wait_until(lambda: engine.daemon_status(0).responsive, 30, "the daemon")
        run = engine.queue_run("chatty")
        wait_until(lambda: engine.get_run(run.id).state.value == "running", 30, "the run")
        wait_until(lambda: engine.log_size(run.id) > 5, 30, "the run's first lines")

        filler = small_fs / "filler"
        fill(filler)

        # The daemon notices, stops the run and records why.
        ended = wait_until(
            lambda: (r := engine.get_run(run.id)).state.is_final and r, 60, "the run's end"
        )
        assert ended.state.value == "failed"
        assert ended.error is not None
        assert ended.error.startswith("stopped: the filesystem holding")
        assert str(small_fs) in ended.error and "tmpfs" in ended.error
        assert "heartbeating" not in ended.error  # not the hung-worker rule
        status = wait_until(
            lambda: (s := engine.daemon_status(0)).condition and s, 30, "the daemon's condition"
        )
        assert status.alive and status.responsive
        assert status.condition is not None and str(small_fs) in status.condition

        fill(filler)  # what the daemon freed to record that, taken again: full for everyone

        refused = jobtui(data_dir, "run", "quick")
        assert refused.returncode == 2, refused.stderr
        assert "internal error" not in refused.stderr
        assert "Traceback" not in refused.stderr
        assert f"the filesystem holding {data_dir}" in refused.stderr
        assert f"tmpfs mounted at {small_fs}" in refused.stderr

        shown = jobtui(data_dir, "daemon", "status")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert "daemon: running" in shown.stdout
        assert "condition: disk full: the filesystem holding" in shown.stdout
        assert daemon.poll() is None

        from jobtui.widgets.bars import daemon_text

        assert "disk full" in daemon_text(engine.daemon_status(0), "", engine.now()).plain

        # Space returns: the same daemon resumes by itself.
        filler.unlink()
        wait_until(lambda: engine.daemon_status(0).condition is None, 60, "the recovery")
        again = engine.queue_run("quick")
        final = engine.wait_for_run(again.id, timeout=60, supervise_if_no_daemon=False)
        assert final.state.value == "succeeded"
        assert daemon.poll() is None
        assert (data_dir / "reserve").exists()  # the reserve is back for the next time
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(5)
        for row in engine.store.query("SELECT pgid FROM runs WHERE pgid IS NOT NULL"):
            with contextlib.suppress(OSError):
                os.killpg(int(row["pgid"]), signal.SIGKILL)
        engine.close()


def test_a_worker_that_died_on_a_full_disk_says_so(small_fs: Path) -> None:
    """Without a daemon (a foreground run, a race with the daemon's watch): the run of a
    worker found dead while the filesystem is full names it, instead of a bare exit code."""
    from jobtui.engine.run import lifecycle
    from jobtui.engine.run.local import LocalExecutor

    engine = Engine.open(data_dir=small_fs / "data")
    try:
        engine.create_job({"name": "quick", "kind": "command", "command": {"argv": ["true"]}})
        run_id = engine.queue_run("quick").id
        gone = subprocess.Popen(["true"])
        gone.wait()
        now = engine.now()
        assert lifecycle.claim(engine.store, run_id, now)
        lifecycle.attach(engine.store, run_id, now, gone.pid, gone.pid, None)
        filler = small_fs / "filler"
        fill(filler)
        os.truncate(filler, filler.stat().st_size - (96 << 10))  # room to record, no more
        LocalExecutor(engine.store, engine.data_dir, engine.clock).watch()
        run = engine.get_run(run_id)
        assert run.state.value == "interrupted"
        assert run.error is not None and f"died: the filesystem holding {engine.data_dir}" in (
            run.error
        )
    finally:
        engine.close()


# Writes into the filesystem for as long as it runs, taking every byte freed.
EATER = """
import os, time
while not os.path.exists(os.environ["EAT"] + ".go"):
    time.sleep(0.01)
fd = os.open(os.environ["EAT"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
block = bytes(4096)
while True:
    try:
        os.write(fd, block)
    except OSError:
        pass
"""


def live_in_group(pgid: int) -> bool:
    """Whether a process of the group runs (zombies left for their parent do not)."""
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                return True
    return False


def test_a_run_that_keeps_filling_the_disk_still_ends_saying_why(
    small_fs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run writing into the full filesystem as fast as it can takes the room the reserve
    frees whenever it is on a CPU at that instant (here: always, to make the race
    certain). Given up while the run is alive, the reserve went to the run and nothing could
    record its end: it stayed `running`. Its workers are stopped first now."""
    from jobtui.engine.store import space

    engine = Engine.open(data_dir=small_fs / "data")
    daemon = engine.make_daemon(use_scheduler=False, ensure_system_jobs=None, grace=2.0)
    try:
        eaten = small_fs / "eaten"
        engine.create_job(
            {
                "name": "eater",
                "kind": "command",
                "command": {"argv": [sys.executable, "-c", EATER], "env": {"EAT": str(eaten)}},
            }
        )
        daemon.acquire()
        daemon.startup()
        assert space.make_reserve(engine.data_dir)
        run = engine.queue_run("eater")

        def started() -> Any:
            daemon.step()
            found = engine.get_run(run.id)
            return found.state.value == "running" and found.pgid and found

        running = wait_until(started, 30, "the run's start")
        engine.store.query("PRAGMA wal_checkpoint(TRUNCATE)")  # every write needs new room
        Path(f"{eaten}.go").touch()
        wait_until(lambda: eaten.exists() and eaten.stat().st_size > 0, 30, "the eating")
        real_release = space.release_reserve

        def release_to_the_eater(data_dir: Path) -> bool:
            released = real_release(data_dir)
            if live_in_group(int(running.pgid)):
                fill(small_fs / "taken by the run")
            return released

        monkeypatch.setattr(space, "release_reserve", release_to_the_eater)

        def ended() -> Any:
            daemon.step()
            found = engine.get_run(run.id)
            return found.state.is_final and found

        final = wait_until(ended, 30, "the run's end")
        assert final.state.value == "failed"
        assert final.error is not None
        assert final.error.startswith(f"stopped: the filesystem holding {engine.data_dir}")
        assert not live_in_group(int(running.pgid))
    finally:
        with contextlib.suppress(OSError):
            for row in engine.store.query("SELECT pgid FROM runs WHERE pgid IS NOT NULL"):
                with contextlib.suppress(OSError):
                    os.killpg(int(row["pgid"]), signal.SIGKILL)
        if daemon.supervisor is not None:
            with contextlib.suppress(Exception):
                daemon.supervisor.stop_all(grace=1.0)
        with contextlib.suppress(Exception):
            daemon.release()
        engine.close()


def test_reading_a_log_with_the_data_directory_on_a_full_filesystem_says_so(
    small_fs: Path, tmp_path: Path
) -> None:
    """Opening the database needs its -wal/-shm files: on a full filesystem SQLite says
    "disk I/O error", which the CLI showed as an internal error (exit 1)."""
    data_dir = small_fs / "data"
    engine = Engine.open(data_dir=data_dir)
    engine.create_job({"name": "hello", "kind": "command", "command": {"argv": ["echo", "hi"]}})
    run = engine.wait_for_run(engine.queue_run("hello").id, timeout=60 * PATIENCE)
    assert run.state.value == "succeeded"
    engine.close()
    fill(small_fs / "filler")
    for args in (("logs", str(run.id), "--save", str(tmp_path / "saved.log")), ("runs", "list")):
        done = jobtui(data_dir, *args)
        assert done.returncode == 2, done.stderr
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr
        assert f"the filesystem holding {data_dir}" in done.stderr
        assert f"tmpfs mounted at {small_fs}" in done.stderr


def test_a_log_written_to_a_full_filesystem_is_refused_plainly(
    small_fs: Path, tmp_path: Path
) -> None:
    """`jobtui logs RUN > /full/file` (and `--save /full/file`): exit 2 naming the file."""
    data_dir = tmp_path / "data"
    engine = Engine.open(data_dir=data_dir)
    try:
        engine.create_job(
            {"name": "chatty", "kind": "command", "command": {"argv": ["seq", "1", "5000"]}}
        )
        run = engine.wait_for_run(engine.queue_run("chatty").id, timeout=60 * PATIENCE)
        assert run.state.value == "succeeded"
    finally:
        engine.close()
    fill(small_fs / "filler")
    target = small_fs / "out.log"
    argv = [str(run.id)]
    for raw in ((), ("--raw",)):
        with open(target, "wb") as out:
            done = subprocess.run(
                [sys.executable, "-m", "jobtui", "--data-dir", str(data_dir), "logs", *argv, *raw],
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
            )
        assert done.returncode == 2, done.stderr
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr
        assert f"cannot write the standard output ({target})" in done.stderr
        assert "full" in done.stderr
    saved = jobtui(data_dir, "logs", str(run.id), "--save", str(small_fs / "saved.log"))
    assert saved.returncode == 2, saved.stderr
    assert str(small_fs / "saved.log") in saved.stderr

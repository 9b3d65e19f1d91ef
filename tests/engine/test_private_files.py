"""Files jobtui keeps in its data directory: private (issue 16, point 10), and a second
Engine in one process never breaks the first one's hold on the database."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine
from jobtui.engine.sinks.partials import note_partial, partials_listing
from jobtui.paths import ensure_private_dir, open_private
from tests.engine.runs_helpers import wait_until as _wait_until


def wait_until(condition: Any, timeout: float, what: str) -> Any:
    try:
        return _wait_until(condition, timeout)
    except AssertionError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


def _command_job(engine: Engine, name: str = "hello") -> None:
    engine.create_job(
        {"name": name, "kind": "command", "command": {"argv": ["sh", "-c", "echo hi; exit 3"]}}
    )


def test_a_second_engine_in_one_process_leaves_the_database_whole(data_dir: Path) -> None:
    # Opening an Engine used to open and close the database file to set its mode: closing
    # any descriptor drops every POSIX lock the process holds on the file, SQLite's own
    # included, so the worker, closing its last connection, took the database for itself
    # and removed the WAL under the first engine ("database disk image is malformed").
    first = Engine.open(data_dir=data_dir)
    _command_job(first)
    try:
        for _ in range(3):
            second = Engine.open(data_dir=data_dir)
            run = first.queue_run("hello")
            assert first.wait_for_run(run.id, timeout=60).state.value == "failed"
            assert second.get_run(run.id).state.value == "failed"
            second.close()
        assert first.store.query_one("PRAGMA integrity_check")[0] == "ok"
        assert len(first.list_runs()) == 3
    finally:
        first.close()


def _modes(root: Path) -> dict[str, str]:
    """Every path under `root` (and root itself) with its permission bits, when they are
    not private: 0700 for a directory, 0600 for a file."""
    wrong = {}
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        if mode != (0o700 if path.is_dir() else 0o600):
            wrong[str(path.relative_to(root))] = oct(mode)
    return wrong


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 0, inherited by the daemon and the workers: whatever jobtui does not make
    private on purpose comes out 0666 / 0777 and shows."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_every_file_jobtui_writes_in_its_data_dir_is_private(
    data_dir: Path, tmp_path: Path, open_umask: None
) -> None:
    engine = Engine.open(data_dir=data_dir)
    try:
        engine.create_job(
            {
                "name": "gen",
                "datagen": {
                    "datasets": ["users"],
                    "max_records": 50,
                    "replay": {"enabled": True, "keep": 3},
                    "sinks": [{"type": "file", "options": {"base_dir": str(tmp_path / "out")}}],
                },
            }
        )
        engine.create_job(
            {
                "name": "sleeper",
                "kind": "command",
                "command": {"argv": ["sh", "-c", "echo started; echo warned >&2; exec sleep 60"]},
            }
        )
        engine.start_daemon(grace=1.0)
        wait_until(lambda: engine.daemon_status(next_fires=0).responsive, 20, "the daemon")
        gen = engine.queue_run("gen")
        assert engine.wait_for_run(gen.id, timeout=60).state.value == "succeeded"
        sleeper = engine.queue_run("sleeper")
        wait_until(
            lambda: engine.read_log(sleeper.id, grep="^started$"), 30, "the command's output"
        )
        # While the command runs: its worker's stderr file, the daemon's log and lock, the
        # database and its WAL, the replay files of the datagen run.
        assert (data_dir / "workers" / f"run-{sleeper.id}.log").exists()
        assert list((data_dir / "replay" / str(gen.id)).iterdir())
        assert (data_dir / "daemon.log").exists()
        assert _modes(data_dir) == {}
        engine.cancel_run(sleeper.id)
        assert engine.wait_for_run(sleeper.id, timeout=30).state.value == "cancelled"
        # A file sink's listing of its partial files (removed with the run when complete).
        note_partial(partials_listing(data_dir, 999), str(tmp_path / "out" / ".x.partial-1-999"))
        assert _modes(data_dir) == {}
    finally:
        engine.stop_daemon(timeout=20)
        status = engine.daemon_status(next_fires=0)
        if status.alive and status.pid:
            os.kill(status.pid, signal.SIGKILL)
        engine.close()
    assert _modes(data_dir) == {}


def test_an_existing_file_or_directory_of_ours_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "replay" / "7").mkdir(parents=True, mode=0o755)
    (tmp_path / "replay").chmod(0o755)
    loose = tmp_path / "replay" / "7" / "users.jsonl"
    loose.write_text("old")
    loose.chmod(0o644)
    ensure_private_dir(tmp_path / "replay" / "7", levels=2)
    with open_private(loose, "ab") as fh:
        fh.write(b"+")
    assert loose.read_text() == "old+"
    assert oct(loose.stat().st_mode & 0o777) == oct(0o600)
    assert oct((tmp_path / "replay").stat().st_mode & 0o777) == oct(0o700)
    assert oct((tmp_path / "replay" / "7").stat().st_mode & 0o777) == oct(0o700)

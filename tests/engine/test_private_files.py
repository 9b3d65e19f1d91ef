"""Files jobtui keeps in its data directory: private (issue 16, point 10), and a second
Engine in one process never breaks the first one's hold on the database."""

from __future__ import annotations

from pathlib import Path

from jobtui.engine import Engine


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

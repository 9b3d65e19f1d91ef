"""The store: file permissions, connection recipe, schema versioning, refusals."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jobtui.engine import Engine, StorageError
from jobtui.engine.store import db as store_module
from jobtui.engine.store.schema import SCHEMA_VERSION


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_data_dir_and_database_are_private_under_default_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        data = tmp_path / "fresh" / "data"
        engine = Engine.open(data_dir=data)
        engine.create_workspace("team")  # something written, so -wal exists
        assert mode(data) == 0o700
        for suffix in ("", "-wal", "-shm"):
            side = Path(f"{engine.db_path}{suffix}")
            assert side.exists(), side
            assert mode(side) == 0o600, (side, oct(mode(side)))
        engine.close()
    finally:
        os.umask(old)


def test_every_connection_uses_the_recipe(engine: Engine) -> None:
    conn = engine.store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_connections_are_per_thread_with_the_same_recipe(engine: Engine) -> None:
    import threading

    seen: list[tuple[int, int]] = []

    def probe() -> None:
        conn = engine.store.conn
        seen.append((conn.execute("PRAGMA foreign_keys").fetchone()[0], id(conn)))

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    assert seen[0][0] == 1
    assert seen[0][1] != id(engine.store.conn)


def test_schema_version_is_recorded(engine: Engine) -> None:
    assert engine.store.schema_version == SCHEMA_VERSION


def test_database_from_a_newer_jobtui_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    engine = Engine.open(data_dir=tmp_path)
    db_path = engine.db_path
    engine.close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(StorageError, match="newer jobtui"):
        Engine.open(data_dir=tmp_path)
    assert db_path.read_bytes() == before


def test_cli_refuses_newer_database_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    engine = Engine.open(data_dir=tmp_path)
    db_path = engine.db_path
    engine.close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    result = subprocess.run(
        [sys.executable, "-m", "jobtui", "--data-dir", str(tmp_path), "jobs", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "newer jobtui" in result.stderr
    assert "Traceback" not in result.stderr


def test_network_filesystem_is_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "filesystem_type", lambda path: "nfs4")
    with pytest.raises(StorageError, match="network filesystem.*WAL"):
        Engine.open(data_dir=tmp_path / "nfs")


def test_filesystem_type_reads_the_mount_table(tmp_path: Path) -> None:
    # Whatever the machine, the temp dir lies on some mount with a type.
    assert store_module.filesystem_type(tmp_path)


def test_migration_runs_once_and_concurrent_opens_agree(tmp_path: Path) -> None:
    first = Engine.open(data_dir=tmp_path)
    second = Engine.open(data_dir=tmp_path)
    assert first.store.schema_version == second.store.schema_version == SCHEMA_VERSION
    assert [w.name for w in second.list_workspaces()] == ["default"]
    first.close()
    second.close()


def test_env_overrides_choose_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBTUI_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("JOBTUI_DB", str(tmp_path / "elsewhere" / "x.db"))
    engine = Engine.open()
    assert engine.data_dir == tmp_path / "d"
    assert engine.db_path == tmp_path / "elsewhere" / "x.db"
    assert mode(engine.db_path) == 0o600
    engine.close()


def test_a_finished_threads_connection_does_not_stay_open(engine: Engine) -> None:
    """The dashboard reads on a new worker thread at every poll: each thread's connection
    must go with the thread, or a day's polls run out of file descriptors."""
    import gc
    import os
    import threading

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    engine.list_jobs()  # this thread's own connection, opened before counting
    before = open_fds()
    for _ in range(100):
        reader = threading.Thread(target=engine.list_jobs)
        reader.start()
        reader.join()
    gc.collect()
    # Leaking, 100 threads left ~200 descriptors open (two per connection). Closed, SQLite
    # still parks some descriptors of closed connections while this thread's connection
    # holds a lock on the file (it reuses them later): about 40 here, growing slowly.
    assert open_fds() - before < 100

"""The SQLite store: one file, opened with the same recipe on every connection.

Connections are per thread (the TUI reads from worker threads, the daemon from its
scheduler threads). Every write that first reads goes through `transaction()`, which
starts with BEGIN IMMEDIATE so two writers never deadlock on a lock upgrade.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobtui.engine.model.errors import StorageError
from jobtui.engine.store.schema import MIGRATIONS, SCHEMA_VERSION
from jobtui.engine.store.space import DiskFull, disk_full_error, is_disk_full
from jobtui.paths import ensure_private_dir, ensure_private_file

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 10_000
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smbfs",
        "smb3",
        "fuse.sshfs",
        "9p",
        "afs",
        "ncpfs",
        "glusterfs",
        "fuse.glusterfs",
        "ceph",
        "fuse.ceph",
        "lustre",
        "fuse.s3fs",
        "davfs",
    }
)


def filesystem_type(path: Path) -> str | None:
    """The filesystem type of the mount holding `path`, from /proc/mounts (Linux only)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, best_type = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1].replace("\\040", " ")
        prefix = mount_point.rstrip("/") + "/"
        if (target == mount_point or target.startswith(prefix) or mount_point == "/") and len(
            mount_point
        ) > len(best):
            best, best_type = mount_point, parts[2]
    return best_type


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (the base class cannot)."""


class Store:
    """Owns the database file: permissions, migrations and per-thread connections."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        # Weak: a thread's connection closes when the thread ends (its thread-local goes).
        # The dashboard reads from a new worker thread on every poll; strong references
        # here kept every one of those connections (two file descriptors each) open.
        self._all: weakref.WeakSet[sqlite3.Connection] = weakref.WeakSet()
        with self._plain_errors():
            self._prepare_file()
            self._migrate()

    # -- opening -----------------------------------------------------------
    def _prepare_file(self) -> None:
        ensure_private_dir(self.path.parent)
        fs = filesystem_type(self.path.parent)
        if fs in NETWORK_FILESYSTEMS:
            raise StorageError(
                f"{self.path} is on a network filesystem ({fs}); SQLite's WAL mode needs "
                "shared memory that network filesystems do not provide, so concurrent "
                "access would corrupt it. Put the database on a local disk "
                "(--db or JOBTUI_DB)."
            )
        ensure_private_file(self.path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            factory=_Connection,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.close()
            raise StorageError(f"{self.path}: cannot switch the database to WAL mode ({mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        for suffix in ("-wal", "-shm"):
            side = Path(f"{self.path}{suffix}")
            try:
                if side.exists() and (side.stat().st_mode & 0o777) != 0o600:
                    side.chmod(0o600)
            except OSError:
                pass
        with self._lock:
            self._all.add(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            # Imported here: it costs ~50 ms, which every worker and command paid at
            # start-up for a view only job and preset writes use. Our connection's pragmas
            # stay ours: no recursive triggers, no plugins.
            import sqlite_utils

            db = sqlite_utils.Database(self.conn, recursive_triggers=False, execute_plugins=False)
            self._local.db = db
        return db

    def close(self) -> None:
        with self._lock:
            for conn in list(self._all):
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- schema ------------------------------------------------------------
    def _migrate(self) -> None:
        conn = self.conn
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} was written by a newer jobtui (schema {current}; this one knows "
                f"up to {SCHEMA_VERSION}). Upgrade jobtui; the database was left unchanged."
            )
        if current == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(current, SCHEMA_VERSION):
                for statement in _split_sql(MIGRATIONS[number]):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- transactions --------------------------------------------------------
    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection; nested calls join the outer one."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        with self._plain_errors():
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield conn
            with self._plain_errors():
                conn.execute("COMMIT")
        except BaseException as exc:
            # A full disk (and a few other errors) roll the transaction back by themselves.
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if is_disk_full(exc, self.path) and not isinstance(exc, DiskFull):
                raise disk_full_error(exc, self.path) from exc
            raise

    @contextmanager
    def _plain_errors(self) -> Iterator[None]:
        """A full filesystem said plainly (DiskFull: which filesystem, which path)."""
        try:
            yield
        except (sqlite3.OperationalError, OSError) as exc:
            if is_disk_full(exc, self.path) and not isinstance(exc, DiskFull):
                raise disk_full_error(exc, self.path) from exc
            raise

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        with self._plain_errors():
            return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        with self._plain_errors():
            row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        with self._plain_errors():
            return self.conn.execute(sql, params)

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap "anything new?" probe."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def change_seq(self) -> int:
        """Bumped by triggers whenever a job definition changes."""
        return int(self.conn.execute("SELECT seq FROM change_counter WHERE id = 1").fetchone()[0])

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = self.query_one("SELECT value FROM settings WHERE key = ?", (key,))
        return row["value"] if row else default

    def save_row(
        self, table: str, existing: int | None, columns: dict[str, Any], now: float
    ) -> None:
        """Insert a row with `columns` (created and updated now), or update row `existing`
        (updated now). Call inside a transaction."""
        rows = self.db.table(table)
        if existing is None:
            rows.insert({**columns, "created_at": now, "updated_at": now})
        else:
            rows.update(existing, {**columns, "updated_at": now})

    def delete_setting(self, key: str) -> None:
        self.execute("DELETE FROM settings WHERE key = ?", (key,))

    def optimize(self) -> tuple[int, int, int]:
        """WAL checkpoint (TRUNCATE) and PRAGMA optimize: (busy, wal frames, checkpointed)."""
        row = self.query_one("PRAGMA wal_checkpoint(TRUNCATE)")
        self.execute("PRAGMA optimize")
        busy, log_frames, done = tuple(row) if row else (0, 0, 0)
        return int(busy), int(log_frames), int(done)

    def set_setting(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements

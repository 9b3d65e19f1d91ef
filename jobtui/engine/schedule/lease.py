"""The daemon's lock and lease: exactly one daemon per database.

An exclusive `flock` on `<data_dir>/daemon.lock`, opened once (O_CLOEXEC, so workers never
inherit it) and held for the life of the process, plus the lease row `daemon_lease`
(owner, pid, epoch, heartbeat) renewed in its own transaction. Every scheduler write runs
in a BEGIN IMMEDIATE transaction that first checks the lease's epoch is still ours
(`fenced`): a fence against any second writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jobtui.engine.model.clock import Clock
from jobtui.engine.model.errors import JobtuiError
from jobtui.engine.model.host import owner_name
from jobtui.engine.store import lease
from jobtui.engine.store.db import Store

log = logging.getLogger("jobtui.daemon")

LOCK_NAME = "daemon.lock"
LOG_NAME = "daemon.log"
HEARTBEAT_S = 1.0
STALE_AFTER_S = 5.0  # a lease not renewed for this long belongs to a frozen daemon
HOLDER_BYTES = 4096  # the lock file's size: its JSON is rewritten in place


class DaemonRunning(JobtuiError):
    """Another daemon holds the lock of this data directory."""

    exit_code = 2


class LeaseLost(JobtuiError):
    """The lease's epoch moved on: another daemon took over; stop writing."""


# -- the lock ---------------------------------------------------------------------
def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_NAME


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOG_NAME


def lock_is_held(data_dir: Path) -> bool:
    """True while a daemon holds the lock (probed without disturbing it for long)."""
    path = lock_path(data_dir)
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops our probe lock, if we got it
    return False


def read_holder(data_dir: Path) -> dict[str, Any]:
    """What the holder wrote into the lock file (pid, owner, since)."""
    try:
        data = json.loads(lock_path(data_dir).read_text() or "{}")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


class LeaseHolder:
    """The lock and the lease of one daemon (the base of Daemon)."""

    # The daemon's shared state, set by Daemon.__init__ (daemon.py).
    store: Store
    clock: Clock
    data_dir: Path
    heartbeat: float
    epoch: int
    paused: bool
    lost: bool
    _lock_fd: int | None
    _holder: dict[str, Any]
    condition: str | None  # why the daemon cannot do its work now (a full disk), or None
    _stop: threading.Event

    def now(self) -> float:
        return self.clock.now()

    def acquire(self, wait: float = 1.0) -> None:
        """Take the lock (retrying briefly: a client may be probing it) and the lease."""
        path = lock_path(self.data_dir)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise DaemonRunning(self._holder_text()) from None
                time.sleep(0.05)
        self._lock_fd = fd
        now = self.now()
        holder = {"pid": os.getpid(), "owner": owner_name(), "since": now}
        self._holder = holder
        os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):
            # Allocated now, overwritten in place later: the pulse needs no new space.
            os.posix_fallocate(fd, 0, HOLDER_BYTES)
        self._write_holder()
        self.epoch, self.paused = lease.take(self.store, str(holder["owner"]), os.getpid(), now)
        log.info("daemon %s took the lease, epoch %d", os.getpid(), self.epoch)

    def _write_holder(self, **extra: Any) -> None:
        """(Re)write the lock file's JSON in place, padded to its allocated size: the pid,
        owner and start, plus `extra` (the pulse and the condition, written every heartbeat,
        which a client reads when the database cannot be written, e.g. a full disk)."""
        if self._lock_fd is None:
            return
        self._holder.update(extra)
        data = json.dumps(self._holder).encode()
        # Padded over whatever a longer text left before it (the file never shrinks).
        self._holder_len = max(HOLDER_BYTES, getattr(self, "_holder_len", 0), len(data))
        with contextlib.suppress(OSError):
            os.pwrite(self._lock_fd, data.ljust(self._holder_len), 0)

    def _holder_text(self) -> str:
        holder = read_holder(self.data_dir)
        row = lease.read(self.store)
        pid = holder.get("pid") or (row.pid if row else None)
        owner = holder.get("owner") or (row.owner if row else None) or "unknown"
        text = f"another jobtui daemon holds {lock_path(self.data_dir)}: pid {pid} ({owner})"
        if row and row.heartbeat_at is not None:
            age = self.now() - float(row.heartbeat_at)
            if age > STALE_AFTER_S:
                text += f", unresponsive: last heartbeat {age:.0f}s ago"
        return text

    def release(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            lease.release(self.store, self.epoch)
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    @contextlib.contextmanager
    def fenced(self) -> Iterator[None]:
        """A write transaction that only commits while our epoch is the lease's."""
        with self.store.transaction():
            current = lease.current_epoch(self.store)
            if current != self.epoch:
                self.lost = True
                self._stop.set()
                raise LeaseLost(f"lease epoch moved from {self.epoch} to {current}")
            yield

    def renew(self) -> bool:
        if not lease.renew(self.store, self.epoch, self.now()):
            self.lost = True
            self._stop.set()
            return False
        return True

    def _heartbeat_loop(self) -> None:
        failing = False
        while not self._stop.wait(self.heartbeat):
            # The pulse in the lock file first: it needs no database (see _write_holder).
            self._write_holder(pulse_at=self.now(), condition=self.condition)
            try:
                if not self.renew():
                    log.error("lease lost to another daemon; stopping")
                elif failing:
                    log.info("heartbeat written again")
                    failing = False
            except sqlite3.Error as exc:  # DiskFull included
                if not failing:
                    log.warning("heartbeat failed: %s", exc)
                failing = True

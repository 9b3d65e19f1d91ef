"""A full filesystem under the data directory (issue 16.6): recognise it, say it plainly
(which filesystem, which path, how much is free), and keep a small reserve file the daemon
gives up when the disk fills, so it can still record what happens (the end of the runs it
stops, its own condition) and pick up again by itself when space returns.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path

from jobtui.engine.model.errors import StorageError

RESERVE_NAME = "reserve"
RESERVE_BYTES = 1 << 20  # given up when the disk is full: room for the daemon's last words
LOW_WATER_BYTES = 256 << 10  # less than this free counts as full
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class DiskFull(StorageError, sqlite3.OperationalError):
    """The filesystem holding the database (or a file jobtui writes) is full (exit 2).
    Also a sqlite3.OperationalError, so code that copes with a failed write copes with it."""


def is_disk_full(exc: BaseException, path: Path | None = None) -> bool:
    """Whether `exc` says the filesystem is full. With `path` (the database's), SQLite's
    "disk I/O error" counts too while that filesystem is full: opening a database whose
    -wal/-shm files cannot be made fails that way, not with SQLITE_FULL (issue 16)."""
    if isinstance(exc, DiskFull):
        return True
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc):
            return True
        io_error = code is not None and code & 0xFF == sqlite3.SQLITE_IOERR
        if path is not None and (io_error or "disk I/O error" in str(exc)):
            free = free_bytes(Path(path).parent)
            return free is not None and free < LOW_WATER_BYTES
        return False
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


def mount_of(path: Path) -> tuple[str, str]:
    """(mount point, filesystem type) of the mount holding `path`, from /proc/mounts."""
    target = os.path.realpath(path)
    best, best_type = "/", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            point = parts[1].replace("\\040", " ")
            prefix = point.rstrip("/") + "/"
            if (target == point or target.startswith(prefix)) and len(point) >= len(best):
                best, best_type = point, parts[2]
    return best, best_type


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on the filesystem holding `path`."""
    try:
        st = os.statvfs(_existing(path))
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def _existing(path: Path) -> Path:
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def size_text(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def describe_full(path: Path) -> str:
    """One plain sentence: which filesystem is full, for which path, what to do."""
    point, fstype = mount_of(path)
    free = free_bytes(path)
    try:
        st = os.statvfs(_existing(path))
        total = f" of {size_text(st.f_blocks * st.f_frsize)}"
    except OSError:
        total = ""
    left = f", {size_text(free)}{total} free" if free is not None else ""
    return (
        f"the filesystem holding {path} is full ({fstype} mounted at {point}{left}): "
        "free some space there"
    )


def disk_full_error(exc: BaseException, path: Path) -> DiskFull:
    return DiskFull(describe_full(path))


# -- the reserve -----------------------------------------------------------------------
def reserve_path(data_dir: Path) -> Path:
    return Path(data_dir) / RESERVE_NAME


def make_reserve(data_dir: Path, size: int = RESERVE_BYTES) -> bool:
    """Hold `size` bytes in <data_dir>/reserve (allocated, not sparse); False when there is
    no room for it."""
    path = reserve_path(data_dir)
    try:
        if path.exists() and path.stat().st_blocks * 512 >= size:
            return True
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.posix_fallocate(fd, 0, size)
        finally:
            os.close(fd)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        return False


def release_reserve(data_dir: Path) -> bool:
    """Give the reserve's space back to the filesystem; whether there was one."""
    try:
        reserve_path(data_dir).unlink()
        return True
    except OSError:
        return False

"""The daemon's doorbell (issue 18): a client that queued a run or asked for a cancel, and a
worker that just reported its end, ring it so the daemon acts now instead of at its next
poll. The poll stays as the safety net: a lost ring costs at most one poll interval.

A datagram socket in Linux's abstract namespace, named after the database's real path
(nothing on disk to clean up after a kill -9; nothing to ring elsewhere, where the daemon
just polls). A ring carries no data the daemon trusts: it only wakes the loop, which
reads the database as it would on a poll.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import sys
import time


def address(db_path: str | os.PathLike[str]) -> str | None:
    """The doorbell's address for a database, or None where there is no abstract namespace."""
    if not sys.platform.startswith("linux"):
        return None
    real = os.path.realpath(os.fspath(db_path))
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return f"\0jobtui-{os.getuid()}-{digest}"


def ring(db_path: str | os.PathLike[str]) -> None:
    """Wake the daemon of this database, if one listens; never fails, never blocks."""
    name = address(db_path)
    if name is None:
        return
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.sendto(b"!", name)


class Doorbell:
    """The daemon's end: `wait(timeout)` returns True when rung (rings since are drained)."""

    def __init__(self, db_path: str | os.PathLike[str]):
        self.sock: socket.socket | None = None
        name = address(db_path)
        if name is None:
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(name)
        except OSError:  # another process holds it (a daemon losing its lease): just poll
            sock.close()
            return
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno() if self.sock is not None else -1

    def drain(self) -> bool:
        """Read every ring waiting; whether there was one."""
        if self.sock is None:
            return False
        rung = False
        self.sock.setblocking(False)
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while True:
                self.sock.recv(64)
                rung = True
        return rung

    def wait(self, timeout: float) -> bool:
        """Block until rung or `timeout` seconds pass; whether it was rung."""
        if self.sock is None:
            time.sleep(timeout)
            return False
        ready, _, _ = select.select([self.sock], [], [], timeout)
        return self.drain() if ready else False

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

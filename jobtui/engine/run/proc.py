"""Process inspection for the local executor and the worker: is a pid alive, is it one of
our workers, which processes are in a process group, signalling a group."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) != "Z"


def _proc_stat(pid: int) -> list[str] | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    end = data.rfind(b")")
    return data[end + 2 :].decode(errors="replace").split()


def _proc_state(pid: int) -> str | None:
    fields = _proc_stat(pid)
    return fields[0] if fields else None


def is_worker(pid: int | None) -> bool:
    """The pid is alive and runs a jobtui worker (not a recycled pid)."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc: trust the pid
    return b"jobtui.engine.run.worker" in cmdline


def group_members(pgid: int | None, *, include_zombies: bool = False) -> list[int]:
    """Live processes in a process group (scanning /proc)."""
    if not pgid or pgid <= 0:
        return []
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _proc_stat(int(entry))
        if not fields or len(fields) < 3:
            continue
        if fields[2] == str(pgid) and (include_zombies or fields[0] != "Z"):
            out.append(int(entry))
    return out


def signal_group(pgid: int | None, sig: int) -> bool:
    """Signal a whole process group; never our own. True when something got it."""
    if not pgid or pgid <= 1:
        return False
    with contextlib.suppress(OSError):
        if pgid == os.getpgid(0):
            return False
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_leftovers(pgid: int | None) -> int:
    """SIGKILL whatever is left in a dead worker's group; how many were there."""
    left = group_members(pgid)
    if left:
        signal_group(pgid, signal.SIGKILL)
    return len(left)

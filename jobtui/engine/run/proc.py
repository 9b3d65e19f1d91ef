"""Process inspection for the local executor and the worker, through psutil (portable: the
former /proc parsing found no group member at all on macOS, so a cancel did nothing there).

- `pid_alive`: the one rule: a zombie is dead.
- `is_worker`: alive, running `jobtui.engine.run.worker` (or a worker forked by the warm
  launcher's `jobtui.engine.run.zygote`), and (when the run recorded it)
  started when the run's worker started: a recycled pid is not our worker.
- `group_members`: the live processes of a process group.
"""

from __future__ import annotations

import contextlib
import os
import signal

import psutil

WORKER_MODULE = "jobtui.engine.run.worker"
# The warm launcher's zygote (run/zygote.py): a worker it forked keeps its command line.
WORKER_MODULES = (WORKER_MODULE, "jobtui.engine.run.zygote")
CREATE_TIME_SLACK = 1.0  # seconds: create times are rounded differently across platforms


def _process(pid: int | None) -> psutil.Process | None:
    if not pid or pid <= 0:
        return None
    try:
        return psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's, but there


def pid_alive(pid: int | None) -> bool:
    """The pid is a live process (not a zombie)."""
    proc = _process(pid)
    return proc is not None and _alive(proc)


def create_time(pid: int | None) -> float | None:
    """When the process started (epoch seconds), or None."""
    proc = _process(pid)
    if proc is None:
        return None
    try:
        return float(proc.create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_worker(pid: int | None, started_at: float | None = None) -> bool:
    """The pid is alive and runs a jobtui worker, started at `started_at` when given (the
    create time recorded on the run), so a recycled pid is not taken for it."""
    proc = _process(pid)
    if proc is None or not _alive(proc):
        return False
    try:
        if started_at is not None and abs(proc.create_time() - started_at) > CREATE_TIME_SLACK:
            return False
        cmdline = proc.cmdline()
        if not cmdline and started_at is not None:
            # Read while the process was between two states (its memory being replaced or
            # torn down): its pid and start time are those of the run's worker.
            return True
        return any(module in part for part in cmdline for module in WORKER_MODULES)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # cannot look: trust the pid


def group_members(pgid: int | None, *, include_zombies: bool = False) -> list[int]:
    """The processes in a process group (live ones unless `include_zombies`)."""
    if not pgid or pgid <= 0:
        return []
    out = []
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) != pgid:
                continue
        except OSError:
            continue
        if include_zombies or pid_alive(pid):
            out.append(pid)
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


def group_alive(pgid: int) -> bool:
    """Whether a live process (not a zombie waiting for its parent to reap it: a worker
    forked by the warm launcher is reaped by that) is left in the group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return True  # no /proc: the group has someone
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command's name: state, ppid, pgrp.
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def kill_leftovers(pgid: int | None) -> int:
    """SIGKILL whatever is left in a dead worker's group; how many were there."""
    left = group_members(pgid)
    if left:
        signal_group(pgid, signal.SIGKILL)
    return len(left)

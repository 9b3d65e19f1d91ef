"""Where generating helpers put their results, and the sweep of what dead workers left.

Light on purpose (standard library only): the supervisor sweeps after a worker killed by a
signal, and must not import the generator to do it.
"""

from __future__ import annotations

import os
import shutil
import tempfile

SPOOL_PREFIX = "jobtui-spool-"
_multiprocessing_parent: str | None = None


def spool_root() -> str:
    """tmpfs when the machine has one (results never touch a disk), else the temp dir."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return tempfile.gettempdir()


def sweep_spools(root: str | None = None) -> int:
    """Remove spool directories left by workers that died without cleaning up (SIGKILL
    after a cancel's grace period); their names carry the owner's pid. How many went."""
    root = root or spool_root()
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    removed = 0
    for name in names:
        if not name.startswith(SPOOL_PREFIX):
            continue
        pid_text = name[len(SPOOL_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
            continue  # alive (or not ours to signal): leave it
        except ProcessLookupError:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed += 1
        except OSError:
            continue
    return removed


def multiprocessing_temp_in_spool() -> None:
    """Have `multiprocessing` make its temporary directory (where the forkserver's socket
    lives) inside a spool-named directory of this process: a worker killed by SIGKILL
    cannot remove it, and a plain /tmp/pymp-* would stay for good, where `sweep_spools`
    removes this one with the rest. Call before the first helper process starts; once
    is enough."""
    global _multiprocessing_parent
    if _multiprocessing_parent is not None:
        return
    from multiprocessing import util

    try:
        parent = tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-mp-", dir=spool_root())
    except OSError:
        return
    saved = tempfile.tempdir
    tempfile.tempdir = parent  # get_temp_dir() makes its pymp-* with tempfile.mkdtemp
    try:
        made = util.get_temp_dir()
    finally:
        tempfile.tempdir = saved
    if os.path.dirname(made) != parent:  # made earlier, elsewhere: ours is not needed
        shutil.rmtree(parent, ignore_errors=True)
        return
    _multiprocessing_parent = parent
    # After multiprocessing's own finalizer (exitpriority -100) has removed the pymp-*.
    util.Finalize(None, shutil.rmtree, args=(parent, True), exitpriority=-101)

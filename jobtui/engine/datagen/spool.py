"""Where generating helpers put their results, and the sweep of what dead workers left.

Light on purpose (standard library only): the supervisor sweeps after a worker killed by a
signal, and must not import the generator to do it.
"""

from __future__ import annotations

import os
import shutil
import tempfile

SPOOL_PREFIX = "jobtui-spool-"


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

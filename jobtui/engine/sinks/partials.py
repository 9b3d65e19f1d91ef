"""Half-written files of a run's file sinks: listed before they are made, so that what a
SIGKILLed worker leaves behind can be removed when its run ends."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from jobtui.paths import open_private


def partials_listing(data_dir: Path, run_id: int) -> Path:
    """Where a run's file sinks note the hidden files they write until complete."""
    return data_dir / "workers" / f"run-{run_id}.partials"


def note_partial(listing: Path, path: str) -> None:
    """Noted before the file is made, so a worker killed at any point leaves it listed."""
    listing.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open_private(listing, "a", encoding="utf-8") as fh:
        fh.write(path + "\n")


def remove_partials(listing: Path) -> int:
    """Delete what a run's file sinks left half-written (a worker killed by SIGKILL cannot
    remove its hidden `.NAME.partial-*` files), then the listing; how many went. Complete
    outputs were renamed away and are not touched."""
    try:
        paths = listing.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    removed = 0
    for path in paths:
        name = os.path.basename(path)
        if name.startswith(".") and ".partial-" in name:
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed += 1
    with contextlib.suppress(OSError):
        listing.unlink()
    return removed

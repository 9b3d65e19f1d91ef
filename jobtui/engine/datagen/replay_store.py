"""The replay store: a run's output bytes kept under `<data_dir>/replay/<run_id>/` (one file
per dataset and a manifest naming the run, its job and its format), for the job's last N
runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import IO, Any

from jobtui.paths import ensure_private_dir, open_private

READ_CHUNK = 1 << 20


class ReplayWriter:
    """Keeps a dataset's output bytes under `<data_dir>/replay/<run_id>/`."""

    def __init__(self, directory: Path, filename: str):
        ensure_private_dir(directory, levels=2)  # replay/ and replay/<run>/
        self.path = directory / filename
        self._fh: IO[bytes] | None = open_private(self.path, "wb", buffering=READ_CHUNK)

    def write(self, data: bytes) -> None:
        if self._fh is not None and data:
            self._fh.write(data)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def replay_files(directory: Path) -> dict[str, Any] | None:
    manifest = directory / "manifest.json"
    try:
        data: dict[str, Any] = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    return data


def prune_job_replays(data_dir: Path, job_id: int, keep: int, current: int) -> int:
    """Remove the stored output of the job's runs before its `keep` newest (up to `current`).
    Each run's manifest names its job, so this needs no database: a remote executor keeps
    its own replay store. (Output stored before manifests named their job is left to the
    nightly `replays` system job.)"""
    root = data_dir / "replay"
    if not root.is_dir():
        return 0
    ids = sorted(
        (int(p.name) for p in root.iterdir() if p.name.isdigit() and int(p.name) <= current),
        reverse=True,
    )
    kept = 0
    removed = 0
    for run_id in ids:
        directory = root / str(run_id)
        manifest = replay_files(directory)
        if manifest is None or manifest.get("job") != job_id:
            continue
        if kept < keep:
            kept += 1
            continue
        shutil.rmtree(directory, ignore_errors=True)
        removed += 1
    return removed

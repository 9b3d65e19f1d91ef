"""What every part of the Engine facade shares: the store, the clock, job lookups."""

from __future__ import annotations

from pathlib import Path

from jobtui.engine.model.clock import Clock, SystemClock
from jobtui.engine.store import jobs as job_rows
from jobtui.engine.store import workspaces
from jobtui.engine.store.db import Store
from jobtui.engine.store.jobs import JobRecord


class EngineBase:
    """State shared by the facade's parts. Built by `Engine.open`, never at import."""

    def __init__(self, store: Store, data_dir: Path, clock: Clock | None = None):
        self.store = store
        self.data_dir = Path(data_dir)
        self.clock: Clock = clock or SystemClock()

    def now(self) -> float:
        return self.clock.now()

    def close(self) -> None:
        self.store.close()

    # -- lookups ---------------------------------------------------------------
    def _workspace_id(self, name: str, create: bool = False) -> int:
        return workspaces.workspace_id(self.store, name, self.now(), create=create)

    def _job(self, ref: str | int, include_deleted: bool = False) -> JobRecord:
        """A job by id, `name` or `workspace/name`."""
        return job_rows.find(self.store, ref, include_deleted=include_deleted)

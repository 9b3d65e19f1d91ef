"""Engine: the one API that screens, the CLI and tests call (DESIGN.md §4 rule 2)."""

from __future__ import annotations

import os
from pathlib import Path

from jobtui.engine.api.adhoc import AdhocAPI
from jobtui.engine.api.daemon import DaemonAPI
from jobtui.engine.api.datasets import DatasetsAPI
from jobtui.engine.api.jobs import JobsAPI
from jobtui.engine.api.runs import RunsAPI
from jobtui.engine.api.scale import ScaleAPI
from jobtui.engine.api.sinks import SinksAPI
from jobtui.engine.model.clock import Clock
from jobtui.engine.store import workspaces
from jobtui.engine.store.db import Store
from jobtui.paths import ensure_private_dir, resolve_data_dir, resolve_db_path


class Engine(RunsAPI, DaemonAPI, DatasetsAPI, SinksAPI, JobsAPI, ScaleAPI, AdhocAPI):
    """Everything jobtui can do, over one SQLite file. Build it with `Engine.open`."""

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str] | None = None,
        db: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
    ) -> Engine:
        """Open (creating when new) the data directory and database, migrated to this version."""
        directory = resolve_data_dir(data_dir)
        ensure_private_dir(directory)
        db_path = resolve_db_path(directory, db)
        store = Store(db_path)
        engine = cls(store, directory, clock)
        engine._ensure_defaults()
        return engine

    @property
    def db_path(self) -> Path:
        return self.store.path

    def _ensure_defaults(self) -> None:
        if not workspaces.exists(self.store, "default"):
            with self.store.transaction():
                self._workspace_id("default", create=True)

    def seed_demo(self) -> int:
        """Put the demo jobs in an empty database (first `make run`). Returns how many."""
        from jobtui.engine.api.demo import demo_specs

        if self.store.get_setting("demo_seeded") or self.count_jobs(include_system=True):
            return 0
        specs = demo_specs(self.data_dir)
        self.import_jobs(specs, note="demo job")
        self.store.set_setting("demo_seeded", "1")
        return len(specs)

"""What every part of the Engine facade shares: the store, the clock, job lookups."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from jobtui.engine.model.clock import Clock, SystemClock, to_datetime
from jobtui.engine.model.errors import NotFound
from jobtui.engine.model.types import JobKind, JobStatus, JobSummary, LastRun, RunState
from jobtui.engine.store.db import Store

JOB_SUMMARY_COLUMNS = """
  j.id, j.name, w.name AS workspace, j.kind, j.description, j.active, j.system, j.tags,
  j.status, j.schedule_text, j.next_fire_at, j.timezone, j.version, j.updated_at,
  j.last_run_id, j.last_run_state, j.last_run_started_at, j.last_run_ended_at,
  j.last_run_records, j.deleted_at
"""


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
        row = self.store.query_one("SELECT id FROM workspaces WHERE name = ?", (name,))
        if row:
            return int(row["id"])
        if not create:
            raise NotFound(f"no workspace named {name!r}")
        cur = self.store.execute(
            "INSERT INTO workspaces (name, created_at) VALUES (?, ?)", (name, self.now())
        )
        return int(cur.lastrowid or 0)

    def _job_row(self, ref: str | int, include_deleted: bool = False) -> sqlite3.Row:
        """A job by id, `name` or `workspace/name`."""
        deleted = "" if include_deleted else " AND j.deleted_at IS NULL"
        base = (
            "SELECT j.*, w.name AS workspace FROM jobs j JOIN workspaces w ON w.id = j.workspace_id"
        )
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            row = self.store.query_one(f"{base} WHERE j.id = ?{deleted}", (int(ref),))
            if row:
                return row
            if isinstance(ref, int):
                raise NotFound(f"no job with id {ref}")
        name = str(ref)
        if "/" in name:
            workspace, _, short = name.partition("/")
            rows = self.store.query(
                f"{base} WHERE w.name = ? AND j.name = ?{deleted} ORDER BY j.deleted_at IS NULL "
                "DESC, j.deleted_at DESC",
                (workspace, short),
            )
        else:
            rows = self.store.query(
                f"{base} WHERE j.name = ?{deleted} ORDER BY j.deleted_at IS NULL DESC, "
                "j.deleted_at DESC",
                (name,),
            )
        live = [r for r in rows if r["deleted_at"] is None]
        if len({r["workspace"] for r in live}) > 1:
            spaces = ", ".join(sorted(f"{r['workspace']}/{name}" for r in live))
            raise NotFound(f"{name!r} names several jobs; say which: {spaces}")
        if not rows:
            raise NotFound(f"no job named {name!r}")
        return rows[0]


def summary_from_row(row: sqlite3.Row) -> JobSummary:
    last = None
    if row["last_run_id"] is not None:
        last = LastRun(
            id=row["last_run_id"],
            state=RunState(row["last_run_state"]),
            started_at=to_datetime(row["last_run_started_at"]),
            ended_at=to_datetime(row["last_run_ended_at"]),
            records=row["last_run_records"],
        )
    return JobSummary(
        id=row["id"],
        name=row["name"],
        workspace=row["workspace"],
        kind=JobKind(row["kind"]),
        description=row["description"],
        active=bool(row["active"]),
        system=bool(row["system"]),
        tags=tuple(t for t in row["tags"].split(" ") if t),
        status=JobStatus(row["status"]),
        schedule_text=row["schedule_text"],
        next_fire_at=to_datetime(row["next_fire_at"]),
        timezone=row["timezone"],
        version=row["version"],
        last_run=last,
        updated_at=to_datetime(row["updated_at"]),  # type: ignore[arg-type]
    )

"""Jobs and their versions: rows by id or name, the trash."""

from __future__ import annotations

import sqlite3

from jobtui.engine.store.db import Store

TRASH_DAYS = 7  # how long a deleted job stays restorable


def live_row(store: Store, job_id: int) -> sqlite3.Row | None:
    """A job not in the trash, by id, with its workspace's name."""
    return store.query_one(
        "SELECT j.*, w.name AS workspace FROM jobs j JOIN workspaces w ON w.id = j.workspace_id "
        "WHERE j.id = ? AND j.deleted_at IS NULL",
        (int(job_id),),
    )


def named_row(store: Store, workspace: str, name: str) -> sqlite3.Row | None:
    """A job not in the trash by workspace and name."""
    return store.query_one(
        "SELECT j.*, w.name AS workspace FROM jobs j JOIN workspaces w ON w.id = j.workspace_id "
        "WHERE w.name = ? AND j.name = ? AND j.deleted_at IS NULL",
        (workspace, name),
    )


def purge_trash(store: Store, cutoff: float) -> int:
    """Delete the jobs trashed before `cutoff` (their versions and runs go with them)."""
    cur = store.execute(
        "DELETE FROM jobs WHERE deleted_at IS NOT NULL AND deleted_at < ?", (cutoff,)
    )
    return cur.rowcount

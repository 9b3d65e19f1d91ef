"""The daemon's bookkeeping on the jobs table: which jobs are scheduled, each one's next
fire, fire count, fires held back by overlap=queue, and the expired / outside-window flags
the list shows. Only the daemon writes these (always inside its fenced transactions)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from jobtui.engine.store.db import Store

FIRE_COLUMNS = (
    "id, version, name, spec, updated_at, active, deleted_at, next_fire_at, fire_count, "
    "deferred_fires, expired"
)


def scheduled_versions(store: Store) -> dict[int, int]:
    """job id → version of every live, active job with a schedule."""
    rows = store.query("SELECT id, version, active, deleted_at, schedule_type FROM jobs")
    return {
        int(r["id"]): int(r["version"])
        for r in rows
        if r["active"] and r["deleted_at"] is None and r["schedule_type"]
    }


def clear_unscheduled(store: Store) -> None:
    """No next fire, no window flag for jobs that are inactive, trashed or unscheduled."""
    store.execute(
        "UPDATE jobs SET next_fire_at = NULL, outside_window = 0 WHERE "
        "(active = 0 OR deleted_at IS NOT NULL OR schedule_type IS NULL) "
        "AND (next_fire_at IS NOT NULL OR outside_window = 1)"
    )


def job_rows(store: Store, job_ids: list[int]) -> list[sqlite3.Row]:
    out: list[sqlite3.Row] = []
    for start in range(0, len(job_ids), 500):
        chunk = job_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        out += store.query(f"SELECT {FIRE_COLUMNS} FROM jobs WHERE id IN ({marks})", chunk)
    return out


def job_row(store: Store, job_id: int) -> sqlite3.Row | None:
    return store.query_one(f"SELECT {FIRE_COLUMNS} FROM jobs WHERE id = ?", (job_id,))


def set_next_fires(store: Store, updates: Iterable[tuple[float | None, int, int]]) -> None:
    """(next fire, expired, job id) for each."""
    store.conn.executemany("UPDATE jobs SET next_fire_at = ?, expired = ? WHERE id = ?", updates)


def set_fired(
    store: Store, job_id: int, nxt: float | None, fire_count: int, deferred: int, expired: int
) -> None:
    store.execute(
        "UPDATE jobs SET next_fire_at = ?, fire_count = ?, deferred_fires = ?, expired = ? "
        "WHERE id = ?",
        (nxt, fire_count, deferred, expired, job_id),
    )


def set_follow_up(
    store: Store, job_id: int, nxt: float | None, expired: int, deferred: int
) -> None:
    store.execute(
        "UPDATE jobs SET next_fire_at = ?, expired = ?, deferred_fires = ? WHERE id = ?",
        (nxt, expired, deferred, job_id),
    )


def set_flags(store: Store, changes: Iterable[tuple[int, int, int]]) -> None:
    """(outside window, expired, job id) for each; expired never goes back."""
    store.conn.executemany(
        "UPDATE jobs SET outside_window = ?, expired = MAX(expired, ?) WHERE id = ?", changes
    )


def upcoming(store: Store, limit: int) -> list[tuple[str, float]]:
    """(workspace/name, next fire) of the next fires."""
    rows = store.query(
        "SELECT j.name, w.name AS workspace, j.next_fire_at FROM jobs j JOIN workspaces w "
        "ON w.id = j.workspace_id WHERE j.next_fire_at IS NOT NULL AND j.deleted_at IS NULL "
        "AND j.active = 1 ORDER BY j.next_fire_at LIMIT ?",
        (limit,),
    )
    return [(f"{r['workspace']}/{r['name']}", float(r["next_fire_at"])) for r in rows]


def job_with_workspace(store: Store, job_id: int) -> sqlite3.Row | None:
    """A job's whole row (trashed or not) with its workspace's name."""
    return store.query_one(
        "SELECT j.*, w.name AS workspace FROM jobs j JOIN workspaces w "
        "ON w.id = j.workspace_id WHERE j.id = ?",
        (job_id,),
    )

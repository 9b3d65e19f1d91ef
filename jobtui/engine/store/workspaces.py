"""Workspaces: named groups of jobs, datasets and sink presets (`default` always exists)."""

from __future__ import annotations

from jobtui.engine.model.clock import to_datetime
from jobtui.engine.model.errors import NotFound
from jobtui.engine.model.types import Workspace
from jobtui.engine.store.db import Store


def workspace_id(store: Store, name: str, now: float, create: bool = False) -> int:
    row = store.query_one("SELECT id FROM workspaces WHERE name = ?", (name,))
    if row:
        return int(row["id"])
    if not create:
        raise NotFound(f"no workspace named {name!r}")
    cur = store.execute("INSERT INTO workspaces (name, created_at) VALUES (?, ?)", (name, now))
    return int(cur.lastrowid or 0)


def exists(store: Store, name: str) -> bool:
    return store.query_one("SELECT 1 FROM workspaces WHERE name = ?", (name,)) is not None


def list_workspaces(store: Store) -> list[Workspace]:
    rows = store.query(
        "SELECT w.id, w.name, w.created_at, COUNT(j.id) AS n FROM workspaces w "
        "LEFT JOIN jobs j ON j.workspace_id = w.id AND j.deleted_at IS NULL "
        "AND j.system = 0 GROUP BY w.id ORDER BY w.name"
    )
    return [
        Workspace(r["id"], r["name"], to_datetime(r["created_at"]), r["n"])  # type: ignore[arg-type]
        for r in rows
    ]


def rename(store: Store, ws_id: int, new: str) -> None:
    store.execute("UPDATE workspaces SET name = ? WHERE id = ?", (new, ws_id))

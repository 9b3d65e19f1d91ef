"""Sink presets ("global sinks"): named sink configurations jobs refer to by name."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from jobtui.engine.model.clock import to_datetime
from jobtui.engine.model.errors import NotFound
from jobtui.engine.model.types import SinkPreset
from jobtui.engine.store.db import Store

PRESET_SELECT = (
    "SELECT p.*, w.name AS workspace FROM sink_presets p JOIN workspaces w ON w.id = p.workspace_id"
)


def preset_from_row(row: sqlite3.Row) -> SinkPreset:
    return SinkPreset(
        name=row["name"],
        type=row["type"],
        options=json.loads(row["options"]),
        workspace=row["workspace"],
        created_at=to_datetime(row["created_at"]),  # type: ignore[arg-type]
        updated_at=to_datetime(row["updated_at"]),  # type: ignore[arg-type]
    )


def get_preset(store: Store, name: str) -> SinkPreset:
    """A preset with its secrets as stored (references, never clear values)."""
    row = store.query_one(f"{PRESET_SELECT} WHERE p.name = ?", (name,))
    if row is None:
        raise NotFound(f"no sink preset named {name!r}")
    return preset_from_row(row)


def resolve_sink(store: Store, sink: dict[str, Any]) -> dict[str, Any]:
    """An inline sink from a spec's sink entry (presets expanded; secrets still references)."""
    if sink.get("preset"):
        preset = get_preset(store, sink["preset"])
        return {
            "type": preset.type,
            "options": preset.options,
            "name": sink.get("name") or preset.name,
        }
    return {
        "type": sink["type"],
        "options": sink.get("options", {}),
        "name": sink.get("name") or sink["type"],
    }


def names(store: Store) -> set[str]:
    return {r["name"] for r in store.query("SELECT name FROM sink_presets")}


def list_presets(store: Store) -> list[SinkPreset]:
    return [preset_from_row(r) for r in store.query(f"{PRESET_SELECT} ORDER BY p.name")]


def preset_id(store: Store, name: str) -> int | None:
    row = store.query_one("SELECT id FROM sink_presets WHERE name = ?", (name,))
    return None if row is None else int(row["id"])


def save(store: Store, existing: int | None, columns: dict[str, Any], now: float) -> None:
    """Insert a preset, or update preset `existing` (call inside a transaction)."""
    store.save_row("sink_presets", existing, columns, now)


def delete(store: Store, name: str) -> None:
    store.execute("DELETE FROM sink_presets WHERE name = ?", (name,))

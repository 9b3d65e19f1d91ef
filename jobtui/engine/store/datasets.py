"""Custom datasets (the built-in ones ship with the code, in datagen/builtins.py)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from jobtui.engine.model.types import Dataset
from jobtui.engine.store.db import Store


def dataset_spec(store: Store, name: str) -> dict[str, Any] | None:
    """A custom dataset's spec ({name, description, fields}), or None."""
    row = store.query_one("SELECT name, description, spec FROM datasets WHERE name = ?", (name,))
    if row is None:
        return None
    return {
        "name": row["name"],
        "description": row["description"],
        "fields": list(json.loads(row["spec"]).get("fields", [])),
    }


DATASET_SELECT = (
    "SELECT d.name, d.description, d.spec, w.name AS workspace FROM datasets d "
    "JOIN workspaces w ON w.id = d.workspace_id"
)


def dataset_from_row(row: sqlite3.Row) -> Dataset:
    spec = json.loads(row["spec"])
    return Dataset(
        name=row["name"],
        description=row["description"],
        builtin=False,
        fields=list(spec.get("fields", [])),
        workspace=row["workspace"],
    )


def names(store: Store) -> set[str]:
    return {r["name"] for r in store.query("SELECT name FROM datasets")}


def list_custom(store: Store) -> list[Dataset]:
    rows = store.query(f"{DATASET_SELECT} ORDER BY d.name COLLATE NOCASE")
    return [dataset_from_row(r) for r in rows]


def get_custom(store: Store, name: str) -> Dataset | None:
    row = store.query_one(f"{DATASET_SELECT} WHERE d.name = ?", (name,))
    return dataset_from_row(row) if row else None


def dataset_id(store: Store, name: str) -> int | None:
    row = store.query_one("SELECT id FROM datasets WHERE name = ?", (name,))
    return None if row is None else int(row["id"])


def save(store: Store, existing: int | None, columns: dict[str, Any], now: float) -> None:
    """Insert a dataset, or update dataset `existing` (call inside a transaction)."""
    store.save_row("datasets", existing, columns, now)


def specs_except(store: Store, name: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, spec) of every other custom dataset."""
    rows = store.query("SELECT name, spec FROM datasets WHERE name != ?", (name,))
    return [(r["name"], json.loads(r["spec"])) for r in rows]


def delete(store: Store, name: str) -> None:
    store.execute("DELETE FROM datasets WHERE name = ?", (name,))

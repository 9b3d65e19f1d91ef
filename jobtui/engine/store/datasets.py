"""Custom datasets (the built-in ones ship with the code, in datagen/builtins.py)."""

from __future__ import annotations

import json
from typing import Any

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

"""A read the worker makes before it imports anything else (datagen/prestart.py): stdlib
only, read-only, never creating a database."""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any
from urllib.parse import quote


def run_settings(db_path: str, run_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(options, job version's spec) of a run, or None on any doubt."""
    try:
        # Read-only, so a wrong path never creates a database; quoted, so a "?" or "#" in
        # the path is part of the name.
        uri = f"file:{quote(os.path.abspath(db_path))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=0.5)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute(
            "SELECT r.options, COALESCE(v.spec, j.spec) FROM runs r "
            "JOIN jobs j ON j.id = r.job_id "
            "LEFT JOIN job_versions v ON v.job_id = r.job_id AND v.version = r.job_version "
            "WHERE r.id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            return None
        return json.loads(row[0] or "{}"), json.loads(row[1] or "{}")
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        conn.close()

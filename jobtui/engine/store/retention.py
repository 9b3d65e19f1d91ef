"""Retention's SQL: which ended runs go, and their deletion with logs and tasks."""

from __future__ import annotations

import json
from typing import Any

from jobtui.engine.store.db import Store
from jobtui.engine.store.runs import FINAL_STATES

_ENDED = ",".join(f"'{s}'" for s in FINAL_STATES)
# A job's latest run is always kept, so its status never changes.
_PROTECT = "id NOT IN (SELECT last_run_id FROM jobs WHERE last_run_id IS NOT NULL)"


def beyond_last(store: Store, keep: int) -> list[int]:
    """Ended runs beyond each job's last `keep` ended runs."""
    doomed: list[int] = []
    for job in store.query("SELECT id FROM jobs"):
        rows = store.query(
            f"SELECT id FROM (SELECT id FROM runs WHERE job_id = ? AND state IN ({_ENDED}) "
            f"ORDER BY id DESC LIMIT -1 OFFSET ?) WHERE {_PROTECT}",
            (job["id"], keep),
        )
        doomed += [int(r["id"]) for r in rows]
    return doomed


def ended_before(store: Store, cutoff: float) -> list[int]:
    rows = store.query(
        f"SELECT id FROM runs WHERE state IN ({_ENDED}) AND {_PROTECT} "
        "AND COALESCE(ended_at, queued_at) < ?",
        (cutoff,),
    )
    return [int(r["id"]) for r in rows]


def delete_runs(store: Store, run_ids: list[int]) -> None:
    """Delete runs with their logs and tasks, in short write transactions."""
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        with store.transaction():
            store.execute(f"DELETE FROM run_logs WHERE run_id IN ({marks})", chunk)
            store.execute(f"DELETE FROM run_tasks WHERE run_id IN ({marks})", chunk)
            store.execute(f"DELETE FROM runs WHERE id IN ({marks})", chunk)


def replay_owner(store: Store, run_id: int) -> tuple[int, str, dict[str, Any]] | None:
    """(job id, run state, job spec) of a run, for the replay store's pruning."""
    row = store.query_one(
        "SELECT r.job_id, r.state, j.spec FROM runs r JOIN jobs j ON j.id = r.job_id "
        "WHERE r.id = ?",
        (run_id,),
    )
    if row is None:
        return None
    return int(row["job_id"]), str(row["state"]), json.loads(row["spec"])

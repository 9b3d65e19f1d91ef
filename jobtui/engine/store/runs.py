"""Runs and their tasks: the rows, and the models the store hands out for them."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from jobtui.engine.model.clock import to_datetime
from jobtui.engine.model.codec import dumps
from jobtui.engine.model.errors import Conflict, NotFound
from jobtui.engine.model.types import Run, RunState, RunTask, Trigger
from jobtui.engine.store.db import Store

if TYPE_CHECKING:
    from jobtui.engine.model.runtime import TaskState

RUN_COLUMNS = """
  r.*, j.name AS job_name, w.name AS workspace
"""
RUN_FROM = "runs r JOIN jobs j ON j.id = r.job_id JOIN workspaces w ON w.id = j.workspace_id"


def run_from_row(row: sqlite3.Row, tasks: list[RunTask] | None = None) -> Run:
    return Run(
        id=row["id"],
        job_id=row["job_id"],
        job_name=row["job_name"],
        workspace=row["workspace"],
        job_version=row["job_version"],
        trigger=Trigger(row["trigger"]),
        title=row["title"],
        state=RunState(row["state"]),
        parameters=json.loads(row["parameters"]),
        queued_at=to_datetime(row["queued_at"]),  # type: ignore[arg-type]
        scheduled_for=to_datetime(row["scheduled_for"]),
        started_at=to_datetime(row["started_at"]),
        ended_at=to_datetime(row["ended_at"]),
        heartbeat_at=to_datetime(row["heartbeat_at"]),
        pid=row["pid"],
        pgid=row["pgid"],
        attempt=row["attempt"],
        records=row["records"],
        progress=row["progress"],
        error=row["error"],
        errors=json.loads(row["errors"]),
        results=json.loads(row["results"]),
        since=to_datetime(row["since"]),
        tasks=tasks or [],
    )


def task_from_row(row: sqlite3.Row) -> RunTask:
    return RunTask(
        id=row["id"],
        run_id=row["run_id"],
        name=row["name"],
        state=RunState(row["state"]),
        records=row["records"],
        total=row["total"],
        started_at=to_datetime(row["started_at"]),
        ended_at=to_datetime(row["ended_at"]),
        error=row["error"],
        result=row["result"],
    )


def run_row(store: Store, run_id: int) -> sqlite3.Row | None:
    """The run's row with its job's name and workspace."""
    return store.query_one(f"SELECT {RUN_COLUMNS} FROM {RUN_FROM} WHERE r.id = ?", (int(run_id),))


def get_run(store: Store, run_id: int) -> Run:
    row = run_row(store, run_id)
    if row is None:
        raise NotFound(f"no run with id {run_id}")
    tasks = [
        task_from_row(t)
        for t in store.query(
            "SELECT * FROM run_tasks WHERE run_id = ? ORDER BY position", (int(run_id),)
        )
    ]
    return run_from_row(row, tasks)


def insert_run(
    store: Store,
    *,
    job_id: int,
    job_version: int,
    trigger: str,
    title: str,
    state: str,
    parameters: str,
    options: str,
    queued_at: float,
    scheduled_for: float | None,
    ended_at: float | None,
    attempt: int,
    retry_of: int | None,
    since: float | None,
    epoch: int | None = None,
) -> int:
    cur = store.execute(
        "INSERT INTO runs (job_id, job_version, trigger, title, state, parameters, options, "
        "queued_at, scheduled_for, ended_at, attempt, retry_of, since, daemon_epoch) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job_id,
            job_version,
            trigger,
            title,
            state,
            parameters,
            options,
            queued_at,
            scheduled_for,
            ended_at,
            attempt,
            retry_of,
            since,
            epoch,
        ),
    )
    return int(cur.lastrowid or 0)


def request_cancel(store: Store, run_id: int, now: float) -> None:
    """queued → cancelled at once; running → cancelling (the worker stops within 1 s)."""
    with store.transaction():
        row = store.query_one("SELECT state FROM runs WHERE id = ?", (int(run_id),))
        if row is None:
            raise NotFound(f"no run with id {run_id}")
        state = RunState(row["state"])
        if state == RunState.QUEUED:
            store.execute(
                "UPDATE runs SET state = 'cancelled', ended_at = ?, cancel_requested_at = ?, "
                "error = 'cancelled before it started' WHERE id = ?",
                (now, now, int(run_id)),
            )
        elif state == RunState.RUNNING:
            store.execute(
                "UPDATE runs SET state = 'cancelling', cancel_requested_at = ? WHERE id = ?",
                (now, int(run_id)),
            )
        elif state != RunState.CANCELLING:
            raise Conflict(f"run {run_id} has already ended ({state.value})")


def version_spec(store: Store, job_id: int, version: int) -> dict[str, Any] | None:
    """The spec of a job's version (the job's current one when the version is gone)."""
    row = store.query_one(
        "SELECT spec FROM job_versions WHERE job_id = ? AND version = ?", (job_id, version)
    )
    if row is None:
        row = store.query_one("SELECT spec FROM jobs WHERE id = ?", (job_id,))
    if row is None:
        return None
    spec: dict[str, Any] = json.loads(row["spec"])
    return spec


# -- what a worker writes ------------------------------------------------------------------
def add_task(store: Store, run_id: int, position: int, name: str, total: int | None) -> int:
    cur = store.execute(
        "INSERT INTO run_tasks (run_id, position, name, state, total) VALUES (?, ?, ?, ?, ?)",
        (run_id, position, name, "queued", total),
    )
    return int(cur.lastrowid or 0)


def write_progress(
    store: Store,
    run_id: int,
    now: float,
    records: int,
    progress: float | None,
    tasks: list[TaskState],
) -> None:
    """Heartbeat, records, progress and changed tasks in one short transaction."""
    rows = [
        (t.state, t.records, t.total, t.started_at, t.ended_at, t.error, t.result, t.id)
        for t in tasks
    ]
    with store.transaction():
        store.execute(
            "UPDATE runs SET heartbeat_at = ?, records = ?, progress = ? WHERE id = ?",
            (now, records, progress, run_id),
        )
        if rows:
            store.conn.executemany(
                "UPDATE run_tasks SET state = ?, records = ?, total = ?, started_at = ?, "
                "ended_at = ?, error = ?, result = ? WHERE id = ?",
                rows,
            )


def set_options(store: Store, run_id: int, options_json: str) -> None:
    store.execute("UPDATE runs SET options = ? WHERE id = ?", (options_json, run_id))


def cancel_requested(store: Store, run_id: int) -> bool:
    row = store.query_one("SELECT state, cancel_requested_at FROM runs WHERE id = ?", (run_id,))
    return row is not None and (
        row["cancel_requested_at"] is not None or row["state"] == "cancelling"
    )


def finish_from_worker(
    store: Store,
    run_id: int,
    now: float,
    state: RunState,
    error: str | None,
    errors: list[dict[str, Any]],
    results: list[str],
) -> None:
    """The worker's own end of its run: unless it ended meanwhile (the supervisor)."""
    with store.transaction():
        row = store.query_one("SELECT state, started_at, job_id FROM runs WHERE id = ?", (run_id,))
        if row is None or row["state"] not in ("running", "cancelling"):
            return
        store.execute(
            "UPDATE runs SET state = ?, ended_at = ?, heartbeat_at = ?, error = ?, "
            "errors = ?, results = ?, progress = CASE WHEN ? THEN 1.0 ELSE progress "
            "END WHERE id = ?",
            (
                state.value,
                now,
                now,
                error,
                dumps(errors),
                dumps(results),
                state == RunState.SUCCEEDED,
                run_id,
            ),
        )
        store.execute(
            "UPDATE run_tasks SET state = ?, ended_at = ? WHERE run_id = ? "
            "AND state IN ('queued', 'running')",
            ("cancelled" if state == RunState.CANCELLED else "failed", now, run_id),
        )
        if state == RunState.SUCCEEDED and row["started_at"] is not None:
            store.execute(
                "UPDATE jobs SET since_watermark = ? WHERE id = ? AND "
                "(since_watermark IS NULL OR since_watermark < ?)",
                (row["started_at"], row["job_id"], row["started_at"]),
            )

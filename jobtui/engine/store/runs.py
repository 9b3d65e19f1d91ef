"""Runs and their tasks: the rows, and the models the store hands out for them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from jobtui.engine.model.clock import to_datetime
from jobtui.engine.model.codec import dumps
from jobtui.engine.model.errors import NotFound
from jobtui.engine.model.types import Run, RunState, RunTask, RunTransition, Trigger
from jobtui.engine.store.db import Store

if TYPE_CHECKING:
    from jobtui.engine.model.runtime import TaskState

RUN_COLUMNS = """
  r.*, j.name AS job_name, w.name AS workspace, j.kind AS job_kind,
  (SELECT MIN(x.id) FROM runs x WHERE x.retry_of = r.id) AS retried_as
"""
RUN_FROM = "runs r JOIN jobs j ON j.id = r.job_id JOIN workspaces w ON w.id = j.workspace_id"


def run_from_row(
    row: sqlite3.Row,
    tasks: list[RunTask] | None = None,
    history: list[RunTransition] | None = None,
) -> Run:
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
        retry_of=row["retry_of"],
        retried_as=row["retried_as"],
        tasks=tasks or [],
        transitions=history or [],
        host=row["host"],
        wait_reason=row["wait_reason"],
        executing_at=to_datetime(row["executing_at"]),
        job_kind=row["job_kind"],
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
        generated=row["generated"],
    )


def run_row(store: Store, run_id: int) -> sqlite3.Row | None:
    """The run's row with its job's name and workspace."""
    return store.query_one(f"SELECT {RUN_COLUMNS} FROM {RUN_FROM} WHERE r.id = ?", (int(run_id),))


def get_run(store: Store, run_id: int) -> Run:
    """A run with its tasks and its state history."""
    row = run_row(store, run_id)
    if row is None:
        raise NotFound(f"no run with id {run_id}")
    tasks = [
        task_from_row(t)
        for t in store.query(
            "SELECT * FROM run_tasks WHERE run_id = ? ORDER BY position", (int(run_id),)
        )
    ]
    return run_from_row(row, tasks, transitions(store, int(run_id)))


def _filters(
    job_id: int | None, states: Iterable[str] | None, triggers: Iterable[str] | None = None
) -> tuple[str, list[Any]]:
    where = ["1"]
    params: list[Any] = []
    if job_id is not None:
        where.append("r.job_id = ?")
        params.append(job_id)
    state_list = [RunState(s).value for s in states or []]
    if state_list:
        where.append(f"r.state IN ({','.join('?' * len(state_list))})")
        params += state_list
    trigger_list = [Trigger(t).value for t in triggers or []]
    if trigger_list:
        where.append(f"r.trigger IN ({','.join('?' * len(trigger_list))})")
        params += trigger_list
    return " AND ".join(where), params


def list_runs(
    store: Store,
    job_id: int | None = None,
    states: Iterable[str] | None = None,
    limit: int = 100,
    before_id: int | None = None,
    triggers: Iterable[str] | None = None,
) -> list[Run]:
    """Runs newest first (without their tasks)."""
    where, params = _filters(job_id, states, triggers)
    if before_id is not None:
        where += " AND r.id < ?"
        params.append(before_id)
    rows = store.query(
        f"SELECT {RUN_COLUMNS} FROM {RUN_FROM} WHERE {where} ORDER BY r.id DESC LIMIT ?",
        [*params, int(limit)],
    )
    return [run_from_row(r) for r in rows]


def count_runs(store: Store, job_id: int | None = None, states: Iterable[str] | None = None) -> int:
    where, params = _filters(job_id, states)
    row = store.query_one(f"SELECT COUNT(*) AS n FROM runs r WHERE {where}", params)
    return int(row["n"]) if row else 0


def run_options(store: Store, run_id: int) -> dict[str, Any]:
    row = store.query_one("SELECT options FROM runs WHERE id = ?", (int(run_id),))
    if row is None:
        raise NotFound(f"no run with id {run_id}")
    options: dict[str, Any] = json.loads(row["options"] or "{}")
    return options


def recent_states_of(store: Store, job_ids: Iterable[int], limit: int) -> dict[int, list[str]]:
    """Each job's last `limit` run states, oldest first, in one query (issue 18: the page's
    sparklines were one query per job): an index probe of `runs_job` per job."""
    ids = [int(i) for i in job_ids]
    found: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = store.query(
            "SELECT j.value AS job_id, (SELECT group_concat(state, ',') FROM (SELECT state FROM "
            "runs WHERE job_id = j.value ORDER BY id DESC LIMIT ?)) AS states "
            "FROM json_each(?) j",
            (limit, json.dumps(chunk)),
        )
        for row in rows:
            states = row["states"].split(",") if row["states"] else []
            found[int(row["job_id"])] = list(reversed(states))
    return found


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
    held: bool = False,
) -> int:
    cur = store.execute(
        "INSERT INTO runs (job_id, job_version, trigger, title, state, parameters, options, "
        "queued_at, scheduled_for, ended_at, attempt, retry_of, since, daemon_epoch, held) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            int(held),
        ),
    )
    return int(cur.lastrowid or 0)


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
        (
            t.state,
            t.records,
            t.generated,
            t.total,
            t.started_at,
            t.ended_at,
            t.error,
            t.result,
            t.id,
        )
        for t in tasks
    ]
    with store.transaction():
        store.execute(
            "UPDATE runs SET heartbeat_at = ?, records = ?, progress = ? WHERE id = ?",
            (now, records, progress, run_id),
        )
        if rows:
            store.conn.executemany(
                "UPDATE run_tasks SET state = ?, records = ?, generated = ?, total = ?, "
                "started_at = ?, "
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


# -- what the daemon asks about runs ---------------------------------------------------------
ACTIVE = ("queued", "running", "cancelling")
RUNNING = ("running", "cancelling")


def running_ids(store: Store) -> set[int]:
    rows = store.query("SELECT id FROM runs WHERE state IN ('running', 'cancelling')")
    return {int(r["id"]) for r in rows}


def running_count(store: Store, executor: str | None = None) -> int:
    """Running and cancelling runs (of one executor, when given; runs claimed before
    executors were recorded are local's)."""
    if executor is None:
        row = store.query_one("SELECT COUNT(*) FROM runs WHERE state IN ('running', 'cancelling')")
    else:
        row = store.query_one(
            "SELECT COUNT(*) FROM runs WHERE state IN ('running', 'cancelling') "
            "AND COALESCE(executor, 'local') = ?",
            (executor,),
        )
    return int(row[0]) if row else 0


def states_of(store: Store, run_ids: Iterable[int]) -> dict[int, str]:
    ids = list(run_ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = store.query(f"SELECT id, state FROM runs WHERE id IN ({marks})", ids)
    return {int(r["id"]): str(r["state"]) for r in rows}


def active_count(store: Store, job_id: int) -> int:
    """The job's queued, running and cancelling runs (a held run does not count: it waits
    for room)."""
    return overlap_counts(store, job_id)[0]


def overlap_counts(store: Store, job_id: int) -> tuple[int, int, int]:
    """(the job's queued, running and cancelling runs that are not held, how many of them
    are catch-ups, how many live fires are held waiting for room)."""
    row = store.query_one(
        "SELECT COALESCE(SUM(held = 0), 0), COALESCE(SUM(held = 0 AND trigger = 'catch_up'), 0), "
        "COALESCE(SUM(held = 1 AND trigger != 'catch_up'), 0) FROM runs WHERE job_id = ? "
        "AND state IN ('queued','running','cancelling')",
        (job_id,),
    )
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def jobs_with_held_runs(store: Store) -> list[int]:
    rows = store.query("SELECT DISTINCT job_id FROM runs WHERE held = 1 AND state = 'queued'")
    return [int(r["job_id"]) for r in rows]


def next_held(store: Store, job_id: int) -> int | None:
    """The job's held run to release first: a live fire before catch-ups, then the oldest."""
    row = store.query_one(
        "SELECT id FROM runs WHERE job_id = ? AND held = 1 AND state = 'queued' "
        "ORDER BY trigger = 'catch_up', scheduled_for, id LIMIT 1",
        (job_id,),
    )
    return None if row is None else int(row["id"])


def release_held(store: Store, run_id: int) -> None:
    store.execute("UPDATE runs SET held = 0 WHERE id = ? AND held = 1", (run_id,))


def fired_at(store: Store, job_id: int, at: float) -> bool:
    """Whether a scheduled (or caught-up) run of the job was queued for the fire `at`."""
    row = store.query_one(
        "SELECT 1 FROM runs WHERE job_id = ? AND scheduled_for = ? AND "
        "trigger IN ('schedule', 'catch_up') LIMIT 1",
        (job_id, at),
    )
    return row is not None


def attempted_between(store: Store, job_id: int, since: float, until: float) -> bool:
    """Whether a fire of the job in [since, until) ran (or was queued to run)."""
    row = store.query_one(
        "SELECT 1 FROM runs WHERE job_id = ? AND scheduled_for >= ? AND scheduled_for < ? "
        "AND trigger IN ('schedule', 'catch_up', 'retry') AND state NOT IN "
        "('missed', 'skipped') LIMIT 1",
        (job_id, since, until),
    )
    return row is not None


# -- post-run: retries, follow-ups, alerts, applied once per run ---------------------------
FINAL_STATES = tuple(s.value for s in RunState if s.is_final)


def unprocessed_ended(store: Store, limit: int = 500) -> list[int]:
    """Ended runs whose post-run is still to do, oldest first."""
    rows = store.query(
        "SELECT id FROM runs WHERE post_done = 0 AND state IN "
        f"({','.join('?' * len(FINAL_STATES))}) ORDER BY id LIMIT ?",
        (*FINAL_STATES, limit),
    )
    return [int(r["id"]) for r in rows]


def take_for_postrun(store: Store, run_id: int) -> sqlite3.Row | None:
    """Mark an ended run's post-run done and return its row; None when it was done already
    or the run has not ended (call inside the transaction that does the post-run)."""
    row = store.query_one("SELECT * FROM runs WHERE id = ? AND post_done = 0", (run_id,))
    if row is None or row["state"] not in FINAL_STATES:
        return None
    store.execute("UPDATE runs SET post_done = 1 WHERE id = ?", (run_id,))
    return row


def set_retrying(store: Store, run_id: int, retry_at: float) -> None:
    store.execute(
        "UPDATE runs SET state = 'retrying', retry_at = ? WHERE id = ?", (retry_at, run_id)
    )


RETRIED_STATES = ("failed", "interrupted")


def state_before_retrying(store: Store, run_id: int) -> str:
    """The state a `retrying` run ended in (its history keeps it; `failed` if not found)."""
    row = store.query_one(
        "SELECT from_state FROM run_transitions WHERE run_id = ? AND to_state = 'retrying' "
        "ORDER BY id DESC LIMIT 1",
        (run_id,),
    )
    state = None if row is None else row["from_state"]
    return str(state) if state in RETRIED_STATES else "failed"


def settle_retrying(store: Store, run_id: int) -> str | None:
    """A `retrying` run back in the state it ended in (its retry is queued, or will not be):
    that state, or None when it was not retrying."""
    if state_of(store, run_id) != "retrying":
        return None
    state = state_before_retrying(store, run_id)
    store.execute(
        "UPDATE runs SET state = ?, retry_at = NULL WHERE id = ? AND state = 'retrying'",
        (state, run_id),
    )
    return state


def stuck_retrying(store: Store, limit: int = 200) -> list[int]:
    """Runs left `retrying` with no retry to come (retry_at cleared, never queued)."""
    rows = store.query(
        "SELECT id FROM runs WHERE state = 'retrying' AND retry_at IS NULL ORDER BY id LIMIT ?",
        (limit,),
    )
    return [int(r["id"]) for r in rows]


def due_retries(store: Store, now: float, limit: int = 200) -> list[int]:
    rows = store.query(
        "SELECT id FROM runs WHERE state = 'retrying' AND retry_at IS NOT NULL "
        "AND retry_at <= ? ORDER BY retry_at LIMIT ?",
        (now, limit),
    )
    return [int(r["id"]) for r in rows]


def take_retry(store: Store, run_id: int) -> sqlite3.Row | None:
    """A due retry's run (with its job's active and deleted_at), taken: its retry_at is
    cleared so it is queued once."""
    row = store.query_one(
        "SELECT r.*, j.active, j.deleted_at FROM runs r JOIN jobs j ON j.id = r.job_id "
        "WHERE r.id = ? AND r.state = 'retrying' AND r.retry_at IS NOT NULL",
        (run_id,),
    )
    if row is not None:
        store.execute("UPDATE runs SET retry_at = NULL WHERE id = ?", (run_id,))
    return row


def running_rows(store: Store) -> list[sqlite3.Row]:
    return store.query(
        "SELECT id, pid, pgid, heartbeat_at FROM runs WHERE state IN ('running', 'cancelling')"
    )


# -- what executors and workers ask and write ----------------------------------------------
def _scope(only: Iterable[int] | None) -> tuple[str, list[Any]]:
    if only is None:
        return "", []
    ids = sorted(only)
    return f" AND r.id IN ({','.join('?' * len(ids))})", ids


def watched_rows(
    store: Store, only: Iterable[int] | None = None, *, executor: str = "local"
) -> list[sqlite3.Row]:
    """The running and cancelling runs of an executor (of `only`, when given) with what it
    watches: pid, process group, heartbeat, start, cancel request, job version, and the
    worker's process start time. Runs claimed before executors were recorded are local's."""
    scope, params = _scope(only)
    return store.query(
        "SELECT r.id, r.state, r.pid, r.pgid, r.heartbeat_at, r.started_at, "
        "r.cancel_requested_at, r.job_id, r.job_version, r.worker_started_at FROM runs r "
        "WHERE r.state IN ('running', 'cancelling') AND COALESCE(r.executor, 'local') = ?"
        f"{scope}",
        [executor, *params],
    )


def queued_due(store: Store, now: float, only: Iterable[int] | None = None) -> list[sqlite3.Row]:
    """(id, queue) of queued runs due by `now`, oldest first (100 at most)."""
    scope, params = _scope(only)
    return store.query(
        "SELECT r.id, j.queue FROM runs r JOIN jobs j ON j.id = r.job_id "
        "WHERE r.state = 'queued' AND r.held = 0 "
        "AND (r.scheduled_for IS NULL OR r.scheduled_for <= ?)"
        f"{scope} ORDER BY r.id LIMIT 100",
        [now, *params],
    )


def state_of(store: Store, run_id: int) -> str | None:
    row = store.query_one("SELECT state FROM runs WHERE id = ?", (run_id,))
    return None if row is None else str(row["state"])


def set_spawned(store: Store, run_id: int, pid: int, started: float | None) -> None:
    """The pid (and process group, and process start) of the worker just spawned, unless
    it reported first."""
    store.execute(
        "UPDATE runs SET pid = ?, pgid = ?, worker_started_at = ? WHERE id = ? AND pid IS NULL",
        (pid, pid, started, run_id),
    )


def set_executing(store: Store, run_id: int, now: float) -> None:
    """The worker begins executing the run's body now (after its start-up)."""
    store.execute("UPDATE runs SET executing_at = ? WHERE id = ?", (now, run_id))


def worker_state(store: Store, run_id: int) -> sqlite3.Row | None:
    return store.query_one("SELECT state, pid, worker_started_at FROM runs WHERE id = ?", (run_id,))


def attach_worker(
    store: Store, run_id: int, now: float, pid: int, pgid: int, started: float | None
) -> None:
    store.execute(
        "UPDATE runs SET pid = ?, pgid = ?, worker_started_at = ?, heartbeat_at = ?, "
        "started_at = COALESCE(started_at, ?) WHERE id = ?",
        (pid, pgid, started, now, now, run_id),
    )


def end_states_before(store: Store, job_id: int, before_run: int, limit: int) -> list[str]:
    """The end states of the job's runs before `before_run`, newest first (missed and
    skipped fires left out: they are not outcomes of a run)."""
    rows = store.query(
        "SELECT state FROM runs WHERE job_id = ? AND id < ? AND state NOT IN "
        "('missed', 'skipped', 'queued', 'running', 'cancelling') ORDER BY id DESC LIMIT ?",
        (job_id, before_run, limit),
    )
    return [str(r["state"]) for r in rows]


# -- state changes (only run/lifecycle.py calls these) -------------------------------------
def claim(store: Store, run_id: int, now: float, epoch: int | None, executor: str) -> bool:
    """queued → running for whoever wins the one conditional UPDATE."""
    cur = store.execute(
        "UPDATE runs SET state = 'running', started_at = ?, heartbeat_at = ?, "
        "daemon_epoch = ?, executor = ? WHERE id = ? AND state = 'queued'",
        (now, now, epoch, executor, run_id),
    )
    return cur.rowcount == 1


def set_cancelling(store: Store, run_id: int, now: float) -> bool:
    cur = store.execute(
        "UPDATE runs SET state = 'cancelling', cancel_requested_at = ? "
        "WHERE id = ? AND state = 'running'",
        (now, run_id),
    )
    return cur.rowcount == 1


def end(
    store: Store,
    run_id: int,
    *,
    from_states: tuple[str, ...],
    state: RunState,
    task_state: str,
    now: float,
    error: str | None,
    errors_add: list[dict[str, Any]],
    results: list[str] | None,
    heartbeat: bool,
    cancel_requested: bool,
    offsets: dict[str, Any] | None = None,
) -> bool:
    """One conditional UPDATE from `from_states` to `state`; the run's unfinished tasks
    take `task_state`; a success moves the job's since watermark (and a pipeline's
    high-water marks, `offsets`, kept on the run whatever its end). False when the run was
    not in `from_states` (someone else ended it)."""
    with store.transaction():
        row = store.query_one(
            "SELECT state, errors, started_at, job_id FROM runs WHERE id = ?", (run_id,)
        )
        if row is None or row["state"] not in from_states:
            return False
        errors = json.loads(row["errors"] or "[]") + errors_add
        marks = ",".join("?" * len(from_states))
        cur = store.execute(
            "UPDATE runs SET state = ?, ended_at = ?, error = ?, errors = ?, "
            "results = COALESCE(?, results), "
            "heartbeat_at = CASE WHEN ? THEN ? ELSE heartbeat_at END, "
            "cancel_requested_at = CASE WHEN ? THEN ? ELSE cancel_requested_at END, "
            "progress = CASE WHEN ? THEN 1.0 ELSE progress END "
            f"WHERE id = ? AND state IN ({marks})",
            (
                state.value,
                now,
                error,
                dumps(errors),
                None if results is None else dumps(results),
                heartbeat,
                now,
                cancel_requested,
                now,
                state == RunState.SUCCEEDED,
                run_id,
                *from_states,
            ),
        )
        if cur.rowcount != 1:
            return False
        store.execute(
            "UPDATE run_tasks SET state = ?, ended_at = ? WHERE run_id = ? "
            "AND state IN ('queued', 'running', 'cancelling')",
            (task_state, now, run_id),
        )
        if state == RunState.SUCCEEDED and row["started_at"] is not None:
            store.execute(
                "UPDATE jobs SET since_watermark = ? WHERE id = ? AND "
                "(since_watermark IS NULL OR since_watermark < ?)",
                (row["started_at"], row["job_id"], row["started_at"]),
            )
        if offsets is not None:
            store.execute("UPDATE runs SET offsets = ? WHERE id = ?", (dumps(offsets), run_id))
            if state == RunState.SUCCEEDED:
                store.execute(
                    "UPDATE jobs SET offsets = ? WHERE id = ?", (dumps(offsets), row["job_id"])
                )
    return True


def add_error(store: Store, run_id: int, error: dict[str, Any]) -> None:
    """Note one more error on an ended run (its state unchanged)."""
    with store.transaction():
        row = store.query_one("SELECT error, errors FROM runs WHERE id = ?", (run_id,))
        if row is None:
            return
        errors = [*json.loads(row["errors"] or "[]"), error]
        text = error["message"] if not row["error"] else f"{row['error']}; {error['message']}"
        store.execute(
            "UPDATE runs SET error = ?, errors = ? WHERE id = ?", (text, dumps(errors), run_id)
        )


def transitions(store: Store, run_id: int) -> list[RunTransition]:
    rows = store.query(
        "SELECT from_state, to_state, at FROM run_transitions WHERE run_id = ? ORDER BY id",
        (run_id,),
    )
    return [
        RunTransition(
            from_state=RunState(r["from_state"]) if r["from_state"] else None,
            to_state=RunState(r["to_state"]),
            at=to_datetime(r["at"]),  # type: ignore[arg-type]
        )
        for r in rows
    ]


def job_offsets(store: Store, job_id: int) -> dict[str, Any]:
    """A pipeline job's stored high-water marks (empty: none, or reset)."""
    row = store.query_one("SELECT offsets FROM jobs WHERE id = ?", (job_id,))
    return json.loads(row["offsets"]) if row is not None and row["offsets"] else {}

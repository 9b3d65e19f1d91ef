"""The SQL of scale-out (issue 19): remote runs' hosts, why a queued run waits, and the
cursor that makes ingesting a remote worker's events idempotent."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from jobtui.engine.store.db import Store


def event_cursor(store: Store, run_id: int, source: str) -> int:
    """The highest sequence number of the run's events from `source` applied so far."""
    row = store.query_one(
        "SELECT seq FROM remote_events WHERE run_id = ? AND source = ?", (run_id, source)
    )
    return int(row["seq"]) if row else 0


def set_event_cursor(store: Store, run_id: int, source: str, seq: int) -> None:
    store.execute(
        "INSERT INTO remote_events (run_id, source, seq) VALUES (?, ?, ?) "
        "ON CONFLICT (run_id, source) DO UPDATE SET seq = excluded.seq",
        (run_id, source, seq),
    )


def run_ident(store: Store, run_id: int) -> sqlite3.Row | None:
    """(state, attempt, executor, host) of a run."""
    return store.query_one(
        "SELECT state, attempt, executor, host FROM runs WHERE id = ?", (int(run_id),)
    )


def set_host(store: Store, run_id: int, host: str, now: float) -> None:
    """The host a remote worker started the run on (its first beat, received now)."""
    store.execute(
        "UPDATE runs SET host = ?, heartbeat_at = ?, wait_reason = NULL WHERE id = ?",
        (host, now, run_id),
    )


def beat(store: Store, run_id: int, now: float) -> None:
    store.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (now, run_id))


def task_id_at(store: Store, run_id: int, position: int) -> int | None:
    row = store.query_one(
        "SELECT id FROM run_tasks WHERE run_id = ? AND position = ? ORDER BY id LIMIT 1",
        (run_id, position),
    )
    return int(row["id"]) if row else None


def set_wait_reason(store: Store, run_ids: Iterable[int], reason: str | None) -> None:
    """Why these runs wait (None: they no longer do)."""
    ids = [int(i) for i in run_ids]
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    store.execute(
        f"UPDATE runs SET wait_reason = ? WHERE id IN ({marks}) AND wait_reason IS NOT ?",
        [reason, *ids, reason],
    )


def queued_on(store: Store, queues: Iterable[str] | None, exclude: Iterable[str]) -> list[int]:
    """Queued runs whose job's queue is one of `queues` (None: any not in `exclude`)."""
    skip = list(exclude)
    marks = ",".join("?" * len(skip)) or "''"
    rows = store.query(
        "SELECT r.id, j.queue FROM runs r JOIN jobs j ON j.id = r.job_id "
        f"WHERE r.state = 'queued' AND j.queue NOT IN ({marks}) ORDER BY r.id LIMIT 1000",
        skip,
    )
    wanted = set(queues) if queues is not None else None
    return [int(r["id"]) for r in rows if wanted is None or r["queue"] in wanted]


def unclaim(store: Store, run_id: int, reason: str) -> bool:
    """running → queued for a run whose task could not be sent (nothing executed it)."""
    cur = store.execute(
        "UPDATE runs SET state = 'queued', started_at = NULL, heartbeat_at = NULL, "
        "executor = NULL, wait_reason = ? WHERE id = ? AND state = 'running' AND host IS NULL",
        (reason, run_id),
    )
    return cur.rowcount == 1


def remote_rows(store: Store, executor: str) -> list[sqlite3.Row]:
    """The running and cancelling runs of a remote executor, with what it watches."""
    return store.query(
        "SELECT r.id, r.state, r.attempt, r.host, r.heartbeat_at, r.started_at, "
        "r.cancel_requested_at, r.job_id, r.job_version, j.queue FROM runs r "
        "JOIN jobs j ON j.id = r.job_id "
        "WHERE r.state IN ('running', 'cancelling') AND r.executor = ?",
        (executor,),
    )


def queue_of_run(store: Store, run_id: int) -> str | None:
    row = store.query_one(
        "SELECT j.queue FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.id = ?", (run_id,)
    )
    return str(row["queue"]) if row else None


def hosts_of(store: Store) -> list[sqlite3.Row]:
    """(host, running runs) of remote hosts with runs in progress."""
    return store.query(
        "SELECT host, COUNT(*) AS n FROM runs WHERE host IS NOT NULL "
        "AND state IN ('running', 'cancelling') GROUP BY host"
    )


# -- metrics (jobtui daemon --metrics) -------------------------------------------------------
def runs_by_state(store: Store) -> dict[str, int]:
    return {
        str(r["state"]): int(r["n"])
        for r in store.query("SELECT state, COUNT(*) AS n FROM runs GROUP BY state")
    }


def queue_depth(store: Store) -> dict[str, int]:
    """Queued runs per job queue."""
    return {
        str(r["queue"]): int(r["n"])
        for r in store.query(
            "SELECT j.queue, COUNT(*) AS n FROM runs r JOIN jobs j ON j.id = r.job_id "
            "WHERE r.state = 'queued' GROUP BY j.queue"
        )
    }


def durations(store: Store, limit: int = 10_000) -> list[float]:
    """Durations of the latest ended runs (seconds)."""
    return [
        float(r["d"])
        for r in store.query(
            "SELECT ended_at - started_at AS d FROM runs WHERE ended_at IS NOT NULL "
            "AND started_at IS NOT NULL ORDER BY id DESC LIMIT ?",
            (limit,),
        )
    ]


def lateness(store: Store, limit: int = 10_000) -> list[float]:
    """How late scheduled runs started after their fire time (seconds)."""
    return [
        max(0.0, float(r["d"]))
        for r in store.query(
            "SELECT started_at - scheduled_for AS d FROM runs WHERE scheduled_for IS NOT NULL "
            "AND started_at IS NOT NULL ORDER BY id DESC LIMIT ?",
            (limit,),
        )
    ]


def job_queues(store: Store) -> list[str]:
    """The Celery queues the live jobs name (every queue but `local`)."""
    rows = store.query(
        "SELECT DISTINCT queue FROM jobs WHERE deleted_at IS NULL AND queue != 'local' "
        "ORDER BY queue"
    )
    return [str(r["queue"]) for r in rows]


WORKERS_ONLINE = "scale.workers_online"


def set_workers_online(store: Store, online: int, now: float) -> None:
    """How many Celery workers the daemon saw live (its Celery executor, each few seconds)."""
    store.set_setting(WORKERS_ONLINE, json.dumps({"online": online, "at": now}))


def workers_online(store: Store, now: float, fresh: float) -> int | None:
    """The daemon's last count of live workers, unless older than `fresh` seconds."""
    raw = store.get_setting(WORKERS_ONLINE)
    try:
        data = json.loads(raw) if raw else None
        if data and now - float(data["at"]) <= fresh:
            return int(data["online"])
    except (ValueError, KeyError, TypeError):
        pass
    return None

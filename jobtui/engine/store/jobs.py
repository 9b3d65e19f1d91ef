"""Jobs and their versions: lookups by id or name, the list, writes, versions, the trash."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from jobtui.engine.model.clock import to_datetime
from jobtui.engine.model.errors import InvalidInput, NotFound
from jobtui.engine.model.types import (
    Job,
    JobKind,
    JobStatus,
    JobSummary,
    JobVersion,
    LastRun,
    RunState,
)
from jobtui.engine.store.db import Store

TRASH_DAYS = 7  # how long a deleted job stays restorable

JOB_SUMMARY_COLUMNS = """
  j.id, j.name, w.name AS workspace, j.kind, j.description, j.active, j.system, j.tags,
  j.status, j.schedule_text, j.next_fire_at, j.timezone, j.version, j.updated_at,
  j.last_run_id, j.last_run_state, j.last_run_started_at, j.last_run_ended_at,
  j.last_run_records, j.deleted_at
"""
JOB_FROM = "jobs j JOIN workspaces w ON w.id = j.workspace_id"
# Sort keys the list accepts, mapped to SQL: user text never reaches ORDER BY.
JOB_SORTS: dict[str, str] = {
    "name": "j.name COLLATE NOCASE",
    "workspace": "w.name COLLATE NOCASE",
    "status": "j.status",
    # By when it fires next, not its words ("Every 10 minutes" < "Every 5 minutes").
    "schedule": "j.next_fire_at IS NULL, j.next_fire_at, j.schedule_text",
    "next_run": "j.next_fire_at IS NULL, j.next_fire_at",
    "last_run": "j.last_run_started_at IS NULL, j.last_run_started_at",
    "duration": "(j.last_run_ended_at - j.last_run_started_at)",
    "records": "j.last_run_records",
    "updated": "j.updated_at",
    "kind": "j.kind",
}


@dataclass(frozen=True)
class JobRecord:
    """What the engine itself reads of a job (the facade hands out `Job` and `JobSummary`)."""

    id: int
    name: str
    workspace: str
    workspace_id: int
    version: int
    spec: dict[str, Any]
    active: bool
    system: bool
    deleted_at: float | None
    updated_at: float
    since_watermark: float | None


def record_from_row(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        id=int(row["id"]),
        name=str(row["name"]),
        workspace=str(row["workspace"]),
        workspace_id=int(row["workspace_id"]),
        version=int(row["version"]),
        spec=json.loads(row["spec"]),
        active=bool(row["active"]),
        system=bool(row["system"]),
        deleted_at=row["deleted_at"],
        updated_at=float(row["updated_at"]),
        since_watermark=row["since_watermark"],
    )


def summary_from_row(row: sqlite3.Row) -> JobSummary:
    last = None
    if row["last_run_id"] is not None:
        last = LastRun(
            id=row["last_run_id"],
            state=RunState(row["last_run_state"]),
            started_at=to_datetime(row["last_run_started_at"]),
            ended_at=to_datetime(row["last_run_ended_at"]),
            records=row["last_run_records"],
        )
    return JobSummary(
        id=row["id"],
        name=row["name"],
        workspace=row["workspace"],
        kind=JobKind(row["kind"]),
        description=row["description"],
        active=bool(row["active"]),
        system=bool(row["system"]),
        tags=tuple(t for t in row["tags"].split(" ") if t),
        status=JobStatus(row["status"]),
        schedule_text=row["schedule_text"],
        next_fire_at=to_datetime(row["next_fire_at"]),
        timezone=row["timezone"],
        version=row["version"],
        last_run=last,
        updated_at=to_datetime(row["updated_at"]),  # type: ignore[arg-type]
    )


# -- lookups ------------------------------------------------------------------------------
_RECORD = "SELECT j.*, w.name AS workspace FROM jobs j JOIN workspaces w ON w.id = j.workspace_id"


def find(store: Store, ref: str | int, include_deleted: bool = False) -> JobRecord:
    """A job by id, `name` or `workspace/name` (a live one before a trashed one)."""
    deleted = "" if include_deleted else " AND j.deleted_at IS NULL"
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        row = store.query_one(f"{_RECORD} WHERE j.id = ?{deleted}", (int(ref),))
        if row:
            return record_from_row(row)
        if isinstance(ref, int):
            raise NotFound(f"no job with id {ref}")
    name = str(ref)
    order = " ORDER BY j.deleted_at IS NULL DESC, j.deleted_at DESC"
    if "/" in name:
        workspace, _, short = name.partition("/")
        rows = store.query(
            f"{_RECORD} WHERE w.name = ? AND j.name = ?{deleted}{order}", (workspace, short)
        )
    else:
        rows = store.query(f"{_RECORD} WHERE j.name = ?{deleted}{order}", (name,))
    live = [r for r in rows if r["deleted_at"] is None]
    if len({r["workspace"] for r in live}) > 1:
        spaces = ", ".join(sorted(f"{r['workspace']}/{name}" for r in live))
        raise NotFound(f"{name!r} names several jobs; say which: {spaces}")
    if not rows:
        raise NotFound(f"no job named {name!r}")
    return record_from_row(rows[0])


def live(store: Store, job_id: int) -> JobRecord | None:
    """A job not in the trash, by id."""
    row = store.query_one(f"{_RECORD} WHERE j.id = ? AND j.deleted_at IS NULL", (int(job_id),))
    return record_from_row(row) if row else None


def named(store: Store, workspace: str, name: str) -> JobRecord | None:
    """A job not in the trash by workspace and name."""
    row = store.query_one(
        f"{_RECORD} WHERE w.name = ? AND j.name = ? AND j.deleted_at IS NULL", (workspace, name)
    )
    return record_from_row(row) if row else None


def name_taken(store: Store, workspace_id: int, name: str, other_than: int | None = None) -> bool:
    """Whether a live job of the workspace has the name (other than job `other_than`)."""
    row = store.query_one(
        "SELECT 1 FROM jobs WHERE workspace_id = ? AND name = ? AND deleted_at IS NULL AND id != ?",
        (workspace_id, name, -1 if other_than is None else other_than),
    )
    return row is not None


# -- the list -----------------------------------------------------------------------------
@dataclass(frozen=True)
class JobQuery:
    """Which jobs the list shows: a search in names, descriptions and tags; statuses (empty:
    all); one workspace or all; with system jobs or not; trashed ones instead of live ones."""

    search: str | None = None
    statuses: tuple[str, ...] = ()
    workspace: str | None = None
    include_system: bool = False
    trashed: bool = False


def _match(search: str) -> str:
    """The trigram index's query for `search` as one phrase (LIKE '%search%' semantics)."""
    return '"' + search.replace('"', '""') + '"'


def _filters(q: JobQuery, *, fts: bool = True) -> tuple[str, list[Any]]:
    """WHERE and its parameters; `fts` False: the caller drives the query from `jobs_fts`
    (SEARCH_FROM, its `MATCH ?` first) and the IN test on it is left out."""
    where = ["j.deleted_at IS NOT NULL" if q.trashed else "j.deleted_at IS NULL"]
    params: list[Any] = []
    if not q.include_system:
        where.append("j.system = 0")
    if q.search:
        if len(q.search) >= 3 and fts:
            # The trigram index finds the candidates (issue 18); LIKE below keeps the exact
            # rule on them (ASCII-only case folding). Shorter text has no trigram: a scan.
            where.append("j.id IN (SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH ?)")
            params.append(_match(q.search))
        like = "%" + q.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            "(j.name LIKE ? ESCAPE '\\' OR j.description LIKE ? ESCAPE '\\' "
            "OR j.tags LIKE ? ESCAPE '\\')"
        )
        params += [like, like, like]
    status_list = [JobStatus(s).value for s in q.statuses]
    if status_list:
        where.append(f"j.status IN ({','.join('?' * len(status_list))})")
        params += status_list
    if q.workspace:
        where.append("w.name = ?")
        params.append(q.workspace)
    return " AND ".join(where), params


# A search's matches read in the trigram index's order, so a bounded count stops after N
# rows instead of first gathering every match (CROSS JOIN: the planner keeps that order).
SEARCH_FROM = (
    "jobs_fts f CROSS JOIN jobs j ON j.id = f.rowid JOIN workspaces w ON w.id = j.workspace_id"
)
# More candidates than this and a page sorted by name walks the name index (stopping at
# the page's end) instead of sorting every match: 'billing' among 100k jobs matched 25k,
# 24 ms sorted vs 5-11 ms walked. Fewer, and the sort is cheaper than a walk that may
# have to cross the whole index to find them.
WALK_FROM = 5000


def _bounded(q: JobQuery) -> tuple[str, str, list[Any]]:
    """FROM, WHERE and parameters for reading at most N jobs of a query with a search."""
    assert q.search
    if len(q.search) >= 3:
        where, params = _filters(q, fts=False)
        return SEARCH_FROM, "jobs_fts MATCH ? AND " + where, [_match(q.search), *params]
    where, params = _filters(q)
    return JOB_FROM, where, params


def _many_candidates(store: Store, search: str) -> bool:
    if len(search) < 3:
        return False
    row = store.query_one(
        "SELECT COUNT(*) FROM (SELECT 1 FROM jobs_fts WHERE jobs_fts MATCH ? LIMIT ?)",
        (_match(search), WALK_FROM + 1),
    )
    return bool(row and row[0] > WALK_FROM)


def list_summaries(
    store: Store,
    q: JobQuery,
    sort: str = "name",
    descending: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[JobSummary]:
    if sort not in JOB_SORTS:
        raise InvalidInput(f"sort: must be one of {', '.join(JOB_SORTS)}")
    where, params = _filters(q)
    direction = " DESC" if descending else ""
    order = ", ".join(part + direction for part in JOB_SORTS[sort].split(", "))
    source = JOB_FROM
    if q.search and sort == "name" and limit is not None and _many_candidates(store, q.search):
        source = "jobs j INDEXED BY jobs_name CROSS JOIN workspaces w ON w.id = j.workspace_id"
    sql = f"SELECT {JOB_SUMMARY_COLUMNS} FROM {source} WHERE {where} ORDER BY {order}, j.id"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return [summary_from_row(r) for r in store.query(sql, params)]


def _counted(q: JobQuery) -> tuple[str, list[Any]]:
    """The `job_counts` rows (kept by triggers, issue 18) that a query without search counts."""
    where = ["c.live = ?"]
    params: list[Any] = [0 if q.trashed else 1]
    if not q.include_system:
        where.append("c.system = 0")
    status_list = [JobStatus(s).value for s in q.statuses]
    if status_list:
        where.append(f"c.status IN ({','.join('?' * len(status_list))})")
        params += status_list
    if q.workspace:
        where.append("c.workspace_id = (SELECT id FROM workspaces WHERE name = ?)")
        params.append(q.workspace)
    return " AND ".join(where), params


def count(store: Store, q: JobQuery, cap: int | None = None) -> int:
    """How many jobs the query lists; with a search and `cap`, at most cap + 1 (more than
    `cap`: the caller says "cap+"), so a common word does not count every match."""
    if q.search and cap is not None:
        source, where, params = _bounded(q)
        row = store.query_one(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT ?)",
            [*params, cap + 1],
        )
        return int(row[0]) if row else 0
    if not q.search:
        where, params = _counted(q)
        row = store.query_one(
            f"SELECT COALESCE(SUM(c.n), 0) FROM job_counts c WHERE {where}", params
        )
        return int(row[0]) if row else 0
    where, params = _filters(q)
    row = store.query_one(f"SELECT COUNT(*) FROM {JOB_FROM} WHERE {where}", params)
    return int(row[0]) if row else 0


def status_counts(store: Store, q: JobQuery, cap: int | None = None) -> dict[JobStatus, int]:
    """Jobs per status; with a search and `cap`, among the first cap + 1 matches only (when
    they add up to more than `cap`, each is a lower bound)."""
    if q.search and cap is not None:
        source, where, params = _bounded(q)
        rows = store.query(
            f"SELECT status, COUNT(*) AS n FROM (SELECT j.status FROM {source} WHERE {where} "
            "LIMIT ?) GROUP BY status",
            [*params, cap + 1],
        )
    elif not q.search:
        where, params = _counted(q)
        rows = store.query(
            f"SELECT c.status, SUM(c.n) AS n FROM job_counts c WHERE {where} GROUP BY c.status",
            params,
        )
    else:
        where, params = _filters(q)
        rows = store.query(
            f"SELECT j.status, COUNT(*) AS n FROM {JOB_FROM} WHERE {where} GROUP BY j.status",
            params,
        )
    counts = dict.fromkeys(JobStatus, 0)
    for r in rows:
        counts[JobStatus(r["status"])] = r["n"]
    return counts


def trash(store: Store) -> list[JobSummary]:
    where, params = _filters(JobQuery(include_system=True, trashed=True))
    rows = store.query(
        f"SELECT {JOB_SUMMARY_COLUMNS} FROM {JOB_FROM} WHERE {where} ORDER BY j.deleted_at DESC",
        params,
    )
    return [summary_from_row(r) for r in rows]


def get_job(store: Store, record: JobRecord) -> Job:
    row = store.query_one(
        f"SELECT {JOB_SUMMARY_COLUMNS} FROM {JOB_FROM} WHERE j.id = ?", (record.id,)
    )
    assert row is not None
    base = summary_from_row(row)
    marks = store.query_one("SELECT offsets FROM jobs WHERE id = ?", (record.id,))
    return Job(
        **{f: getattr(base, f) for f in base.__dataclass_fields__},
        spec=record.spec,
        deleted_at=to_datetime(record.deleted_at),
        watermark=to_datetime(record.since_watermark),
        offsets=json.loads(marks["offsets"]) if marks and marks["offsets"] else {},
    )


def using(store: Store, like: str) -> list[tuple[str, dict[str, Any]]]:
    """(workspace/name, spec) of the live jobs whose spec text is LIKE `like`."""
    rows = store.query(
        f"SELECT j.name, w.name AS workspace, j.spec FROM {JOB_FROM} "
        "WHERE j.deleted_at IS NULL AND j.spec LIKE ?",
        (like,),
    )
    return [(f"{r['workspace']}/{r['name']}", json.loads(r["spec"])) for r in rows]


# -- writes -------------------------------------------------------------------------------
def create(store: Store, columns: dict[str, Any]) -> int:
    """Insert a job (its columns by name); its id. Call inside a transaction."""
    table = store.db.table("jobs")
    table.insert(columns)
    return int(table.last_rowid or 0)


def update(store: Store, job_id: int, columns: dict[str, Any]) -> None:
    """Set some columns of a job. Call inside a transaction."""
    store.db.table("jobs").update(job_id, columns)


def add_version(
    store: Store, job_id: int, version: int, spec_json: str, note: str, author: str, now: float
) -> None:
    store.db.table("job_versions").insert(
        {
            "job_id": job_id,
            "version": version,
            "spec": spec_json,
            "note": note,
            "author": author,
            "created_at": now,
        }
    )


def versions(store: Store, job_id: int) -> list[JobVersion]:
    rows = store.query(
        "SELECT * FROM job_versions WHERE job_id = ? ORDER BY version DESC", (job_id,)
    )
    return [
        JobVersion(
            job_id=r["job_id"],
            version=r["version"],
            spec=json.loads(r["spec"]),
            note=r["note"],
            author=r["author"],
            created_at=to_datetime(r["created_at"]),  # type: ignore[arg-type]
            starred=bool(r["starred"]),
        )
        for r in rows
    ]


def star_version(store: Store, job_id: int, version: int, starred: bool) -> None:
    store.execute(
        "UPDATE job_versions SET starred = ? WHERE job_id = ? AND version = ?",
        (int(starred), job_id, version),
    )


def delete(store: Store, job_id: int) -> None:
    store.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def purge_trash(store: Store, cutoff: float) -> int:
    """Delete the jobs trashed before `cutoff` (their versions and runs go with them)."""
    cur = store.execute(
        "DELETE FROM jobs WHERE deleted_at IS NOT NULL AND deleted_at < ?", (cutoff,)
    )
    return cur.rowcount


def reset_watermark(store: Store, job_id: int) -> None:
    store.execute("UPDATE jobs SET since_watermark = NULL, offsets = NULL WHERE id = ?", (job_id,))


def specs_of_workspace(store: Store, workspace_id: int) -> list[tuple[int, dict[str, Any]]]:
    rows = store.query("SELECT id, spec FROM jobs WHERE workspace_id = ?", (workspace_id,))
    return [(int(r["id"]), json.loads(r["spec"])) for r in rows]


def set_spec(store: Store, job_id: int, spec_json: str) -> None:
    """Rewrite a job's spec in place (no new version: a workspace rename)."""
    store.execute("UPDATE jobs SET spec = ? WHERE id = ?", (spec_json, job_id))

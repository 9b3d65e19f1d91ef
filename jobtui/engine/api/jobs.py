"""Jobs, versions and workspaces: the part of the facade that defines what runs."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from jobtui.engine.api.base import JOB_SUMMARY_COLUMNS, EngineBase, summary_from_row
from jobtui.engine.model.clock import to_datetime
from jobtui.engine.model.codec import dumps
from jobtui.engine.model.errors import Conflict, FieldError, InvalidInput, NotFound, SpecError
from jobtui.engine.model.host import current_user
from jobtui.engine.model.spec import NAME_PATTERN, JobSpec, validate_spec
from jobtui.engine.model.types import Job, JobStatus, JobSummary, JobVersion, Workspace
from jobtui.engine.schedule.rules import describe_schedule
from jobtui.engine.store import jobs as job_rows

TRASH_DAYS = job_rows.TRASH_DAYS
# Sort keys the list accepts, mapped to SQL: user text never reaches ORDER BY.
JOB_SORTS: dict[str, str] = {
    "name": "j.name COLLATE NOCASE",
    "workspace": "w.name COLLATE NOCASE",
    "status": "j.status",
    "schedule": "j.schedule_text",
    "next_run": "j.next_fire_at IS NULL, j.next_fire_at",
    "last_run": "j.last_run_started_at IS NULL, j.last_run_started_at",
    "duration": "(j.last_run_ended_at - j.last_run_started_at)",
    "records": "j.last_run_records",
    "updated": "j.updated_at",
    "kind": "j.kind",
}


class JobsAPI(EngineBase):
    # -- workspaces ------------------------------------------------------------
    def list_workspaces(self) -> list[Workspace]:
        rows = self.store.query(
            "SELECT w.id, w.name, w.created_at, COUNT(j.id) AS n FROM workspaces w "
            "LEFT JOIN jobs j ON j.workspace_id = w.id AND j.deleted_at IS NULL "
            "AND j.system = 0 GROUP BY w.id ORDER BY w.name"
        )
        return [
            Workspace(r["id"], r["name"], to_datetime(r["created_at"]), r["n"])  # type: ignore[arg-type]
            for r in rows
        ]

    def create_workspace(self, name: str) -> Workspace:
        if not NAME_PATTERN.match(name or ""):
            raise InvalidInput("name: use letters, digits, '.', '_' and '-'")
        with self.store.transaction():
            if self.store.query_one("SELECT 1 FROM workspaces WHERE name = ?", (name,)):
                raise Conflict(f"name: a workspace named {name!r} exists already")
            self._workspace_id(name, create=True)
        return next(w for w in self.list_workspaces() if w.name == name)

    def rename_workspace(self, old: str, new: str) -> Workspace:
        if not NAME_PATTERN.match(new or ""):
            raise InvalidInput("name: use letters, digits, '.', '_' and '-'")
        with self.store.transaction():
            ws_id = self._workspace_id(old)
            if self.store.query_one("SELECT 1 FROM workspaces WHERE name = ?", (new,)):
                raise Conflict(f"name: a workspace named {new!r} exists already")
            self.store.execute("UPDATE workspaces SET name = ? WHERE id = ?", (new, ws_id))
            # Specs carry their workspace; keep them true to where the job lives.
            for row in self.store.query(
                "SELECT id, spec FROM jobs WHERE workspace_id = ?", (ws_id,)
            ):
                spec = json.loads(row["spec"])
                if "workspace" in spec:
                    spec["workspace"] = new
                    self.store.execute(
                        "UPDATE jobs SET spec = ? WHERE id = ?", (dumps(spec), row["id"])
                    )
        return next(w for w in self.list_workspaces() if w.name == new)

    # -- validation ------------------------------------------------------------
    def known_dataset_names(self) -> set[str]:
        raise NotImplementedError  # provided by DatasetsAPI

    def known_preset_names(self) -> set[str]:
        return {r["name"] for r in self.store.query("SELECT name FROM sink_presets")}

    def validate_spec(self, data: Any) -> tuple[JobSpec | None, list[FieldError]]:
        """Check a spec against the rules and what exists (datasets, presets)."""
        return validate_spec(
            data,
            known_datasets=self.known_dataset_names(),
            known_presets=self.known_preset_names(),
        )

    def _checked(self, data: Any) -> JobSpec:
        spec, errors = self.validate_spec(data)
        if errors or spec is None:
            raise SpecError(errors)
        return spec

    # -- listing ---------------------------------------------------------------
    def _job_filters(
        self,
        search: str | None,
        statuses: Iterable[str] | None,
        workspace: str | None,
        include_system: bool,
        include_deleted: bool = False,
    ) -> tuple[str, list[Any]]:
        where = ["j.deleted_at IS NOT NULL" if include_deleted else "j.deleted_at IS NULL"]
        params: list[Any] = []
        if not include_system:
            where.append("j.system = 0")
        if search:
            like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                "(j.name LIKE ? ESCAPE '\\' OR j.description LIKE ? ESCAPE '\\' "
                "OR j.tags LIKE ? ESCAPE '\\')"
            )
            params += [like, like, like]
        status_list = [JobStatus(s).value for s in statuses or []]
        if status_list:
            where.append(f"j.status IN ({','.join('?' * len(status_list))})")
            params += status_list
        if workspace:
            where.append("w.name = ?")
            params.append(workspace)
        return " AND ".join(where), params

    def list_jobs(
        self,
        search: str | None = None,
        statuses: Iterable[str] | None = None,
        workspace: str | None = None,
        include_system: bool = False,
        sort: str = "name",
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[JobSummary]:
        """The job list with derived status and last run, filtered, sorted, one page."""
        if sort not in JOB_SORTS:
            raise InvalidInput(f"sort: must be one of {', '.join(JOB_SORTS)}")
        where, params = self._job_filters(search, statuses, workspace, include_system)
        direction = " DESC" if descending else ""
        order = ", ".join(part + direction for part in JOB_SORTS[sort].split(", "))
        sql = (
            f"SELECT {JOB_SUMMARY_COLUMNS} FROM jobs j JOIN workspaces w ON w.id = j.workspace_id "
            f"WHERE {where} ORDER BY {order}, j.id"
        )
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [summary_from_row(r) for r in self.store.query(sql, params)]

    def count_jobs(
        self,
        search: str | None = None,
        statuses: Iterable[str] | None = None,
        workspace: str | None = None,
        include_system: bool = False,
    ) -> int:
        where, params = self._job_filters(search, statuses, workspace, include_system)
        row = self.store.query_one(
            f"SELECT COUNT(*) FROM jobs j JOIN workspaces w ON w.id = j.workspace_id WHERE {where}",
            params,
        )
        return int(row[0]) if row else 0

    def status_counts(
        self,
        search: str | None = None,
        workspace: str | None = None,
        include_system: bool = False,
    ) -> dict[JobStatus, int]:
        """How many jobs per status, for the filter bar and header totals."""
        where, params = self._job_filters(search, None, workspace, include_system)
        rows = self.store.query(
            f"SELECT j.status, COUNT(*) AS n FROM jobs j JOIN workspaces w "
            f"ON w.id = j.workspace_id WHERE {where} GROUP BY j.status",
            params,
        )
        counts = dict.fromkeys(JobStatus, 0)
        for r in rows:
            counts[JobStatus(r["status"])] = r["n"]
        return counts

    def recent_run_states(self, job_ids: Sequence[int], per_job: int = 12) -> dict[int, list[str]]:
        """The last few run states of each job, oldest first (for sparklines)."""
        out: dict[int, list[str]] = {}
        for job_id in job_ids:
            rows = self.store.query(
                "SELECT state FROM runs WHERE job_id = ? ORDER BY id DESC LIMIT ?",
                (job_id, per_job),
            )
            out[job_id] = [r["state"] for r in reversed(rows)]
        return out

    def get_job(self, ref: str | int, include_deleted: bool = False) -> Job:
        row = self._job_row(ref, include_deleted=include_deleted)
        summary = self.store.query_one(
            f"SELECT {JOB_SUMMARY_COLUMNS} FROM jobs j JOIN workspaces w "
            "ON w.id = j.workspace_id WHERE j.id = ?",
            (row["id"],),
        )
        assert summary is not None
        base = summary_from_row(summary)
        return Job(
            **{f: getattr(base, f) for f in base.__dataclass_fields__},
            spec=json.loads(row["spec"]),
            deleted_at=to_datetime(row["deleted_at"]),
        )

    def job_spec(self, ref: str | int) -> JobSpec:
        """The current spec with every default filled in."""
        return JobSpec.model_validate(self.get_job(ref).spec)

    # -- writing ---------------------------------------------------------------
    def _job_columns(self, spec: JobSpec, raw: dict[str, Any]) -> dict[str, Any]:
        schedule = raw.get("schedule")
        return {
            "kind": spec.kind,
            "description": spec.description,
            "tags": " ".join(spec.tags),
            "active": int(spec.active),
            "queue": spec.queue,
            "spec": dumps(raw),
            "schedule_type": schedule["type"] if schedule else None,
            "schedule_text": describe_schedule(schedule),
            "timezone": (schedule or {}).get("timezone"),
        }

    def create_job(
        self, data: dict[str, Any], note: str = "created", *, system: bool = False
    ) -> Job:
        """Validate and store a new job and its first version; nothing is stored on error."""
        spec = self._checked(data)
        now = self.now()
        with self.store.transaction():
            ws_id = self._workspace_id(spec.workspace, create=True)
            if self.store.query_one(
                "SELECT 1 FROM jobs WHERE workspace_id = ? AND name = ? AND deleted_at IS NULL",
                (ws_id, spec.name),
            ):
                raise SpecError(
                    [
                        FieldError(
                            "name",
                            f"a job named {spec.name!r} exists already in {spec.workspace!r}",
                        )
                    ]
                )
            columns = self._job_columns(spec, data)
            cur = self.store.execute(
                "INSERT INTO jobs (workspace_id, name, kind, description, tags, active, queue, "
                "spec, version, schedule_type, schedule_text, timezone, system, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
                (
                    ws_id,
                    spec.name,
                    columns["kind"],
                    columns["description"],
                    columns["tags"],
                    columns["active"],
                    columns["queue"],
                    columns["spec"],
                    columns["schedule_type"],
                    columns["schedule_text"],
                    columns["timezone"],
                    int(system),
                    now,
                    now,
                ),
            )
            job_id = int(cur.lastrowid or 0)
            self._add_version(job_id, 1, columns["spec"], note)
        return self.get_job(job_id)

    def _add_version(self, job_id: int, version: int, spec_json: str, note: str) -> None:
        self.store.execute(
            "INSERT INTO job_versions (job_id, version, spec, note, author, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, version, spec_json, note, current_user(), self.now()),
        )

    def update_job(self, ref: str | int, data: dict[str, Any], note: str = "") -> Job:
        """Store a changed spec as a new version (no version when nothing changed)."""
        spec = self._checked(data)
        with self.store.transaction():
            row = self._job_row(ref)
            new_json = dumps(data)
            if json.loads(row["spec"]) == data:
                return self.get_job(row["id"])
            ws_id = self._workspace_id(spec.workspace, create=True)
            clash = self.store.query_one(
                "SELECT 1 FROM jobs WHERE workspace_id = ? AND name = ? AND deleted_at IS NULL "
                "AND id != ?",
                (ws_id, spec.name, row["id"]),
            )
            if clash:
                raise SpecError(
                    [
                        FieldError(
                            "name",
                            f"a job named {spec.name!r} exists already in {spec.workspace!r}",
                        )
                    ]
                )
            version = row["version"] + 1
            columns = self._job_columns(spec, data)
            self.store.execute(
                "UPDATE jobs SET workspace_id = ?, name = ?, kind = ?, description = ?, tags = ?, "
                "active = ?, queue = ?, spec = ?, version = ?, schedule_type = ?, "
                "schedule_text = ?, timezone = ?, expired = 0, outside_window = 0, "
                "next_fire_at = NULL, updated_at = ? WHERE id = ?",
                (
                    ws_id,
                    spec.name,
                    columns["kind"],
                    columns["description"],
                    columns["tags"],
                    columns["active"],
                    columns["queue"],
                    new_json,
                    version,
                    columns["schedule_type"],
                    columns["schedule_text"],
                    columns["timezone"],
                    self.now(),
                    row["id"],
                ),
            )
            self._add_version(row["id"], version, new_json, note or f"version {version}")
        return self.get_job(row["id"])

    def apply_job(self, data: dict[str, Any], note: str = "") -> tuple[Job, str]:
        """Create the job, or store the spec as its new version. Returns (job, what happened)."""
        if not isinstance(data, dict):
            raise SpecError([FieldError("", "a job spec must be a JSON object")])
        name = data.get("name")
        workspace = data.get("workspace", "default")
        existing = None
        if isinstance(name, str) and name:
            existing = self.store.query_one(
                "SELECT j.id, j.version FROM jobs j JOIN workspaces w ON w.id = j.workspace_id "
                "WHERE w.name = ? AND j.name = ? AND j.deleted_at IS NULL",
                (workspace, name),
            )
        if existing is None:
            return self.create_job(data, note or "created"), "created"
        job = self.update_job(existing["id"], data, note)
        return job, "updated" if job.version != existing["version"] else "unchanged"

    def import_jobs(self, specs: list[dict[str, Any]], note: str = "imported") -> list[Job]:
        """Apply several specs at once: all of them, or none when any is wrong."""
        errors: list[FieldError] = []
        names: set[tuple[str, str]] = set()
        for i, data in enumerate(specs):
            _, found = self.validate_spec(data)
            prefix = f"[{i}]" if len(specs) > 1 else ""
            errors += [
                FieldError(f"{prefix}{'.' if prefix and e.path else ''}{e.path}", e.message)
                for e in found
            ]
            if isinstance(data, dict):
                key = (str(data.get("workspace", "default")), str(data.get("name")))
                if key in names:
                    errors.append(FieldError(f"{prefix}.name", f"{key[1]!r} appears twice"))
                names.add(key)
        if errors:
            raise SpecError(errors)
        jobs = []
        with self.store.transaction():
            for data in specs:
                jobs.append(self.apply_job(data, note)[0])
        return jobs

    def export_job(self, ref: str | int) -> dict[str, Any]:
        spec: dict[str, Any] = self.get_job(ref).spec
        return spec

    def export_jobs(
        self, workspace: str | None = None, include_system: bool = False
    ) -> list[dict[str, Any]]:
        return [
            self.export_job(j.id)
            for j in self.list_jobs(workspace=workspace, include_system=include_system)
        ]

    def set_active(self, ref: str | int, active: bool) -> Job:
        """Pause or resume: a new version whose only change is the active flag."""
        job = self.get_job(ref)
        if job.active == active:
            return job
        data = dict(job.spec)
        data["active"] = active
        return self.update_job(job.id, data, "resumed" if active else "paused")

    def pause_job(self, ref: str | int) -> Job:
        return self.set_active(ref, False)

    def resume_job(self, ref: str | int) -> Job:
        return self.set_active(ref, True)

    def duplicate_job(self, ref: str | int, new_name: str, workspace: str | None = None) -> Job:
        """A new job with the same spec, a fresh name and no shared history."""
        job = self.get_job(ref)
        data = dict(job.spec)
        data["name"] = new_name
        if workspace:
            data["workspace"] = workspace
        return self.create_job(data, f"duplicated from {job.qualified_name} v{job.version}")

    def delete_job(self, ref: str | int, purge: bool = False) -> Job:
        """Move the job and its history to the trash (kept TRASH_DAYS), or remove at once."""
        job = self.get_job(ref, include_deleted=purge)
        with self.store.transaction():
            if purge:
                self.store.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
            else:
                self.store.execute(
                    "UPDATE jobs SET deleted_at = ?, updated_at = ? WHERE id = ?",
                    (self.now(), self.now(), job.id),
                )
        return job

    def list_trash(self) -> list[JobSummary]:
        where, params = self._job_filters(None, None, None, True, include_deleted=True)
        rows = self.store.query(
            f"SELECT {JOB_SUMMARY_COLUMNS} FROM jobs j JOIN workspaces w ON w.id = j.workspace_id "
            f"WHERE {where} ORDER BY j.deleted_at DESC",
            params,
        )
        return [summary_from_row(r) for r in rows]

    def restore_job(self, ref: str | int) -> Job:
        """Bring a trashed job back with its history, unless its name was taken meanwhile."""
        with self.store.transaction():
            row = self._job_row(ref, include_deleted=True)
            if row["deleted_at"] is None:
                raise InvalidInput(f"{row['name']!r} is not in the trash")
            if self.store.query_one(
                "SELECT 1 FROM jobs WHERE workspace_id = ? AND name = ? AND deleted_at IS NULL",
                (row["workspace_id"], row["name"]),
            ):
                raise Conflict(f"name: another job is now named {row['name']!r}; rename it first")
            self.store.execute(
                "UPDATE jobs SET deleted_at = NULL, updated_at = ? WHERE id = ?",
                (self.now(), row["id"]),
            )
        return self.get_job(row["id"])

    def purge_trash(self, older_than_days: float = TRASH_DAYS) -> int:
        return job_rows.purge_trash(self.store, self.now() - older_than_days * 86400)

    # -- versions --------------------------------------------------------------
    def list_versions(self, ref: str | int) -> list[JobVersion]:
        job = self.get_job(ref, include_deleted=True)
        rows = self.store.query(
            "SELECT * FROM job_versions WHERE job_id = ? ORDER BY version DESC", (job.id,)
        )
        return [
            JobVersion(
                job_id=r["job_id"],
                version=r["version"],
                spec=json.loads(r["spec"]),
                note=r["note"],
                author=r["author"],
                created_at=datetime.fromtimestamp(r["created_at"], UTC),
                starred=bool(r["starred"]),
            )
            for r in rows
        ]

    def get_version(self, ref: str | int, version: int) -> JobVersion:
        for v in self.list_versions(ref):
            if v.version == version:
                return v
        raise NotFound(f"{ref} has no version {version}")

    def rollback_job(self, ref: str | int, version: int, note: str = "") -> Job:
        """A new version equal to an old one."""
        old = self.get_version(ref, version)
        job = self.get_job(ref)
        if old.spec == job.spec:
            raise InvalidInput(f"version {version} is the current definition already")
        return self.update_job(job.id, old.spec, note or f"rolled back to version {version}")

    def star_version(self, ref: str | int, version: int, starred: bool = True) -> JobVersion:
        job = self.get_job(ref)
        self.get_version(job.id, version)
        self.store.execute(
            "UPDATE job_versions SET starred = ? WHERE job_id = ? AND version = ?",
            (int(starred), job.id, version),
        )
        return self.get_version(job.id, version)

    def diff_versions(self, ref: str | int, v1: int, v2: int) -> str:
        """A unified diff of two versions' specs (pretty JSON)."""
        a = self.get_version(ref, v1)
        b = self.get_version(ref, v2)
        left = json.dumps(a.spec, indent=2, sort_keys=True).splitlines(keepends=True)
        right = json.dumps(b.spec, indent=2, sort_keys=True).splitlines(keepends=True)
        return "".join(difflib.unified_diff(left, right, f"v{v1}", f"v{v2}"))

"""Jobs, versions and workspaces: the part of the facade that defines what runs."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from jobtui.engine.api.base import EngineBase
from jobtui.engine.model.codec import dumps
from jobtui.engine.model.errors import Conflict, FieldError, InvalidInput, NotFound, SpecError
from jobtui.engine.model.host import current_user
from jobtui.engine.model.types import Job, JobStatus, JobSummary, JobVersion, Workspace
from jobtui.engine.store import fires as fire_rows
from jobtui.engine.store import jobs as job_rows
from jobtui.engine.store import presets as preset_rows
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store import workspaces
from jobtui.engine.store.jobs import JobQuery

# The spec models (pydantic) and the schedule rules load when a spec is validated or a
# schedule described, not for `jobtui logs` or `runs list` (issue 18: cheaper start).
if TYPE_CHECKING:
    from jobtui.engine.model.crontab import CrontabPlan
    from jobtui.engine.model.spec import JobSpec

TRASH_DAYS = job_rows.TRASH_DAYS
JOB_SORTS = job_rows.JOB_SORTS


class JobsAPI(EngineBase):
    TRASH_DAYS: ClassVar[int] = TRASH_DAYS  # how long a deleted job stays restorable

    if TYPE_CHECKING:
        # Provided by ScaleAPI in the composed Engine (declared for the type checker only).
        def queue_problem(self, queue: str) -> FieldError | None: ...

    # -- workspaces ------------------------------------------------------------
    def list_workspaces(self) -> list[Workspace]:
        return workspaces.list_workspaces(self.store)

    def create_workspace(self, name: str) -> Workspace:
        from jobtui.engine.model.base import NAME_PATTERN

        if not NAME_PATTERN.match(name or ""):
            raise InvalidInput("name: use letters, digits, '.', '_' and '-'")
        with self.store.transaction():
            if workspaces.exists(self.store, name):
                raise Conflict(f"name: a workspace named {name!r} exists already")
            self._workspace_id(name, create=True)
        return next(w for w in self.list_workspaces() if w.name == name)

    def rename_workspace(self, old: str, new: str) -> Workspace:
        from jobtui.engine.model.base import NAME_PATTERN

        if not NAME_PATTERN.match(new or ""):
            raise InvalidInput("name: use letters, digits, '.', '_' and '-'")
        with self.store.transaction():
            ws_id = self._workspace_id(old)
            if workspaces.exists(self.store, new):
                raise Conflict(f"name: a workspace named {new!r} exists already")
            workspaces.rename(self.store, ws_id, new)
            # Specs carry their workspace; keep them true to where the job lives.
            for job_id, spec in job_rows.specs_of_workspace(self.store, ws_id):
                if "workspace" in spec:
                    spec["workspace"] = new
                    job_rows.set_spec(self.store, job_id, dumps(spec))
        return next(w for w in self.list_workspaces() if w.name == new)

    # -- validation ------------------------------------------------------------
    def known_dataset_names(self) -> set[str]:
        raise NotImplementedError  # provided by DatasetsAPI

    def known_preset_names(self) -> set[str]:
        return preset_rows.names(self.store)

    def validate_spec(self, data: Any) -> tuple[JobSpec | None, list[FieldError]]:
        """Check a spec against the rules and what exists (datasets, presets)."""
        from jobtui.engine.model.spec import validate_spec

        spec, errors = validate_spec(
            data,
            known_datasets=self.known_dataset_names(),
            known_presets=self.known_preset_names(),
        )
        problem = self.queue_problem(spec.queue) if spec is not None else None
        if problem is not None:  # a Celery queue needs a broker (api/scale.py)
            return None, [*errors, problem]
        return spec, errors

    def _checked(self, data: Any) -> JobSpec:
        spec, errors = self.validate_spec(data)
        if errors or spec is None:
            raise SpecError(errors)
        return spec

    # -- listing ---------------------------------------------------------------
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
        q = JobQuery(search, tuple(statuses or ()), workspace, include_system)
        jobs = job_rows.list_summaries(self.store, q, sort, descending, limit, offset)
        return self._with_local_fires(jobs)

    def _with_local_fires(self, jobs: list[JobSummary]) -> list[JobSummary]:
        """Without a daemon, the next fire of each scheduled job, computed here from its
        schedule (flagged `next_fire_local`): the stored one is the daemon's, missing or
        stale while it is down."""
        scheduled = [j for j in jobs if j.active and j.schedule_text and not j.system]
        if not scheduled:
            return jobs
        from jobtui.engine.schedule.lease import lock_is_held

        if lock_is_held(self.data_dir):
            return jobs
        fires = self.local_next_fires([j.id for j in scheduled])
        return [
            replace(j, next_fire_at=fires[j.id], next_fire_local=True) if j.id in fires else j
            for j in jobs
        ]

    def local_next_fires(self, job_ids: Sequence[int]) -> dict[int, datetime | None]:
        """The next fire after now of each of these jobs that has a schedule, from that
        schedule (what the daemon would fire next, leaving out catch-up of missed fires);
        None when it will not fire again."""
        from jobtui.engine.schedule.rules import make_rule

        now = self.now()
        out: dict[int, datetime | None] = {}
        for row in fire_rows.job_rows(self.store, list(job_ids)):
            spec = json.loads(row["spec"])
            schedule = spec.get("schedule")
            if not schedule or not row["active"] or row["deleted_at"] is not None:
                continue
            out[int(row["id"])] = None
            try:
                rule = make_rule(schedule, anchor=float(row["updated_at"]))
                at = rule.first(now)
            except (ValueError, KeyError, TypeError):
                continue  # an unreadable schedule has no next fire
            if at is not None and (rule.max_runs is None or row["fire_count"] < rule.max_runs):
                out[int(row["id"])] = datetime.fromtimestamp(at, rule.zone)
        return out

    def user_crontab(self) -> str:
        """The crontab of the user running this (`crontab -l`); "" when they have none."""
        import shutil
        import subprocess

        program = shutil.which("crontab")
        if program is None:
            raise InvalidInput("crontab: no `crontab` program here to read yours; give a file")
        done = subprocess.run(
            [program, "-l"], capture_output=True, text=True, errors="replace", check=False
        )
        if done.returncode != 0:
            if "no crontab" in done.stderr.lower():
                return ""
            raise InvalidInput(f"crontab -l: {done.stderr.strip() or f'exit {done.returncode}'}")
        return done.stdout

    def crontab_plan(self, text: str, workspace: str = "default") -> CrontabPlan:
        """The jobs a crontab would become (each checked like any spec, and against the
        jobs that exist), and the lines refused, with the reason."""
        from jobtui.engine.model.crontab import CrontabRefusal, parse_crontab

        plan = parse_crontab(text, workspace=workspace)
        kept = []
        for entry in plan.entries:
            _, errors = self.validate_spec(entry.spec)
            name = f"{workspace}/{entry.spec['name']}"
            reason = "; ".join(str(e) for e in errors)
            if not reason:
                try:
                    self._job(name)
                    reason = f"a job named {name} exists already"
                except NotFound:
                    pass
            if reason:
                plan.refused.append(CrontabRefusal(entry.line_no, entry.line, reason))
            else:
                kept.append(entry)
        plan.entries = kept
        plan.refused.sort(key=lambda r: r.line_no)
        return plan

    def count_jobs(
        self,
        search: str | None = None,
        statuses: Iterable[str] | None = None,
        workspace: str | None = None,
        include_system: bool = False,
        cap: int | None = None,
    ) -> int:
        """How many jobs `list_jobs` would list. With a search and `cap`: at most cap + 1
        (more than `cap` means "cap+"), read without counting every match of a common
        word (issue 18: a filter keystroke at 100k jobs)."""
        q = JobQuery(search, tuple(statuses or ()), workspace, include_system)
        return job_rows.count(self.store, q, cap)

    def status_counts(
        self,
        search: str | None = None,
        workspace: str | None = None,
        include_system: bool = False,
        cap: int | None = None,
    ) -> dict[JobStatus, int]:
        """How many jobs per status, for the filter bar and header totals. With a search
        and `cap`: among the first cap + 1 matches (when they add up to more than `cap`,
        each count is a lower bound)."""
        q = JobQuery(search, (), workspace, include_system)
        return job_rows.status_counts(self.store, q, cap)

    def recent_run_states(self, job_ids: Sequence[int], per_job: int = 12) -> dict[int, list[str]]:
        """The last few run states of each job, oldest first (for sparklines)."""
        return run_rows.recent_states_of(self.store, job_ids, per_job)

    def get_job(self, ref: str | int, include_deleted: bool = False) -> Job:
        return job_rows.get_job(self.store, self._job(ref, include_deleted=include_deleted))

    def job_spec(self, ref: str | int) -> JobSpec:
        """The current spec with every default filled in."""
        from jobtui.engine.model.spec import JobSpec

        return JobSpec.model_validate(self.get_job(ref).spec)

    # -- writing ---------------------------------------------------------------
    def _job_columns(self, spec: JobSpec, raw: dict[str, Any]) -> dict[str, Any]:
        from jobtui.engine.schedule.rules import describe_schedule

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
            if job_rows.name_taken(self.store, ws_id, spec.name):
                raise SpecError([self._name_clash(spec)])
            columns = self._job_columns(spec, data)
            job_id = job_rows.create(
                self.store,
                {
                    "workspace_id": ws_id,
                    "name": spec.name,
                    **columns,
                    "version": 1,
                    "system": int(system),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            self._add_version(job_id, 1, columns["spec"], note)
        return self.get_job(job_id)

    @staticmethod
    def _name_clash(spec: JobSpec) -> FieldError:
        return FieldError("name", f"a job named {spec.name!r} exists already in {spec.workspace!r}")

    def _add_version(self, job_id: int, version: int, spec_json: str, note: str) -> None:
        job_rows.add_version(
            self.store, job_id, version, spec_json, note, current_user(), self.now()
        )

    def update_job(self, ref: str | int, data: dict[str, Any], note: str = "") -> Job:
        """Store a changed spec as a new version (no version when nothing changed)."""
        spec = self._checked(data)
        with self.store.transaction():
            job = self._job(ref)
            if job.spec == data:
                return self.get_job(job.id)
            if _without_active(job.spec) == _without_active(data):
                # Only the active flag differs: that is state, not a definition (issue 20.15).
                if job.active != spec.active:
                    self._set_active_state(job.id, job.spec, spec.active)
                return self.get_job(job.id)
            ws_id = self._workspace_id(spec.workspace, create=True)
            if job_rows.name_taken(self.store, ws_id, spec.name, other_than=job.id):
                raise SpecError([self._name_clash(spec)])
            version = job.version + 1
            columns = self._job_columns(spec, data)
            job_rows.update(
                self.store,
                job.id,
                {
                    "workspace_id": ws_id,
                    "name": spec.name,
                    **columns,
                    "version": version,
                    # A new definition is scheduled afresh by the daemon.
                    "expired": 0,
                    "outside_window": 0,
                    "next_fire_at": None,
                    "updated_at": self.now(),
                },
            )
            self._add_version(job.id, version, columns["spec"], note or f"version {version}")
        return self.get_job(job.id)

    def apply_job(self, data: dict[str, Any], note: str = "") -> tuple[Job, str]:
        """Create the job, or store the spec as its new version. Returns (job, what happened)."""
        if not isinstance(data, dict):
            raise SpecError([FieldError("", "a job spec must be a JSON object")])
        name = data.get("name")
        workspace = data.get("workspace", "default")
        existing = None
        if isinstance(name, str) and name:
            existing = job_rows.named(self.store, workspace, name)
        if existing is None:
            return self.create_job(data, note or "created"), "created"
        job = self.update_job(existing.id, data, note)
        changed = job.version != existing.version or job.active != existing.active
        return job, "updated" if changed else "unchanged"

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
        """Pause or resume. The active flag is state, not a definition: no new version
        (issue 20.15); the current spec says it so that an export round-trips."""
        with self.store.transaction():
            job = self._job(ref)
            if job.active != active:
                self._set_active_state(job.id, job.spec, active)
        return self.get_job(job.id)

    def _set_active_state(self, job_id: int, spec: dict[str, Any], active: bool) -> None:
        data = dict(spec)
        data["active"] = active
        job_rows.update(
            self.store,
            job_id,
            {
                "active": int(active),
                "spec": dumps(data),
                # Scheduled afresh from now on resume, as a saved definition is: fires
                # missed while paused are not caught up.
                "expired": 0,
                "outside_window": 0,
                "next_fire_at": None,
                "updated_at": self.now(),
            },
        )

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
                job_rows.delete(self.store, job.id)
            else:
                job_rows.update(
                    self.store, job.id, {"deleted_at": self.now(), "updated_at": self.now()}
                )
        return job

    def list_trash(self) -> list[JobSummary]:
        return job_rows.trash(self.store)

    def restore_job(self, ref: str | int) -> Job:
        """Bring a trashed job back with its history, unless its name was taken meanwhile."""
        with self.store.transaction():
            job = self._job(ref, include_deleted=True)
            if job.deleted_at is None:
                raise InvalidInput(f"{job.name!r} is not in the trash")
            if job_rows.name_taken(self.store, job.workspace_id, job.name):
                raise Conflict(f"name: another job is now named {job.name!r}; rename it first")
            job_rows.update(self.store, job.id, {"deleted_at": None, "updated_at": self.now()})
        return self.get_job(job.id)

    def purge_trash(self, older_than_days: float = TRASH_DAYS) -> int:
        return job_rows.purge_trash(self.store, self.now() - older_than_days * 86400)

    # -- versions --------------------------------------------------------------
    def list_versions(self, ref: str | int) -> list[JobVersion]:
        return job_rows.versions(self.store, self.get_job(ref, include_deleted=True).id)

    def get_version(self, ref: str | int, version: int) -> JobVersion:
        for v in self.list_versions(ref):
            if v.version == version:
                return v
        raise NotFound(f"{ref} has no version {version}")

    def rollback_job(self, ref: str | int, version: int, note: str = "") -> Job:
        """A new version equal to an old one, in the job's current state: a rollback never
        pauses or resumes a job (versions made before issue 20.15 may say either)."""
        old = self.get_version(ref, version)
        job = self.get_job(ref)
        if _without_active(old.spec) == _without_active(job.spec):
            raise InvalidInput(f"version {version} is the current definition already")
        data = dict(old.spec)
        if data.get("active", True) != job.active:
            data["active"] = job.active
        return self.update_job(job.id, data, note or f"rolled back to version {version}")

    def star_version(self, ref: str | int, version: int, starred: bool = True) -> JobVersion:
        job = self.get_job(ref)
        self.get_version(job.id, version)
        job_rows.star_version(self.store, job.id, version, starred)
        return self.get_version(job.id, version)

    def diff_versions(self, ref: str | int, v1: int, v2: int) -> str:
        """A unified diff of two versions' specs (pretty JSON)."""
        a = self.get_version(ref, v1)
        b = self.get_version(ref, v2)
        left = json.dumps(a.spec, indent=2, sort_keys=True).splitlines(keepends=True)
        right = json.dumps(b.spec, indent=2, sort_keys=True).splitlines(keepends=True)
        return "".join(difflib.unified_diff(left, right, f"v{v1}", f"v{v2}"))


def _without_active(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec without its active flag: what makes a definition (the flag is state)."""
    return {k: v for k, v in spec.items() if k != "active"}

"""System jobs (seed 003): maintenance the engine owns, hidden from the list unless asked.

They are ordinary `command` jobs with `system = 1`, each running
`python -m jobtui --data-dir D --db F daemon maintenance TASK` on a nightly cron, so
they get the same history, logs, retry and misfire handling as any job. The daemon
creates them (idempotently) when it starts; `jobs list --all` shows them.

Tasks:
- `retention`: keep the last N finished runs (with their logs and tasks) per job and/or
  drop finished runs older than D days. Settings `retention.keep_runs` (default 1000)
  and `retention.keep_days` (default 90; 0 turns a limit off). A job's latest run is
  always kept, so its status never changes.
- `replays`: prune the replay store (kept for the last N runs of each job).
- `optimize`: `PRAGMA wal_checkpoint(TRUNCATE)` and `PRAGMA optimize`.
- `trash`: purge jobs in the trash for longer than the trash period.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.run.local import remove_worker_files
from jobtui.engine.schedule.detach import jobtui_argv
from jobtui.engine.store import jobs as job_rows
from jobtui.engine.store import retention
from jobtui.engine.store.db import Store

SYSTEM_PREFIX = "jobtui."
DEFAULT_KEEP_RUNS = 1000
DEFAULT_KEEP_DAYS = 90.0
TASKS: dict[str, tuple[str, str, str]] = {
    # task: (job name, cron, description)
    "retention": (
        "jobtui.history-retention",
        "15 3 * * *",
        "Prune old runs and logs (keep the last N per job and/or D days)",
    ),
    "replays": ("jobtui.replay-prune", "20 3 * * *", "Prune the replay store"),
    "trash": ("jobtui.trash-purge", "25 3 * * *", "Purge jobs in the trash for a week"),
    "optimize": ("jobtui.db-optimize", "45 3 * * *", "WAL checkpoint and PRAGMA optimize"),
}


def system_spec(data_dir: Path, db_path: Path, task: str) -> dict[str, Any]:
    name, cron, description = TASKS[task]
    return {
        "name": name,
        "description": description,
        "kind": "command",
        "tags": ["system"],
        "schedule": {"type": "cron", "cron": cron},
        "policies": {"overlap": "skip", "misfire": {"policy": "once", "cap": 1}},
        "command": {"argv": jobtui_argv(data_dir, db_path, "daemon", "maintenance", task)},
    }


def ensure_system_jobs(
    store: Store,
    data_dir: Path,
    create: Callable[[dict[str, Any], str], object],
    update: Callable[[int, dict[str, Any], str], object],
) -> list[str]:
    """Create missing system jobs, and correct changed ones (a new version). Idempotent.
    `create(spec, note)` and `update(job_id, spec, note)` are the jobs API's (validation,
    versions), handed in by the facade."""
    changed: list[str] = []
    for task in TASKS:
        spec = system_spec(data_dir, store.path, task)
        job = job_rows.named(store, "default", spec["name"])
        if job is None:
            create(spec, "created by the daemon")
            changed.append(spec["name"])
        elif job.system and job.spec != spec:
            update(job.id, spec, "updated by the daemon")
            changed.append(spec["name"])
    return changed


def _setting(store: Store, key: str, default: float) -> float:
    value = store.get_setting(key)
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def prune_history(
    store: Store,
    data_dir: Path,
    now: float,
    keep_runs: int | None = None,
    keep_days: float | None = None,
) -> int:
    """Delete finished runs beyond the last `keep_runs` per job or older than `keep_days`
    (their logs and tasks go with them). Returns how many runs were deleted."""
    keep_runs = int(
        _setting(store, "retention.keep_runs", DEFAULT_KEEP_RUNS)
        if keep_runs is None
        else keep_runs
    )
    keep_days = (
        _setting(store, "retention.keep_days", DEFAULT_KEEP_DAYS)
        if keep_days is None
        else keep_days
    )
    doomed: list[int] = []
    if keep_runs and keep_runs > 0:
        doomed += retention.beyond_last(store, keep_runs)
    if keep_days and keep_days > 0:
        doomed += retention.ended_before(store, now - keep_days * 86400)
    ids = sorted(set(doomed))
    retention.delete_runs(store, ids)
    remove_worker_files(data_dir, ids)  # their workers' stderr files go with them
    return len(ids)


def prune_replays(store: Store, data_dir: Path) -> int:
    """Remove stored replay output (`<data_dir>/replay/<run id>/`) beyond each job's
    `datagen.replay.keep` newest runs, of jobs that no longer keep replays, and of runs
    that no longer exist. Returns how many run directories were removed."""
    import shutil

    root = data_dir / "replay"
    if not root.is_dir():
        return 0
    stored = sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())
    keep_of: dict[int, int] = {}
    kept: dict[int, int] = {}
    removed = 0
    for run_id in reversed(stored):  # newest first
        owner = retention.replay_owner(store, run_id)
        if owner is not None and owner[1] in ("queued", "running", "cancelling"):
            continue
        keep = 0
        if owner is not None:
            job_id, _, spec = owner
            if job_id not in keep_of:
                replay = (spec.get("datagen") or {}).get("replay") or {}
                keep_of[job_id] = int(replay.get("keep", 3)) if replay.get("enabled") else 0
            keep = keep_of[job_id]
            if kept.get(job_id, 0) < keep:
                kept[job_id] = kept.get(job_id, 0) + 1
                continue
        shutil.rmtree(root / str(run_id), ignore_errors=True)
        removed += 1
    return removed


def optimize_database(store: Store) -> str:
    busy, log_frames, done = store.optimize()
    return f"checkpoint: busy={busy} wal frames={log_frames} checkpointed={done}; optimized"


def run_task(store: Store, data_dir: Path, now: float, task: str, **options: Any) -> str:
    """Run one maintenance task; a line saying what it did."""
    if task == "retention":
        n = prune_history(store, data_dir, now, options.get("keep_runs"), options.get("keep_days"))
        return f"retention: deleted {n} old run(s) with their logs"
    if task == "replays":
        return f"replays: pruned {prune_replays(store, data_dir)} stored replay(s)"
    if task == "optimize":
        return optimize_database(store)
    if task == "trash":
        purged = job_rows.purge_trash(store, now - job_rows.TRASH_DAYS * 86400)
        return f"trash: purged {purged} job(s)"
    raise InvalidInput(f"task: must be one of {', '.join(TASKS)}")

"""Fixed data for the dashboard tests: jobs through the engine, runs and logs as rows.

Runs, tasks and log lines are inserted through `engine.store` (a test-only shortcut: the
screens themselves only call Engine methods). Times hang off a frozen ManualClock.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tzlocal

from jobtui.engine import Engine, ManualClock

NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
EVIL = "\x1b]52;c;ZXZpbA==\x07 \x1b[2J\x9b31m [bold red]FAKE[/] end"


def datagen(name: str, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "datagen": {
            "datasets": ["users"],
            "max_records": 100,
            "sinks": [{"type": "console"}],
        },
    }
    spec.update(extra)
    return spec


def add_run(
    engine: Engine,
    job_id: int,
    state: str,
    started: float | None,
    ended: float | None,
    *,
    records: int = 0,
    trigger: str = "schedule",
    title: str = "",
    error: str | None = None,
    parameters: dict[str, Any] | None = None,
    results: list[str] | None = None,
) -> int:
    cur = engine.store.execute(
        "INSERT INTO runs (job_id, job_version, trigger, title, state, parameters, queued_at, "
        "started_at, ended_at, records, error, errors, results) "
        "VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job_id,
            trigger,
            title,
            state,
            json.dumps(parameters or {}),
            (started or NOW) - 1,
            started,
            ended,
            records,
            error,
            json.dumps([{"message": error}] if error else []),
            json.dumps(results or []),
        ),
    )
    return int(cur.lastrowid or 0)


def add_task(
    engine: Engine, run_id: int, position: int, name: str, state: str, records: int, total: int
) -> None:
    engine.store.execute(
        "INSERT INTO run_tasks (run_id, position, name, state, records, total, started_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (run_id, position, name, state, records, total, NOW - 60),
    )


def add_logs(engine: Engine, run_id: int, lines: list[tuple[str, str, str]]) -> None:
    """(level, stream, message) lines, seq 1..N, one second apart."""
    with engine.store.transaction():
        engine.store.conn.executemany(
            "INSERT INTO run_logs (run_id, seq, ts, level, stream, message) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run_id, i, NOW - 3600 + i, level, stream, message)
                for i, (level, stream, message) in enumerate(lines, 1)
            ],
        )


def store_output(engine: Engine, run_id: int) -> None:
    """Give a run stored output, as a job with replay enabled keeps it (replay can go)."""
    directory = engine.replay_dir(run_id)
    directory.mkdir(parents=True)
    manifest = {"run": run_id, "format": "jsonl", "options": {}, "datasets": []}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def seed(engine: Engine) -> dict[str, int]:
    """Five jobs in two workspaces, with history; returns ids by name."""
    ids: dict[str, int] = {}
    ids["orders-csv"] = engine.create_job(
        datagen(
            "orders-csv",
            description="Fresh orders for the reporting sandbox",
            tags=["demo", "csv"],
            schedule={"type": "cron", "cron": "*/5 * * * *", "timezone": "Europe/Paris"},
            parameters={"region": {"type": "string", "default": "eu"}},
        )
    ).id
    ids["backup"] = engine.create_job(
        {
            "name": "backup",
            "kind": "command",
            "description": "Nightly backup",
            "command": {"argv": ["backup.sh", "--full"], "env": {"TOKEN": "env:BACKUP_TOKEN"}},
        }
    ).id
    ids["users-demo"] = engine.create_job(datagen("users-demo", description="On demand")).id
    ids["paused-one"] = engine.create_job(
        datagen("paused-one", active=False, schedule={"type": "interval", "every": "10m"})
    ).id
    engine.create_workspace("finance")
    ids["billing"] = engine.create_job(datagen("billing", workspace="finance")).id

    orders = ids["orders-csv"]
    engine.store.execute("UPDATE job_versions SET author = 'ops'")  # not the test's $USER
    # The daemon owns next_fire_at; stand in for it.
    engine.store.execute("UPDATE jobs SET next_fire_at = ? WHERE id = ?", (NOW + 300, orders))
    for i in range(12):
        start = NOW - 3600 * (12 - i)
        state = "failed" if i == 7 else "succeeded"
        add_run(
            engine,
            orders,
            state,
            start,
            start + 30 + i * 5,
            records=1000,
            error="sink refused the batch" if state == "failed" else None,
            results=["file:///out/orders.csv"] if state == "succeeded" else None,
            parameters={"region": "eu"},
        )
    running = add_run(engine, orders, "running", NOW - 60, None, records=600, trigger="manual")
    # 600 of the 2,000 records of its two datasets made.
    engine.store.execute("UPDATE runs SET progress = 0.3 WHERE id = ?", (running,))
    add_task(engine, running, 0, "users → console", "running", 600, 1000)
    add_task(engine, running, 1, "orders → file", "queued", 0, 1000)
    ids["running-run"] = running
    ids["orders-log"] = running
    add_logs(
        engine,
        running,
        [("info", "engine", f"generating batch {i}") for i in range(1, 41)],
    )

    backup = ids["backup"]
    add_run(engine, backup, "succeeded", NOW - 90000, NOW - 89900, trigger="schedule")
    failed = add_run(
        engine,
        backup,
        "failed",
        NOW - 7200,
        NOW - 7100,
        trigger="manual",
        title="before upgrade",
        error="exit code 2: disk full",
    )
    ids["backup-failed"] = failed
    lines: list[tuple[str, str, str]] = []
    for i in range(1, 301):
        if i == 150:
            lines.append(("error", "stderr", "ERROR: disk full while writing /srv/backup.tar"))
        elif i == 200:
            lines.append(("info", "stdout", EVIL))
        elif i == 250:
            lines.append(("warning", "stderr", "retrying after a short pause"))
        else:
            lines.append(("info", "stdout", f"copied file {i:04d} of 300"))
    add_logs(engine, failed, lines)
    return ids


@pytest.fixture
def frozen_tz() -> Iterator[None]:
    """Local time is Europe/Paris for the duration of a test (snapshots show CET)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    tzlocal.reload_localzone()  # it caches the zone schedules without one default to
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()
    tzlocal.reload_localzone()


@pytest.fixture
def seeded(tmp_path: Path, frozen_tz: None) -> Iterator[tuple[Engine, dict[str, int]]]:
    engine = Engine.open(data_dir=tmp_path / "data", clock=ManualClock(NOW))
    ids = seed(engine)
    yield engine, ids
    engine.close()

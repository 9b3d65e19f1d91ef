"""Record counts on failed runs: each task shows the records generated for it and those
delivered, and the run's figure is the delivered one (issue 17, point 13)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, RunState

from .test_sinks_tables import pg_dsn


def job(engine: Engine, name: str, sinks: list[dict[str, Any]], records: int = 4000) -> None:
    engine.create_job(
        {
            "name": name,
            "datagen": {
                "datasets": ["users"],
                "max_records": records,
                "seed": 7,
                "generator": {"format": "jsonl"},
                "sinks": sinks,
            },
        }
    )


def finished(engine: Engine, name: str) -> Any:
    return engine.wait_for_run(engine.queue_run(name).id, timeout=120)


def http_down() -> dict[str, Any]:
    return {
        "type": "http",
        "options": {"url": "http://127.0.0.1:1/in", "retries": 0, "batch_size": 500},
    }


def test_a_run_whose_only_http_sink_failed_delivered_nothing(engine: Engine) -> None:
    job(engine, "http-down", [http_down()])
    run = finished(engine, "http-down")
    assert run.state == RunState.FAILED
    (task,) = run.tasks
    assert task.records == 0
    assert task.generated > 0
    assert run.records == 0


def test_a_sqlite_task_failing_on_an_incompatible_table_counts_zero(
    engine: Engine, tmp_path: Path
) -> None:
    target = tmp_path / "target.db"
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE users (unrelated TEXT NOT NULL)")
    job(
        engine,
        "sqlite-clash",
        [{"type": "sqlite", "options": {"path": str(target), "table": "users"}}],
        records=500,
    )
    run = finished(engine, "sqlite-clash")
    assert run.state == RunState.FAILED
    (task,) = run.tasks
    assert (task.records, run.records) == (0, 0)
    assert task.generated == 500


def test_one_failed_sink_beside_a_good_one_keeps_the_delivered_figure(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    file_sink = {"type": "file", "options": {"base_dir": str(out), "path": "{dataset}.{ext}"}}
    job(engine, "half", [file_sink, http_down()], records=1000)
    run = finished(engine, "half")
    assert run.state == RunState.PARTIALLY_SUCCEEDED
    good, bad = run.tasks
    assert (good.records, good.generated) == (1000, 1000)
    assert bad.records == 0 and bad.generated > 0
    assert run.records == 1000


@pytest.mark.server
def test_a_postgres_task_failing_on_an_incompatible_table_counts_zero(engine: Engine) -> None:
    import psycopg

    dsn = pg_dsn()
    table = f"t17_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (unrelated TEXT NOT NULL)")
    try:
        job(
            engine,
            "pg-clash",
            [{"type": "postgres", "options": {"dsn": dsn, "table": table}}],
            records=500,
        )
        run = finished(engine, "pg-clash")
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    assert run.state == RunState.FAILED
    (task,) = run.tasks
    assert (task.records, run.records) == (0, 0)
    assert task.generated == 500

"""Datagen runs end to end through real worker processes and the real dataset generator."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from jobtui.engine import Engine, RunState

from .runs_helpers import start_running, wait_until
from .test_sinks_tables import pg_dsn

pytest.importorskip(
    "jobtui.engine.datagen.generate",
    reason="the dataset generator (datagen/generate.py) is not built yet",
)
pytest.importorskip(
    "jobtui.engine.datagen.formats", reason="the formats (datagen/formats.py) are not built yet"
)


def users_job(engine: Engine, name: str, out: Path, **datagen: object) -> None:
    spec: dict[str, object] = {
        "datasets": ["users"],
        "max_records": 1000,
        "seed": 42,
        "generator": {"format": "jsonl"},
        "sinks": [
            {
                "type": "file",
                "options": {"base_dir": str(out), "path": "{job}/{dataset}-{run}.{ext}"},
            }
        ],
    }
    spec.update(datagen)
    engine.create_job({"name": name, "datagen": spec})


def test_users_demo_writes_valid_records_and_the_same_seed_gives_the_same_bytes(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    users_job(engine, "users-demo", out)
    outputs = []
    for _ in range(2):
        run = engine.wait_for_run(engine.queue_run("users-demo").id, timeout=60)
        assert run.state == RunState.SUCCEEDED, run.errors
        assert run.records == 1000
        path = out / "users-demo" / f"users-{run.id}.jsonl"
        assert run.results == [f"users: 1000 records → {path}"]
        outputs.append(path.read_bytes())
    lines = outputs[0].splitlines()
    assert len(lines) == 1000 and all(isinstance(json.loads(line), dict) for line in lines)
    assert outputs[0] == outputs[1]


def test_cancelling_a_100m_record_run_stops_it_promptly(engine: Engine, tmp_path: Path) -> None:
    users_job(engine, "huge", tmp_path / "out", max_records=100_000_000)
    run = engine.queue_run("huge")
    supervisor = start_running(engine, run.id)
    wait_until(lambda: engine.get_run(run.id).records > 0, timeout=30)
    started = time.monotonic()
    engine.cancel_run(run.id)

    def ended() -> bool:
        supervisor.tick()
        return engine.get_run(run.id).state.is_final

    wait_until(ended, timeout=2 + supervisor.grace)
    assert time.monotonic() - started < 2 + supervisor.grace
    final = engine.get_run(run.id)
    assert final.state == RunState.CANCELLED
    assert final.records < 100_000_000


def test_replay_delivers_byte_identical_output_to_a_new_file(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    users_job(engine, "rp", out, generator={"format": "csv"}, replay={"enabled": True, "keep": 2})
    first = engine.wait_for_run(engine.queue_run("rp").id, timeout=60)
    assert first.state == RunState.SUCCEEDED, first.errors
    replay = engine.wait_for_run(engine.replay_run(first.id).id, timeout=60)
    assert replay.state == RunState.SUCCEEDED, replay.errors
    original = (out / "rp" / f"users-{first.id}.csv").read_bytes()
    assert (out / "rp" / f"users-{replay.id}.csv").read_bytes() == original


@pytest.mark.server
def test_a_run_into_postgres_lands_every_record(engine: Engine, tmp_path: Path) -> None:
    import psycopg

    dsn = pg_dsn()
    table = f"jobtui_run_{uuid.uuid4().hex[:8]}"
    users_job(
        engine,
        "to-pg",
        tmp_path,
        max_records=5000,
        sinks=[{"type": "postgres", "options": {"dsn": dsn, "table": table}}],
    )
    try:
        run = engine.wait_for_run(engine.queue_run("to-pg").id, timeout=60)
        assert run.state == RunState.SUCCEEDED, run.errors
        with psycopg.connect(dsn) as conn:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (5000,)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")

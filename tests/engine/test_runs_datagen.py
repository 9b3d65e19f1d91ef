"""Datagen runs end to end through real worker processes and the real dataset generator."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from pathlib import Path

import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.datagen.formats import make_encoder
from jobtui.engine.datagen.spool import SPOOL_PREFIX, spool_root

from .runs_helpers import STOP_GRACE, live_members, start_running, tick_until_final, wait_until
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


def test_a_worker_killed_mid_run_leaves_no_shared_memory_behind(
    engine: Engine, tmp_path: Path
) -> None:
    """SIGKILL gives a worker no chance to remove its helpers' spool (shared-memory slots,
    ~20 MB a helper); the supervisor sweeps it once it has reaped the worker."""
    users_job(engine, "killed", tmp_path / "out", max_records=100_000_000, threads=2)
    run = engine.queue_run("killed")
    supervisor = start_running(engine, run.id)
    pid = engine.get_run(run.id).pid
    assert pid is not None

    def spools() -> list[str]:
        return [n for n in os.listdir(spool_root()) if n.startswith(f"{SPOOL_PREFIX}{pid}-")]

    wait_until(lambda: engine.get_run(run.id).records > 0 and spools(), timeout=30)
    # multiprocessing's own temp directory (the forkserver's socket) is among them: a
    # /tmp/pymp-* of its own would outlive the kill.
    (mp_dir,) = [n for n in spools() if n.startswith(f"{SPOOL_PREFIX}{pid}-mp-")]
    assert [p.name[:5] for p in Path(spool_root(), mp_dir).iterdir()] == ["pymp-"]
    (partial,) = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert partial.name == f".users-{run.id}.jsonl.partial-{pid}-{run.id}"
    pgid = engine.get_run(run.id).pgid
    assert pgid is not None
    os.killpg(pgid, signal.SIGKILL)

    tick_until_final(supervisor, engine, run.id, timeout=10)
    assert engine.get_run(run.id).state == RunState.INTERRUPTED
    assert spools() == []
    # Nor the file sink's hidden, half-written output (the worker had no chance to remove
    # it): the supervisor removes what the run listed.
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []
    assert not (engine.data_dir / "workers" / f"run-{run.id}.partials").exists()


@pytest.mark.parametrize("threads", [1, 2])
def test_cancelling_a_100m_record_run_stops_it_promptly(
    engine: Engine, tmp_path: Path, threads: int
) -> None:
    users_job(engine, "huge", tmp_path / "out", max_records=100_000_000, threads=threads)
    run = engine.queue_run("huge")
    supervisor = start_running(engine, run.id)
    wait_until(lambda: engine.get_run(run.id).records > 0, timeout=30)
    started = time.monotonic()
    engine.cancel_run(run.id)

    tick_until_final(supervisor, engine, run.id, timeout=2 + STOP_GRACE)
    assert time.monotonic() - started < 2 + STOP_GRACE
    final = engine.get_run(run.id)
    assert final.state == RunState.CANCELLED, final.errors
    assert final.records < 100_000_000
    assert final.pgid is not None
    wait_until(lambda: not live_members(final.pgid), timeout=5)  # generation processes too
    # No half-written file where the output would have gone, nor its hidden partial.
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []


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
@pytest.mark.parametrize("threads", [1, 2])
def test_a_run_into_postgres_lands_every_record(
    engine: Engine, tmp_path: Path, threads: int
) -> None:
    """More records than one COPY carries, with a file sink beside the table: the table
    holds exactly the records the file got (COPY text is made from the generator's
    columns, in the helper process too), nested and null values included."""
    import psycopg

    dsn = pg_dsn()
    table = f"jobtui_run_{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out"
    users_job(
        engine,
        "to-pg",
        out,
        datasets=["customers"],
        max_records=120_000,
        threads=threads,
        sinks=[
            {"type": "postgres", "options": {"dsn": dsn, "table": table}},
            {"type": "file", "options": {"base_dir": str(out), "path": "customers.jsonl"}},
        ],
    )
    try:
        run = engine.wait_for_run(engine.queue_run("to-pg").id, timeout=120)
        assert run.state == RunState.SUCCEEDED, run.errors
        expected = [
            json.loads(line) for line in (out / "customers.jsonl").read_bytes().splitlines()
        ]
        with psycopg.connect(dsn) as conn:
            cur = conn.execute(f"SELECT * FROM {table} ORDER BY id")
            names = [c.name for c in cur.description or []]
            landed = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            types = dict(
                conn.execute(
                    "SELECT column_name, upper(data_type) FROM information_schema.columns "
                    "WHERE table_name = %s",
                    (table,),
                ).fetchall()
            )
        assert len(landed) == 120_000
        for row in landed:  # a TIMESTAMP column gives datetimes back; the file has ISO text
            row["created_at"] = row["created_at"].isoformat()
        assert landed == sorted(expected, key=lambda r: r["id"])
        assert any(r["phone"] is None for r in landed)  # nullable: NULL, not "None"
        # One mapping: the table's types are those of the postgresql SQL format's CREATE TABLE.
        header = (
            make_encoder("sql", {"dialect": "postgresql", "create_table": True}, "customers")
            .header()
            .decode()
        )
        spelled = dict(re.findall(r'^\s+"(\w+)" ([A-Z ]+?),?$', header, re.M))
        assert spelled["address"] == "JSONB" and spelled["created_at"] == "TIMESTAMP"
        assert {c: t.replace(" WITHOUT TIME ZONE", "") for c, t in types.items()} == spelled
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


FORMAT_OPTIONS_FOR_RUNS: dict[str, dict[str, object]] = {
    "jsonl": {},
    "json": {},
    "csv": {},
    "sql": {"create_table": True},
    "xml": {},
    "parquet": {"row_group_size": 2500},
    "avro": {"codec": "deflate"},
    "excel": {"rows_per_sheet": 2500},
    "template": {"record": "{{ index }} {{ email | fixed(30) }}|{{ address | json }}"},
}


@pytest.mark.parametrize("fmt", list(FORMAT_OPTIONS_FOR_RUNS))
def test_threads_one_two_four_give_the_same_bytes(engine: Engine, tmp_path: Path, fmt: str) -> None:
    """6,000 records: two batches (5,000 + 1,000), so with threads 2 and 4 a helper makes one
    (whole-file formats included: their batches are sealed in order by the worker)."""
    from jobtui.engine.model.formats import format_extension

    out = tmp_path / "out"
    options = FORMAT_OPTIONS_FOR_RUNS[fmt]
    ext = format_extension(fmt, options)
    outputs = []
    for threads in (1, 2, 4):
        users_job(
            engine,
            f"t{threads}",
            out,
            max_records=6_000,
            threads=threads,
            use_buffer=False,
            generator={"format": fmt, "options": options},
        )
        run = engine.wait_for_run(engine.queue_run(f"t{threads}").id, timeout=120)
        assert run.state == RunState.SUCCEEDED, run.errors
        assert run.records == 6_000
        outputs.append((out / f"t{threads}" / f"users-{run.id}.{ext}").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    if fmt == "json":
        assert len(json.loads(outputs[0])) == 6_000
    if fmt in ("parquet", "avro", "excel"):
        import io

        from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
        from jobtui.engine.datagen.formats import make_decoder

        users_job(engine, "as-jsonl", out, max_records=6_000)
        run = engine.wait_for_run(engine.queue_run("as-jsonl").id, timeout=120)
        lines = (out / "as-jsonl" / f"users-{run.id}.jsonl").read_bytes().splitlines()
        decoder = make_decoder(fmt, options, BUILTIN_DATASETS["users"])
        back = [r for b in decoder.decode(io.BytesIO(outputs[0])) for r in b]
        assert back == [json.loads(line) for line in lines]


def test_custom_datasets_referencing_each_other_stay_in_range_in_any_order(
    engine: Engine, tmp_path: Path
) -> None:
    engine.save_dataset(
        {"name": "teams", "fields": [{"name": "id", "type": "sequence", "start": 1}]}
    )
    engine.save_dataset(
        {
            "name": "players",
            "fields": [
                {"name": "id", "type": "sequence", "start": 1},
                {"name": "team", "type": "reference", "dataset": "teams", "field": "id"},
            ],
        }
    )
    engine.save_dataset(
        {
            "name": "scores",
            "fields": [
                {"name": "player", "type": "reference", "dataset": "players", "field": "id"},
                {"name": "points", "type": "integer", "min": 0, "max": 9},
            ],
        }
    )
    out = tmp_path / "out"
    # players before teams, scores referencing players (itself referencing teams: a
    # custom dataset referencing another custom one), counts randomized.
    users_job(
        engine,
        "league",
        out,
        datasets=["scores", "players", "teams"],
        max_records=300,
        randomize_records=True,
        sinks=[{"type": "sqlite", "options": {"path": str(out / "l.sqlite")}}],
    )
    run = engine.wait_for_run(engine.queue_run("league").id, timeout=60)
    assert run.state == RunState.SUCCEEDED, run.errors
    import sqlite3

    conn = sqlite3.connect(out / "l.sqlite")
    teams = conn.execute("SELECT count(*), min(id), max(id) FROM teams").fetchone()
    players = conn.execute("SELECT count(*), max(id), max(team), min(team) FROM players").fetchone()
    scores = conn.execute("SELECT max(player), min(player) FROM scores").fetchone()
    assert teams[1] == 1 and teams[2] == teams[0]
    assert players[3] >= 1 and players[2] <= teams[0]
    assert scores[1] >= 1 and scores[0] <= players[0]


def test_sql_inserts_use_the_datasets_types(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "out"
    users_job(
        engine,
        "sql",
        out,
        max_records=10,
        generator={"format": "sql", "options": {"create_table": True}},
    )
    run = engine.wait_for_run(engine.queue_run("sql").id, timeout=60)
    assert run.state == RunState.SUCCEEDED, run.errors
    text = (out / "sql" / f"users-{run.id}.sql").read_text()
    assert '"age" BIGINT' in text.split(";")[0]


@pytest.mark.server
def test_cancelling_a_run_into_postgres_stops_it_promptly(engine: Engine, tmp_path: Path) -> None:
    """The loader thread and an open COPY do not hold the run past its cancel."""
    import psycopg

    dsn = pg_dsn()
    table = f"jobtui_cancel_{uuid.uuid4().hex[:8]}"
    users_job(
        engine,
        "pg-huge",
        tmp_path,
        max_records=100_000_000,
        sinks=[{"type": "postgres", "options": {"dsn": dsn, "table": table}}],
    )
    run = engine.queue_run("pg-huge")
    supervisor = start_running(engine, run.id)
    try:
        wait_until(lambda: engine.get_run(run.id).records > 0, timeout=30)
        started = time.monotonic()
        engine.cancel_run(run.id)

        tick_until_final(supervisor, engine, run.id, timeout=2 + STOP_GRACE)
        assert time.monotonic() - started < 2 + STOP_GRACE
        assert engine.get_run(run.id).state == RunState.CANCELLED
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.parametrize("threads", [1, 2])
def test_a_run_into_sqlite_lands_exactly_the_file_sinks_records(
    engine: Engine, tmp_path: Path, threads: int
) -> None:
    """Row tuples made from the generator's columns (in the helper too) land in field
    order; nested objects become JSON text and nulls stay NULL."""
    import sqlite3

    out = tmp_path / "out"
    users_job(
        engine,
        "to-sqlite",
        out,
        datasets=["customers"],
        max_records=30_000,
        threads=threads,
        sinks=[
            {"type": "sqlite", "options": {"path": str(out / "c.sqlite")}},
            {"type": "file", "options": {"base_dir": str(out), "path": "customers.jsonl"}},
        ],
    )
    run = engine.wait_for_run(engine.queue_run("to-sqlite").id, timeout=120)
    assert run.state == RunState.SUCCEEDED, run.errors
    expected = [json.loads(line) for line in (out / "customers.jsonl").read_bytes().splitlines()]
    conn = sqlite3.connect(out / "c.sqlite")
    cur = conn.execute("SELECT * FROM customers ORDER BY rowid")
    names = [c[0] for c in cur.description]
    landed = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in landed:
        row["address"] = json.loads(row["address"])
    assert landed == expected
    assert any(r["phone"] is None for r in landed)

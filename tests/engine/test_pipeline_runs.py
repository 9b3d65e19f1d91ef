"""Pipeline runs end to end through real worker processes, against the real servers
(PostgreSQL, MariaDB judged by `mysql`, Redis db 10) and files (issue 22's "Done when")."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from jobtui.engine import Engine, Run, RunState, SpecError

from .sinks_helpers import shell, suffix
from .test_sinks_tables import pg_dsn

REDIS_DB = 10


def pipeline_job(engine: Engine, name: str, **pipeline: Any) -> None:
    engine.create_job({"name": name, "kind": "pipeline", "pipeline": pipeline})


def run(engine: Engine, name: str, **kwargs: Any) -> Run:
    return engine.wait_for_run(engine.queue_run(name, **kwargs).id, timeout=120)


def file_writer(out: Path) -> dict[str, Any]:
    return {
        "type": "file",
        "name": "out",
        "options": {"base_dir": str(out), "path": "{job}-{run}.{ext}"},
    }


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def offsets(engine: Engine, name: str) -> str | None:
    row = engine.store.query_one("SELECT offsets FROM jobs WHERE name = ?", (name,))
    return None if row is None else row["offsets"]


# -- sql (PostgreSQL) → file: the watermark ---------------------------------------------------
@pytest.mark.server
def test_sql_reads_only_new_rows_then_all_after_reset_and_a_failed_run_keeps_the_mark(
    engine: Engine, tmp_path: Path
) -> None:
    import psycopg

    dsn = pg_dsn()
    table = f"pipeline22_{suffix()}"
    out = tmp_path / "out"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
        try:

            def add(ids: range) -> None:
                for i in ids:
                    conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (i, f"n{i}"))

            add(range(1, 4))
            pipeline_job(
                engine,
                "orders",
                readers=[
                    {
                        "type": "sql",
                        "options": {
                            "url": dsn,
                            "query": f"SELECT id, name FROM {table} WHERE id > :since ORDER BY id",
                            "watermark": "id",
                            "initial": 0,
                            "batch_size": 2,
                        },
                    }
                ],
                writers=[file_writer(out)],
            )
            first = run(engine, "orders")
            assert first.state == RunState.SUCCEEDED, first.errors
            assert [r["id"] for r in jsonl(out / f"orders-{first.id}.jsonl")] == [1, 2, 3]

            add(range(4, 6))
            second = run(engine, "orders")
            assert [r["id"] for r in jsonl(out / f"orders-{second.id}.jsonl")] == [4, 5]
            mark = offsets(engine, "orders")
            assert mark is not None and json.loads(mark) == {"0": {"since": 5}}

            # A run whose writer fails reads the new row but leaves the watermark alone
            # (and `--set` reaches the writer for this run only).
            add(range(6, 7))
            broken = tmp_path / "not-a-dir"
            broken.write_text("a file")
            failed = run(
                engine, "orders", options={"writers[0].options.base_dir": str(broken / "x")}
            )
            assert failed.state == RunState.FAILED
            assert offsets(engine, "orders") == mark
            again = run(engine, "orders")
            assert [r["id"] for r in jsonl(out / f"orders-{again.id}.jsonl")] == [6]

            engine.reset_offset("orders")
            assert offsets(engine, "orders") is None
            everything = run(engine, "orders")
            assert [r["id"] for r in jsonl(out / f"orders-{everything.id}.jsonl")] == list(
                range(1, 7)
            )
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


# -- gzip'd CSV files → MariaDB through rename + filter + set ---------------------------------
def mysql(database: str, query: str) -> list[list[str]]:
    out = shell(
        "mysql", "-h", "127.0.0.1", "-P", "3306", "-uroot", "-N", "-B", database, "-e", query
    )
    return [line.split("\t") for line in out.splitlines()]


@pytest.mark.server
def test_gzipped_csv_files_to_mariadb_match_a_plain_python_script(
    engine: Engine, tmp_path: Path
) -> None:
    from tests.conftest import require_server

    require_server("MariaDB", "127.0.0.1", 3306)
    database = f"jobtui_{suffix()}"
    mysql("test", f"CREATE DATABASE {database}")
    try:
        inbox = tmp_path / "in"
        (inbox / "2026").mkdir(parents=True)
        for n in range(3):
            with gzip.open(inbox / "2026" / f"sales-{n}.csv.gz", "wt", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["sku", "qty", "price"])
                for i in range(200):
                    w.writerow([f"s{n}-{i}", (i * 7 + n) % 13 - 3, f"{(i % 17) + 0.25:.2f}"])
        (inbox / "2026" / "notes.txt").write_text("not matched by the glob")
        pipeline_job(
            engine,
            "sales",
            readers=[
                {"type": "file", "options": {"base_dir": str(inbox), "pattern": "**/*.csv.gz"}}
            ],
            transformers=[
                {"type": "rename", "options": {"fields": {"qty": "quantity"}}},
                {"type": "filter", "options": {"expr": "quantity > 0"}},
                {"type": "set", "options": {"fields": {"total": "(quantity * price) | round(2)"}}},
            ],
            writers=[
                {
                    "type": "mysql",
                    "options": {"url": f"mysql://root@127.0.0.1:3306/{database}", "table": "sales"},
                }
            ],
        )
        done = run(engine, "sales")
        assert done.state == RunState.SUCCEEDED, done.errors

        expected = []
        for path in sorted(inbox.glob("**/*.csv.gz")):
            with gzip.open(path, "rt", newline="") as fh:
                for row in csv.DictReader(fh):
                    quantity, price = int(row["qty"]), float(row["price"])
                    if quantity > 0:
                        expected.append(
                            [
                                row["sku"],
                                str(quantity),
                                f"{price:g}",
                                f"{round(quantity * price, 2):g}",
                            ]
                        )
        got = mysql(database, "SELECT sku, quantity, price, total FROM sales ORDER BY sku")
        assert got == sorted(expected)
        assert len(got) > 100
    finally:
        mysql("test", f"DROP DATABASE IF EXISTS {database}")


# -- dead letters and max_errors ----------------------------------------------------------------
def test_malformed_lines_go_to_the_dead_letter_file_and_max_errors_fails_the_run(
    engine: Engine, tmp_path: Path
) -> None:
    inbox, out, dead = tmp_path / "in", tmp_path / "out", tmp_path / "dead"
    inbox.mkdir()
    lines = ['{"n": 1}', "{broken", '{"n": 3}', "[1, 2]", '{"n": 5}', "", '{"n": 7']
    (inbox / "a.jsonl").write_text("\n".join(lines) + "\n")
    reader = {"type": "file", "options": {"base_dir": str(inbox), "incremental": False}}
    common = {"readers": [reader], "writers": [file_writer(out)]}
    pipeline_job(engine, "tolerant", **common, dead_letter={"base_dir": str(dead)})
    ok = run(engine, "tolerant")
    assert ok.state == RunState.SUCCEEDED, ok.errors
    assert [r["n"] for r in jsonl(out / f"tolerant-{ok.id}.jsonl")] == [1, 3, 5]
    letters = jsonl(dead / "tolerant" / f"run-{ok.id}.jsonl")
    assert [(d["position"], d["raw"]) for d in letters] == [
        (2, "{broken"),
        (4, "[1, 2]"),
        (7, '{"n": 7'),
    ]
    assert all(d["where"] == str(inbox / "a.jsonl") and d["error"] for d in letters)
    assert f"dead letters: 3 → {dead / 'tolerant' / f'run-{ok.id}.jsonl'}" in ok.results

    pipeline_job(engine, "strict", **common, max_errors=2)
    failed = run(engine, "strict")
    assert failed.state == RunState.FAILED
    assert "max_errors: more than 2 bad record(s)" in (failed.error or "")

    pipeline_job(engine, "percent", **common, max_errors="40%")
    assert run(engine, "percent").state == RunState.FAILED  # 3 bad of 6 = 50%
    pipeline_job(engine, "lenient", **common, max_errors="50%")
    assert run(engine, "lenient").state == RunState.SUCCEEDED


def test_a_transformer_error_names_the_transformer_and_the_field(
    engine: Engine, tmp_path: Path
) -> None:
    inbox, out, dead = tmp_path / "in", tmp_path / "out", tmp_path / "dead"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text('{"a": 1}\n{"b": 2}\n')
    pipeline_job(
        engine,
        "t",
        readers=[{"type": "file", "options": {"base_dir": str(inbox)}}],
        transformers=[{"type": "set", "options": {"fields": {"c": "a + 1"}}}],
        writers=[file_writer(out)],
        dead_letter={"base_dir": str(dead)},
    )
    done = run(engine, "t")
    assert jsonl(out / f"t-{done.id}.jsonl") == [{"a": 1, "c": 2}]
    (letter,) = jsonl(dead / "t" / f"run-{done.id}.jsonl")
    assert letter["error"] == "transformers[0] (set) field c: a is undefined"
    assert letter["record"] == {"b": 2} and letter["position"] == 2


def test_expressions_cannot_reach_dunders(engine: Engine, tmp_path: Path) -> None:
    inbox, out, dead = tmp_path / "in", tmp_path / "out", tmp_path / "dead"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text('{"a": "x"}\n')
    pipeline_job(
        engine,
        "sneaky",
        readers=[{"type": "file", "options": {"base_dir": str(inbox)}}],
        transformers=[
            {
                "type": "set",
                "options": {"fields": {"c": "a.__class__.__mro__", "d": "a * 10000000"}},
            }
        ],
        writers=[file_writer(out)],
        dead_letter={"base_dir": str(dead)},
    )
    done = run(engine, "sneaky")
    assert not (out / f"sneaky-{done.id}.jsonl").exists()  # no record passed: no empty file
    (letter,) = jsonl(dead / "sneaky" / f"run-{done.id}.jsonl")
    assert "field c" in letter["error"] or "field d" in letter["error"]


# -- file: incremental by modification time -------------------------------------------------------
def test_files_are_read_once_and_again_when_changed(engine: Engine, tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text('{"f": "a"}\n')
    pipeline_job(
        engine,
        "inc",
        readers=[{"type": "file", "options": {"base_dir": str(inbox), "pattern": "*.jsonl"}}],
        writers=[file_writer(out)],
    )
    first = run(engine, "inc")
    assert jsonl(out / f"inc-{first.id}.jsonl") == [{"f": "a"}]
    (inbox / "b.jsonl").write_text('{"f": "b"}\n')
    second = run(engine, "inc")
    assert jsonl(out / f"inc-{second.id}.jsonl") == [{"f": "b"}]
    (inbox / "a.jsonl").write_text('{"f": "a2"}\n{"f": "a3"}\n')
    third = run(engine, "inc")
    assert jsonl(out / f"inc-{third.id}.jsonl") == [{"f": "a2"}, {"f": "a3"}]
    assert run(engine, "inc").records == 0


def test_a_run_with_nothing_new_writes_no_file_and_says_since_when(
    engine: Engine, tmp_path: Path
) -> None:
    """An incremental run that finds nothing new leaves no empty file (nor a partial one)
    and its results say since when; so does a run whose records all fail a filter."""
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text('{"n": 1}\n')
    pipeline_job(
        engine,
        "quiet",
        readers=[{"type": "file", "options": {"base_dir": str(inbox), "pattern": "*.jsonl"}}],
        transformers=[{"type": "filter", "options": {"expr": "n > 0"}}],
        writers=[file_writer(out)],
    )
    first = run(engine, "quiet")
    assert [p.name for p in out.iterdir()] == [f"quiet-{first.id}.jsonl"]

    nothing = run(engine, "quiet")
    assert nothing.state == RunState.SUCCEEDED, nothing.errors
    assert [p.name for p in out.iterdir()] == [f"quiet-{first.id}.jsonl"]
    mtime = (inbox / "a.jsonl").stat().st_mtime
    since = datetime.fromtimestamp(mtime, UTC).isoformat(timespec="seconds")
    assert f"file → out: nothing new since files modified up to {since}: no output written" in (
        nothing.results
    )

    (inbox / "b.jsonl").write_text('{"n": 0}\n')
    filtered = run(engine, "quiet")
    assert filtered.state == RunState.SUCCEEDED, filtered.errors
    assert [p.name for p in out.iterdir()] == [f"quiet-{first.id}.jsonl"]
    assert (
        "file → out: none of the 1 record(s) read passed the transformers: no output written"
        in filtered.results
    )

    (inbox / "c.jsonl").write_text('{"n": 3}\n')
    third = run(engine, "quiet")
    assert jsonl(out / f"quiet-{third.id}.jsonl") == [{"n": 3}]


# -- chaining: file bytes → gzip → csv, and the datagen reader --------------------------------
def test_a_reader_takes_the_bytes_of_the_one_before(engine: Engine, tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "data.bin").write_bytes(gzip.compress(b"x;y\n1;a\n2;b\n"))
    pipeline_job(
        engine,
        "chain",
        readers=[
            {"type": "file", "options": {"base_dir": str(inbox), "format": "bytes"}},
            {"type": "gzip"},
            {"type": "csv", "options": {"delimiter": ";"}},
        ],
        writers=[file_writer(out)],
    )
    done = run(engine, "chain")
    assert done.state == RunState.SUCCEEDED, done.errors
    assert jsonl(out / f"chain-{done.id}.jsonl") == [{"x": 1, "y": "a"}, {"x": 2, "y": "b"}]


def test_the_datagen_reader_goes_through_transformers(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pipeline_job(
        engine,
        "synthetic",
        readers=[{"type": "datagen", "options": {"dataset": "users", "records": 50, "seed": 3}}],
        transformers=[{"type": "select", "options": {"fields": ["id", "email"]}}],
        writers=[{**file_writer(out), "format": {"format": "csv"}}],
    )
    done = run(engine, "synthetic")
    assert done.state == RunState.SUCCEEDED, done.errors
    rows = list(csv.DictReader((out / f"synthetic-{done.id}.csv").open()))
    assert len(rows) == 50 and list(rows[0]) == ["id", "email"]


# -- redis-stream: entries after the last ID read ------------------------------------------------
@pytest.mark.server
def test_a_redis_stream_is_read_after_the_last_id(engine: Engine, tmp_path: Path) -> None:
    import redis

    from tests.conftest import require_server

    require_server("Redis", "127.0.0.1", 6379)
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    stream = f"pipeline22-{suffix()}"
    out = tmp_path / "out"
    try:
        for i in range(3):
            client.xadd(stream, {"data": json.dumps({"i": i})})
        pipeline_job(
            engine,
            "events",
            readers=[
                {
                    "type": "redis-stream",
                    "options": {"url": url, "stream": stream, "json_field": "data", "count": 2},
                }
            ],
            writers=[file_writer(out)],
        )
        first = run(engine, "events")
        assert jsonl(out / f"events-{first.id}.jsonl") == [{"i": 0}, {"i": 1}, {"i": 2}]
        client.xadd(stream, {"data": json.dumps({"i": 3})})
        second = run(engine, "events")
        assert jsonl(out / f"events-{second.id}.jsonl") == [{"i": 3}]
    finally:
        client.delete(stream)
        client.close()


# -- custom args -----------------------------------------------------------------------------------
def test_a_run_override_is_validated_like_the_spec_and_recorded(
    engine: Engine, tmp_path: Path
) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text('{"n": 1}\n{"n": 2}\n')
    pipeline_job(
        engine,
        "ov",
        readers=[{"type": "file", "options": {"base_dir": str(inbox), "incremental": False}}],
        transformers=[{"type": "filter", "options": {"expr": "n > 0"}}],
        writers=[file_writer(out)],
    )
    with pytest.raises(SpecError) as caught:
        engine.queue_run("ov", options={"transformers[0].options.expr": "n >"})
    assert caught.value.errors[0].path == "options.set.transformers[0].options.expr"
    with pytest.raises(SpecError) as caught:
        engine.queue_run("ov", options={"readers[3].options.pattern": "*"})
    assert "there is no item 3" in caught.value.errors[0].message
    done = run(engine, "ov", options={"transformers[0].options.expr": "n > 1"})
    assert jsonl(out / f"ov-{done.id}.jsonl") == [{"n": 2}]
    assert engine.run_options(done.id)["set"] == {"transformers[0].options.expr": "n > 1"}


# -- replay ------------------------------------------------------------------------------------------
def test_a_pipeline_run_is_replayed_to_the_current_writers(engine: Engine, tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text('{"n": 1, "s": "x"}\n{"n": 2, "s": "y"}\n')
    spec = {
        "name": "kept",
        "kind": "pipeline",
        "pipeline": {
            "readers": [{"type": "file", "options": {"base_dir": str(inbox)}}],
            "writers": [file_writer(out)],
            "replay": {"enabled": True},
        },
    }
    engine.create_job(spec)
    first = run(engine, "kept")
    assert first.state == RunState.SUCCEEDED, first.errors
    csv_out = tmp_path / "csv"
    spec["pipeline"]["writers"].append(  # type: ignore[index]
        {**file_writer(csv_out), "name": "csv", "format": {"format": "csv"}}
    )
    engine.update_job("kept", spec)
    replay = engine.wait_for_run(engine.replay_run(first.id).id, timeout=120)
    assert replay.state == RunState.SUCCEEDED, replay.errors
    assert jsonl(out / f"kept-{replay.id}.jsonl") == jsonl(out / f"kept-{first.id}.jsonl")
    assert (csv_out / f"kept-{replay.id}.csv").read_text().splitlines() == ["n,s", "1,x", "2,y"]
    assert offsets(engine, "kept") is not None  # the replay read no file: the mark stays


# -- sql (SQLite): a time watermark, and --since over the stored mark -------------------------------
def test_sqlite_rows_by_a_time_watermark_and_an_explicit_since(
    engine: Engine, tmp_path: Path
) -> None:
    import sqlite3

    db, out = tmp_path / "src.db", tmp_path / "out"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER, updated_at TEXT)")
        conn.executemany(
            "INSERT INTO t VALUES (?, ?)",
            [(1, "2026-01-01T00:00:00"), (2, "2026-02-01T00:00:00"), (3, "2026-03-01T00:00:00")],
        )
    pipeline_job(
        engine,
        "lite",
        readers=[
            {
                "type": "sql",
                "options": {
                    "url": f"sqlite:///{db}",
                    "query": "SELECT id, updated_at FROM t WHERE updated_at > :since ORDER BY id",
                    "watermark": "updated_at",
                    "initial": "",
                },
            }
        ],
        writers=[file_writer(out)],
    )
    first = run(engine, "lite")
    assert [r["id"] for r in jsonl(out / f"lite-{first.id}.jsonl")] == [1, 2, 3]
    assert json.loads(offsets(engine, "lite") or "{}") == {"0": {"since": "2026-03-01T00:00:00"}}
    assert run(engine, "lite").records == 0
    since = run(engine, "lite", since="2026-01-15T00:00:00+00:00")
    assert [r["id"] for r in jsonl(out / f"lite-{since.id}.jsonl")] == [2, 3]

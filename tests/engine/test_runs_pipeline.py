"""The datagen pipeline's own logic (tasks, buffering, sinks failing alone, replay store),
run in-process with a stand-in generator so it does not depend on the datasets' code."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from jobtui.engine import Engine, RunState, SpecError
from jobtui.engine.datagen import run as pl
from jobtui.engine.run.worker import RunWorker
from jobtui.engine.sinks import base as sinks_base


class FakeGenerator:
    made = 0

    def __init__(
        self,
        datasets: list[dict[str, Any]],
        seed: int | None,
        locale: str,
        counts: dict[str, int] | None = None,
    ):
        self.seed = seed

    def batches(self, name: str, count: int, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        for start in range(0, count, batch_size):
            n = min(batch_size, count - start)
            FakeGenerator.made += n
            yield [
                {"id": start + i + 1, "name": f"{name}-{self.seed}-{start + i + 1}"}
                for i in range(n)
            ]


class JsonLines:
    def header(self) -> bytes:
        return b""

    def encode(self, batch: list[dict[str, Any]]) -> bytes:
        return b"".join(orjson.dumps(r) + b"\n" for r in batch)

    def footer(self) -> bytes:
        return b""


class JsonLinesDecoder:
    def decode(self, stream: Any) -> Iterator[list[dict[str, Any]]]:
        batch = []
        for line in stream:
            batch.append(orjson.loads(line))
            if len(batch) == 100:
                yield batch
                batch = []
        if batch:
            yield batch


@pytest.fixture(autouse=True)
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeGenerator.made = 0
    monkeypatch.setattr(pl, "make_generator", FakeGenerator)
    monkeypatch.setattr(pl, "make_encoder", lambda fmt, options, dataset: JsonLines())
    monkeypatch.setattr(pl, "make_decoder", lambda fmt, options, dataset: JsonLinesDecoder())
    monkeypatch.setattr(
        pl,
        "load_datasets",
        lambda engine, names: [
            {"name": n, "fields": [{"name": "id"}, {"name": "name"}]} for n in names
        ],
    )


def job(engine: Engine, name: str, out: Path, **datagen: Any) -> None:
    spec: dict[str, Any] = {
        "datasets": ["users"],
        "max_records": 1000,
        "seed": 5,
        "sinks": [
            {"type": "file", "options": {"base_dir": str(out), "path": "{dataset}-{run}.{ext}"}}
        ],
    }
    spec.update(datagen)
    engine.create_job({"name": name, "datagen": spec})


def run_here(engine: Engine, name: str, **kw: Any) -> Any:
    """Queue a run and execute its worker in this process (so the fakes apply)."""
    run = engine.queue_run(name, **kw)
    RunWorker(engine.store, engine.data_dir, run.id).run()
    return engine.get_run(run.id)


def test_tasks_per_dataset_and_sink_results_and_records(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "out"
    job(
        engine,
        "two",
        out,
        datasets=["users", "orders"],
        sinks=[
            {"type": "file", "options": {"base_dir": str(out), "path": "{dataset}-{run}.{ext}"}},
            {"type": "sqlite", "options": {"path": str(tmp_path / "t.sqlite")}},
        ],
    )
    run = run_here(engine, "two")
    assert run.state == RunState.SUCCEEDED, run.errors
    assert [t.name for t in run.tasks] == [
        "users → file",
        "users → sqlite",
        "orders → file",
        "orders → sqlite",
    ]
    assert all(t.state == RunState.SUCCEEDED and t.records == 1000 for t in run.tasks)
    assert run.records == 2000 and run.progress == 1.0
    assert run.results[0] == f"users: 1000 records → {out}/users-{run.id}.jsonl"
    assert len((out / f"orders-{run.id}.jsonl").read_bytes().splitlines()) == 1000


def test_a_failing_sink_fails_its_task_and_the_run_is_partially_succeeded(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    job(
        engine,
        "partial",
        out,
        sinks=[
            {"type": "file", "options": {"base_dir": str(out), "path": "{dataset}.{ext}"}},
            {"type": "sqlite", "name": "broken", "options": {"path": "/proc/nope/x.sqlite"}},
        ],
    )
    run = run_here(engine, "partial")
    assert run.state == RunState.PARTIALLY_SUCCEEDED
    states = {t.name: t.state for t in run.tasks}
    assert states == {"users → file": RunState.SUCCEEDED, "users → broken": RunState.FAILED}
    assert run.errors[0]["task"] == "users → broken"
    assert len((out / "users.jsonl").read_bytes().splitlines()) == 1000
    # every sink failing fails the run
    engine.update_job(
        "partial",
        {
            "name": "partial",
            "datagen": {
                "datasets": ["users"],
                "sinks": [{"type": "sqlite", "options": {"path": "/proc/nope/x.sqlite"}}],
            },
        },
    )
    assert run_here(engine, "partial").state == RunState.FAILED


class SlowSink(sinks_base.Sink):
    type = "slow"
    takes = "bytes"
    seen_made: list[tuple[int, int]] = []

    def write_bytes(self, data: bytes, records: int = 0) -> None:
        time.sleep(0.002)
        self.records += records
        SlowSink.seen_made.append((self.records, FakeGenerator.made))


def test_a_bounded_buffer_makes_a_slow_sink_slow_generation_down(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pl, "make_sink", lambda t, o, c: SlowSink(o, c))
    SlowSink.seen_made = []
    job(engine, "buffered", tmp_path, max_records=5000, use_buffer=True, buffer_size=50)
    run = run_here(engine, "buffered")
    assert run.state == RunState.SUCCEEDED, run.errors
    # generation is never more than the buffer (+ the batch in hand) ahead of the sink
    assert max(made - written for written, made in SlowSink.seen_made) <= 50 * 3


class OrderSink(sinks_base.Sink):
    type = "order"
    takes = "bytes"
    events: list[tuple[str, int]] = []

    def write_bytes(self, data: bytes, records: int = 0) -> None:
        if records:
            OrderSink.events.append(("write", FakeGenerator.made))

    def flush(self) -> None:
        OrderSink.events.append(("flush", FakeGenerator.made))


def test_flush_each_record_delivers_each_record_before_the_next_is_made(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pl, "make_sink", lambda t, o, c: OrderSink(o, c))
    OrderSink.events = []
    job(engine, "each", tmp_path, max_records=20, flush_each_record=True)
    assert run_here(engine, "each").state == RunState.SUCCEEDED
    writes = [e for e in OrderSink.events if e[0] == "write"]
    flushes = [e for e in OrderSink.events if e[0] == "flush"]
    assert [made for _, made in writes] == list(range(1, 21))
    assert len(flushes) >= 20


def test_run_overrides_win_and_are_recorded(engine: Engine, tmp_path: Path) -> None:
    job(engine, "over", tmp_path / "o", max_records=1000)
    run = run_here(engine, "over", options={"max_records": 7, "seed": 9})
    assert run.records == 7
    effective = engine.run_options(run.id)["effective"]
    assert effective["max_records"] == {"value": 7, "from": "run", "configured": 1000}
    assert effective["seed"]["from"] == "run" and effective["locale"]["from"] == "job"
    text = (tmp_path / "o" / f"users-{run.id}.jsonl").read_text()
    assert "users-9-1" in text


def test_to_file_replaces_the_sinks_with_one_file(engine: Engine, tmp_path: Path) -> None:
    job(
        engine,
        "dl",
        tmp_path / "never",
        sinks=[{"type": "sqlite", "options": {"path": "/proc/no"}}],
    )
    target = tmp_path / "download.jsonl"
    run = run_here(engine, "dl", options={"to_file": str(target), "max_records": 3})
    assert run.state == RunState.SUCCEEDED, run.errors
    assert len(target.read_bytes().splitlines()) == 3
    assert not (tmp_path / "never").exists()


def test_a_to_file_that_cannot_be_written_is_refused_before_queueing(
    engine: Engine, tmp_path: Path
) -> None:
    job(engine, "dl", tmp_path / "out")
    missing = tmp_path / "typo" / "deeper" / "x.jsonl"
    with pytest.raises(SpecError) as err:
        engine.queue_run("dl", options={"to_file": str(missing)})
    assert err.value.errors[0].path == "options.to_file"
    assert f"directory {missing.parent} does not exist" in str(err.value)
    with pytest.raises(SpecError, match="is a directory"):
        engine.queue_run("dl", options={"to_file": str(tmp_path)})
    with pytest.raises(SpecError) as err:
        engine.queue_run("dl", options={"treads": 2})
    # The message names what a datagen job takes, not the internal replay_of or args.
    assert "use: max_records, seed, locale, threads, randomize_records, to_file" in str(err.value)
    assert engine.count_runs("dl") == 0
    assert not (tmp_path / "typo").exists()


def test_replay_store_keeps_the_last_n_and_replays_byte_identical(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    job(engine, "rp", out, replay={"enabled": True, "keep": 2})
    runs = [run_here(engine, "rp", options={"seed": i}) for i in (1, 2, 3)]
    stored = sorted(p.name for p in (engine.data_dir / "replay").iterdir())
    assert stored == [str(runs[1].id), str(runs[2].id)]
    replay = engine.replay_run(runs[2].id)
    assert replay.trigger.value == "replay"
    RunWorker(engine.store, engine.data_dir, replay.id).run()
    replayed = engine.get_run(replay.id)
    assert replayed.state == RunState.SUCCEEDED, replayed.errors
    original = (out / f"users-{runs[2].id}.jsonl").read_bytes()
    assert (out / f"users-{replay.id}.jsonl").read_bytes() == original
    assert replayed.records == 1000


def test_replay_into_a_table_sink_parses_the_stored_format(engine: Engine, tmp_path: Path) -> None:
    import sqlite3

    job(engine, "rt", tmp_path / "out", replay={"enabled": True})
    first = run_here(engine, "rt")
    spec = engine.export_job("rt")
    spec["datagen"]["sinks"] = [{"type": "sqlite", "options": {"path": str(tmp_path / "r.sqlite")}}]
    engine.update_job("rt", spec)
    replay = engine.replay_run(first.id)
    RunWorker(engine.store, engine.data_dir, replay.id).run()
    assert engine.get_run(replay.id).state == RunState.SUCCEEDED
    conn = sqlite3.connect(tmp_path / "r.sqlite")
    # The table takes the users dataset's types (id: TEXT, a uuid), whatever the fake
    # generator here puts in it (integers).
    query = "SELECT count(*), max(CAST(id AS INTEGER)) FROM users"
    assert conn.execute(query).fetchone() == (1000, 1000)


def test_cancel_stops_generation_promptly(engine: Engine, tmp_path: Path) -> None:
    job(engine, "huge", tmp_path / "h", max_records=100_000_000)
    run = engine.queue_run("huge")
    worker = RunWorker(engine.store, engine.data_dir, run.id)
    thread = threading.Thread(target=worker.run)
    # signal handlers can only be set from the main thread: run the worker body there instead
    import signal as _signal

    original = _signal.signal
    try:
        _signal.signal = lambda *a: None  # type: ignore[assignment]
        thread.start()
        deadline = time.monotonic() + 10
        while engine.get_run(run.id).records == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        engine.cancel_run(run.id)
        thread.join(timeout=5)
    finally:
        _signal.signal = original  # type: ignore[assignment]
    assert not thread.is_alive()
    assert time.monotonic() - started < 2
    final = engine.get_run(run.id)
    assert final.state == RunState.CANCELLED
    assert 0 < final.records < 100_000_000
    assert final.tasks[0].state == RunState.CANCELLED


def test_replay_of_a_run_without_stored_output_is_not_found(engine: Engine, tmp_path: Path) -> None:
    from jobtui.engine import NotFound

    job(engine, "norp", tmp_path / "o")
    run = run_here(engine, "norp")
    with pytest.raises(NotFound, match="no stored output"):
        engine.replay_run(run.id)
    assert json.loads(json.dumps(run.results))


def test_threads_fall_back_to_one_process_when_the_generator_cannot_split(
    engine: Engine, tmp_path: Path
) -> None:
    job(engine, "thr", tmp_path / "t", threads=2, max_records=100)
    run = run_here(engine, "thr")
    assert run.state == RunState.SUCCEEDED and run.records == 100
    assert engine.find_log(run.id, 0, pattern="cannot start at an offset") is not None


def test_the_worker_knows_first_thing_how_many_helpers_its_run_wants(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read straight from the database before the engine is imported (to start the
    helpers' server early): threads - 1, the run's override first, no more than the CPUs
    allow; none for one thread, flush_each_record, a replay, a command job, a run that is
    not there or no database."""
    from jobtui.engine.datagen import prestart
    from jobtui.engine.datagen.prestart import helpers_wanted

    monkeypatch.setattr(prestart, "usable_cpus", lambda: 8)
    out = tmp_path / "out"
    job(engine, "one", out)
    job(engine, "two", out, threads=2)
    job(engine, "flush", out, threads=4, flush_each_record=True)
    engine.create_job({"name": "cmd", "kind": "command", "command": {"argv": ["true"]}})
    db = str(engine.db_path)

    def wanted(name: str, **options: Any) -> int:
        return helpers_wanted(db, engine.queue_run(name, options=options or None).id)

    assert wanted("one") == 0
    assert wanted("two") == 1
    assert wanted("one", threads=3) == 2
    assert wanted("two", threads=1) == 0
    assert wanted("flush") == 0
    assert wanted("two", replay_of=1) == 0
    assert wanted("cmd") == 0
    assert helpers_wanted(db, 99_999) == 0
    for missing in ("missing.db", "odd?name#.db"):
        assert helpers_wanted(str(tmp_path / missing), 1) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # nothing created
    monkeypatch.setattr(prestart, "usable_cpus", lambda: 1)
    assert wanted("two") == 0


def test_threads_beyond_the_cpus_use_as_many_processes_as_cpus(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """threads: 8 where the run may use 2 CPUs: 2 processes (8 would only compete for
    them), the log says so, and the bytes are those of one process."""
    from jobtui.engine.datagen import parallel, prestart

    monkeypatch.setattr(prestart, "usable_cpus", lambda: 2)
    helpers: list[int] = []
    real_make_pool = parallel.make_pool

    def counted(count: int, *args: Any) -> Any:
        helpers.append(count)
        return real_make_pool(count, *args)

    monkeypatch.setattr(parallel, "make_pool", counted)
    for name, threads in (("eight", 8), ("one", 1)):
        job(engine, name, tmp_path / name, threads=threads, max_records=20_000)
    eight, one = run_here(engine, "eight"), run_here(engine, "one")
    assert eight.state == one.state == RunState.SUCCEEDED
    assert helpers == [1]
    assert engine.find_log(eight.id, 0, pattern="threads: 8 asked, 2 used") is not None
    assert engine.find_log(one.id, 0, pattern="asked") is None
    made = [
        (tmp_path / n / f"users-{r.id}.jsonl").read_bytes()
        for n, r in (("eight", eight), ("one", one))
    ]
    assert made[0] == made[1] and made[0].count(b"\n") == 20_000

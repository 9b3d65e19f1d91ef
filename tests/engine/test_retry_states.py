"""Retry states (issue 16.8): `attempts` counts every try; an attempt whose retry is queued,
or will never be, goes back to the state it ended in and names its retry; no run stays
`retrying`. Driven by a ManualClock daemon (no processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jobtui.cli import cli
from jobtui.engine import Engine, ManualClock
from jobtui.engine.schedule.daemon import Daemon
from jobtui.engine.store.db import _split_sql
from jobtui.engine.store.schema import V3_RETRIED_AS


@pytest.fixture
def eng(data_dir: Path, clock: ManualClock) -> Iterator[Engine]:
    engine = Engine.open(data_dir=data_dir, clock=clock)
    yield engine
    engine.close()


def make_job(engine: Engine, attempts: int) -> None:
    engine.create_job(
        {
            "name": "flaky",
            "kind": "command",
            "command": {"argv": ["false"]},
            "policies": {"retry": {"attempts": attempts, "delay": "10s"}},
        }
    )


def start(engine: Engine) -> Daemon:
    daemon = engine.make_daemon(use_scheduler=False, supervise=False, ensure_system_jobs=None)
    daemon.acquire()
    daemon.startup()
    return daemon


def rows(engine: Engine) -> list[dict[str, Any]]:
    return [dict(r) for r in engine.store.query("SELECT * FROM runs ORDER BY id")]


def fail_active(engine: Engine, state: str = "failed") -> int:
    """End the job's one queued run as `state` (its worker's report); its id."""
    (run_id,) = [r["id"] for r in rows(engine) if r["state"] == "queued"]
    now = engine.now()
    engine.store.execute(
        "UPDATE runs SET state = ?, started_at = ?, ended_at = ?, error = 'exit code 1' "
        "WHERE id = ?",
        (state, now, now, run_id),
    )
    return int(run_id)


def cli_out(data_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(
        cli, list(args), env={"JOBTUI_DATA_DIR": str(data_dir), "JOBTUI_DB": None}
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(("attempts", "executions"), [(0, 1), (1, 1), (2, 2), (4, 4)])
def test_attempts_counts_every_try(
    eng: Engine, clock: ManualClock, attempts: int, executions: int
) -> None:
    make_job(eng, attempts)
    daemon = start(eng)
    eng.queue_run("flaky")
    for _ in range(10):
        if any(r["state"] == "queued" for r in rows(eng)):
            fail_active(eng, "interrupted")
        daemon.step()
        clock.advance(11)
        daemon.step()
    assert len(rows(eng)) == executions
    assert [r["attempt"] for r in rows(eng)] == list(range(1, executions + 1))
    assert {r["state"] for r in rows(eng)} == {"interrupted"}  # none left retrying
    titles = [r["title"] for r in rows(eng)][1:]
    ids = [r["id"] for r in rows(eng)]
    assert titles == [
        f"attempt {n} of {attempts}: retry of run {ids[n - 2]}" for n in range(2, executions + 1)
    ]


def test_superseded_attempt_is_listed_by_its_state_and_names_its_retry(
    eng: Engine, clock: ManualClock, data_dir: Path
) -> None:
    make_job(eng, 2)
    daemon = start(eng)
    eng.queue_run("flaky")
    first = fail_active(eng, "interrupted")
    daemon.step()
    assert eng.get_run(first).state.value == "retrying"  # while its retry waits
    clock.advance(10)
    daemon.step()
    retry = rows(eng)[-1]["id"]
    assert eng.get_run(first).state.value == "interrupted"
    assert "retried as run" in "\n".join(line.message for line in eng.read_log(first))

    listed = cli_out(data_dir, "runs", "list", "--state", "interrupted")
    assert f"\n{first} " in "\n" + listed
    shown = cli_out(data_dir, "runs", "show", str(first))
    assert "state:       interrupted" in shown
    assert f"retried as:  run {retry}" in shown
    assert f"retry of:    run {first}" in cli_out(data_dir, "runs", "show", str(retry))


@pytest.mark.parametrize(("change", "why"), [("pause", "paused"), ("delete", "deleted")])
def test_a_dropped_retry_leaves_the_attempt_in_its_state_saying_why(
    eng: Engine, clock: ManualClock, change: str, why: str
) -> None:
    make_job(eng, 3)
    daemon = start(eng)
    eng.queue_run("flaky")
    first = fail_active(eng)
    daemon.step()
    assert eng.get_run(first).state.value == "retrying"
    if change == "pause":
        eng.pause_job("flaky")
    else:
        eng.delete_job("flaky")
    clock.advance(10)
    daemon.step()
    run = eng.get_run(first)
    assert run.state.value == "failed"
    assert run.retried_as is None
    assert f"not retried: its job {'is' if why == 'paused' else 'was'} {why}" in (run.error or "")
    assert len(rows(eng)) == 1


def test_a_run_left_retrying_by_an_older_daemon_gets_its_state_back(
    eng: Engine, clock: ManualClock
) -> None:
    make_job(eng, 3)
    eng.queue_run("flaky")
    first = fail_active(eng, "interrupted")
    # What earlier code left behind: marked retrying, its retry taken but never queued.
    eng.store.execute("UPDATE runs SET state = 'retrying', retry_at = NULL WHERE id = ?", (first,))
    start(eng).step()
    run = eng.get_run(first)
    assert run.state.value == "interrupted"
    assert "not retried" in (run.error or "")


def test_the_migration_gives_runs_stuck_retrying_their_state_back(data_dir: Path) -> None:
    """The migration of the fix repairs the runs an older jobtui left stuck; a retry still
    to come is left alone."""
    engine = Engine.open(data_dir=data_dir)
    make_job(engine, 3)
    stuck, pending = engine.queue_run("flaky").id, engine.queue_run("flaky").id
    for run_id, state, retry_at in ((stuck, "interrupted", None), (pending, "failed", 9e9)):
        engine.store.execute(
            "UPDATE runs SET state = ?, ended_at = 1 WHERE id = ?", (state, run_id)
        )
        engine.store.execute(
            "UPDATE runs SET state = 'retrying', retry_at = ? WHERE id = ?", (retry_at, run_id)
        )
    # Replay that migration over the stuck rows (later migrations cannot be undone here).
    conn = engine.store.conn
    conn.execute("DROP INDEX runs_retry_of")
    for statement in _split_sql(V3_RETRIED_AS):
        conn.execute(statement)
    conn.commit()
    engine.close()

    reopened = Engine.open(data_dir=data_dir)
    try:
        assert reopened.get_run(stuck).state.value == "interrupted"
        assert reopened.get_run(pending).state.value == "retrying"
    finally:
        reopened.close()

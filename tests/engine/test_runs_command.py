"""Command jobs through real worker processes: output, exit codes, env, cancel, timeout."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from jobtui.engine import Conflict, Engine, NotFound, RunState, SpecError
from jobtui.engine.run.local import local_supervisor

from .runs_helpers import (
    STOP_GRACE,
    command_job,
    live_members,
    run_to_end,
    start_running,
    tick_until_final,
    wait_until,
)


def test_output_is_captured_line_by_line_with_its_stream(engine: Engine) -> None:
    command_job(engine, "echo", ["sh", "-c", "echo one; echo two >&2; echo three"])
    run = run_to_end(engine, "echo")
    assert run.state == RunState.SUCCEEDED
    lines = engine.read_log(run.id)
    output = [(line.stream, line.message) for line in lines if line.stream != "engine"]
    assert ("stdout", "one") in output and ("stdout", "three") in output
    assert ("stderr", "two") in output
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    # The command line is logged quoted, as it could be pasted into a shell.
    assert "$ sh -c 'echo one; echo two >&2; echo three'" in [line.message for line in lines]
    assert run.pid is not None and run.started_at is not None and run.ended_at is not None
    # Its worker wrote nothing to stderr: no empty file of it is left per run.
    assert list((engine.data_dir / "workers").iterdir()) == []


def test_the_run_records_when_its_worker_began_executing(engine: Engine) -> None:
    # Claimed (started_at) before the worker exists; executing_at is stamped by the worker
    # itself right before the command, so fire -> executing is what a user waits.
    command_job(engine, "stamp", ["true"])
    run = run_to_end(engine, "stamp")
    assert run.state == RunState.SUCCEEDED
    assert run.started_at is not None and run.executing_at is not None
    assert run.ended_at is not None
    assert run.started_at <= run.executing_at <= run.ended_at


def test_exit_code_decides_the_state_and_is_stored(engine: Engine) -> None:
    command_job(engine, "fails", ["sh", "-c", "exit 3"])
    run = run_to_end(engine, "fails")
    assert run.state == RunState.FAILED
    assert "exited with code 3" in (run.error or "")
    assert run.errors and "code 3" in run.errors[0]["message"]


def test_env_secrets_parameters_cwd_and_closed_stdin(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBTUI_TEST_SECRET", "s3cret")
    command_job(
        engine,
        "envy",
        ['echo "$TOKEN $JOBTUI_PARAM_REGION $(pwd)"; cat; echo "stdin:$?"'],
        shell=True,
        env={"TOKEN": "env:JOBTUI_TEST_SECRET"},
        cwd=str(tmp_path),
        parameters={"region": {"type": "choice", "choices": ["eu", "us"], "default": "eu"}},
    )
    run = run_to_end(engine, "envy", parameters={"region": "us"})
    assert run.state == RunState.SUCCEEDED, run.error
    assert run.parameters == {"region": "us"}
    out = [line.message for line in engine.read_log(run.id, streams=["stdout"])]
    # The command got the secret; the stored log shows it masked.
    assert out[0] == f"•••••• us {tmp_path}"
    assert out[1] == "stdin:0"  # stdin is /dev/null: cat ends at once
    # the spec keeps the reference, never the secret
    assert "s3cret" not in str(engine.get_job("envy").spec)


def test_a_missing_secret_fails_the_run_with_a_reason(engine: Engine) -> None:
    command_job(engine, "nosecret", ["true"], env={"X": "env:JOBTUI_NOT_SET_ANYWHERE"})
    run = run_to_end(engine, "nosecret")
    assert run.state == RunState.FAILED
    assert "JOBTUI_NOT_SET_ANYWHERE is not set" in (run.error or "")


def test_a_missing_variable_names_the_daemon_whose_environment_the_run_has(
    engine: Engine,
) -> None:
    # Set in the shell that queued the run, it does not reach a run the daemon starts.
    command_job(engine, "daemonic", ["true"], env={"X": "env:JOBTUI_NOT_SET_ANYWHERE"})
    run = engine.queue_run("daemonic")
    supervisor = local_supervisor(
        engine.store,
        engine.data_dir,
        engine.clock,
        only_runs={run.id},
        started_by="the daemon (pid 4242)",
    )
    final = tick_until_final(supervisor, engine, run.id, timeout=30)
    assert final.state == RunState.FAILED
    assert (
        "environment variable JOBTUI_NOT_SET_ANYWHERE is not set in the environment of the "
        "daemon (pid 4242), which started this run"
    ) in (final.error or "")


def test_parameters_are_validated_when_queued(engine: Engine) -> None:
    command_job(
        engine,
        "typed",
        ["true"],
        parameters={
            "n": {"type": "integer", "default": 1},
            "who": {"type": "string", "required": True},
        },
    )
    with pytest.raises(SpecError) as err:
        engine.queue_run("typed", parameters={"n": "many", "zzz": 1})
    text = str(err.value)
    assert "parameters.n" in text and "parameters.zzz" in text and "parameters.who" in text
    run = engine.queue_run("typed", parameters={"n": "7", "who": "me"})
    assert run.parameters == {"n": 7, "who": "me"}
    assert engine.count_runs("typed") == 1


def test_custom_args_override_the_configured_ones(engine: Engine) -> None:
    command_job(engine, "args", ["echo", "configured"])
    run = run_to_end(engine, "args", options={"args": ["from", "run"]})
    assert [line.message for line in engine.read_log(run.id, streams=["stdout"])] == ["from run"]
    assert engine.run_options(run.id)["args"] == ["from", "run"]
    assert engine.find_log(run.id, 0, pattern="run override") is not None


def test_cancel_kills_the_whole_tree_of_a_forking_command(engine: Engine) -> None:
    command_job(engine, "forky", ["sleep 100 & sleep 100 & (sleep 100; true) & wait"], shell=True)
    run = engine.queue_run("forky")
    supervisor = start_running(engine, run.id)
    pgid = engine.get_run(run.id).pgid
    assert pgid is not None
    wait_until(lambda: len(live_members(pgid)) >= 4)  # worker, sh, sleeps
    started = time.monotonic()
    assert engine.cancel_run(run.id).state == RunState.CANCELLING

    tick_until_final(supervisor, engine, run.id, timeout=2 + STOP_GRACE)
    assert time.monotonic() - started < 2 + STOP_GRACE
    assert engine.get_run(run.id).state == RunState.CANCELLED
    wait_until(lambda: not live_members(pgid), timeout=10)


def test_timeout_fails_the_run_with_the_reason_and_kills_the_tree(engine: Engine) -> None:
    command_job(engine, "slow", ["sleep 60 & wait"], shell=True, policies={"timeout": "1s"})
    run = run_to_end(engine, "slow", timeout=60)
    assert run.state == RunState.FAILED
    assert "timed out after" in (run.error or "")
    assert run.pgid is not None
    wait_until(lambda: not live_members(run.pgid), timeout=10)  # type: ignore[arg-type]


def test_a_dead_worker_is_found_and_marked_interrupted(engine: Engine) -> None:
    command_job(engine, "victim", ["sleep 100 & wait"], shell=True)
    run = engine.queue_run("victim")
    start_running(engine, run.id)
    row = engine.get_run(run.id)
    assert row.pid is not None and row.pgid is not None
    os.kill(row.pid, signal.SIGKILL)
    # A fresh supervisor (a restarted daemon) knows nothing of this worker: it reads rows.
    fresh = local_supervisor(engine.store, engine.data_dir, engine.clock, only_runs={run.id})
    finished: list[int] = []
    fresh.on_run_finished = lambda r: finished.append(r.id)

    tick_until_final(fresh, engine, run.id, timeout=5)
    final = engine.get_run(run.id)
    assert final.state == RunState.INTERRUPTED
    assert "died" in (final.error or "")
    assert finished == [run.id]
    wait_until(lambda: not live_members(row.pgid), timeout=10)  # type: ignore[arg-type]


def test_a_restarted_supervisor_adopts_a_live_worker(engine: Engine, tmp_path: Path) -> None:
    # The command ends only once the adopter has seen it running (with a fixed sleep, a
    # slow first look could come after the end).
    go = tmp_path / "go"
    command_job(engine, "adopt", [f"while [ ! -e {go} ]; do sleep 0.02; done"], shell=True)
    run = engine.queue_run("adopt")
    start_running(engine, run.id)
    adopter = local_supervisor(
        engine.store, engine.data_dir, engine.clock
    )  # knows nothing of the worker
    done: list[int] = []
    adopter.on_run_finished = lambda r: done.append(r.id)
    adopter.tick()
    go.touch()

    tick_until_final(adopter, engine, run.id, timeout=10)
    assert engine.get_run(run.id).state == RunState.SUCCEEDED
    assert done == [run.id]


def test_cancel_of_a_queued_run_is_immediate_and_of_an_ended_one_refused(engine: Engine) -> None:
    command_job(engine, "q", ["true"])
    run = engine.queue_run("q", title="nightly")
    assert run.state == RunState.QUEUED and run.title == "nightly"
    assert engine.cancel_run(run.id).state == RunState.CANCELLED
    with pytest.raises(Conflict):
        engine.cancel_run(run.id)
    with pytest.raises(NotFound):
        engine.cancel_run(99999)


def test_missed_and_skipped_fires_are_recorded_ended(engine: Engine) -> None:
    command_job(engine, "m", ["true"])
    run = engine.queue_run("m", trigger="schedule", state="missed", scheduled_for=1_700_000_000)
    assert run.state == RunState.MISSED and run.ended_at is not None
    assert engine.get_job("m").last_run is None  # history, not status
    assert [r.id for r in engine.list_runs("m", states=["missed"])] == [run.id]


def test_since_defaults_to_the_start_of_the_last_success_and_resets(engine: Engine) -> None:
    command_job(engine, "inc", ['echo "since=$JOBTUI_SINCE"'], shell=True)
    first = run_to_end(engine, "inc")
    assert first.since is None
    second = engine.queue_run("inc")
    assert second.since == first.started_at
    engine.cancel_run(second.id)
    engine.reset_offset("inc")
    assert engine.queue_run("inc").since is None
    explicit = engine.queue_run("inc", since="2026-01-02T03:04:05+00:00")
    assert explicit.since is not None and explicit.since.year == 2026

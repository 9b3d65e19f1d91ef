"""`jobtui run`, `logs`, `runs …` and `jobs reset-offset` through the real command line."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jobtui.cli import cli
from jobtui.engine import Engine


def jobtui(data_dir: Path, *args: str) -> Result:
    """The real command, in-process (each call opens its own engine, as a shell would)."""
    runner = CliRunner()
    return runner.invoke(cli, list(args), env={"JOBTUI_DATA_DIR": str(data_dir), "JOBTUI_DB": None})


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    engine = Engine.open(data_dir=data_dir)
    engine.create_job(
        {
            "name": "hello",
            "kind": "command",
            "parameters": {"who": {"type": "string", "default": "world"}},
            "command": {"argv": ['echo "hello $JOBTUI_PARAM_WHO"; echo warn >&2'], "shell": True},
        }
    )
    engine.create_job({"name": "boom", "kind": "command", "command": {"argv": ["false"]}})
    engine.close()
    return data_dir


def test_run_queues_and_prints_the_id_then_wait_supervises_without_a_daemon(setup: Path) -> None:
    queued = jobtui(setup, "run", "hello")
    assert queued.exit_code == 0, queued.stderr
    run_id = int(queued.stdout.strip())
    assert f"run {run_id} waits in the queue: no daemon is running" in queued.stderr
    listed = json.loads(jobtui(setup, "runs", "list", "hello", "--json").stdout)
    assert [(r["id"], r["state"]) for r in listed] == [(run_id, "queued")]
    assert jobtui(setup, "runs", "cancel", str(run_id)).exit_code == 0

    done = jobtui(setup, "run", "hello", "--param", "who=cli", "--title", "by hand", "--wait")
    assert done.exit_code == 0, done.stderr
    assert "succeeded" in done.stderr
    shown = json.loads(jobtui(setup, "runs", "show", str(run_id + 1), "--json").stdout)
    assert shown["state"] == "succeeded" and shown["title"] == "by hand"
    assert shown["parameters"] == {"who": "cli"}

    logs = jobtui(setup, "logs", str(run_id + 1))
    assert "hello cli" in logs.stdout and "stderr" in logs.stdout
    assert jobtui(setup, "logs", str(run_id + 1), "--grep", "^warn$").stdout.count("\n") == 1
    assert jobtui(setup, "logs", str(run_id + 1), "--tail", "1").stdout.count("\n") == 1
    assert jobtui(setup, "logs", str(run_id + 1), "--level", "error").stdout == ""


def test_wait_exits_1_on_failure_and_follow_prints_the_log(setup: Path, tmp_path: Path) -> None:
    failed = jobtui(setup, "run", "boom", "--wait")
    assert failed.exit_code == 1
    assert "failed" in failed.stderr + failed.stdout
    # The reason is said once, in the summary line, not again as a result above it.
    assert (failed.stderr + failed.stdout).count("false exited with code 1") == 1
    followed = jobtui(setup, "run", "hello", "--follow")
    assert followed.exit_code == 0
    assert "hello world" in followed.stdout
    saved = tmp_path / "saved.log"
    result = jobtui(setup, "logs", "2", "--save", str(saved))
    assert result.exit_code == 0 and "hello world" in saved.read_text()


def test_errors_are_one_line_with_exit_codes(setup: Path) -> None:
    missing = jobtui(setup, "run", "nope")
    assert missing.exit_code == 3 and missing.stderr.startswith("error:")
    bad = jobtui(setup, "run", "hello", "--param", "zzz=1")
    assert bad.exit_code == 2 and "parameters.zzz" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert jobtui(setup, "runs", "show", "999").exit_code == 3
    assert jobtui(setup, "logs", "999").exit_code == 3
    assert jobtui(setup, "runs", "replay", "999").exit_code == 3
    assert jobtui(setup, "jobs", "reset-offset", "hello").exit_code == 0


def test_a_running_run_shows_how_long_it_has_run_so_far(setup: Path) -> None:
    run_id = int(jobtui(setup, "run", "hello").stdout.strip())
    engine = Engine.open(data_dir=setup)
    # As a worker would have it: started 75 s ago, not ended.
    engine.store.execute(
        "UPDATE runs SET state = 'running', started_at = ? WHERE id = ?",
        (engine.now() - 75, run_id),
    )
    engine.close()
    listed = jobtui(setup, "runs", "list", "hello").stdout
    assert "1m15s so far" in listed or "1m16s so far" in listed
    shown = jobtui(setup, "runs", "show", str(run_id)).stdout
    assert "so far" in shown


def test_replay_wait_reports_like_run_wait(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    out = tmp_path / "out"
    engine = Engine.open(data_dir=data_dir)
    engine.create_job(
        {
            "name": "kept",
            "datagen": {
                "datasets": ["users"],
                "max_records": 50,
                "seed": 3,
                "replay": {"enabled": True, "keep": 1},
                "sinks": [{"type": "file", "options": {"base_dir": str(out)}}],
            },
        }
    )
    engine.close()
    first = jobtui(data_dir, "run", "kept", "--wait")
    assert first.exit_code == 0, first.stderr
    replayed = jobtui(data_dir, "runs", "replay", "1", "--wait")
    assert replayed.exit_code == 0, replayed.stderr
    # The result lines on stdout, the summary on stderr, as `run --wait` prints them.
    assert replayed.stdout == f"users: 50 records → {out / 'kept' / 'users-2.jsonl'}\n"
    assert "run 2 succeeded" in replayed.stderr
    assert (out / "kept" / "users-2.jsonl").read_bytes() == (
        out / "kept" / "users-1.jsonl"
    ).read_bytes()


def test_following_a_queued_run_says_when_no_daemon_will_start_it(setup: Path) -> None:
    run_id = int(jobtui(setup, "run", "hello").stdout.strip())
    # The follower waits for the run's end: cancel it from elsewhere once it is waiting.
    other = Engine.open(data_dir=setup)
    cancel = threading.Timer(0.3, other.cancel_run, args=(run_id,))
    cancel.start()
    try:
        followed = jobtui(setup, "logs", str(run_id), "--follow")
    finally:
        cancel.join()
        other.close()
    assert followed.exit_code == 0
    assert followed.stderr == (
        f"run {run_id} waits in the queue: no daemon is running (start one with "
        "`jobtui daemon start`)\n"
    )


def test_a_command_runs_records_read_as_not_applicable_not_zero(setup: Path) -> None:
    """A command job delivers no records: its runs say "—" where a data run says how many
    (JSON keeps the number, 0, for scripts)."""
    done = jobtui(setup, "run", "hello", "--wait")
    assert done.exit_code == 0, done.stderr
    listed = jobtui(setup, "runs", "list", "hello").stdout.splitlines()
    header, row = listed[0].split(), listed[-1].split()
    # No host, no title: the records column is the last one shown.
    assert header[6] == "RECORDS" and row[-1] == "—", listed
    shown = jobtui(setup, "runs", "show", "1").stdout.splitlines()
    assert [line.split() for line in shown if line.startswith("records")] == [["records:", "—"]]
    assert json.loads(jobtui(setup, "runs", "list", "hello", "--json").stdout)[0]["records"] == 0
    jobs_row = next(
        line for line in jobtui(setup, "jobs", "list").stdout.splitlines() if "hello" in line
    )
    assert jobs_row.rstrip().endswith("—"), jobs_row

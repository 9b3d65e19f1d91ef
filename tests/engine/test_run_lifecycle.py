"""One run lifecycle (issue 15): a run is claimed once and finished once, every step of its
state is recorded once, and its post-run (retry, alert) is applied exactly once and never
dropped. Real worker processes under an in-process daemon; a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jobtui.cli import cli
from jobtui.engine import Engine, ManualClock, RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.schedule.daemon import Daemon

from .runs_helpers import wait_until
from .test_alerts import Inbox, smtp_server, wait_for

__all__ = ["smtp_server"]  # the fixture, shared with test_alerts


def history(engine: Engine, run_id: int) -> list[tuple[str | None, str]]:
    return [
        (t.from_state.value if t.from_state else None, t.to_state.value)
        for t in engine.get_run(run_id).transitions
    ]


def running_sleeper(
    engine: Engine, daemon: Daemon, smtp_server: tuple[int, Inbox], alert_on: str
) -> tuple[Inbox, Any]:
    """A `sleep 100` job (retried once, alerting on `alert_on`), its run started by the
    daemon; (the inbox, the running run)."""
    port, inbox = smtp_server
    engine.set_smtp_settings(host="127.0.0.1", port=port, sender="jobtui@example.com")
    engine.create_job(
        {
            "name": "sleeper",
            "kind": "command",
            "command": {"argv": ["sleep", "100"]},
            "policies": {"retry": {"attempts": 2, "delay": "1s"}},
            "alerts": {"emails": ["ops@example.com"], "on": [alert_on]},
        }
    )
    run_id = engine.queue_run("sleeper").id
    return inbox, running_with_pid(engine, daemon, run_id)


@pytest.fixture
def daemon(engine: Engine) -> Iterator[Daemon]:
    d = engine.make_daemon(use_scheduler=False, ensure_system_jobs=None, grace=2.0)
    d.acquire()
    d.startup()
    yield d
    if d.supervisor is not None:
        d.supervisor.stop_all(grace=1.0)
    if d._alerts is not None:
        d._alerts.close()
    d.release()


def running_with_pid(engine: Engine, daemon: Daemon, run_id: int) -> Any:
    def started() -> Any:
        daemon.step()
        run = engine.get_run(run_id)
        return run if run.state == RunState.RUNNING and run.pid and run.heartbeat_at else None

    return wait_until(started, timeout=20)


def step_until(daemon: Daemon, condition: Callable[[], bool]) -> None:
    """Step the daemon until `condition`, then five passes more and a second look at ended
    runs (which must change nothing), and let the mail go out."""

    def reached() -> bool:
        daemon.step()
        return condition()

    wait_until(reached, timeout=20)
    for _ in range(5):
        daemon.step()
    daemon.process_finished()
    daemon._alerts.close()


def retries_of(engine: Engine, run_id: int) -> list[int]:
    return [r.id for r in engine.list_runs("sleeper", triggers=["retry"]) if r.id != run_id]


def test_a_killed_worker_is_interrupted_then_retried_once_and_alerted_once(
    engine: Engine, daemon: Daemon, smtp_server: tuple[int, Inbox]
) -> None:
    inbox, run = running_sleeper(engine, daemon, smtp_server, alert_on="interrupted")
    run_id = run.id
    os.kill(run.pid, signal.SIGKILL)

    step_until(daemon, lambda: bool(retries_of(engine, run_id)))

    final = engine.get_run(run_id)
    assert final.state == RunState.INTERRUPTED  # its retry queued: back to its real end
    assert "died" in (final.error or "")
    assert history(engine, run_id) == [
        (None, "queued"),
        ("queued", "running"),
        ("running", "interrupted"),
        ("interrupted", "retrying"),
        ("retrying", "interrupted"),
    ]
    assert retries_of(engine, run_id) == [final.retried_as]
    assert run_id in [r.id for r in engine.list_runs("sleeper", states=["interrupted"])]
    wait_for(inbox, 1)
    assert len(inbox.messages) == 1
    assert f"run {run_id} interrupted" in inbox.messages[0]["Subject"]


def test_a_cancelled_run_is_cancelled_once_not_retried_and_alerted_once(
    engine: Engine, daemon: Daemon, smtp_server: tuple[int, Inbox]
) -> None:
    inbox, run = running_sleeper(engine, daemon, smtp_server, alert_on="cancelled")
    run_id = run.id
    assert engine.cancel_run(run_id).state == RunState.CANCELLING

    step_until(daemon, lambda: engine.get_run(run_id).state.is_final)

    assert engine.get_run(run_id).state == RunState.CANCELLED
    assert history(engine, run_id) == [
        (None, "queued"),
        ("queued", "running"),
        ("running", "cancelling"),
        ("cancelling", "cancelled"),
    ]
    assert retries_of(engine, run_id) == []
    wait_for(inbox, 1)
    assert len(inbox.messages) == 1
    assert f"run {run_id} cancelled" in inbox.messages[0]["Subject"]


def test_a_run_whose_spec_cannot_be_read_says_why_and_still_alerts(
    data_dir: Path,
    clock: ManualClock,
    smtp_server: tuple[int, Inbox],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, inbox = smtp_server
    engine = Engine.open(data_dir=data_dir, clock=clock)
    try:
        engine.set_smtp_settings(host="127.0.0.1", port=port, sender="jobtui@example.com")
        spec = {
            "name": "broken",
            "kind": "command",
            "command": {"argv": ["false"]},
            "policies": {"retry": {"attempts": 3, "delay": "1s"}},
            "alerts": {"emails": ["ops@example.com"], "on": ["failed"]},
        }
        engine.create_job(spec)
        d = engine.make_daemon(use_scheduler=False, supervise=False, ensure_system_jobs=None)
        d.acquire()
        d.startup()
        run_id = engine.queue_run("broken").id
        now = engine.now()
        # The run fails; meanwhile its job's stored spec became unreadable (a hand edit, an
        # older jobtui's spec): its retry policy cannot be known, its alerts still can.
        spec["policies"] = {"retry": "three times"}
        engine.store.execute(
            "UPDATE runs SET state = 'failed', started_at = ?, ended_at = ?, error = ? "
            "WHERE id = ?",
            (now, now, "exit code 1", run_id),
        )
        engine.store.execute("UPDATE jobs SET spec = ? WHERE name = 'broken'", (json.dumps(spec),))
        with caplog.at_level(logging.WARNING, logger="jobtui.daemon"):
            d.step()
            d.step()
            d.process_finished()
        d._alerts.close()
        d.release()

        run = engine.get_run(run_id)
        assert run.state == RunState.FAILED  # no retry: its policy could not be read
        assert run.error is not None and run.error.startswith("exit code 1; the job's spec")
        assert "cannot be read" in run.errors[-1]["message"]
        assert f"run {run_id}: the job's spec cannot be read" in caplog.text
        wait_for(inbox, 1)
        assert len(inbox.messages) == 1
        assert "cannot be read" in inbox.messages[0].get_payload()
    finally:
        engine.close()


def test_only_one_claim_wins_and_a_run_ends_once(engine: Engine) -> None:
    engine.create_job({"name": "once", "kind": "command", "command": {"argv": ["true"]}})
    run_id = engine.queue_run("once").id
    now = engine.now()
    assert lifecycle.claim(engine.store, run_id, now) is True
    assert lifecycle.claim(engine.store, run_id, now) is False
    assert lifecycle.finish(engine.store, run_id, now, RunState.FAILED, "first") is True
    assert lifecycle.finish(engine.store, run_id, now, RunState.INTERRUPTED, "second") is False
    run = engine.get_run(run_id)
    assert (run.state, run.error) == (RunState.FAILED, "first")
    assert history(engine, run_id) == [
        (None, "queued"),
        ("queued", "running"),
        ("running", "failed"),
    ]


def test_runs_show_json_has_the_state_history(engine: Engine, data_dir: Path) -> None:
    engine.create_job({"name": "shown", "kind": "command", "command": {"argv": ["true"]}})
    run_id = engine.queue_run("shown").id
    engine.cancel_run(run_id)
    result = CliRunner().invoke(
        cli,
        ["runs", "show", str(run_id), "--json"],
        env={"JOBTUI_DATA_DIR": str(data_dir), "JOBTUI_DB": None},
    )
    assert result.exit_code == 0, result.output
    steps = [(t["from_state"], t["to_state"]) for t in json.loads(result.output)["transitions"]]
    assert steps == [(None, "queued"), ("queued", "cancelled")]

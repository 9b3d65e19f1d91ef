"""Alerts through a real SMTP server started in the test (aiosmtpd)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, InvalidInput, ManualClock
from jobtui.engine.model.spec import Alerts
from jobtui.engine.schedule.alerts import decide, smtp_settings
from jobtui.engine.schedule.daemon import Daemon


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
def eng(data_dir: Path, clock: ManualClock) -> Iterator[Engine]:
    engine = Engine.open(data_dir=data_dir, clock=clock)
    yield engine
    engine.close()


def alerting_job(engine: Engine) -> None:
    engine.create_job(
        {
            "name": "nightly",
            "kind": "command",
            "command": {"argv": ["false"]},
            "alerts": {
                "emails": ["ops@example.com"],
                "on": ["failed"],
                "after_consecutive_failures": 3,
                "on_recovery": True,
            },
        }
    )


def finish(engine: Engine, daemon: Daemon, state: str) -> int:
    run = engine.queue_run("nightly")
    now = engine.now()
    engine.store.execute(
        "UPDATE runs SET state = ?, started_at = ?, ended_at = ?, error = ? WHERE id = ?",
        (state, now, now, "exit code 1" if state == "failed" else None, run.id),
    )
    daemon.step()
    return run.id


def wait_for(inbox: Inbox, n: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(inbox.messages) < n and time.monotonic() < deadline:
        time.sleep(0.02)


def test_alert_after_third_consecutive_failure_only_and_once_on_recovery(
    eng: Engine, smtp_server: tuple[int, Inbox]
) -> None:
    port, inbox = smtp_server
    eng.set_smtp_settings(host="127.0.0.1", port=port, sender="jobtui@example.com")
    alerting_job(eng)
    daemon = eng.make_daemon(use_scheduler=False, supervise=False)
    daemon.acquire()
    daemon.startup()
    finish(eng, daemon, "failed")
    finish(eng, daemon, "failed")
    time.sleep(0.3)
    assert inbox.messages == []
    third = finish(eng, daemon, "failed")
    wait_for(inbox, 1)
    assert len(inbox.messages) == 1
    alert = inbox.messages[0]
    assert f"run {third} failed" in alert["Subject"]
    assert alert["To"] == "ops@example.com"
    assert "Consecutive failures: 3" in alert.get_payload()
    finish(eng, daemon, "succeeded")
    wait_for(inbox, 2)
    assert len(inbox.messages) == 2
    assert "recovered" in inbox.messages[1]["Subject"]
    finish(eng, daemon, "succeeded")  # recovery is announced once
    daemon._alerts.close()
    assert len(inbox.messages) == 2


def test_a_failing_mail_server_is_logged_and_never_breaks_a_run(
    eng: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    eng.set_smtp_settings(host="127.0.0.1", port=free_port())  # nobody listens there
    eng.create_job(
        {
            "name": "nightly",
            "kind": "command",
            "command": {"argv": ["false"]},
            "alerts": {"emails": ["ops@example.com"], "on": ["failed"]},
        }
    )
    daemon = eng.make_daemon(use_scheduler=False, supervise=False)
    daemon.acquire()
    daemon.startup()
    with caplog.at_level("WARNING", logger="jobtui.alerts"):
        run_id = finish(eng, daemon, "failed")
        daemon._alerts.close()
    assert eng.get_run(run_id).state.value == "failed"
    assert daemon._alerts.failed == 1
    assert "not sent" in caplog.text


def test_decide_thresholds() -> None:
    rules = Alerts(emails=["a@b.io"], on=["failed"], after_consecutive_failures=2, on_recovery=True)
    assert decide(rules, "failed", []) is None
    assert decide(rules, "failed", ["failed"]) == "alert"
    assert decide(rules, "failed", ["succeeded", "failed"]) is None
    assert decide(rules, "succeeded", ["failed", "retrying"]) == "recovery"
    assert decide(rules, "succeeded", ["failed", "succeeded"]) is None
    assert decide(rules, "succeeded", ["succeeded"]) is None
    quiet = Alerts(emails=[], on=["failed"])
    assert decide(quiet, "failed", ["failed"] * 5) is None


def test_smtp_settings_secret_references_and_env_override(
    eng: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidInput, match="secret reference"):
        eng.set_smtp_settings(host="mail.example.com", password="hunter2")
    saved = eng.set_smtp_settings(
        host="mail.example.com", port=587, starttls="1", user="bot", password="env:SMTP_PW"
    )
    assert saved is not None
    assert saved["password"] == "env:SMTP_PW" and saved["starttls"] is True
    monkeypatch.setenv("JOBTUI_SMTP_HOST", "other.example.com")
    current = smtp_settings(eng.store)
    assert current is not None and current.host == "other.example.com" and current.port == 587

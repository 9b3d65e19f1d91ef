"""Resolved secret values reach none of the files and messages beside the database
(issue 16, point 5's leftovers): a worker's own `workers/run-N.log`, the daemon's log, an
alert mail."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine
from jobtui.engine.model.secrets import MASK, forget_secrets, remember_secret

from .runs_helpers import run_to_end

TOKEN = "tok-Zq8xK2vT-9931"


@pytest.fixture(autouse=True)
def _forget() -> Any:
    yield
    forget_secrets()


def test_a_workers_own_log_file_masks_the_secrets_it_resolved(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBTUI_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    engine.create_job(
        {
            "name": "leaky",
            "kind": "pipeline",
            "pipeline": {
                "readers": [{"type": "datagen", "options": {"dataset": "users", "records": 2}}],
                "transformers": [
                    {"type": "python", "options": {"function": "tests.engine.secret_printer.shout"}}
                ],
                "writers": [
                    {
                        "type": "http",
                        "options": {
                            "url": "http://127.0.0.1:1/in",
                            "headers": {"X-Token": "env:JOBTUI_TEST_TOKEN"},
                            "retries": 0,
                        },
                    }
                ],
            },
        }
    )
    run = run_to_end(engine, "leaky", timeout=120)
    assert run.state.is_final
    worker_log = engine.data_dir / "workers" / f"run-{run.id}.log"
    text = worker_log.read_text()
    assert "debug: calling with token" in text  # the careless print reached the file
    assert "retrying with" in text  # and the library's log line
    assert TOKEN not in text
    assert MASK in text


def test_the_daemons_log_masks_what_the_daemon_resolved() -> None:
    from jobtui.engine.schedule import detach

    remember_secret("smtp-pw-Qx81-secret")
    stream = io.StringIO()
    saved = detach.sys.stderr
    root = logging.getLogger("jobtui")
    handlers, level = root.handlers[:], root.level
    try:
        detach.sys.stderr = stream
        detach.configure_logging()
        try:
            raise RuntimeError("login refused for smtp-pw-Qx81-secret")
        except RuntimeError:
            logging.getLogger("jobtui.daemon").exception(
                "alert not sent: %s", "smtp-pw-Qx81-secret"
            )
    finally:
        detach.sys.stderr = saved
        root.handlers[:] = handlers
        root.setLevel(level)
    logged = stream.getvalue()
    assert "alert not sent" in logged and "RuntimeError" in logged
    assert "smtp-pw-Qx81-secret" not in logged
    assert logged.count(MASK) >= 2


def test_an_alert_mail_masks_resolved_secrets_and_url_passwords() -> None:
    from jobtui.engine.schedule.alerts import compose

    remember_secret("webhook-Zz93-secret")
    event = {
        "job": "nightly",
        "run_id": 7,
        "state": "failed",
        "trigger": "schedule",
        "attempt": 1,
        "error": "POST https://user:pw-Kq2@hooks.example.com/webhook-Zz93-secret failed",
    }
    msg = compose(event, "alert", "jobtui@example.com", ["ops@example.com"])
    body = msg.get_content()
    assert "failed" in body
    assert "webhook-Zz93-secret" not in body and "pw-Kq2" not in body
    assert MASK in body


def test_a_short_secret_is_masked_where_it_stands_as_a_whole_value() -> None:
    """A 1-3 character secret masked everywhere would blank out ordinary text; it is
    masked as a whole value (the text, `NAME=value`, `name: value`) and in URLs."""
    from jobtui.engine.model.secrets import redact

    remember_secret("q7")
    assert redact("q7") == MASK
    assert redact("TOKEN=q7 started") == f"TOKEN={MASK} started"
    assert redact("password: q7") == f"password: {MASK}"
    assert redact("https://bot:q7@example.com/x") == f"https://bot:{MASK}@example.com/x"
    assert redact("GET /x?key=q7&page=2") == f"GET /x?key={MASK}&page=2"
    # Elsewhere it is ordinary text.
    assert redact("q7q7 seq7 aq7") == "q7q7 seq7 aq7"
    assert redact("ETA 10:q7x") == "ETA 10:q7x"

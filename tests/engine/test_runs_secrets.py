"""Resolved secret values reach no stored error, log line or result, for every sink and
for a command's env entries; a resolved value is checked without being printed
(issue 16, point 5)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, InvalidInput, RunState
from jobtui.engine.model.secrets import MASK, forget_secrets, redact, remember_secret

from .runs_helpers import command_job, run_to_end

PASSWORD = "pw-Zq8xK2vT"
FILE_SECRET = "garbage Zq8xK2vT-secret"
FILE_SECOND_LINE = "second-line-Mv93q"
# Every sink that resolves a reference, with its option and a URL that names a closed
# port (the connection fails at once) with a password in it.
SINKS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "http": ("url", f"http://user:{PASSWORD}@127.0.0.1:1/in", {"retries": 0}),
    "postgres": ("dsn", f"postgresql://user:{PASSWORD}@127.0.0.1:1/db", {}),
    "mysql": ("url", f"mysql://user:{PASSWORD}@127.0.0.1:1/db", {}),
    "redis": ("url", f"redis://user:{PASSWORD}@127.0.0.1:1/11", {}),
    "rabbitmq": ("url", f"amqp://user:{PASSWORD}@127.0.0.1:1/", {}),
    "mqtt": ("url", f"mqtt://user:{PASSWORD}@127.0.0.1:1", {}),
    "nats": ("url", f"nats://user:{PASSWORD}@127.0.0.1:1", {}),
}


@pytest.fixture(autouse=True)
def _forget() -> Any:
    yield
    forget_secrets()


def everything_stored(engine: Engine) -> str:
    """The whole database as SQL text: whatever a run stored is in it."""
    conn = sqlite3.connect(engine.db_path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def sink_job(engine: Engine, name: str, reference: dict[str, str]) -> None:
    sinks = []
    for kind, (option, _, extra) in SINKS.items():
        sinks.append({"type": kind, "options": {option: reference[kind], **extra}})
    engine.create_job(
        {
            "name": name,
            "datagen": {
                "datasets": ["users"],
                "max_records": 5,
                "generator": {"format": "jsonl"},
                "sinks": sinks,
            },
        }
    )


def test_no_sink_stores_the_password_of_its_url(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = {}
    for kind, (_, url, _) in SINKS.items():
        monkeypatch.setenv(f"JOBTUI_TEST_{kind.upper()}_URL", url)
        refs[kind] = f"env:JOBTUI_TEST_{kind.upper()}_URL"
    sink_job(engine, "closed-ports", refs)
    run = run_to_end(engine, "closed-ports", timeout=120)
    assert run.state == RunState.FAILED
    assert len([t for t in run.tasks if t.state == "failed"]) == len(SINKS)
    stored = everything_stored(engine)
    assert PASSWORD not in stored
    for task in run.tasks:
        assert task.error


def test_a_file_reference_that_is_not_a_url_is_refused_without_its_contents(
    engine: Engine, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(f"{FILE_SECRET}\n{FILE_SECOND_LINE}\n")
    sink_job(engine, "wrong-file", dict.fromkeys(SINKS, f"file:{secret_file}"))
    run = run_to_end(engine, "wrong-file", timeout=120)
    assert run.state == RunState.FAILED
    stored = everything_stored(engine)
    assert FILE_SECRET not in stored and FILE_SECOND_LINE not in stored
    # Each error names the reference and what is wrong with its value.
    http = next(t for t in run.tasks if "http" in t.name)
    assert f"the value of file:{secret_file} is not an http(s) URL" in (http.error or "")


def test_a_commands_secret_env_values_are_masked_in_its_log_error_and_results(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBTUI_TEST_TOKEN", "tok-8Hq2Lz")
    command_job(
        engine,
        "leaky",
        [
            'echo "token is $TOKEN"; echo "$TOKEN" >&2;'
            ' echo "url https://bob:$TOKEN@example.com/x"; exit 3'
        ],
        shell=True,
        env={"TOKEN": "env:JOBTUI_TEST_TOKEN"},
    )
    run = run_to_end(engine, "leaky")
    assert run.state == RunState.FAILED
    assert "tok-8Hq2Lz" not in everything_stored(engine)
    output = [line.message for line in engine.read_log(run.id, streams=["stdout", "stderr"])]
    # (Two streams: their relative order is the order read.)
    assert sorted(output) == sorted(
        [f"token is {MASK}", MASK, f"url https://bob:{MASK}@example.com/x"]
    )


def test_redact_masks_remembered_values_url_passwords_and_secret_query_values() -> None:
    remember_secret("multi-line-1\nmulti-line-2")
    remember_secret("abc")  # too short to be masked everywhere
    text = (
        "a multi-line-1 b multi-line-2 c abc "
        "postgresql://me:hunter22@db:5432/x https://h/p?token=t0k&page=2"
    )
    assert redact(text) == (
        f"a {MASK} b {MASK} c abc postgresql://me:{MASK}@db:5432/x https://h/p?token={MASK}&page=2"
    )


@pytest.mark.parametrize("kind", sorted(SINKS))
def test_testing_a_sink_never_shows_the_password_of_its_url(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    option, url, extra = SINKS[kind]
    monkeypatch.setenv("JOBTUI_TEST_URL", url)
    try:
        message = engine.test_sink(
            {"type": kind, "options": {option: "env:JOBTUI_TEST_URL", **extra}}
        )
    except InvalidInput as exc:
        message = str(exc)
    assert PASSWORD not in message

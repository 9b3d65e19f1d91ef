"""A command job sees a minimal environment, not the daemon's whole one (issue 16.4)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobtui.engine import Engine, RunState, SpecError
from jobtui.engine.run.command import base_env

from .runs_helpers import command_job, wait_until

SECRET = "daemon-only-value-4f1c"
PRINT_ENV = [
    sys.executable,
    "-c",
    "import os\nfor k, v in sorted(os.environ.items()): print(f'{k}={v}')",
]


@pytest.fixture
def daemon(engine: Engine, data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """A real daemon started with SECRET_X (and LC_TIME, TZ) in its environment."""
    env = {**os.environ, "SECRET_X": SECRET, "LC_TIME": "C", "TZ": "UTC"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobtui", "--data-dir", str(data_dir), "daemon", "--grace", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    wait_until(lambda: engine.daemon_status(next_fires=0).alive, 30)
    yield proc
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def environment_seen(engine: Engine, name: str) -> dict[str, str]:
    run = engine.queue_run(name)
    run = engine.wait_for_run(run.id, timeout=60, supervise_if_no_daemon=False)
    assert run.state == RunState.SUCCEEDED, run.error
    seen = {}
    for line in engine.read_log(run.id, streams=["stdout"], limit=1000):
        key, _, value = line.message.partition("=")
        seen[key] = value
    return seen


@pytest.mark.slow
def test_a_command_run_by_the_daemon_sees_no_secret_of_its_environment_unless_asked(
    engine: Engine, daemon: subprocess.Popen[str]
) -> None:
    command_job(engine, "plain", PRINT_ENV)
    command_job(engine, "allowed", PRINT_ENV, inherit_env=["SECRET_X"])
    command_job(engine, "everything", PRINT_ENV, inherit_env=True)

    plain = environment_seen(engine, "plain")
    assert "SECRET_X" not in plain
    assert SECRET not in "\n".join(plain.values())
    assert plain["PATH"] and plain["LC_TIME"] == "C" and plain["TZ"] == "UTC"
    assert plain["JOBTUI_JOB"] == "plain"
    # Nothing but the minimal set, the job's own variables and jobtui's.
    extra = {
        k
        for k in plain
        if k not in ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "SHELL", "TMPDIR")
        and not k.startswith(("LC_", "JOBTUI_"))
    }
    assert extra == set()

    assert environment_seen(engine, "allowed")["SECRET_X"] == SECRET
    assert environment_seen(engine, "everything")["SECRET_X"] == SECRET


def test_base_env_keeps_the_minimal_set_and_what_is_named() -> None:
    environ = {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C", "AWS_KEY": "k", "OTHER": "o"}
    assert base_env(environ, False) == {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C"}
    assert base_env(environ, ["OTHER", "MISSING"])["OTHER"] == "o"
    assert "AWS_KEY" not in base_env(environ, ["OTHER"])
    assert base_env(environ, True) == environ
    assert base_env({}, False) == {"PATH": os.defpath}


def test_inherit_env_names_are_checked(engine: Engine) -> None:
    with pytest.raises(SpecError, match="inherit_env"):
        command_job(engine, "bad", ["true"], inherit_env=["not a name"])


def test_inherit_env_as_typed_in_a_form() -> None:
    from jobtui.engine import CommandSpec

    assert CommandSpec(argv=["x"], inherit_env="AWS_PROFILE, HOME").inherit_env == [
        "AWS_PROFILE",
        "HOME",
    ]
    assert CommandSpec(argv=["x"], inherit_env="true").inherit_env is True
    assert CommandSpec(argv=["x"], inherit_env="").inherit_env is False

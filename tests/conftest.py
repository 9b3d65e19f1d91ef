"""Shared fixtures: a real engine on a real SQLite file in tmp_path, and server gating."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobtui.engine import Engine, ManualClock

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Give-up limits of the wait helpers are multiplied by this: they are paid only when a test
# fails, and a 2-core machine under a loaded -n 4 run can take several times the usual time.
PATIENCE = float(os.environ.get("JOBTUI_TEST_PATIENCE", "3"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def stop_leftover_workers(eng: Engine) -> None:
    """Kill the process group of every worker of this database still running: a test that
    fails midway would otherwise leave one behind (a 100M-record run goes on for minutes).
    Only a group whose leader is a worker of this very database is touched."""
    from jobtui.engine.datagen.spool import sweep_spools

    killed = False
    rows = eng.store.query(
        "SELECT pgid FROM runs WHERE state IN ('running', 'cancelling') AND pgid IS NOT NULL"
    )
    for row in rows:
        pgid = int(row["pgid"])
        try:
            cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"jobtui.engine.run.worker" in cmdline and str(eng.db_path).encode() in cmdline:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
                os.waitpid(pgid, 0)  # when it is our child: reaped, so the sweep sees it gone
            killed = True
    if killed:
        sweep_spools()


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    eng = Engine.open(data_dir=data_dir)
    yield eng
    stop_leftover_workers(eng)
    eng.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def clocked_engine(data_dir: Path, clock: ManualClock) -> Iterator[Engine]:
    eng = Engine.open(data_dir=data_dir, clock=clock)
    yield eng
    stop_leftover_workers(eng)
    eng.close()


def server_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip with a reason when the server is absent, except under CI=true, where it fails."""
    if server_reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}, and CI=true forbids skipping server tests")
    pytest.skip(message)


def datagen_spec(name: str, out_dir: Path, **overrides: object) -> dict[str, object]:
    """A small valid datagen job writing JSON lines into out_dir."""
    spec: dict[str, object] = {
        "name": name,
        "datagen": {
            "datasets": ["users"],
            "max_records": 10,
            "seed": 1,
            "sinks": [{"type": "file", "options": {"base_dir": str(out_dir)}}],
        },
    }
    spec.update(overrides)
    return spec

"""`overlap: allow` without `max` lets any number of runs overlap (issue 16, point 9): it
used to mean at most one, the same as `skip`. Driven by a ManualClock, as the daemon's
other scheduling tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, ManualClock


@pytest.fixture
def eng(data_dir: Path, clock: ManualClock) -> Iterator[Engine]:
    engine = Engine.open(data_dir=data_dir, clock=clock)
    yield engine
    engine.close()


def states(engine: Engine) -> list[str]:
    return [r.state.value for r in reversed(engine.list_runs(job="busy"))]


@pytest.mark.parametrize(
    ("overlap", "expected"),
    [
        ("allow", ["queued"] * 5),
        ({"policy": "allow"}, ["queued"] * 5),
        ({"policy": "allow", "max": 3}, ["queued"] * 3 + ["skipped"] * 2),
    ],
)
def test_allow_without_max_has_no_limit(
    eng: Engine, clock: ManualClock, overlap: Any, expected: list[str]
) -> None:
    eng.create_job(
        {
            "name": "busy",
            "kind": "command",
            "command": {"argv": ["true"]},
            "schedule": {"type": "interval", "every": "10s"},
            "policies": {"overlap": overlap, "misfire": "skip"},
        }
    )
    daemon = eng.make_daemon(use_scheduler=False, supervise=False)
    daemon.acquire()
    daemon.startup()
    for _ in range(5):  # five fires, none of whose runs ends
        clock.advance(10)
        daemon.step()
    assert states(eng) == expected

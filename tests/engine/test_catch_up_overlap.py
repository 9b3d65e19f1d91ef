"""Catch-ups obey the overlap policy (issue 16.7): after downtime, the catch-ups of missed
fires run one after another when the job allows one run at a time, and a live fire that
comes meanwhile is never refused because of them: it runs next. Driven by a ManualClock
daemon; the supervisor's own query says which queued runs it would start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, ManualClock
from jobtui.engine.schedule.daemon import Daemon
from jobtui.engine.store import runs as run_rows

T0 = 1_800_000_000.0


@pytest.fixture
def eng(data_dir: Path, clock: ManualClock) -> Iterator[Engine]:
    engine = Engine.open(data_dir=data_dir, clock=clock)
    yield engine
    engine.close()


def start(engine: Engine) -> Daemon:
    daemon = engine.make_daemon(use_scheduler=False, supervise=False, ensure_system_jobs=None)
    daemon.acquire()
    daemon.startup()
    return daemon


def rows(engine: Engine) -> list[dict[str, Any]]:
    return [dict(r) for r in engine.store.query("SELECT * FROM runs ORDER BY id")]


def startable(engine: Engine) -> list[dict[str, Any]]:
    """The queued runs the supervisor would start now."""
    ids = {int(r["id"]) for r in run_rows.queued_due(engine.store, engine.now())}
    return [r for r in rows(engine) if r["id"] in ids]


def set_state(engine: Engine, run_id: int, state: str) -> None:
    now = engine.now()
    ended = None if state == "running" else now
    engine.store.execute(
        "UPDATE runs SET state = ?, started_at = COALESCE(started_at, ?), ended_at = ? "
        "WHERE id = ?",
        (state, now, ended, run_id),
    )


def run_one(engine: Engine, daemon: Daemon) -> dict[str, Any]:
    """Start the one startable run (there must be exactly one), end it, let the daemon see."""
    (run,) = startable(engine)
    set_state(engine, run["id"], "running")
    daemon.step()
    assert startable(engine) == []  # nothing else starts beside it
    set_state(engine, run["id"], "succeeded")
    daemon.step()
    return run


def down_across_fires(engine: Engine, clock: ManualClock, overlap: Any) -> Daemon:
    """A job firing every 10 s with misfire all (cap 3); its daemon is down across five
    fires; the restarted daemon."""
    engine.create_job(
        {
            "name": "tick",
            "kind": "command",
            "command": {"argv": ["true"]},
            "schedule": {"type": "interval", "every": "10s"},
            "policies": {"overlap": overlap, "misfire": {"policy": "all", "cap": 3}},
        }
    )
    daemon = start(engine)
    clock.advance(10)
    daemon.step()
    run_one(engine, daemon)
    daemon.release()
    clock.advance(50.5)  # fires at +20 … +60 missed
    return start(engine)


@pytest.mark.parametrize("overlap", [{"policy": "allow", "max": 1}, "skip", "queue"])
def test_catch_ups_run_one_after_another_and_a_live_fire_goes_first(
    eng: Engine, clock: ManualClock, overlap: Any
) -> None:
    daemon = down_across_fires(eng, clock, overlap)
    catch_ups = [r for r in rows(eng) if r["trigger"] == "catch_up"]
    assert [r["scheduled_for"] - T0 for r in catch_ups] == [40, 50, 60]
    assert [r["state"] for r in catch_ups] == ["queued"] * 3

    # One catch-up at a time: the first starts, the others wait for it.
    (first,) = startable(eng)
    assert first["id"] == catch_ups[0]["id"]
    set_state(eng, first["id"], "running")
    # A live fire comes while it runs (+70): not refused, not started beside it.
    clock.advance(9.5)
    daemon.step()
    assert not [r for r in rows(eng) if r["state"] == "skipped"]
    assert startable(eng) == []
    set_state(eng, first["id"], "succeeded")
    daemon.step()
    daemon.step()

    # Then the live fire, then the other catch-ups, one by one.
    order = [run_one(eng, daemon) for _ in range(3)]
    assert [(r["trigger"], r["scheduled_for"] is not None) for r in order][1:] == [
        ("catch_up", True),
        ("catch_up", True),
    ]
    assert order[0]["trigger"] == "schedule"
    assert [r["scheduled_for"] - T0 for r in order[1:]] == [50, 60]
    assert startable(eng) == []
    assert not [r for r in rows(eng) if r["state"] in ("queued", "skipped")]


def test_unlimited_overlap_starts_catch_ups_together(eng: Engine, clock: ManualClock) -> None:
    down_across_fires(eng, clock, "allow")
    assert [r["trigger"] for r in startable(eng)] == ["catch_up"] * 3


def test_a_live_run_still_makes_skip_refuse_a_fire(eng: Engine, clock: ManualClock) -> None:
    """Catch-ups do not change what skip means between live fires."""
    daemon = down_across_fires(eng, clock, "skip")
    for _ in range(3):
        run_one(eng, daemon)  # the catch-ups
    clock.advance(9.5)
    daemon.step()  # +70: queued
    (live,) = startable(eng)
    set_state(eng, live["id"], "running")
    clock.advance(10)
    daemon.step()  # +80 while +70 runs: skipped, as before
    assert rows(eng)[-1]["state"] == "skipped"


def test_one_live_fire_waits_for_a_catch_up_the_next_is_skipped(
    eng: Engine, clock: ManualClock
) -> None:
    """Under skip, a live fire that waits for a running catch-up fills the one place: a
    second live fire meanwhile is skipped, not piled up behind it."""
    daemon = down_across_fires(eng, clock, "skip")
    (first,) = startable(eng)
    set_state(eng, first["id"], "running")
    clock.advance(9.5)
    daemon.step()  # +70: waits for the catch-up
    clock.advance(10)
    daemon.step()  # +80: skipped
    live = [r for r in rows(eng) if r["trigger"] == "schedule" and r["scheduled_for"] > T0 + 60]
    assert [(r["scheduled_for"] - T0, r["state"]) for r in live] == [
        (70, "queued"),
        (80, "skipped"),
    ]
    set_state(eng, first["id"], "succeeded")
    daemon.step()
    assert [r["scheduled_for"] - T0 for r in startable(eng)] == [70]

"""The daemon's scheduling core, driven by a ManualClock (no sleeping, no processes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jobtui.engine import Engine, JobStatus, ManualClock
from jobtui.engine.schedule.daemon import Daemon, DaemonRunning, LeaseLost

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


def command_job(name: str, schedule: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "kind": "command",
        "command": {"argv": ["true"]},
        "schedule": schedule,
    }
    spec.update(extra)
    return spec


@pytest.fixture
def eng(data_dir: Path, clock: ManualClock) -> Iterator[Engine]:
    engine = Engine.open(data_dir=data_dir, clock=clock)
    yield engine
    engine.close()


def start(engine: Engine) -> Daemon:
    daemon = engine.make_daemon(use_scheduler=False, supervise=False)
    daemon.acquire()
    daemon.startup()
    return daemon


def runs(engine: Engine, job: str) -> list[dict[str, Any]]:
    rows = engine.store.query(
        "SELECT r.* FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = ? ORDER BY r.id",
        (job,),
    )
    return [dict(r) for r in rows]


def end_run(engine: Engine, run_id: int, state: str) -> None:
    now = engine.now()
    engine.store.execute(
        "UPDATE runs SET state = ?, started_at = COALESCE(started_at, ?), ended_at = ? "
        "WHERE id = ?",
        (state, now, now, run_id),
    )


def end_active(engine: Engine, job: str, state: str = "succeeded") -> None:
    for r in runs(engine, job):
        if r["state"] in ("queued", "running"):
            end_run(engine, r["id"], state)


# -- misfire after downtime ----------------------------------------------------------------
@pytest.mark.parametrize(("policy", "catch_ups"), [("skip", 0), ("once", 1), ("all", 5)])
def test_downtime_across_five_fires(
    eng: Engine, clock: ManualClock, policy: str, catch_ups: int
) -> None:
    eng.create_job(
        command_job(
            "every-second",
            {"type": "interval", "every": "1s"},
            policies={
                "misfire": {"policy": policy, "cap": 10},
                "overlap": {"policy": "allow", "max": 100},
            },
        )
    )
    daemon = start(eng)
    clock.advance(1)
    daemon.step()
    before = len(runs(eng, "every-second"))
    assert before == 1  # the first fire, one interval after the job was saved
    daemon.release()  # the daemon stops...
    clock.advance(5.5)  # ...across five fires
    restarted = start(eng)
    rows = runs(eng, "every-second")[before:]
    missed = [r for r in rows if r["state"] == "missed"]
    caught = [r for r in rows if r["trigger"] == "catch_up"]
    assert len(missed) == 5
    assert [m["scheduled_for"] - T0 for m in missed] == [2, 3, 4, 5, 6]
    assert len(caught) == catch_ups
    assert restarted.report.missed == 5
    assert eng.daemon_status().info["missed"] == 5
    # Then it carries on with the next fire.
    clock.advance(0.5)
    restarted.step()
    assert runs(eng, "every-second")[-1]["scheduled_for"] == T0 + 7


def test_catch_up_all_is_capped(eng: Engine, clock: ManualClock) -> None:
    eng.create_job(
        command_job(
            "capped",
            {"type": "interval", "every": "1s"},
            policies={
                "misfire": {"policy": "all", "cap": 3},
                "overlap": {"policy": "allow", "max": 100},
            },
        )
    )
    start(eng).release()
    clock.advance(20.5)
    start(eng)
    rows = runs(eng, "capped")
    assert sum(r["state"] == "missed" for r in rows) == 20
    assert sum(r["trigger"] == "catch_up" for r in rows) == 3


# -- DST -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("first_day", "dst_day"), [(datetime(2017, 3, 24), 26), (datetime(2017, 10, 27), 29)]
)
def test_daily_0330_once_per_local_day_across_dst(
    eng: Engine, clock: ManualClock, first_day: datetime, dst_day: int
) -> None:
    zone = ZoneInfo("Europe/Helsinki")
    start_at = first_day.replace(hour=12, tzinfo=zone)
    clock.set(start_at)
    eng.create_job(
        command_job(
            "nightly",
            {"type": "cron", "cron": "30 3 * * *", "timezone": "Europe/Helsinki"},
            policies={"overlap": {"policy": "allow", "max": 100}},
        )
    )
    daemon = start(eng)
    for _ in range(4 * 24 * 6):  # four days in 10-minute steps
        clock.advance(600)
        daemon.step()
        end_active(eng, "nightly")
    fired = [r for r in runs(eng, "nightly") if r["trigger"] == "schedule"]
    days = Counter(datetime.fromtimestamp(r["scheduled_for"], zone).date() for r in fired)
    assert len(days) == 4
    assert set(days.values()) == {1}
    assert any(day.day == dst_day for day in days)
    assert all(r["state"] != "missed" for r in fired)


def test_apscheduler_alone_fires_twice_on_the_autumn_day() -> None:
    """Why the guard exists: APScheduler 3.11's CronTrigger gives 03:30 twice."""
    from apscheduler.triggers.cron import CronTrigger

    zone = ZoneInfo("Europe/Helsinki")
    trigger = CronTrigger(hour=3, minute=30, timezone=zone)
    now = datetime(2017, 10, 28, 12, tzinfo=zone)
    prev = None
    fires = []
    for _ in range(3):
        prev = trigger.get_next_fire_time(prev, now)
        now = prev
        fires.append(prev)
    assert fires[0].date() == fires[1].date()


# -- retry, overlap, max runs ---------------------------------------------------------------------
def test_retry_policy_marks_retrying_and_queues_retry_at_the_time(
    eng: Engine, clock: ManualClock
) -> None:
    eng.create_job(
        command_job(
            "flaky",
            {"type": "cron", "cron": "0 * * * *"},
            policies={"retry": {"attempts": 3, "delay": "30s"}},
        )
    )
    daemon = start(eng)
    clock.set(T0 + 3600)
    daemon.step()
    first = runs(eng, "flaky")[-1]
    end_run(eng, first["id"], "failed")
    daemon.step()
    assert eng.get_run(first["id"]).state.value == "retrying"
    assert eng.get_job("flaky").status == JobStatus.FAILED
    clock.advance(29)
    daemon.step()
    assert len(runs(eng, "flaky")) == 1
    clock.advance(2)
    daemon.step()
    retry = runs(eng, "flaky")[-1]
    assert (retry["trigger"], retry["attempt"], retry["retry_of"]) == ("retry", 2, first["id"])
    assert retry["title"] == f"attempt 2 of 3: retry of run {first['id']}"
    # Its retry queued, the first attempt is back in the state it ended in.
    superseded = eng.get_run(first["id"])
    assert (superseded.state.value, superseded.retried_as) == ("failed", retry["id"])
    assert eng.get_run(retry["id"]).retry_of == first["id"]
    end_run(eng, retry["id"], "interrupted")
    clock.advance(31)
    daemon.step()
    daemon.step()
    third = runs(eng, "flaky")[-1]
    assert third["attempt"] == 3
    assert third["title"] == f"attempt 3 of 3: retry of run {retry['id']}"
    assert eng.get_run(retry["id"]).state.value == "interrupted"
    end_run(eng, third["id"], "failed")
    clock.advance(31)
    daemon.step()
    daemon.step()
    assert len(runs(eng, "flaky")) == 3  # attempts: 3 = three tries in all
    assert [r["state"] for r in runs(eng, "flaky")] == ["failed", "interrupted", "failed"]
    assert eng.get_run(third["id"]).retried_as is None


@pytest.mark.parametrize(
    ("overlap", "expected"),
    [
        ("skip", ["queued", "skipped", "skipped"]),
        ("queue", ["queued"]),
        ({"policy": "allow", "max": 2}, ["queued", "queued", "skipped"]),
    ],
)
def test_overlap_policies(
    eng: Engine, clock: ManualClock, overlap: Any, expected: list[str]
) -> None:
    eng.create_job(
        command_job("busy", {"type": "interval", "every": "10s"}, policies={"overlap": overlap})
    )
    daemon = start(eng)
    for _ in range(3):  # fires at +10 s, +20 s, +30 s
        clock.advance(10)
        daemon.step()
    assert [r["state"] for r in runs(eng, "busy")] == expected
    if overlap == "queue":
        # Two fires were held back; each starts when the previous run ends.
        end_active(eng, "busy")
        daemon.step()
        assert [r["state"] for r in runs(eng, "busy")] == ["succeeded", "queued"]
        end_active(eng, "busy")
        daemon.step()
        assert [r["state"] for r in runs(eng, "busy")] == ["succeeded", "succeeded", "queued"]


def test_max_runs_and_end_expire_the_job(eng: Engine, clock: ManualClock) -> None:
    eng.create_job(
        command_job(
            "three",
            {"type": "interval", "every": "10s", "max_runs": 3},
            policies={"overlap": {"policy": "allow", "max": 100}},
        )
    )
    daemon = start(eng)
    for _ in range(5):
        clock.advance(10)
        daemon.step()
    assert len(runs(eng, "three")) == 3
    job = eng.get_job("three")
    assert job.status == JobStatus.EXPIRED
    assert job.next_fire_at is None


# -- once, window, random -----------------------------------------------------------------------
def test_once_now_retries_every_n_until_success(eng: Engine, clock: ManualClock) -> None:
    eng.create_job(command_job("one-shot", {"type": "once", "retry_every": "5m", "expires": "1h"}))
    daemon = start(eng)
    first = runs(eng, "one-shot")
    assert [(r["trigger"], r["state"]) for r in first] == [("schedule", "queued")]
    end_run(eng, first[0]["id"], "failed")
    daemon.step()
    clock.advance(300)
    daemon.step()
    second = runs(eng, "one-shot")[-1]
    assert second["trigger"] == "retry"
    end_run(eng, second["id"], "succeeded")
    daemon.step()
    clock.advance(3600)
    daemon.step()
    assert len(runs(eng, "one-shot")) == 2
    assert eng.get_job("one-shot").status == JobStatus.EXPIRED


def test_once_expires_when_missed_past_expiry(eng: Engine, clock: ManualClock) -> None:
    at = datetime.fromtimestamp(T0 + 60).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    eng.create_job(
        command_job(
            "later", {"type": "once", "at": at.isoformat(), "expires": "5m", "timezone": "UTC"}
        )
    )
    clock.advance(3600)  # no daemon ran meanwhile
    start(eng)
    rows = runs(eng, "later")
    assert [r["state"] for r in rows] == ["missed"]  # too late to catch up
    assert eng.get_job("later").status == JobStatus.EXPIRED


def test_window_paused_outside_runs_inside_and_retries(eng: Engine, clock: ManualClock) -> None:
    # 2027-01-15 is a Friday, 08:00 UTC.
    eng.create_job(
        command_job(
            "office",
            {
                "type": "window",
                "from_time": "09:00",
                "to_time": "10:00",
                "weekdays": ["fri"],
                "retry_every": "10m",
                "timezone": "UTC",
            },
        )
    )
    daemon = start(eng)
    assert eng.get_job("office").status == JobStatus.PAUSED
    assert runs(eng, "office") == []
    clock.set(T0 + 3600)  # 09:00: the window opens
    daemon.step()
    assert eng.get_job("office").status == JobStatus.QUEUED
    first = runs(eng, "office")[-1]
    end_run(eng, first["id"], "failed")
    daemon.step()
    clock.advance(600)
    daemon.step()
    retry = runs(eng, "office")[-1]
    assert retry["trigger"] == "retry"
    end_run(eng, retry["id"], "succeeded")
    daemon.step()
    clock.advance(1200)
    daemon.step()
    assert len(runs(eng, "office")) == 2  # success: no more attempts in this window
    clock.set(T0 + 2 * 3600 + 1)  # 10:00: closed
    daemon.step()
    assert eng.get_job("office").status == JobStatus.PAUSED
    nxt = eng.get_job("office").next_fire_at
    assert nxt is not None and nxt.timestamp() == T0 + 7 * 86400 + 3600  # next Friday 09:00


def test_random_delay_after_each_run(eng: Engine, clock: ManualClock) -> None:
    eng.create_job(command_job("dice", {"type": "random", "min_delay": "10m", "max_delay": "20m"}))
    daemon = start(eng)
    nxt = eng.get_job("dice").next_fire_at
    assert nxt is not None and T0 + 600 <= nxt.timestamp() <= T0 + 1200
    clock.set(nxt.timestamp() + 0.001)  # datetimes carry microseconds only
    daemon.step()
    assert eng.get_job("dice").next_fire_at is None  # waits for the run to end
    clock.advance(42)
    run = runs(eng, "dice")[-1]
    end_run(eng, run["id"], "succeeded")
    daemon.step()
    after = eng.get_job("dice").next_fire_at
    assert after is not None
    assert clock.now() + 600 <= after.timestamp() <= clock.now() + 1200


# -- pause, lease, job changes ----------------------------------------------------------------
def test_pause_drains_and_resume_catches_up(eng: Engine, clock: ManualClock) -> None:
    eng.create_job(
        command_job(
            "tick",
            {"type": "interval", "every": "10s"},
            policies={"overlap": {"policy": "allow", "max": 100}},
        )
    )
    daemon = start(eng)
    clock.advance(10)
    daemon.step()
    eng.pause_daemon()
    for _ in range(3):
        clock.advance(10)
        daemon.step()
    assert eng.daemon_status().paused
    assert len(runs(eng, "tick")) == 1
    eng.resume_daemon()
    daemon.step()
    rows = runs(eng, "tick")[1:]
    # The fires at +20 s and +30 s were missed while paused; +40 s is due right now.
    assert [r["scheduled_for"] - T0 for r in rows if r["state"] == "missed"] == [20, 30]
    assert sum(r["trigger"] == "catch_up" for r in rows) == 1  # default misfire: once
    assert [
        r["scheduled_for"] - T0
        for r in rows
        if r["trigger"] == "schedule" and r["state"] == "queued"
    ] == [40]


def test_second_daemon_refused_and_fence_stops_a_stale_one(eng: Engine) -> None:
    first = start(eng)
    with pytest.raises(DaemonRunning, match=r"pid \d+"):
        eng.make_daemon(use_scheduler=False, supervise=False).acquire(wait=0.1)
    # A writer whose epoch is no longer the lease's cannot commit scheduler writes.
    eng.store.execute("UPDATE daemon_lease SET epoch = epoch + 1")
    with pytest.raises(LeaseLost), first.fenced():
        pass
    assert first.lost


def test_job_changes_picked_up_and_inactive_jobs_cleared(eng: Engine, clock: ManualClock) -> None:
    daemon = start(eng)
    eng.create_job(command_job("late", {"type": "cron", "cron": "*/5 * * * *"}))
    daemon.step()
    assert eng.get_job("late").next_fire_at is not None
    eng.pause_job("late")
    daemon.step()
    assert eng.get_job("late").next_fire_at is None
    assert eng.get_job("late").status == JobStatus.PAUSED
    eng.resume_job("late")
    daemon.step()
    job = eng.get_job("late")
    assert job.status == JobStatus.SCHEDULED
    assert job.next_fire_at is not None and job.next_fire_at.timestamp() == T0 + 300


def test_six_field_cron_every_two_seconds(eng: Engine, clock: ManualClock) -> None:
    eng.create_job(
        command_job(
            "fast",
            {"type": "cron", "cron": "*/2 * * * * *"},
            policies={"overlap": {"policy": "allow", "max": 100}},
        )
    )
    daemon = start(eng)
    for _ in range(10):
        clock.advance(1)
        daemon.step()
    fired = [r["scheduled_for"] - T0 for r in runs(eng, "fast")]
    assert fired == [2, 4, 6, 8, 10]

"""Schedule rules and previews: DST flags, windows, Quartz seconds, job refs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from jobtui.engine import Engine, InvalidInput, ManualClock
from jobtui.engine.schedule.rules import describe_schedule, preview_fires, wall_to_instant

HEL = ZoneInfo("Europe/Helsinki")


def at(*args: int) -> float:
    return datetime(*args, tzinfo=HEL).timestamp()


def test_spring_gap_fire_moves_forward_by_the_gap_and_is_flagged() -> None:
    fires = preview_fires(
        {"type": "cron", "cron": "30 3 * * *", "timezone": "Europe/Helsinki"},
        now=at(2017, 3, 25, 12),
        n=3,
    )
    assert [f.at.day for f in fires] == [26, 27, 28]
    # 03:30 does not exist that night; it fires one gap (1h) later, not at the jump.
    assert (fires[0].at.hour, fires[0].at.minute) == (4, 30)
    assert fires[0].note.startswith("DST: skipped")
    assert fires[1].note == ""


def test_autumn_repeated_hour_runs_once_and_is_flagged() -> None:
    fires = preview_fires(
        {"type": "cron", "cron": "30 3 * * *", "timezone": "Europe/Helsinki"},
        now=at(2017, 10, 28, 12),
        n=3,
    )
    assert [f.at.day for f in fires] == [29, 30, 31]
    assert fires[0].note.startswith("DST: repeated hour")


def test_wall_to_instant_folds() -> None:
    first, note = wall_to_instant(datetime(2017, 10, 29, 3, 30), HEL)
    assert note.startswith("DST: repeated")
    assert datetime.fromtimestamp(first, HEL).utcoffset().total_seconds() == 3 * 3600  # type: ignore[union-attr]
    _, ordinary = wall_to_instant(datetime(2017, 10, 30, 3, 30), HEL)
    assert ordinary == ""


def test_quartz_seconds_and_weekday_numbering() -> None:
    now = datetime(2026, 1, 5, 0, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # a Monday
    fires = preview_fires(
        {"type": "cron", "cron": "*/15 * * * * ?", "timezone": "UTC"}, now=now, n=3
    )
    assert [f.at.second for f in fires] == [15, 30, 45]
    # Quartz weekday 2 is Monday.
    weekly = preview_fires({"type": "cron", "cron": "0 0 9 ? * 2", "timezone": "UTC"}, now=now, n=2)
    assert [f.at.strftime("%a %H") for f in weekly] == ["Mon 09", "Mon 09"]
    assert "second" in describe_schedule({"type": "cron", "cron": "*/2 * * * * *"}).lower()


def test_window_preview_flags_openings_and_end() -> None:
    fires = preview_fires(
        {
            "type": "window",
            "from_date": "2026-12-01",
            "to_date": "2026-12-04",
            "from_time": "08:00",
            "to_time": "18:00",
            "weekdays": ["tue", "thu"],
            "timezone": "Europe/Paris",
        },
        now=datetime(2026, 11, 30, 12, tzinfo=ZoneInfo("Europe/Paris")).timestamp(),
        n=10,
    )
    assert [f.at.strftime("%a %d %H:%M") for f in fires] == ["Tue 01 08:00", "Thu 03 08:00"]
    assert all(f.note.startswith("window opens") for f in fires)


def test_start_end_and_max_runs_bound_the_preview() -> None:
    now = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")).timestamp()
    sched = {
        "type": "interval",
        "every": "1h",
        "start": "2026-01-01T02:00",
        "timezone": "UTC",
        "end": "2026-01-01T05:00",
    }
    assert [f.at.hour for f in preview_fires(sched, now=now, n=10)] == [2, 3, 4, 5]
    assert len(preview_fires({**sched, "max_runs": 2}, now=now, n=10)) == 2


def test_engine_schedule_preview_for_dicts_and_jobs(data_dir, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    engine = Engine.open(data_dir=data_dir, clock=clock)
    try:
        fires = engine.schedule_preview({"type": "cron", "cron": "0 3 * * *"}, n=5, tz="Asia/Tokyo")
        assert len(fires) == 5
        assert all(str(f.at.tzinfo) == "Asia/Tokyo" and f.at.hour == 3 for f in fires)
        engine.create_job(
            {
                "name": "j",
                "kind": "command",
                "command": {"argv": ["true"]},
                "schedule": {"type": "interval", "every": "10m"},
            }
        )
        job_fires = engine.schedule_preview("j", n=2)
        assert [f.at.timestamp() - clock.now() for f in job_fires] == [600, 1200]
        with pytest.raises(InvalidInput):
            engine.schedule_preview({"type": "cron", "cron": "61 * * * *"})
        with pytest.raises(InvalidInput):
            engine.schedule_preview({"type": "cron", "cron": "* * * * *"}, tz="Mars/Base")
    finally:
        engine.close()

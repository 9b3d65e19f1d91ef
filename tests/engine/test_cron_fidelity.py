"""Cron as Quartz, Vixie cron (cronie), robfig/cron and cron-parser mean it (issue 17, Cron).

The cases are our own, built from those projects' published behaviour:
- Vixie cron / cronie crontab(5): when both day fields are restricted (do not start with
  `*`), either matching is enough ("30 4 1,15 * 5": the 1st, the 15th and every Friday);
  robfig/cron's spec tests agree, and that a starred field (`*/10`) makes both required.
- Quartz CronExpression / CronTrigger docs: `L`, `L-n`, `LW`, `nW` (never into another
  month), `n#k` (no fire in a month without a k-th), `nL`, `L` alone in day of week =
  Saturday, weekdays 1-7 from Sunday in 6/7-field expressions; cron-parser and Cronos:
  `nL` in 5-field expressions with 0/7 = Sunday.
- DST: Quartz (java.util.Calendar, lenient) moves a wall time in the spring gap forward
  by the gap; Quartz, robfig/cron and cron-parser fire an hourly or finer schedule in
  both passes of the repeated autumn hour; Vixie cron and Cronos run a fixed time once
  there (Cronos: a `*`, range or step in the second, minute or hour field repeats).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobtui.engine import Engine, InvalidInput
from jobtui.engine.model.cron import CronError, parse_cron
from jobtui.engine.schedule.rules import make_rule, preview_fires

UTC = ZoneInfo("UTC")


def fires(expr: str, after: str, n: int, tz: str = "UTC", fmt: str = "%Y-%m-%d") -> list[str]:
    """The next `n` fires strictly after the wall time `after` in `tz`, formatted."""
    now = datetime.fromisoformat(after).replace(tzinfo=ZoneInfo(tz)).timestamp()
    found = preview_fires({"type": "cron", "cron": expr, "timezone": tz}, now=now, n=n)
    return [f.at.strftime(fmt) for f in found]


def day_fires(expr: str, tz: str, day: str) -> list[datetime]:
    """Every fire on one local day, from Rule.first/next (the daemon's path)."""
    zone = ZoneInfo(tz)
    start = datetime.fromisoformat(day).replace(tzinfo=zone)
    end = (start + timedelta(days=1)).replace(tzinfo=zone)  # the next local midnight
    rule = make_rule({"type": "cron", "cron": expr, "timezone": tz})
    out: list[datetime] = []
    t = rule.first(start.timestamp() - 1)
    while t is not None and t < end.timestamp():
        out.append(datetime.fromtimestamp(t, zone))
        t = rule.next(t)
    return out


# -- 1. both day fields restricted: either matches -----------------------------------------
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # Unix 5 = Friday: the 8th, and the third Friday (Jan 16, Feb 20).
        ("0 0 8 * 5#3", ["2026-01-08", "2026-01-16", "2026-02-08", "2026-02-20"]),
        # Quartz 5 = Thursday: the 8th, and the third Thursday (Jan 15, Feb 19).
        ("0 0 0 8 * 5#3", ["2026-01-08", "2026-01-15", "2026-02-08", "2026-02-19"]),
        # Quartz 3 = Tuesday: the 16th, the 18th, and the third Tuesday (Jan 20, Feb 17).
        (
            "0 0 0 16,18 * 3#3",
            ["2026-01-16", "2026-01-18", "2026-01-20", "2026-02-16", "2026-02-17", "2026-02-18"],
        ),
        # `L` too: the 1st and the last Friday (Jan 30, Feb 27); Jan 1 2026 is a Thursday.
        ("0 0 1 * 5L", ["2026-01-01", "2026-01-30", "2026-02-01", "2026-02-27"]),
    ],
)
def test_day_of_month_or_weekday_form_fires_on_either(expr: str, expected: list[str]) -> None:
    assert fires(expr, "2025-12-31T12:00", len(expected)) == expected


def test_crontab5_example_first_fifteenth_and_every_friday() -> None:
    # crontab(5): "30 4 1,15 * 5" runs on the 1st and 15th of each month, plus every
    # Friday. May 1 and May 15 2026 are Fridays: one fire each, not two.
    assert fires("30 4 1,15 * 5", "2026-04-30T12:00", 7, fmt="%a %d %H:%M") == [
        "Fri 01 04:30",
        "Fri 08 04:30",
        "Fri 15 04:30",
        "Fri 22 04:30",
        "Fri 29 04:30",
        "Mon 01 04:30",
        "Fri 05 04:30",
    ]


def test_a_starred_day_field_makes_both_fields_required() -> None:
    # robfig/cron and Vixie cron: `*/10` starts with `*`, so it does not restrict: the
    # day must be a Sunday AND one of 1, 11, 21, 31.
    assert fires("0 0 */10 * SUN", "2026-01-01T00:00", 4) == [
        "2026-01-11",
        "2026-02-01",
        "2026-03-01",
        "2026-05-31",
    ]


def test_daemon_schedules_a_dom_or_nth_weekday_job_instead_of_expiring_it(
    clocked_engine: Engine,
) -> None:

    engine = clocked_engine
    engine.create_job(
        {
            "name": "eighth-or-third-friday",
            "kind": "command",
            "command": {"argv": ["true"]},
            "schedule": {"type": "cron", "cron": "0 0 8 * 5#3", "timezone": "UTC"},
        }
    )
    daemon = engine.make_daemon(use_scheduler=False, supervise=False)
    daemon.acquire()
    try:
        daemon.startup()
        job = engine.get_job("eighth-or-third-friday")
        assert job.status.value == "scheduled"
        assert job.next_fire_at is not None
        # The clock starts on Fri 2027-01-15 08:00 UTC, the third Friday: next is the 8th.
        assert job.next_fire_at.strftime("%Y-%m-%d %H:%M") == "2027-02-08 00:00"
    finally:
        daemon.release()


# -- 2. Quartz day syntax ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        # The last Friday: Quartz 6L, Quartz FRIL, Unix 5L (as cron-parser and Cronos write it).
        ("0 0 12 ? * 6L", "2023-06-01", ["2023-06-30", "2023-07-28", "2023-08-25"]),
        ("0 0 12 ? * FRIL", "2023-06-01", ["2023-06-30", "2023-07-28", "2023-08-25"]),
        ("0 12 * * 5L", "2023-06-01", ["2023-06-30", "2023-07-28", "2023-08-25"]),
        # The last Sunday: Quartz 1L; Unix 0L and 7L.
        ("0 0 12 ? * 1L", "2024-01-01", ["2024-01-28", "2024-02-25", "2024-03-31"]),
        ("0 12 * * 0L", "2024-01-01", ["2024-01-28", "2024-02-25", "2024-03-31"]),
        ("0 12 * * 7L", "2024-01-01", ["2024-01-28", "2024-02-25", "2024-03-31"]),
        # `L` alone in day of week is Saturday.
        ("0 0 12 ? * L", "2024-01-01", ["2024-01-06", "2024-01-13"]),
        # The last day, in a leap year; three days before it.
        ("0 0 L * *", "2024-01-15", ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]),
        ("0 0 L-3 * *", "2024-01-15", ["2024-01-28", "2024-02-26", "2024-03-28", "2024-04-27"]),
        # The last weekday: Sunday 31 March -> Friday 29; Saturday 31 August -> Friday 30.
        ("0 0 LW * *", "2024-03-01", ["2024-03-29", "2024-04-30", "2024-05-31", "2024-06-28"]),
        ("0 0 LW 8 *", "2024-01-01", ["2024-08-30"]),
        # The weekday nearest the 15th: Sat 15 June -> Fri 14; Sun 15 September -> Mon 16.
        ("0 0 15W * *", "2024-06-01", ["2024-06-14", "2024-07-15", "2024-08-15", "2024-09-16"]),
        # Never into another month: Saturday the 1st -> Monday the 3rd; Sunday the 31st ->
        # Friday the 29th; a month without a 31st has no fire.
        ("0 0 1W * *", "2024-05-31", ["2024-06-03", "2024-07-01", "2024-08-01", "2024-09-02"]),
        ("0 0 31W * *", "2024-03-01", ["2024-03-29", "2024-05-31", "2024-07-31", "2024-08-30"]),
        # The fifth Monday: only months that have one.
        (
            "0 0 * * 1#5",
            "2024-01-01",
            ["2024-01-29", "2024-04-29", "2024-07-29", "2024-09-30", "2024-12-30"],
        ),
        ("0 0 0 ? * MON#5", "2024-01-01", ["2024-01-29", "2024-04-29"]),
    ],
)
def test_quartz_day_forms(expr: str, after: str, expected: list[str]) -> None:
    assert fires(expr, after + "T00:00", len(expected)) == expected


def test_issue_example_last_friday_at_noon() -> None:
    fire = fires("0 0 12 ? * 6L", "2023-06-01T00:00", 1, fmt="%Y-%m-%dT%H:%M:%S%z")
    assert fire == ["2023-06-30T12:00:00+0000"]


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("0 0 * * L5", "day of week 'L5': write the last such weekday of the month as 5L"),
        ("0 0 * * 5L-2", "day of week '5L-2': 'L' follows one weekday"),
        ("0 0 L/2 * *", "day of month 'L/2': 'L' is the last day"),
        ("0 0 1-5W * *", "day of month '1-5W': 'W' follows one day"),
        ("0 0 * * 1-5#2", "day of week '1-5#2': '#' follows one weekday"),
        ("0 0 * * 5W", "'W' is only allowed in day of month, not day of week"),
        ("0 0 5#2 * *", "'#' is only allowed in day of week, not day of month"),
        ("0 L * * *", "'L' is only allowed in day of month or day of week, not hour"),
        ("0 0 L-31 * *", "the offset after 'L-' must be 0-30"),
        ("0 0 * * 5#6", "the week number after '#' must be 1-5"),
        ("0 0 0 ? * 8L", "day of week 8 is out of range 1-7"),
        ("0 0 30 2 *", "never fires: no date from 1970 to 2099 has day of month '30', month '2'"),
    ],
)
def test_unsupported_day_forms_are_refused_naming_the_construct(expr: str, fragment: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_cron(expr)
    assert fragment in str(caught.value)
    assert "croniter" not in str(caught.value)


def test_month_and_weekday_names_holding_l_and_w_stay_names() -> None:
    # JUL holds an L and WED a W: names, not Quartz forms. Either day field may match.
    assert fires("0 0 1 JUL WED", "2024-06-30T00:00", 3) == [
        "2024-07-01",
        "2024-07-03",
        "2024-07-10",
    ]


# -- 3. the repeated autumn hour ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "tz", "day", "count"),
    [
        ("* * * * *", "Europe/Warsaw", "2023-10-29", 1500),  # 1,440 + the repeated 60
        ("*/5 * * * *", "Europe/Warsaw", "2023-10-29", 300),
        ("0 * * * *", "America/New_York", "2024-11-03", 25),
        ("0 */2 * * *", "Europe/Warsaw", "2023-10-29", 13),  # 02:00 twice
        # Fixed times: once, whatever the field holds besides (Vixie cron, Cronos).
        ("30 2 * * *", "Europe/Warsaw", "2023-10-29", 1),
        ("0 15,45 2 * * ?", "Europe/Warsaw", "2023-10-29", 2),
        ("30 3 * * *", "Europe/Warsaw", "2023-10-29", 1),
        # An ordinary day for comparison.
        ("* * * * *", "Europe/Warsaw", "2023-10-30", 1440),
    ],
)
def test_fall_back_day_fire_counts(expr: str, tz: str, day: str, count: int) -> None:
    found = day_fires(expr, tz, day)
    assert len(found) == count
    assert len({f.timestamp() for f in found}) == count  # no instant twice
    assert [f.timestamp() for f in found] == sorted(f.timestamp() for f in found)


def test_fall_back_hourly_fires_in_both_passes_in_order() -> None:
    # robfig/cron's New York case: 01:00 EDT, 01:00 EST, then 02:00 EST.
    assert fires("0 * * * *", "2024-11-03T00:30", 3, "America/New_York", "%H:%M %Z") == [
        "01:00 EDT",
        "01:00 EST",
        "02:00 EST",
    ]


def test_fall_back_every_second_fires_both_passes_of_the_repeated_hour() -> None:
    zone = ZoneInfo("Europe/Warsaw")
    rule = make_rule({"type": "cron", "cron": "* * * * * *", "timezone": "Europe/Warsaw"})
    first_pass = datetime(2023, 10, 29, 2, 0, tzinfo=zone).timestamp()  # 00:00 UTC
    t = rule.first(first_pass - 1)
    count = 0
    while t is not None and t < first_pass + 2 * 3600:  # both passes of 02:xx
        count += 1
        t = rule.next(t)
    assert count == 7200


def test_fall_back_notes_say_which_pass() -> None:
    notes = [
        f.note
        for f in preview_fires(
            {"type": "cron", "cron": "30 * * * *", "timezone": "America/New_York"},
            now=datetime(2024, 11, 3, 1, 0, tzinfo=ZoneInfo("America/New_York")).timestamp(),
            n=3,
        )
    ]
    assert notes == ["DST: repeated hour, first pass", "DST: repeated hour, second pass", ""]
    fixed = fires("30 1 * * *", "2024-11-02T12:00", 2, "America/New_York", "%d %H:%M %Z")
    assert fixed == ["03 01:30 EDT", "04 01:30 EST"]


# -- 4. the spring gap -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "tz", "after", "expected"),
    [
        # A missing wall time fires once, shifted forward by the gap (1h).
        ("30 2 * * *", "America/New_York", "2024-03-09T12:00", ["10 03:30", "11 02:30"]),
        # Each missing time shifted; no collapse into one fire at the jump.
        (
            "*/20 3 * * *",
            "Europe/Athens",
            "2023-03-25T12:00",
            ["26 04:00", "26 04:20", "26 04:40", "27 03:00"],
        ),
        # The gap is 30 minutes on Lord Howe Island.
        ("15 2 * * *", "Australia/Lord_Howe", "2023-09-30T12:00", ["01 02:45", "02 02:15"]),
        # Times after the gap fire as written.
        ("0 3 * * *", "America/New_York", "2024-03-09T12:00", ["10 03:00", "11 03:00"]),
        # A shifted time that meets a real one is one fire, never two.
        ("30 2,3 * * *", "America/New_York", "2024-03-09T12:00", ["10 03:30", "11 02:30"]),
        (
            "0,30 2,3 * * *",
            "America/New_York",
            "2024-03-09T12:00",
            ["10 03:00", "10 03:30", "11 02:00", "11 02:30"],
        ),
    ],
)
def test_spring_gap(expr: str, tz: str, after: str, expected: list[str]) -> None:
    assert fires(expr, after, len(expected), tz, "%d %H:%M") == expected


@pytest.mark.parametrize(
    ("expr", "count"), [("* * * * *", 1380), ("*/20 3 * * *", 3), ("0 * * * *", 23)]
)
def test_spring_day_fire_counts(expr: str, count: int) -> None:
    found = day_fires(expr, "Europe/Athens", "2023-03-26")
    assert len(found) == len({f.timestamp() for f in found}) == count


def test_spring_gap_note_names_the_missing_time() -> None:
    note = fires("30 2 * * *", "2024-03-09T12:00", 1, "America/New_York", "%H:%M")
    fire = preview_fires(
        {"type": "cron", "cron": "30 2 * * *", "timezone": "America/New_York"},
        now=datetime(2024, 3, 9, 12, tzinfo=ZoneInfo("America/New_York")).timestamp(),
        n=1,
    )[0]
    assert note == ["03:30"]
    assert fire.note == "DST: skipped hour (02:30 does not exist; runs 1h later, at 03:30)"


# -- 5. a skipped calendar day -----------------------------------------------------------------
@pytest.mark.parametrize("expr", ["0 9 * * *", "0 0 * * *", "30 23 * * *"])
def test_skipped_calendar_day_fires_once_per_local_day(expr: str) -> None:
    # Samoa moved across the date line: 2011-12-29 was followed by 2011-12-31.
    zone = ZoneInfo("Pacific/Apia")
    rule = make_rule({"type": "cron", "cron": expr, "timezone": "Pacific/Apia"})
    t = rule.first(datetime(2011, 12, 27, 12, tzinfo=zone).timestamp())
    seen: list[datetime] = []
    while t is not None and len(seen) < 6:
        seen.append(datetime.fromtimestamp(t, zone))
        t = rule.next(t)
    per_day = Counter(f.date().isoformat() for f in seen)
    assert set(per_day.values()) == {1}
    assert "2011-12-30" not in per_day
    assert {"2011-12-29", "2011-12-31"} <= set(per_day)


def test_skipped_calendar_day_every_six_hours() -> None:
    found = day_fires("0 */6 * * *", "Pacific/Apia", "2011-12-31")
    assert [f.strftime("%H:%M") for f in found] == ["00:00", "06:00", "12:00", "18:00"]


# -- 6. steps and digits -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("0/120 * * * * *", "second step 120 is larger than the field's range 0-59"),
        ("*/60 * * * *", "minute step 60 is larger than the field's range 0-59"),
        ("0 */24 * * *", "hour step 24 is larger than the field's range 0-23"),
        ("0 0 1/31 * *", "day of month step 31 is larger than the field's range 1-31"),
        ("² * * * *", "minute '²': '²' is not allowed"),
        ("0 ٣ * * *", "hour '٣': '٣' is not allowed"),
        ("0 0 * * ５", "day of week '５'"),
        ("0 0 1 * * ? 20²3", "year '20²3'"),
    ],
)
def test_large_steps_and_non_ascii_digits_are_cron_errors(expr: str, fragment: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_cron(expr)
    assert fragment in str(caught.value)


def test_steps_within_range_still_work() -> None:
    assert fires("*/59 * * * *", "2026-01-01T00:00", 3, fmt="%H:%M") == ["00:59", "01:00", "01:59"]
    assert fires("0 0/20 * * * ?", "2026-01-01T00:00", 3, fmt="%H:%M") == [
        "00:20",
        "00:40",
        "01:00",
    ]


def test_job_spec_names_the_cron_field(clocked_engine: Engine) -> None:
    with pytest.raises(InvalidInput) as caught:
        clocked_engine.schedule_preview({"type": "cron", "cron": "0/120 * * * * *"})
    assert "cron: second step 120" in str(caught.value)


# -- the ordinary syntax agrees with croniter, its base ---------------------------------------
@pytest.mark.parametrize(
    ("expr", "seconds"),
    [
        ("*/5 * * * *", False),
        ("15/35 20-35/15 1/2 * * *", True),  # robfig's wrap-around sample
        ("0 22-2 * * MON-FRI", False),
        ("0 0 9 * NOV-FEB ?", True),
        ("5,10-20/5 */3 1,15 * *", False),
        ("0 0 12 * * 2-6", True),
        ("0 0 0 29 2 ?", True),
    ],
)
def test_plain_expressions_match_croniter(expr: str, seconds: bool) -> None:
    from croniter import croniter

    cron = parse_cron(expr)
    start = datetime(2024, 1, 1, 0, 0)
    it = croniter(cron.croniter_text, start, second_at_beginning=seconds)
    expected = [it.get_next(datetime).strftime("%Y-%m-%d %H:%M:%S") for _ in range(12)]
    found = fires(expr, start.isoformat(), 12, fmt="%Y-%m-%d %H:%M:%S")
    assert found == expected


# -- the daemon fires what the preview shows ---------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "tz", "day", "count"),
    [
        ("*/5 * * * *", "Europe/Warsaw", "2023-10-29", 300),  # fall back: 288 + 12
        ("0 * * * *", "America/New_York", "2024-11-03", 25),
        ("*/20 3 * * *", "Europe/Athens", "2023-03-26", 3),  # spring: 04:00, 04:20, 04:40
        ("30 2 * * *", "America/New_York", "2024-03-10", 1),  # at 03:30
    ],
)
def test_daemon_fires_a_whole_dst_day_as_previewed(
    data_dir, expr: str, tz: str, day: str, count: int
) -> None:  # type: ignore[no-untyped-def]
    from jobtui.engine import ManualClock

    zone = ZoneInfo(tz)
    midnight = datetime.fromisoformat(day).replace(tzinfo=zone)
    day_end = (midnight + timedelta(days=1)).timestamp()
    clock = ManualClock(midnight.timestamp() - 3600)
    engine = Engine.open(data_dir=data_dir, clock=clock)
    daemon = engine.make_daemon(use_scheduler=False, supervise=False)
    try:
        engine.create_job(
            {
                "name": "dst-day",
                "kind": "command",
                "command": {"argv": ["true"]},
                "schedule": {"type": "cron", "cron": expr, "timezone": tz},
            }
        )
        daemon.acquire()
        daemon.startup()
        while True:
            nxt = engine.get_job("dst-day").next_fire_at
            if nxt is None or nxt.timestamp() >= day_end:
                break
            clock.set(nxt)
            daemon.step()
            # The run "finishes" at once, so the overlap policy never skips a fire.
            engine.store.execute(
                "UPDATE runs SET state = 'succeeded', started_at = ?, ended_at = ? "
                "WHERE state IN ('queued', 'running')",
                (clock.now(), clock.now()),
            )  # (the hidden system jobs' runs too: they do not matter here)
        rows = engine.store.query(
            "SELECT scheduled_for, state FROM runs WHERE job_id = ? AND trigger = 'schedule' "
            "AND scheduled_for >= ? AND scheduled_for < ? ORDER BY id",
            (engine.get_job("dst-day").id, midnight.timestamp(), day_end),
        )
        fired = [float(r["scheduled_for"]) for r in rows]
        assert {r["state"] for r in rows} == {"succeeded"}
        assert len(fired) == count
        previewed = engine.schedule_preview(
            "dst-day", n=count + 1, after=(midnight - timedelta(seconds=1)).isoformat()
        )
        assert [f.at.timestamp() for f in previewed][:count] == fired
        assert previewed[count].at.timestamp() >= day_end
    finally:
        daemon.release()
        engine.close()


# -- the search against a brute force over every minute ---------------------------------------
def _every_minute_fires(expr: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[float]:
    """The README's rules applied to each wall minute in [start, end), independently of
    the rule's search: a skipped time at its offset before the jump (later by the gap),
    a repeated one in its first pass, and in its second too when the expression repeats."""
    cron = parse_cron(expr)
    out: set[float] = set()
    wall = start
    while wall < end:
        if cron.matches_wall(int((wall - datetime(1970, 1, 1)).total_seconds())):
            first, second = wall.replace(tzinfo=zone), wall.replace(tzinfo=zone, fold=1)
            out.add(first.timestamp())
            if cron.repeating and first.utcoffset() > second.utcoffset():  # type: ignore[operator]
                out.add(second.timestamp())
        wall += timedelta(minutes=1)
    return sorted(out)


@pytest.mark.parametrize(
    ("tz", "change"),
    [
        ("Europe/Warsaw", "2023-10-29T01:00:00+00:00"),
        ("America/New_York", "2024-03-10T07:00:00+00:00"),
        ("Australia/Lord_Howe", "2023-09-30T15:30:00+00:00"),  # a 30-minute change
        ("America/Santiago", "2023-09-03T04:00:00+00:00"),  # midnight jumps to 01:00
        ("Pacific/Apia", "2011-12-30T10:00:00+00:00"),  # a whole day
    ],
)
def test_fires_around_a_change_equal_a_minute_by_minute_walk(tz: str, change: str) -> None:
    zone = ZoneInfo(tz)
    at = datetime.fromisoformat(change).timestamp()
    local = datetime.fromtimestamp(at, zone).replace(tzinfo=None)
    for expr in ["* * * * *", "*/7 * * * *", "30 2 * * *", "0,30 0-3 * * *", "59 23 * * *"]:
        want = _every_minute_fires(
            expr, zone, local - timedelta(hours=50), local + timedelta(hours=50)
        )
        want = [x for x in want if at - 20 * 3600 < x < at + 20 * 3600]
        rule = make_rule({"type": "cron", "cron": expr, "timezone": tz})
        got: list[float] = []
        t = rule.first(at - 20 * 3600)
        while t is not None and t < at + 20 * 3600:
            got.append(t)
            t = rule.next(t)
        assert got == want, expr

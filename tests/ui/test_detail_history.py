"""Job detail and run history: every key, against a real engine."""

from __future__ import annotations

import pytest

from jobtui.engine import RunState
from jobtui.screens.confirm import ConfirmScreen, TextScreen
from jobtui.screens.history import HistoryScreen
from jobtui.screens.job_detail import JobDetailScreen
from jobtui.screens.logs import LogsScreen
from jobtui.screens.run_options import RunOptionsScreen
from tests.ui.helpers import StubWizardScreens, build, notes, press, row_names, settle, table
from tests.ui.seed import store_output

SIZE = (120, 36)


async def open_detail(pilot, job_id: int) -> JobDetailScreen:
    pilot.app.push_screen(JobDetailScreen(pilot.app.engine, job_id))
    await settle(pilot)
    return pilot.app.screen


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_detail_shows_spec_fires_run_and_stats(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_detail(pilot, ids["orders-csv"])
        spec = text_of(screen, "#spec-text")
        assert "Every 5 minutes" in spec and "next fires" in spec
        assert spec.count("CET") >= 5  # five fires, each with its zone
        run = text_of(screen, "#run-summary")
        assert "#13 running" in run and "600 records" in run and "ETA 2m20s" in run
        assert len(screen.query(".task-row")) == 2
        stats = text_of(screen, "#stats-text")
        assert "92% succeeded" in stats and "p90" in stats


async def test_detail_masks_secrets(seeded):
    engine, ids = seeded
    job = engine.get_job(ids["backup"])
    spec = dict(job.spec)
    spec["command"] = {
        **spec["command"],
        "env": {"TOKEN": "env:BACKUP_TOKEN", "PASSWORD": "hunter2"},
    }
    engine.update_job(job.id, spec, "clear secret")
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_detail(pilot, ids["backup"])
        spec_text = text_of(screen, "#spec-text")
        assert "hunter2" not in spec_text and "env:BACKUP_TOKEN" in spec_text


async def test_detail_versions_star_diff_rollback(seeded):
    engine, ids = seeded
    job = engine.get_job(ids["users-demo"])
    spec = dict(job.spec)
    spec["description"] = "changed"
    engine.update_job(job.id, spec, "describe it")
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_detail(pilot, ids["users-demo"])
        await press(pilot, "asterisk")
        assert engine.list_versions(job.id)[0].starred
        await press(pilot, "d")
        assert isinstance(app.screen, TextScreen)
        await press(pilot, "escape")
        await press(pilot, "down")  # v1
        await press(pilot, "b")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        assert engine.get_job(job.id).version == 3
        assert engine.get_job(job.id).description == "On demand"
        assert screen.data is not None and screen.data.job.version == 3


async def test_detail_keys_run_pause_cancel_history_logs(seeded, stub_wizard):
    engine, ids = seeded
    app = build(engine, screens=StubWizardScreens)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_detail(pilot, ids["orders-csv"])
        await press(pilot, "r")
        assert engine.count_runs(job=ids["orders-csv"]) == 14
        await press(pilot, "R")
        assert isinstance(app.screen, RunOptionsScreen)
        await press(pilot, "escape")
        await press(pilot, "p")
        assert not engine.get_job(ids["orders-csv"]).active
        await press(pilot, "u")
        assert engine.get_job(ids["orders-csv"]).active
        await press(pilot, "c", "y")  # the newest active run: the one `r` queued
        queued = engine.list_runs(job=ids["orders-csv"], limit=1)[0]
        assert queued.state == RunState.CANCELLED
        await press(pilot, "c", "y")
        assert engine.get_run(ids["running-run"]).state == RunState.CANCELLING
        await press(pilot, "h")
        assert isinstance(app.screen, HistoryScreen)
        await press(pilot, "escape", "l")
        assert isinstance(app.screen, LogsScreen)
        await press(pilot, "escape", "e")
        assert stub_wizard == [("default/orders-csv", False)]


async def test_history_lists_filters_and_opens(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(HistoryScreen(engine, ids["orders-csv"], "default/orders-csv"))
        await settle(pilot)
        screen = app.screen
        assert row_names(app)[:2] == ["#13", "#12"]
        assert screen.total == 13
        await press(pilot, "s")  # failed
        assert row_names(app) == ["#8"]
        await press(pilot, "x")
        assert isinstance(app.screen, TextScreen)
        assert "sink refused the batch" in str(app.screen.query_one("#text-content").render())
        await press(pilot, "escape", "enter")
        assert isinstance(app.screen, LogsScreen) and app.screen.run_id == 8


async def test_history_rerun_cancel_replay_diff(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(HistoryScreen(engine, ids["orders-csv"], "default/orders-csv"))
        await settle(pilot)
        await press(pilot, "c", "y")  # #13 is running
        assert engine.get_run(13).state == RunState.CANCELLING
        await press(pilot, "j", "r")  # re-run #12 with its parameters
        newest = engine.list_runs(job=ids["orders-csv"], limit=1)[0]
        assert newest.id == 16 and newest.parameters == {"region": "eu"}
        # the new run pushed the list down; the cursor stayed on #12
        assert table(app).current_row.key == 12
        await press(pilot, "y")  # no stored output: said at once, nothing to confirm
        assert isinstance(app.screen, HistoryScreen)
        assert any("no stored output" in n.message for n in notes(app))
        store_output(engine, 12)
        await press(pilot, "y")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        assert isinstance(app.screen, HistoryScreen)
        replay = engine.list_runs(job=ids["orders-csv"], limit=1)[0]
        assert replay.trigger.value == "replay" and replay.title == "replay of run 12"
        assert table(app).current_row.key == 12
        await press(pilot, "space", "space", "d")
        assert isinstance(app.screen, TextScreen)
        assert "run #11" in str(app.screen.query_one("#text-content").render())


async def test_all_runs_history_pages_as_you_scroll(seeded):
    engine, ids = seeded
    for _ in range(450):
        engine.store.execute(
            "INSERT INTO runs (job_id, job_version, trigger, state, queued_at) VALUES (?, 1, 'schedule', 'missed', 1)",
            (ids["billing"],),
        )
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(HistoryScreen(engine, None))
        await settle(pilot)
        t = table(app)
        assert len(app.screen.runs.rows) == 200 and app.screen.runs.more
        await press(pilot, "G")
        await press(pilot, "G")
        await press(pilot, "G")
        assert len(app.screen.runs.rows) == 465
        assert not app.screen.runs.more
        assert t.cursor == 464


def test_time_left_counts_each_record_once_and_follows_the_recent_speed(seeded):
    from dataclasses import replace

    from jobtui.screens.job_detail import RecentSpeed

    engine, ids = seeded
    run = engine.get_run(ids["running-run"])
    speed = RecentSpeed()
    # 6M records to make (its tasks, one per dataset and sink, hold 12M between them);
    # slow at first (the start-up), then 150,000/s.
    at = 1_000.0
    assert speed.eta(replace(run, records=100_000, progress=100_000 / 6e6), at, 25_000) == (
        pytest.approx((6e6 - 100_000) / 25_000)
    )
    speed.eta(replace(run, records=1_000_000, progress=1 / 6), at + 6, 150_000)
    left = speed.eta(replace(run, records=1_600_000, progress=1.6 / 6), at + 10, 100_000)
    assert left == pytest.approx(4_400_000 / 150_000)  # from the last 10 s, not the average
    assert speed.eta(replace(run, records=600, progress=None), at + 11, 10) is None


async def test_a_run_without_a_total_says_its_eta_is_unknown(seeded):
    engine, ids = seeded
    # A reader that cannot tell its total (an http API without a count): records, no progress.
    engine.store.execute("UPDATE runs SET progress = NULL WHERE state = 'running'")
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_detail(pilot, ids["orders-csv"])
        run = text_of(screen, "#run-summary")
        assert "600 records" in run and "ETA unknown" in run

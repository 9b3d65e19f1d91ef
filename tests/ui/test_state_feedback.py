"""Issue 20: the dashboard says what state things are in (points 12, 13, 15)."""

from __future__ import annotations

from jobtui.engine import RunState
from jobtui.screens.confirm import ConfirmScreen
from jobtui.screens.jobs import JobsScreen
from tests.ui.helpers import build, goto_row, notes, press, settle, until

SIZE = (120, 36)


async def test_cancel_says_stopping_then_the_state_the_run_ended_in(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "orders-csv")  # its last run is running
        await press(pilot, "c")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        run_id = ids["running-run"]
        assert engine.get_run(run_id).state == RunState.CANCELLING
        said = [n.message for n in notes(app) if n.title == "Cancel"]
        assert said == [f"Run #{run_id}: stopping… (a note follows when it has stopped)"]
        # The worker stops it (here: the store says so, as the worker's finish would).
        engine.store.execute(
            "UPDATE runs SET state = 'cancelled', ended_at = started_at + 5 WHERE id = ?",
            (run_id,),
        )
        await until(
            pilot,
            lambda: f"Run #{run_id}: cancelled" in [n.message for n in notes(app)],
            "the note that the run has stopped",
        )
        await settle(pilot)


async def test_read_only_shows_a_badge_and_says_why_keys_do_nothing(seeded):
    engine, ids = seeded
    app = build(engine, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bar = str(app.screen.query_one("#daemon-bar").render())
        assert bar.startswith(" READ-ONLY ")
        for key in ("r", "n", "ctrl+d", "u"):
            await press(pilot, key)
        assert isinstance(app.screen, JobsScreen)
        assert engine.count_runs(job=ids["backup"]) == 2
        said = [n.message for n in notes(app) if n.title == "Read-only"]
        assert [s.split(":")[0] for s in said] == ["Run", "New", "Delete", "Undo"]
        assert all("--read-only" in s for s in said)


async def test_read_only_badge_on_every_screen_title(seeded):
    engine, _ids = seeded
    app = build(engine, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "backup")
        for key, title in (("enter", "#detail-name"), ("h", "#history-title")):
            await press(pilot, key)
            shown = str(app.screen.query_one(title).render())
            assert shown.startswith(" READ-ONLY ") and "backup" in shown, shown
            await press(pilot, "escape")
        await press(pilot, "l")
        shown = str(app.screen.query_one("#log-title").render())
        assert shown.startswith(" READ-ONLY ") and "run #" in shown, shown
    writable = build(engine)
    async with writable.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "backup")
        await press(pilot, "l")
        assert "READ-ONLY" not in str(writable.screen.query_one("#log-title").render())


async def test_pause_and_resume_add_no_version(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "users-demo")
        before = engine.list_versions(ids["users-demo"])
        await press(pilot, "p")
        assert not engine.get_job(ids["users-demo"]).active
        await press(pilot, "p")
        assert engine.get_job(ids["users-demo"]).active
        after = engine.list_versions(ids["users-demo"])
        assert [v.version for v in after] == [v.version for v in before]


async def test_status_filter_takes_several_statuses(seeded):
    from jobtui.engine import JobStatus
    from jobtui.screens.status_picker import StatusPickerScreen
    from tests.ui.helpers import row_names

    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "F")
        picker = app.screen
        assert isinstance(picker, StatusPickerScreen)
        picks = picker.query_one("#status-picks")
        picks.select(JobStatus.RUNNING.value)
        picks.select(JobStatus.FAILED.value)
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        assert screen.query_state.statuses == (JobStatus.RUNNING, JobStatus.FAILED)
        assert sorted(row_names(app)) == ["backup", "orders-csv"]
        summary = str(screen.query_one("#filter-summary").render())
        assert "status: running+failed" in summary
        await press(pilot, "F", "a")  # all statuses again
        assert app.screen.query_state.statuses == ()
        assert len(row_names(app)) > 2

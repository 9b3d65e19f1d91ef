"""The job list: every key of DESIGN.md §5 on the home screen, against a real engine."""

from __future__ import annotations

import threading

from jobtui.engine import JobStatus, RunState
from jobtui.screens.confirm import ConfirmScreen
from jobtui.screens.history import HistoryScreen
from jobtui.screens.job_detail import JobDetailScreen
from jobtui.screens.jobs import JobsScreen
from jobtui.screens.logs import LogsScreen
from jobtui.screens.run_options import RunOptionsScreen
from tests.ui.helpers import (
    StubWizardScreens,
    build,
    goto_row,
    notes,
    press,
    row_names,
    settle,
    table,
)
from tests.ui.seed import datagen, store_output

SIZE = (120, 36)


async def test_list_shows_jobs_status_and_totals(seeded):
    engine, _ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert row_names(app) == ["backup", "billing", "orders-csv", "paused-one", "users-demo"]
        screen = app.screen
        assert screen.counts[JobStatus.RUNNING] == 1
        assert screen.counts[JobStatus.FAILED] == 1
        row = table(app).source.get_row(2)
        assert row is not None
        assert row.cells[2] == ("▶ running", "state--running")
        # next run: relative and absolute with its zone (Europe/Paris → CET)
        assert "CET" in str(row.cells[4]) and "in " in str(row.cells[4])


async def test_filter_as_you_type_and_escape_clears(seeded):
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash", "o", "r", "d")
        assert row_names(app) == ["orders-csv"]
        await press(pilot, "escape")
        assert len(row_names(app)) == 5
        # tags and descriptions match too
        await press(pilot, "slash", *"nightly")
        assert row_names(app) == ["backup"]


async def test_a_filter_that_matches_nothing_says_so_and_how_to_clear_it(seeded):
    """Issue 20, point 7: not "no jobs (n creates one)" when jobs exist."""
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash", *"demox")
        assert row_names(app) == []
        view = table(app)
        shown = "\n".join(view.render_line(y).text for y in range(3))
        assert "no job matches 'demox' (esc clears)" in shown
        await press(pilot, "escape", "escape")
        assert len(row_names(app)) == 5


async def test_status_cycle_workspace_system_and_sort(seeded):
    engine, _ = seeded
    engine.ensure_system_jobs()
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        await press(pilot, "s")
        assert screen.query_state.status == JobStatus.RUNNING
        assert row_names(app) == ["orders-csv"]
        await press(pilot, "s")
        assert screen.query_state.status == JobStatus.FAILED
        assert row_names(app) == ["backup"]
        while screen.query_state.status is not None:
            await press(pilot, "s")
        from jobtui.screens.workspaces import WorkspacesScreen

        await press(pilot, "w")
        assert isinstance(app.screen, WorkspacesScreen)
        app.screen.dismiss("finance")
        await settle(pilot)
        assert row_names(app) == ["billing"]
        await press(pilot, "w")
        app.screen.dismiss("")  # all workspaces
        await settle(pilot)
        assert screen.query_state.workspace is None
        n = len(row_names(app))
        await press(pilot, "S")
        assert len(row_names(app)) > n  # system jobs shown
        await press(pilot, "S")
        await press(pilot, "O")
        assert row_names(app)[0] == "users-demo"
        await press(pilot, "o")
        assert screen.query_state.sort == "workspace"


async def test_enter_history_logs_open_screens(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, JobDetailScreen)
        assert app.screen.job_id == ids["backup"]
        await press(pilot, "escape")
        await press(pilot, "h")
        assert isinstance(app.screen, HistoryScreen)
        await press(pilot, "escape")
        await press(pilot, "l")
        assert isinstance(app.screen, LogsScreen)
        assert app.screen.run_id == ids["backup-failed"]
        await press(pilot, "escape")
        await press(pilot, "H")
        assert isinstance(app.screen, HistoryScreen) and app.screen.job_id is None


async def test_run_cancel_and_run_with_options(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "users-demo")
        await press(pilot, "r")
        runs = engine.list_runs(job=ids["users-demo"])
        assert [r.state for r in runs] == [RunState.QUEUED]
        app.screen.poll_now()
        await settle(pilot)
        await press(pilot, "c", "y")
        assert engine.get_run(runs[0].id).state == RunState.CANCELLED
        await goto_row(pilot, "orders-csv")
        await press(pilot, "R")
        assert isinstance(app.screen, RunOptionsScreen)
        # An empty box leaves the job's setting in force, and says which.
        assert app.screen.query_one("#ro-max-records").placeholder == "the job's: 100"
        assert app.screen.query_one("#ro-seed").placeholder == "the job's: random"
        await pilot.press(*"nightly check")
        app.screen.query_one("#ro-param-region").value = "us"
        app.screen.query_one("#ro-max-records").value = "5"
        app.screen.query_one("#ro-since").value = "2027-01-01"
        await press(pilot, "ctrl+s")
        run = engine.list_runs(job=ids["orders-csv"], limit=1)[0]
        assert run.title == "nightly check" and run.parameters == {"region": "us"}
        assert engine.run_options(run.id)["max_records"] == 5
        assert run.since is not None and run.since.year == 2027
        await goto_row(pilot, "backup")
        await press(pilot, "R")
        assert app.screen.query_one("#ro-args").placeholder == "configured: --full"
        app.screen.query_one("#ro-args").value = "--dry-run 'two words'"
        await press(pilot, "ctrl+s")
        run = engine.list_runs(job=ids["backup"], limit=1)[0]
        assert engine.run_options(run.id)["args"] == ["--dry-run", "two words"]


async def test_pause_resume_and_undo(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "users-demo")
        await press(pilot, "p")
        assert not engine.get_job(ids["users-demo"]).active
        await press(pilot, "u")
        assert engine.get_job(ids["users-demo"]).active
        await goto_row(pilot, "paused-one")
        await press(pilot, "p")
        assert engine.get_job(ids["paused-one"]).active


async def test_delete_confirmed_with_count_and_undo(seeded):
    engine, _ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "billing")
        await press(pilot, "space")  # marks billing, moves down to orders-csv
        await press(pilot, "space")  # marks orders-csv
        await press(pilot, "ctrl+d")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == "Delete 2 jobs?"
        await press(pilot, "n")
        assert engine.count_jobs() == 5
        await press(pilot, "ctrl+d")
        await press(pilot, "y")
        assert engine.count_jobs() == 3
        assert "billing" not in row_names(app)
        await press(pilot, "u")
        assert engine.count_jobs() == 5


async def test_bulk_run_and_pause(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "billing")
        await press(pilot, "space")
        await goto_row(pilot, "users-demo")
        await press(pilot, "space")
        await press(pilot, "r")
        assert engine.count_runs(job=ids["billing"]) == 1
        assert engine.count_runs(job=ids["users-demo"]) == 1
        await press(pilot, "u")  # undo the bulk run: the queued runs are cancelled
        assert engine.list_runs(job=ids["billing"])[0].state == RunState.CANCELLED
        await goto_row(pilot, "billing")
        await press(pilot, "space")
        await goto_row(pilot, "users-demo")
        await press(pilot, "space", "p")
        assert not engine.get_job(ids["billing"]).active
        assert not engine.get_job(ids["users-demo"]).active


async def test_new_edit_duplicate_open_the_wizard(seeded, stub_wizard):
    engine, _ids = seeded
    app = build(engine, screens=StubWizardScreens)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "users-demo")
        for key in ("n", "e", "D"):
            await press(pilot, key)
            assert not isinstance(app.screen, JobsScreen), key
            app.screen.dismiss("default/users-demo" if key == "e" else None)
            await settle(pilot)
            assert isinstance(app.screen, JobsScreen)
        assert stub_wizard == [
            (None, False),
            ("default/users-demo", False),
            ("default/users-demo", True),
        ]
        # The wizard says "Saved"/"Created" itself: the list adds no second toast (point 11).
        assert not any("default/users-demo" in n.message for n in notes(app))


def test_the_real_wizard_is_the_one_pushed(seeded):
    from jobtui.screens.registry import Screens
    from jobtui.screens.wizard.screen import WizardScreen

    engine, _ids = seeded
    wizard = Screens(engine).wizard("default/users-demo", duplicate=True)
    assert isinstance(wizard, WizardScreen)
    assert (wizard.job_ref, wizard.mode) == ("default/users-demo", "duplicate")


async def test_live_refresh_keeps_cursor_and_focus(seeded):
    engine, _ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "paused-one")
        t = table(app)
        before = t.cursor
        engine.create_job(
            {
                "name": "aaa-first",
                "datagen": {"datasets": ["users"], "sinks": [{"type": "console"}]},
            }
        )
        app.screen.poll_now()
        await settle(pilot)
        assert row_names(app)[0] == "aaa-first"
        assert t.cursor == before + 1  # still on paused-one
        assert t.current_row.cells[0] == "paused-one"
        assert app.focused is t


async def test_read_only_hides_actions_that_change_something(seeded):
    engine, ids = seeded
    app = build(engine, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "r", "p", "ctrl+d", "u")
        assert isinstance(app.screen, JobsScreen)
        assert engine.count_runs(job=ids["backup"]) == 2
        assert engine.get_job(ids["backup"]).active
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert app.screen.check_action("run", ()) is False
        assert "open" in shown


async def test_dimmed_actions_that_do_not_apply(seeded):
    engine, _ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "billing")
        assert app.screen.check_action("logs", ()) is None
        assert app.screen.check_action("cancel", ()) is None
        await goto_row(pilot, "orders-csv")
        assert app.screen.check_action("cancel", ()) is True
        assert app.screen.check_action("logs", ()) is True


async def test_a_burst_of_keys_after_slash_reaches_the_filter(seeded):
    """`/back⏎` typed (or pasted) in one go: the keys after `/` are filter text."""
    from textual import events

    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, char in [("slash", "/"), ("b", "b"), ("a", "a"), ("c", "c"), ("k", "k")]:
            app.post_message(events.Key(key, char))
        app.post_message(events.Key("enter", "\r"))
        await settle(pilot)
        assert app.screen.query_one("#filter").value == "back"
        assert row_names(app) == ["backup"]
        assert app.focused is table(app)


async def test_replay_last_says_at_once_when_there_is_nothing_stored(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "backup")
        app.screen.action_replay_last()
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert any("no stored output" in n.message for n in notes(app))
        store_output(engine, ids["backup-failed"])
        app.screen.action_replay_last()
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        newest = engine.list_runs(job=ids["backup"], limit=1)[0]
        assert newest.trigger.value == "replay"


async def test_l_right_after_r_opens_the_run_just_queued(seeded):
    """Issue 20, point 8: the row's cached last run is an older one until a refresh."""
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "orders-csv")
        older = engine.list_runs(job=ids["orders-csv"], limit=1)[0].id
        app.screen.poll_now = lambda: None  # the refresh after `r` has not come yet
        await press(pilot, "r")
        await press(pilot, "l")
        newest = engine.list_runs(job=ids["orders-csv"], limit=1)[0].id
        assert newest > older
        assert isinstance(app.screen, LogsScreen) and app.screen.run_id == newest


async def test_l_while_r_is_still_queueing_waits_for_that_run(seeded, monkeypatch):
    engine, ids = seeded
    release = threading.Event()
    queue_run = engine.queue_run

    def slow_queue_run(*args, **kwargs):
        assert release.wait(60), "the test never released the queueing"
        return queue_run(*args, **kwargs)

    monkeypatch.setattr(engine, "queue_run", slow_queue_run)
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "users-demo")  # never run: nothing for `l` but the new run
        await pilot.press("r", "l")  # the run is not queued yet when `l` comes
        assert isinstance(app.screen, JobsScreen)
        release.set()
        await settle(pilot)
        newest = engine.list_runs(job=ids["users-demo"], limit=1)[0].id
        assert isinstance(app.screen, LogsScreen) and app.screen.run_id == newest


async def test_a_new_job_is_selected_even_when_the_filter_hid_it(seeded, stub_wizard):
    """Issue 20, point 10: the list shows the job just created, cursor on it."""
    engine, _ = seeded
    app = build(engine, screens=StubWizardScreens)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.set_workspace("finance")
        await settle(pilot)
        await press(pilot, "slash", *"bill", "enter")
        assert row_names(app) == ["billing"]
        await press(pilot, "n")
        engine.create_job(datagen("zz-new"))
        app.screen.dismiss("default/zz-new")
        await settle(pilot)
        assert screen.query_state.workspace == "default" and screen.query_state.search == ""
        assert table(app).current_row.key == engine.get_job("zz-new").id


async def test_a_search_matching_many_jobs_says_cap_plus_and_counts_on_when_scrolled(
    seeded, monkeypatch
):
    """Issue 18: a keystroke counts a search's matches up to a cap ("10+"), not all of them;
    the table still reaches every match: scrolling near the end counts further."""
    import jobtui.screens.jobs as jobs_screen

    engine, _ = seeded
    for i in range(60):
        engine.create_job(datagen(f"feed-{i:02d}"))
    monkeypatch.setattr(jobs_screen, "SEARCH_CAP", 40)  # more rows than the screen shows
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        await press(pilot, "slash", *"feed")
        assert screen.capped and screen.pages.total == 41
        assert str(screen.query_one("#total-all").render()) == "all 40+"
        await press(pilot, "enter")  # to the table
        table(app).move_cursor(screen.pages.total - 1)  # the end of what was counted
        await settle(pilot)
        assert not screen.capped and screen.pages.total == 60
        assert str(screen.query_one("#total-all").render()) == "all 60"
        table(app).move_cursor(59)
        await settle(pilot)
        assert row_names(app)[-1] == "feed-59"

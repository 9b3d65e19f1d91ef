"""The log viewer's search, go-to-line, whole-log and save dialog (issue 20, point 18)."""

from __future__ import annotations

from pathlib import Path

from jobtui.screens.log_save import SaveLogScreen
from jobtui.screens.logs import LogsScreen
from jobtui.widgets.logview import LogView
from tests.ui.helpers import build, notes, press, settle

SIZE = (120, 36)


async def open_log(pilot, run_id: int) -> LogView:
    pilot.app.push_screen(LogsScreen(pilot.app.engine, run_id))
    await settle(pilot)
    return pilot.app.screen.query_one(LogView)


def said(app) -> list[str]:
    return [str(n.message) for n in notes(app)]


def highlighted(view: LogView, y: int) -> str:
    """The text of row y drawn in the match style."""
    match = view.get_component_rich_style("log--match", partial=True)
    strip = view.render_line(y)
    return "".join(seg.text for seg in strip if seg.style and seg.style.bgcolor == match.bgcolor)


async def test_matches_light_up_while_typing_and_enter_wraps_from_the_tail(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, ids["backup-failed"])
        assert view.cursor_seq == 300  # opens at the tail: nothing after the cursor
        await press(pilot, "slash", *"0298")
        # Not yet searched, already highlighted on screen (as in toolong).
        rows = [y for y in range(view.page_height) if "0298" in view.render_line(y).text]
        assert rows and highlighted(view, rows[0]).lower() == "0298"
        assert view.cursor_seq == 300
        await press(pilot, "enter")
        assert view.cursor_seq == 298  # the search wrapped to the top and found it
        assert any("wrapped to the top" in n for n in said(app))


async def test_n_at_the_last_match_says_so_and_wraps(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, ids["backup-failed"])
        await press(pilot, "g", "slash", *"disk full", "enter")
        assert view.cursor_seq == 150
        await press(pilot, "n")  # the only match: says so, stays
        assert view.cursor_seq == 150
        assert any("only match" in n for n in said(app))
        await press(pilot, "slash", "ctrl+u", *"file 029", "enter")
        assert view.cursor_seq == 290
        for _ in range(9):
            await press(pilot, "n")
        assert view.cursor_seq == 299
        await press(pilot, "n")  # the last one: back to the first, with a note
        assert view.cursor_seq == 290
        assert any("that was the last match" in n for n in said(app))
        await press(pilot, "slash", "ctrl+u", *"no such text", "enter")
        assert view.cursor_seq == 290
        assert any("No match for 'no such text'" in n for n in said(app))


async def test_count_g_and_colon_go_to_a_line(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, ids["backup-failed"])
        await press(pilot, "1", "2", "0", "g")
        await settle(pilot)
        assert view.cursor_seq == 120
        await press(pilot, "colon", *"42", "enter")
        await settle(pilot)
        assert view.cursor_seq == 42
        assert "copied file 0042" in view.render_line(view.cursor - view.first_visible).text
        await press(pilot, "colon", *"9999", "enter")
        await settle(pilot)
        assert view.cursor_seq == 300
        assert any("the log has 300 lines" in n for n in said(app))


async def test_a_says_the_whole_log_is_shown(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_log(pilot, ids["backup-failed"])
        screen = app.screen
        await press(pilot, "a")
        assert not screen.full
        assert any("Whole log shown (all 300 lines)" in n for n in said(app))


async def test_cycling_levels_back_to_all_keeps_the_cursor_line(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, ids["backup-failed"])
        view.goto_seq(120)  # (`:120` would do; this test is about L)
        await settle(pilot)
        assert view.cursor_seq == 120
        await press(pilot, "L")
        await settle(pilot)
        assert view.cursor_seq == 120  # an info line: still shown
        await press(pilot, "L", "L")  # errors only: the nearest shown
        await settle(pilot)
        assert view.cursor_seq == 150
        await press(pilot, "L")  # all levels: back where the cursor was
        await settle(pilot)
        assert view.index is None
        assert view.cursor_seq == 120


async def test_save_to_a_missing_directory_keeps_the_dialog_and_offers_to_create_it(
    seeded, tmp_path: Path
):
    engine, ids = seeded
    app = build(engine)
    target = tmp_path / "new" / "dir" / "saved.log"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_log(pilot, ids["backup-failed"])
        await press(pilot, "ctrl+s")
        dialog = app.screen
        assert isinstance(dialog, SaveLogScreen)
        dialog.query_one("#prompt-input").value = str(target)
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen is dialog  # still open, saying why
        error = str(dialog.query_one("#save-error").render())
        assert f"directory {target.parent} does not exist" in error
        assert dialog.query_one("#create").display
        await press(pilot, "ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, LogsScreen)
        assert any("Saved 300 lines" in n for n in said(app))
    assert len(target.read_text().splitlines()) == 300

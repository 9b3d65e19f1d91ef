"""The log viewer: tail, follow, search, errors, filters, wrap, copy, save — and inert text."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobtui.engine import RunState
from jobtui.screens.confirm import ConfirmScreen, PromptScreen
from jobtui.screens.logs import LogsScreen
from jobtui.widgets.fmt import inert
from jobtui.widgets.logview import LogView
from tests.ui.helpers import build, notes, press, settle

SIZE = (120, 36)


async def open_log(pilot, run_id: int) -> LogView:
    pilot.app.push_screen(LogsScreen(pilot.app.engine, run_id))
    await settle(pilot)
    return pilot.app.screen.query_one(LogView)


def _lines(app) -> str:
    view = app.screen.query_one(LogView)
    return "\n".join(view.render_line(y).text for y in range(view.page_height))


async def test_opens_at_the_tail_and_pages(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, ids["backup-failed"])
        assert view.cursor_seq == 300
        assert "copied file 0300 of 300" in _lines(app)
        await press(pilot, "g")
        assert view.cursor_seq == 1 and "copied file 0001" in _lines(app)
        await press(pilot, "pagedown")
        assert view.first_visible == view.page_height
        await press(pilot, "G")
        assert view.cursor_seq == 300


async def test_next_error_search_and_n_N(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, ids["backup-failed"])
        await press(pilot, "E")
        assert view.cursor_seq == 150
        await press(pilot, "g", "e")
        assert view.cursor_seq == 150
        await press(pilot, "slash", *"file 02", "enter")
        assert view.cursor_seq == 201  # 200 is the hostile line
        await press(pilot, "n")
        assert view.cursor_seq == 202
        await press(pilot, "N")
        assert view.cursor_seq == 201
        await press(pilot, "N")  # nothing earlier matches: wraps to the bottom (point 18)
        assert view.cursor_seq == 299


async def test_level_and_stream_filters(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, ids["backup-failed"])
        await press(pilot, "L", "L", "L")  # errors only
        assert list(view.index or []) == [150]
        await press(pilot, "L")  # all levels again
        assert view.index is None
        await press(pilot, "o", "o", "o")  # stderr
        assert list(view.index or []) == [150, 250]


async def test_follow_tail_full_wrap_timestamps(seeded):
    engine, ids = seeded
    run = ids["running-run"]
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, run)
        screen = app.screen
        assert view.following  # a running run follows by itself
        add_logs_after(engine, run, 40, 60)
        screen.poll_now()
        await settle(pilot)
        assert view.cursor_seq == 100 and "line 100" in _lines(app)
        await press(pilot, "f")
        assert not view.following
        await press(pilot, "a")  # 100 lines: already whole (issue 20, point 18)
        assert not screen.full
        assert any("Whole log shown" in str(n.message) for n in notes(app))
        await press(pilot, "w")
        assert view.wrap
        await press(pilot, "T")
        assert not view.show_timestamps
        assert ":" not in _lines(app).splitlines()[0][:14]


async def test_c_cancels_the_run_being_watched(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_log(pilot, ids["backup-failed"])
        assert app.screen.check_action("cancel", ()) is None  # ended: dimmed
        await press(pilot, "c")
        assert engine.get_run(ids["backup-failed"]).state == RunState.FAILED
        await press(pilot, "escape")
        await open_log(pilot, ids["running-run"])
        await press(pilot, "c")  # asks first (issue 20, point 12), like k9s
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "n")
        assert engine.get_run(ids["running-run"]).state == RunState.RUNNING
        await press(pilot, "c", "y")
        assert engine.get_run(ids["running-run"]).state == RunState.CANCELLING
    read_only = build(engine, read_only=True)
    async with read_only.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_log(pilot, ids["running-run"])
        assert read_only.screen.check_action("cancel", ()) is False


def add_logs_after(engine, run_id: int, start: int, count: int) -> None:
    engine.store.conn.executemany(
        "INSERT INTO run_logs (run_id, seq, ts, level, stream, message) VALUES (?, ?, ?, 'info', 'stdout', ?)",
        [(run_id, start + i, 1_800_000_000 + i, f"line {start + i}") for i in range(1, count + 1)],
    )


async def test_save_to_a_file(seeded, tmp_path: Path):
    engine, ids = seeded
    app = build(engine)
    target = tmp_path / "saved.log"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_log(pilot, ids["backup-failed"])
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("#prompt-input").value = str(target)
        await press(pilot, "enter")
    text = target.read_text()
    assert len(text.splitlines()) == 300
    assert "disk full" in text


async def test_copy_line_and_selection_falls_back_to_osc52(seeded, monkeypatch):
    import pyperclip

    def no_clipboard(text: str) -> None:
        raise pyperclip.PyperclipException("no clipboard here")

    monkeypatch.setattr(pyperclip, "copy", no_clipboard)
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, ids["backup-failed"])
        await press(pilot, "g", "y")
        assert app.clipboard == "copied file 0001 of 300"
        await press(pilot, "v", "j", "j", "y")
        assert app.clipboard.splitlines() == [f"copied file {i:04d} of 300" for i in (1, 2, 3)]
        assert view.sel_anchor is None


async def test_copy_uses_pyperclip_when_there_is_a_clipboard(seeded, monkeypatch):
    import pyperclip

    copied: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", copied.append)
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_log(pilot, ids["backup-failed"])
        await press(pilot, "y")
        assert copied == ["copied file 0300 of 300"]
        assert app.clipboard == ""


async def test_hostile_log_line_is_inert(seeded, monkeypatch):
    """OSC 52, clear-screen, C1 CSI and markup in job output draw as plain text, do nothing."""
    import pyperclip

    copied: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", copied.append)
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = await open_log(pilot, ids["backup-failed"])
        view.goto_seq(200)
        await settle(pilot)
        strips = [view.render_line(y) for y in range(view.page_height)]
        text = "\n".join(s.text for s in strips)
        line = next(t for t in text.splitlines() if "FAKE" in t)
        assert "^[]52;c;ZXZpbA==^G ^[[2J<9b>31m [bold red]FAKE[/] end" in line
        for strip in strips:
            for segment in strip:
                assert not any(ch in segment.text for ch in "\x1b\x9b\x07\x00")
                assert segment.control is None
        # markup was not interpreted: FAKE is not styled bold red
        fake = [seg for s in strips for seg in s if "FAKE" in seg.text]
        assert fake and all(not (seg.style and seg.style.bold) for seg in fake)
        # nothing reached the clipboard, the screen still shows the log title
        assert copied == [] and app.clipboard == ""
        assert "backup" in str(app.screen.query_one("#log-title").render())
        # the whole exported frame carries no escape from the log either
        svg = app.export_screenshot()
        assert "ZXZpbA==" in svg and "\x1b" not in svg


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "^[[31mred^[[0m"),
        ("bell\x07", "bell^G"),
        ("csi\x9b2J", "csi<9b>2J"),
        ("rtl\u202eevil", "rtl<U+202E>evil"),
        ("tab\there", "tab here"),
        ("[b]x[/b]", "[b]x[/b]"),
        ("cr\rlf", "cr^Mlf"),
    ],
)
def test_inert(raw: str, shown: str) -> None:
    assert inert(raw) == shown


async def test_escape_leaves_search_then_screen(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_log(pilot, ids["backup-failed"])
        await press(pilot, "slash")
        assert app.focused.id == "log-search"
        await press(pilot, "escape")
        assert isinstance(app.screen, LogsScreen)
        await press(pilot, "q")
        assert not isinstance(app.screen, LogsScreen)

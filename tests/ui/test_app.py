"""App-wide keys: help, command palette, local/UTC, undo, errors, daemon start."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable

from jobtui.app import binding_ids, load_keymap
from jobtui.engine import NotFound
from jobtui.paths import keymap_path
from jobtui.screens.help import HelpScreen
from jobtui.screens.job_detail import JobDetailScreen
from jobtui.screens.jobs import JobsScreen
from jobtui.screens.palette import JobCommands
from jobtui.widgets.bars import DaemonBar
from tests.ui.helpers import build, goto_row, notes, press, settle, table, until
from tests.ui.seed import store_output

SIZE = (120, 36)


def hit(app, label: str) -> bool:
    """Whether the open command palette lists a command with `label`."""
    if not isinstance(app.screen, CommandPalette):
        return False
    hits = app.screen.query_one(CommandList)
    return any(label in str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count))


async def test_help_is_built_from_live_bindings(seeded):
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "billing")  # no last run: logs and cancel do not apply
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = app.screen.query_one(DataTable)
        described = {str(rows.get_row_at(i)[1]) for i in range(rows.row_count)}
        assert {"Filter", "Run", "Delete", "Local/UTC"} <= described
        assert "Logs (n/a)" in described
        await press(pilot, "escape")
        assert isinstance(app.screen, JobsScreen)


async def test_palette_offers_job_actions_and_go_to_job(seeded):
    engine, ids = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "users-demo")
        await press(pilot, "colon")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"run default/users")
        await settle(pilot)
        await press(pilot, "enter")
        assert engine.count_runs(job=ids["users-demo"]) == 1
        await press(pilot, "ctrl+p")
        await pilot.press(*"backup")
        await until(pilot, lambda: hit(app, "Go to job: default/backup"), "the palette's hits")
        await press(pilot, "enter")
        assert isinstance(app.screen, JobDetailScreen) and app.screen.job_id == ids["backup"]


async def test_palette_commands_are_the_live_bindings(seeded):
    """What the footer hides the palette leaves out; what it dims the palette says so."""
    engine, _ = seeded
    app = build(engine, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "billing")  # never run: no logs
        labels = [label for label, _, _ in JobCommands(app.screen)._commands()]
        assert "Focus Next" not in labels  # Textual's own keys are its system commands'
        await press(pilot, "colon")
        await pilot.press(*"finance/billing")
        await until(pilot, lambda: hit(app, "Open finance/billing"), "the palette's hits")
        assert hit(app, "History finance/billing")
        assert not hit(app, "Run finance/billing")  # read-only
        assert hit(app, "key l (does not apply now)")


async def test_toggle_utc_redraws_every_time(seeded):
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto_row(pilot, "orders-csv")
        cell = str(table(app).current_row.cells[4])
        assert "CET" in cell
        await press(pilot, "t")
        assert app.utc
        assert "UTC" in str(table(app).current_row.cells[4])


async def test_undo_with_nothing_to_undo_says_so(seeded):
    engine, _ = seeded
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.check_action("undo", ()) is None
        app.action_undo()
        await settle(pilot)
        assert any("Nothing to undo" in n.message for n in notes(app))


async def test_engine_error_becomes_a_notification(seeded, monkeypatch):
    engine, _ = seeded

    def boom(*args, **kwargs):
        raise NotFound("no job named 'gone'")

    monkeypatch.setattr(engine, "queue_run", boom)
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "r")
        assert isinstance(app.screen, JobsScreen)
        assert any("no job named 'gone'" in n.message for n in notes(app))


async def test_opening_starts_the_daemon_and_says_so(seeded, monkeypatch):
    engine, _ = seeded
    calls: list[bool] = []

    def ensure(wait: float = 10.0) -> str:
        calls.append(True)
        return "started the jobtui daemon in the background (pid 4242)"

    monkeypatch.setattr(engine, "ensure_daemon", ensure)
    app = build(engine, start_daemon=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.poll_now()
        await settle(pilot)
        assert calls == [True]
        bar = str(app.screen.query_one(DaemonBar).render())
        assert "started by this session" in bar
        assert any("pid 4242" in n.message for n in notes(app))


async def test_read_only_never_starts_the_daemon(seeded, monkeypatch):
    engine, _ = seeded
    monkeypatch.setattr(engine, "ensure_daemon", lambda **kw: (_ for _ in ()).throw(AssertionError))
    app = build(engine, start_daemon=True, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.sub_title == "read-only"


async def test_palette_offers_replay_on_the_focused_run(seeded):
    from jobtui.screens.confirm import ConfirmScreen
    from jobtui.screens.history import HistoryScreen

    engine, ids = seeded
    store_output(engine, ids["backup-failed"])
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(HistoryScreen(engine, ids["backup"], "default/backup"))
        await settle(pilot)
        await press(pilot, "colon")
        await pilot.press(*"replay run")
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == f"Replay run #{ids['backup-failed']}?"


def test_the_dashboard_leaves_when_its_terminal_goes_away(tmp_path):
    """A terminal that hangs up without a SIGHUP reaching the dashboard (an SSH connection
    that drops under `make run`): the dashboard leaves within seconds instead of spinning on
    its closed input at full CPU for ever."""
    leader, follower = pty.openpty()
    app = subprocess.Popen(
        [sys.executable, "-m", "jobtui", "--data-dir", str(tmp_path / "data"), "--no-daemon"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,  # its own session: no SIGHUP comes from ours
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
    )
    os.close(follower)
    try:
        screen = b""
        deadline = time.monotonic() + 30
        while b"NAME" not in screen:  # the job list's header: the dashboard is up
            assert time.monotonic() < deadline, screen[-500:]
            if select.select([leader], [], [], 0.5)[0]:
                try:
                    screen += os.read(leader, 65536)
                except OSError:
                    break
        os.close(leader)  # hang up
        app.wait(timeout=15)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


async def test_a_keymap_file_rebinds_keys(seeded, tmp_path):
    engine, ids = seeded
    keymap = tmp_path / "keymap.toml"
    keymap.write_text(
        '"jobs.run" = "x"\n'  # a dotted id, quoted
        "[app]\n"
        'help = "f1"\n'  # or a table per screen
        "[jobs]\n"
        'nope = "z"\n'
    )
    app = build(engine, keymap_file=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert any("jobs.nope: no key has this id" in n.message for n in notes(app))
        await goto_row(pilot, "users-demo")
        await press(pilot, "r")  # r no longer runs
        assert engine.count_runs(job=ids["users-demo"]) == 0
        await press(pilot, "x")
        assert engine.count_runs(job=ids["users-demo"]) == 1
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        rows = app.screen.query_one(DataTable)
        keys = {
            str(rows.get_row_at(i)[1]): str(rows.get_row_at(i)[0]) for i in range(rows.row_count)
        }
        assert keys["Run"] == "x"  # help shows the keys in force


async def test_a_broken_keymap_file_is_reported_and_ignored(seeded, tmp_path):
    engine, _ = seeded
    keymap = tmp_path / "keymap.toml"
    keymap.write_text('"jobs.run" = \n')
    app = build(engine, keymap_file=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert any(str(keymap) in n.title for n in notes(app))
        assert isinstance(app.screen, JobsScreen)


def test_the_readme_lists_every_binding_id(tmp_path):
    """A keymap names bindings by id: the README's table of ids is the user's list, and its
    example keymap is one the dashboard takes."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+\.)` \| [^|]* \| ([^|]*) \|$", readme, re.MULTILINE)
    listed = {prefix + name.strip() for prefix, names in rows for name in names.split(",")}
    assert listed == binding_ids()
    example = tmp_path / "keymap.toml"
    example.write_text(re.findall(r"```toml\n(.*?)```", readme, re.DOTALL)[0])
    keymap, problems = load_keymap(example)
    assert problems == [] and keymap and set(keymap) <= binding_ids()


def test_the_keymap_lives_in_the_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("JOBTUI_CONFIG_DIR", str(tmp_path / "cfg"))
    assert keymap_path() == tmp_path / "cfg" / "keymap.toml"
    monkeypatch.delenv("JOBTUI_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert keymap_path() == tmp_path / "xdg" / "jobtui" / "keymap.toml"

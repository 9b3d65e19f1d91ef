"""Issue 20.16 and 20.17: the trash, the daemon and the mail server, without leaving the
dashboard. The test mail goes to a real SMTP server started here (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.command import CommandList, CommandPalette

from jobtui.engine import NotFound
from jobtui.screens.confirm import ConfirmScreen, PromptScreen
from jobtui.screens.jobs import JobsScreen
from jobtui.screens.smtp import SmtpScreen
from jobtui.screens.trash import TrashScreen
from tests.engine.test_alerts import Inbox, free_port
from tests.ui.helpers import build, notes, press, row_names, settle, until

SIZE = (120, 36)


def hit(app, label: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether the open command palette lists a command with `label`."""
    if not isinstance(app.screen, CommandPalette):
        return False
    hits = app.screen.query_one(CommandList)
    return any(label in str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count))


async def palette(pilot, words: str, label: str) -> None:  # type: ignore[no-untyped-def]
    """Open the palette, type `words`, wait for `label` among the hits and run the first."""
    await press(pilot, "colon")
    await pilot.press(*words)
    await until(pilot, lambda: hit(pilot.app, label), f"the palette's hit {label!r}")
    await press(pilot, "enter")


def trash_names(app) -> list[str]:  # type: ignore[no-untyped-def]
    table = app.screen.query_one("#trash-table")
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def test_trash_restores_and_purges(seeded):
    engine, ids = seeded
    engine.delete_job(ids["billing"])
    engine.delete_job(ids["users-demo"])
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "billing" not in row_names(app)
        await press(pilot, "T")
        assert isinstance(app.screen, TrashScreen)
        names = trash_names(app)
        assert sorted(names) == ["default/users-demo", "finance/billing"]
        for _ in range(names.index("finance/billing")):
            await press(pilot, "j")
        await press(pilot, "enter")
        assert engine.get_job(ids["billing"]).name == "billing"
        assert trash_names(app) == ["default/users-demo"]
        await press(pilot, "ctrl+d")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        assert trash_names(app) == []
        with pytest.raises(NotFound):
            engine.get_job(ids["users-demo"], include_deleted=True)
        await press(pilot, "escape")
        assert isinstance(app.screen, JobsScreen)
        assert "billing" in row_names(app)


async def test_palette_reaches_trash_smtp_and_the_daemon(seeded):
    engine, ids = seeded
    engine.delete_job(ids["billing"])
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await palette(pilot, "restore", "Restore a deleted job")
        assert isinstance(app.screen, TrashScreen)
        assert trash_names(app) == ["finance/billing"]
        await press(pilot, "escape")
        await palette(pilot, "smtp", "SMTP settings")
        assert isinstance(app.screen, SmtpScreen)
        await press(pilot, "escape")
        await palette(pilot, "daemon pause", "Daemon: pause")
        assert engine.daemon_status().paused
        await palette(pilot, "daemon resume", "Daemon: resume")
        assert not engine.daemon_status().paused
        await palette(pilot, "daemon status", "Daemon: status")
        said = [n.message for n in notes(app) if n.title == "Daemon"]
        assert len(said) == 3 and "paused" in said[0] and "paused" not in said[2]


async def test_palette_daemon_pause_is_refused_in_read_only(seeded):
    engine, _ = seeded
    app = build(engine, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await palette(pilot, "daemon pause", "Daemon: pause")
        assert not engine.daemon_status().paused
        assert any(n.title == "Read-only" for n in notes(app))


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


async def test_smtp_settings_saved_and_a_test_mail_sent(seeded, smtp_server):
    engine, _ = seeded
    port, inbox = smtp_server
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(app.screens.smtp())
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SmtpScreen)
        assert "No SMTP server is set" in str(screen.query_one("#smtp-result").render())
        screen.query_one("#smtp-host").value = "127.0.0.1"
        screen.query_one("#smtp-port").value = str(port)
        screen.query_one("#smtp-password").value = "hunter2"
        await press(pilot, "ctrl+s")
        # A clear password is refused, naming the field; nothing else is lost.
        assert any(n.message.startswith("password:") for n in notes(app))
        assert engine.smtp_settings() is None  # nothing of a refused form is stored
        screen.query_one("#smtp-password").value = "env:SMTP_PW"
        screen.query_one("#smtp-sender").value = "jobtui@example.com"
        await press(pilot, "ctrl+t")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"ops@example.com")
        await press(pilot, "enter")
        assert len(inbox.messages) == 1
        assert inbox.messages[0]["To"] == "ops@example.com"
        settings = engine.smtp_settings()
        assert settings is not None
        assert (settings["host"], settings["port"], settings["password"]) == (
            "127.0.0.1",
            port,
            "env:SMTP_PW",
        )
        assert any("sent a test message to ops@example.com" in n.message for n in notes(app))


async def test_alerts_without_smtp_are_warned_and_defaults_shown(seeded):
    from jobtui.screens.job_detail import JobDetailScreen
    from jobtui.screens.wizard.screen import WizardScreen
    from tests.ui.seed import datagen

    engine, _ = seeded
    job = engine.create_job(datagen("alerted", alerts={"emails": ["ops@example.com"]}))
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(JobDetailScreen(engine, job.id))
        await settle(pilot)
        spec_text = str(app.screen.query_one("#spec-text").render())
        # The default applies: it is shown, not a blank.
        assert "on: failed (the default)" in spec_text
        assert "after: 1 consecutive failure" in spec_text
        assert "no SMTP server is set" in spec_text
        await press(pilot, "escape")
        app.push_screen(WizardScreen(engine, job.qualified_name))
        await settle(pilot)
        note = app.screen.query_one("#alerts-smtp-note")
        assert note.display and "No SMTP server is set" in str(note.render())
        await press(pilot, "escape")
        await settle(pilot)
        engine.set_smtp_settings(host="127.0.0.1", port=free_port())
        app.push_screen(JobDetailScreen(engine, job.id))
        await settle(pilot)
        assert "no SMTP server" not in str(app.screen.query_one("#spec-text").render())

"""SVG snapshots of the Trash and SMTP settings screens (issue 20.16, 20.17) at the two
sizes people use: 80×24 (nothing clipped) and 140×40. Fixed data, frozen clock.

Update after a deliberate change with `pytest tests/ui/test_trash_smtp_snapshots.py
--snapshot-update`.
"""

from __future__ import annotations

import os

import pytest
from textual.widgets.input import Selection

from jobtui.screens.smtp import SmtpScreen
from jobtui.screens.trash import TrashScreen
from tests.ui.helpers import build, settle

SIZES = [(80, 24), (140, 40)]


@pytest.fixture
def no_smtp_environment(monkeypatch):  # type: ignore[no-untyped-def]
    for key in [k for k in os.environ if k.startswith("JOBTUI_SMTP_")]:
        monkeypatch.delenv(key)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_trash_screen(snap_compare, seeded, size):
    engine, ids = seeded
    engine.delete_job(ids["billing"])
    engine.delete_job(ids["users-demo"])

    async def before(pilot):
        await settle(pilot)
        pilot.app.push_screen(TrashScreen(engine))
        await settle(pilot)

    assert snap_compare(build(engine), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "140x40"])
def test_smtp_screen(snap_compare, seeded, no_smtp_environment, size):
    engine, _ = seeded
    engine.set_smtp_settings(
        host="mail.example.com",
        port=587,
        starttls="1",
        user="alerts-bot",
        password="env:SMTP_PASSWORD",
        sender="jobtui@example.com",
    )

    async def before(pilot):
        await settle(pilot)
        pilot.app.push_screen(SmtpScreen(engine))
        await settle(pilot)
        for field in pilot.app.screen.query("Input"):
            field.cursor_blink = False  # a blinking cursor makes snapshots flaky
            # The focused box selects its text on focus, sometimes after the settle: the
            # cursor at the end, not a selection, whatever the timing.
            field.selection = Selection.cursor(len(field.value))
        await settle(pilot)

    assert snap_compare(build(engine), terminal_size=size, run_before=before)

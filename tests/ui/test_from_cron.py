"""Coming from cron in the dashboard (issue 20, point 21): next fires without a daemon, and
the crontab import the empty job list offers."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import Button

from jobtui.engine import Engine, ManualClock
from jobtui.screens.crontab_import import CrontabImportScreen
from jobtui.screens.jobs import JobsScreen
from jobtui.screens.wizard.screen import WizardScreen
from tests.ui.helpers import build, notes, press, row_names, settle, table, until
from tests.ui.seed import NOW
from tests.ui.test_app import hit

SIZE = (140, 40)


def cell_text(cell) -> str:  # type: ignore[no-untyped-def]
    if isinstance(cell, str):
        return cell
    if isinstance(cell, tuple):
        return cell[0]
    return "".join(part[0] for part in cell)


async def test_next_run_is_computed_and_marked_while_the_daemon_is_down(tmp_path: Path, frozen_tz):
    engine = Engine.open(data_dir=tmp_path / "data", clock=ManualClock(NOW))  # 09:00 in Paris
    engine.create_job(
        {
            "name": "nightly",
            "kind": "command",
            "command": {"argv": ["true"]},
            "schedule": {"type": "cron", "cron": "30 9 * * *"},
        }
    )
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = table(app).source.get_row(0)
        assert row is not None
        next_run = cell_text(row.cells[4])
        assert next_run.startswith("in 30m (no daemon) · ") and "09:30" in next_run
    engine.close()


async def test_the_empty_list_offers_the_crontab_import(tmp_path: Path, frozen_tz):
    engine = Engine.open(data_dir=tmp_path / "data", clock=ManualClock(NOW))
    crontab = tmp_path / "crontab"
    crontab.write_text("GREETING=hi\n*/5 * * * * echo $GREETING\n@reboot boot.sh\n")
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "i imports your crontab" in table(app).empty_text
        await press(pilot, "ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"crontab")
        await until(pilot, lambda: hit(app, "Import crontab"), "the palette's hits")
        await press(pilot, "enter")
        dialog = app.screen
        assert isinstance(dialog, CrontabImportScreen)
        dialog.query_one("#crontab-source").value = str(crontab)
        dialog.query_one("#crontab-source").focus()
        await press(pilot, "enter")
        shown = str(dialog.query_one("#crontab-plan").render())
        assert "cron-2-echo" in shown and "Every 5 minutes" in shown
        assert "line 3" in shown and "@reboot" in shown
        await press(pilot, "y")
        assert not isinstance(app.screen, CrontabImportScreen)
        assert any("Created 1 job from the crontab" in str(n.message) for n in notes(app))
        await settle(pilot)
        assert row_names(app) == ["cron-2-echo"]
    job = engine.get_job("cron-2-echo")
    assert job.spec["command"]["env"] == {"GREETING": "hi"}
    engine.close()


async def test_i_on_the_empty_list_opens_the_crontab_import(tmp_path: Path, frozen_tz):
    engine = Engine.open(data_dir=tmp_path / "data", clock=ManualClock(NOW))
    crontab = tmp_path / "crontab"
    crontab.write_text("0 3 * * * backup.sh\n")
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "i imports your crontab" in table(app).empty_text
        await press(pilot, "i")
        dialog = app.screen
        assert isinstance(dialog, CrontabImportScreen)
        dialog.query_one("#crontab-source").value = str(crontab)
        dialog.query_one("#crontab-source").focus()
        await press(pilot, "enter", "y")
        await settle(pilot)
        assert row_names(app) == ["cron-1-backup.sh"]
    engine.close()


async def test_the_new_job_wizard_offers_the_import_while_there_is_no_job(
    tmp_path: Path, frozen_tz
):
    engine = Engine.open(data_dir=tmp_path / "data", clock=ManualClock(NOW))
    crontab = tmp_path / "crontab"
    crontab.write_text("0 3 * * * backup.sh\n")
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert isinstance(app.screen, WizardScreen)
        offer = app.screen.query_one("#wizard-import-crontab", Button)
        assert "Import from crontab" in str(offer.label)
        await pilot.click("#wizard-import-crontab")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, CrontabImportScreen)
        dialog.query_one("#crontab-source").value = str(crontab)
        dialog.query_one("#crontab-source").focus()
        await press(pilot, "enter", "y")
        await settle(pilot)
        # The jobs are made: the wizard closed onto the list that shows them.
        assert isinstance(app.screen, JobsScreen)
        assert row_names(app) == ["cron-1-backup.sh"]
        assert any("Created 1 job from the crontab" in str(n.message) for n in notes(app))
        await press(pilot, "n")  # a job exists now: no offer
        assert isinstance(app.screen, WizardScreen)
        assert not app.screen.query("#wizard-import-crontab")
    engine.close()

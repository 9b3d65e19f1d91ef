"""SVG snapshots pin each screen's look at 120×36, with fixed data and a frozen clock.

Update after a deliberate change with `pytest tests/ui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from jobtui.screens.history import HistoryScreen
from jobtui.screens.job_detail import JobDetailScreen
from jobtui.screens.logs import LogsScreen
from tests.ui.helpers import build, goto_row, press, settle

SIZE = (120, 36)


def test_jobs_screen(snap_compare, seeded):
    engine, _ = seeded

    async def before(pilot):
        await settle(pilot)
        await goto_row(pilot, "orders-csv")

    assert snap_compare(build(engine), terminal_size=SIZE, run_before=before)


def test_jobs_screen_failed_filter_and_marks(snap_compare, seeded):
    engine, _ = seeded

    async def before(pilot):
        await settle(pilot)
        await press(pilot, "space", "space", "s", "s")

    assert snap_compare(build(engine), terminal_size=SIZE, run_before=before)


def test_job_detail_screen(snap_compare, seeded):
    engine, ids = seeded

    async def before(pilot):
        await settle(pilot)
        pilot.app.push_screen(JobDetailScreen(engine, ids["orders-csv"]))
        await settle(pilot)

    assert snap_compare(build(engine), terminal_size=SIZE, run_before=before)


def test_history_screen(snap_compare, seeded):
    engine, _ids = seeded

    async def before(pilot):
        await settle(pilot)
        pilot.app.push_screen(HistoryScreen(engine, None))
        await settle(pilot)

    assert snap_compare(build(engine), terminal_size=SIZE, run_before=before)


def test_log_screen_at_the_error_with_the_hostile_line(snap_compare, seeded):
    engine, ids = seeded

    async def before(pilot):
        await settle(pilot)
        pilot.app.push_screen(LogsScreen(engine, ids["backup-failed"]))
        await settle(pilot)
        await press(pilot, "E", "j", "j")
        pilot.app.screen.query_one("LogView").goto_seq(185)
        await settle(pilot)

    assert snap_compare(build(engine), terminal_size=SIZE, run_before=before)


def test_help_screen(snap_compare, seeded):
    engine, _ = seeded

    async def before(pilot):
        await settle(pilot)
        await press(pilot, "question_mark")

    assert snap_compare(build(engine), terminal_size=SIZE, run_before=before)

"""SVG snapshots of the job list, all runs and job detail on a small (80×24) and a large
(140×40) terminal (issue 20): at 80 columns the tables keep their most important columns
whole and mark the rest (▸) a Right away; the scrolled views are pinned too.

Update after a deliberate change with `pytest tests/ui/test_snapshots_sizes.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from jobtui.screens.history import HistoryScreen
from jobtui.screens.job_detail import JobDetailScreen
from jobtui.screens.logs import LogsScreen
from tests.ui.helpers import build, goto_row, press, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((140, 40), id="140x40")]


@pytest.mark.parametrize("size", SIZES)
def test_job_list(snap_compare, seeded, size):
    engine, _ = seeded

    async def before(pilot):
        await settle(pilot)
        await goto_row(pilot, "orders-csv")

    assert snap_compare(build(engine), terminal_size=size, run_before=before)


def test_job_list_scrolled_right_at_80(snap_compare, seeded):
    engine, _ = seeded

    async def before(pilot):
        await settle(pilot)
        await press(pilot, "right", "right", "right")

    assert snap_compare(build(engine), terminal_size=(80, 24), run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_all_runs(snap_compare, seeded, size):
    engine, _ = seeded

    async def before(pilot):
        await settle(pilot)
        pilot.app.push_screen(HistoryScreen(engine, None))
        await settle(pilot)

    assert snap_compare(build(engine), terminal_size=size, run_before=before)


def test_all_runs_scrolled_right_at_80(snap_compare, seeded):
    engine, _ = seeded

    async def before(pilot):
        await settle(pilot)
        pilot.app.push_screen(HistoryScreen(engine, None))
        await settle(pilot)
        await press(pilot, "right", "right", "right", "right")

    assert snap_compare(build(engine), terminal_size=(80, 24), run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_job_detail(snap_compare, seeded, size):
    engine, ids = seeded

    async def before(pilot):
        await settle(pilot)
        pilot.app.push_screen(JobDetailScreen(engine, ids["orders-csv"]))
        await settle(pilot)

    assert snap_compare(build(engine), terminal_size=size, run_before=before)


def test_help_at_80(snap_compare, seeded):
    engine, _ = seeded

    async def before(pilot):
        await settle(pilot)
        await press(pilot, "question_mark")

    assert snap_compare(build(engine), terminal_size=(80, 24), run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_log_viewer(snap_compare, seeded, size):
    """A failed run's log at its first error: levels, times and the status line fit."""
    engine, ids = seeded

    async def before(pilot):
        await settle(pilot)
        pilot.app.push_screen(LogsScreen(engine, ids["backup-failed"]))
        await settle(pilot)
        await press(pilot, "E")
        await settle(pilot)

    assert snap_compare(build(engine), terminal_size=size, run_before=before)

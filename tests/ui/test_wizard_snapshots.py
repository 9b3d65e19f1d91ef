"""SVG snapshots of each wizard step (an edited job, so every field is filled) at 120×36, and
at the small and large terminals of issue 20 (80×24, 140×40)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from textual.widgets.input import Selection

from jobtui.engine import Engine

from .wizard_helpers import WizardApp, settle

SPEC: dict[str, Any] = {
    "name": "orders-5m",
    "description": "Fresh orders for the reporting sandbox",
    "schedule": {"type": "cron", "cron": "*/5 * * * *", "timezone": "UTC"},
    "datagen": {
        "datasets": ["orders"],
        "max_records": 500,
        "seed": 42,
        "generator": {"format": "csv"},
        "sinks": [{"type": "file", "options": {"base_dir": "out"}}],
    },
}
STEPS = ["settings", "datasets", "generator", "sinks", "last"]


@pytest.mark.parametrize(
    "size",
    [
        pytest.param((120, 36), id="120x36"),
        pytest.param((80, 24), id="80x24"),
        pytest.param((140, 40), id="140x40"),
    ],
)
@pytest.mark.parametrize("step", STEPS)
def test_wizard_step_snapshot(
    snap_compare: Any, clocked_engine: Engine, step: str, size: tuple[int, int]
) -> None:
    clocked_engine.create_job(SPEC)
    app = WizardApp(clocked_engine, "default/orders-5m")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for _ in range(STEPS.index(step)):
            await pilot.press("ctrl+n")
            await settle(pilot)
        await settle(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor makes snapshots flaky
            field.selection = Selection.cursor(len(field.value))  # not a select-on-focus
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)

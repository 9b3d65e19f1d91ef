"""SVG snapshots of a pipeline job's Readers and Transformers steps (with their preview) at
80×24 and 140×40. A seeded datagen reader keeps the previewed records the same each time."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from jobtui.engine import Engine

from .wizard_helpers import WizardApp, settle

SPEC: dict[str, Any] = {
    "name": "products-feed",
    "kind": "pipeline",
    "pipeline": {
        "readers": [
            {"type": "datagen", "options": {"dataset": "products", "records": 50, "seed": 7}}
        ],
        "transformers": [
            {"type": "filter", "options": {"expr": "stock > 1000 and active"}},
            {"type": "select", "options": {"fields": ["sku", "price", "stock"]}},
        ],
        "writers": [{"type": "console"}],
    },
}
STEPS = ["settings", "readers", "transformers"]


@pytest.mark.parametrize("size", [(80, 24), (140, 40)], ids=["80x24", "140x40"])
@pytest.mark.parametrize("step", STEPS[1:])
def test_pipeline_step_snapshot(
    snap_compare: Any, clocked_engine: Engine, step: str, size: tuple[int, int]
) -> None:
    clocked_engine.create_job(SPEC)
    app = WizardApp(clocked_engine, "default/products-feed")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for _ in range(STEPS.index(step)):
            await pilot.press("ctrl+n")
            await settle(pilot)
        await settle(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor makes snapshots flaky
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)

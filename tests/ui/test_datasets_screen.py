"""The datasets screen by keys: add, reorder and remove fields, samples follow, save, export."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import DataTable

from jobtui.engine import Engine
from jobtui.screens.datasets import DatasetsScreen

from .test_presets_screen import SIZE, Host
from .wizard_helpers import choose, settle, type_in


async def test_build_a_custom_dataset_by_keys(engine: Engine, tmp_path: Path) -> None:
    app = Host(DatasetsScreen(engine))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DatasetsScreen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await type_in(pilot, "name", "pets")
        select = screen.query_one("#field-type")
        await choose(pilot, select, "sequence")
        await pilot.press("ctrl+a")
        await settle(pilot)
        await choose(pilot, select, "integer")
        await pilot.press("ctrl+a")
        await settle(pilot)
        await type_in(pilot, "fields[1].max", "9")
        sample = screen.query_one("#dataset-sample-table", DataTable)
        assert sample.row_count == 5
        assert [str(c.label) for c in sample.columns.values()] == ["sequence", "integer"]
        # A wrong range is shown beside the field with the engine's reason.
        await type_in(pilot, "fields[1].min", "50")
        assert "must be at least min" in screen.query_one("#f-fields-1-max-row").error  # type: ignore[attr-defined]
        await type_in(pilot, "fields[1].min", "1")
        await pilot.press("alt+up")
        await settle(pilot)
        assert [f["name"] for f in screen.fields] == ["integer", "sequence"]
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = engine.get_dataset("pets")
        assert [f["name"] for f in saved.fields] == ["integer", "sequence"]
        assert saved.fields[0] == {"name": "integer", "type": "integer", "min": 1, "max": 9}
        target = tmp_path / "pets.json"
        await pilot.press("ctrl+e", "ctrl+u", *str(target), "enter")
        await settle(pilot)
        assert json.loads(target.read_text())["fields"] == saved.fields

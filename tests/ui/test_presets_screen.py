"""Sink presets and workspaces screens, by keys, from a tiny host app."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Static

from jobtui.engine import Engine
from jobtui.screens.sink_presets import SinkPresetsScreen
from jobtui.screens.workspaces import WorkspacesScreen

from .helpers import record_notes
from .wizard_helpers import NOT_DONE, choose, settle, type_in

SIZE = (120, 36)


class Host(App[None]):
    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        record_notes(self)
        self.first = screen
        self.result: Any = NOT_DONE

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self.first, self._done)

    def _done(self, result: Any) -> None:
        self.result = result


async def test_create_preset_then_delete_refused_while_used(engine: Engine) -> None:
    app = Host(SinkPresetsScreen(engine))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_in(pilot, "name", "pg")
        await choose(pilot, "type", "postgres")
        await type_in(pilot, "options.dsn", "env:PG_DSN")
        await pilot.press("ctrl+s")
        await settle(pilot)
        preset = engine.get_preset("pg")
        assert (preset.type, preset.options) == ("postgres", {"dsn": "env:PG_DSN"})
        # A clear password in the DSN is refused beside the field, with the engine's reason.
        await type_in(pilot, "options.dsn", "postgresql://u:secret@h/db")
        await pilot.press("ctrl+s")
        await settle(pilot)
        row = app.screen.query_one("#f-options-dsn-row")
        assert "password in clear" in row.error  # type: ignore[attr-defined]
        engine.create_job(
            {"name": "uses-pg", "datagen": {"datasets": ["users"], "sinks": [{"preset": "pg"}]}}
        )
        app.screen._load()  # type: ignore[attr-defined]
        await settle(pilot)
        table = app.screen.query_one("#preset-table", DataTable)
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+d")
        await pilot.press("y")
        await settle(pilot)
        assert engine.get_preset("pg")
        result = str(app.screen.query_one("#preset-result", Static).content)
        assert "default/uses-pg" in result
        engine.delete_job("uses-pg", purge=True)
        await pilot.press("ctrl+d")
        await pilot.press("y")
        await settle(pilot)
        assert [p.name for p in engine.list_presets()] == []


async def test_workspaces_create_rename_and_choose(engine: Engine) -> None:
    app = Host(WorkspacesScreen(engine, current="default"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n", *"sales", "enter")
        await settle(pilot)
        assert [w.name for w in engine.list_workspaces()] == ["default", "sales"]
        table = app.screen.query_one(DataTable)
        assert table.cursor_row == 1
        await pilot.press("R", "ctrl+u", *"ops", "enter")
        await settle(pilot)
        assert [w.name for w in engine.list_workspaces()] == ["default", "ops"]
        await pilot.press("enter")
        await settle(pilot)
        assert app.result == "ops"


async def test_workers_screen_says_when_no_broker_is_configured(engine: Engine) -> None:
    from jobtui.screens.workers import WorkersScreen

    app = Host(WorkersScreen(engine, refresh=0))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        note = str(app.screen.query_one("#workers-note", Static).render())
        assert "broker: none configured" in note
        assert app.screen.query_one("#workers-table", DataTable).row_count == 0

"""The Textual app, built by a factory from an engine (DESIGN.md §4 rule 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header

if TYPE_CHECKING:
    from jobtui.engine import Engine


class JobtuiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "jobtui"

    def __init__(self, engine: Engine, read_only: bool = False):
        super().__init__()
        self.engine = engine
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="jobs", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "workspace", "status", "schedule")
        for job in self.engine.list_jobs(limit=500):
            table.add_row(job.name, job.workspace, job.status.value, job.schedule_text)


def make_app(engine: Engine, read_only: bool = False) -> JobtuiApp:
    return JobtuiApp(engine, read_only=read_only)


def run_app(engine: Engine, read_only: bool = False, start_daemon: bool = True) -> None:
    make_app(engine, read_only=read_only).run()

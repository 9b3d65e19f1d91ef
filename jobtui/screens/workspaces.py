"""Workspaces: create, rename, and pick the one the job list shows.

`WorkspacesScreen(engine, current)` is a `Screen[str | None]`: dismissed with the chosen
workspace name (enter), `""` for all workspaces (`a`), or None when left with esc. The job
list applies the result as its workspace filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Static

from jobtui.engine import Engine, JobtuiError, Workspace
from jobtui.screens.base import ALL_WORKSPACES, EngineScreen
from jobtui.screens.confirm import PromptScreen
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.tables import KeyTable


@dataclass
class WorkspacesLoaded(Message):
    workspaces: list[Workspace]
    select: str | None = None
    error: str = ""


@dataclass
class WorkspaceWritten(Message):
    note: str
    ok: bool
    renamed: tuple[str, str] | None = None  # (old, new)


class WorkspacesScreen(EngineScreen[str | None]):
    CSS_PATH = ["wizard/wizard.tcss", "manage.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Show this workspace", id="workspaces.choose"),
        Binding("a", "choose_all", "All workspaces", id="workspaces.all"),
        Binding("n", "create", "New workspace", id="workspaces.new"),
        Binding("R", "rename", "Rename", id="workspaces.rename"),
        Binding("escape,q", "close", "Back", id="workspaces.back"),
        Binding("j", "cursor_down", "Down", show=False, id="workspaces.down"),
        Binding("k", "cursor_up", "Up", show=False, id="workspaces.up"),
    ]

    def __init__(self, engine: Engine, current: str | None = None) -> None:
        super().__init__(engine)
        self.loaded = False
        self.current = current
        self.workspaces: list[Workspace] = []

    def compose(self) -> ComposeResult:
        yield Static("Workspaces", id="manage-title")
        yield KeyTable(id="workspace-table", cursor_type="row", zebra_stripes=True)
        yield Static(
            "enter: show this workspace in the job list · a: all · n: new · R: rename",
            classes="field-hint",
            markup=False,
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        self._load(self.current)

    @work(thread=True, exclusive=True, group="workspaces", exit_on_error=False)
    def _load(self, select: str | None = None) -> None:
        try:
            self.post_message(WorkspacesLoaded(self.engine.list_workspaces(), select))
        except JobtuiError as exc:
            self.post_message(WorkspacesLoaded([], None, str(exc)))

    @on(WorkspacesLoaded)
    def _loaded(self, message: WorkspacesLoaded) -> None:
        self.loaded = True
        if message.error:
            self.notify(message.error, severity="error")
        self.workspaces = message.workspaces
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_columns("WORKSPACE", "JOBS", "")
        for ws in self.workspaces:
            mark = "◀ shown" if ws.name == self.current else ""
            table.add_row(ws.name, str(ws.job_count), mark, key=ws.name)
        names = [w.name for w in self.workspaces]
        if message.select in names:
            table.move_cursor(row=names.index(message.select))
        table.focus()

    def _highlighted(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.workspaces or table.cursor_row < 0:
            return None
        return self.workspaces[min(table.cursor_row, len(self.workspaces) - 1)].name

    @on(DataTable.RowSelected)
    def action_choose(self) -> None:
        name = self._highlighted()
        if name is not None:
            self.dismiss(name)

    def action_choose_all(self) -> None:
        self.dismiss(ALL_WORKSPACES)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_cursor_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()

    def action_create(self) -> None:
        def answered(name: str | None) -> None:
            if name:
                self._write(name.strip(), None)

        self.app.push_screen(PromptScreen("New workspace", placeholder="name"), answered)

    def action_rename(self) -> None:
        old = self._highlighted()
        if old is None:
            return

        def answered(name: str | None) -> None:
            if name and name.strip() != old:
                self._write(name.strip(), old)

        self.app.push_screen(
            PromptScreen(f"Rename workspace {old!r}", value=old, placeholder="new name"),
            answered,
        )

    @work(thread=True, exclusive=True, group="workspaces-write", exit_on_error=False)
    def _write(self, name: str, old: str | None) -> None:
        """Create `name`, or rename `old` to it."""
        try:
            if old is None:
                self.engine.create_workspace(name)
            else:
                self.engine.rename_workspace(old, name)
        except JobtuiError as exc:
            self.post_message(WorkspaceWritten(str(exc), ok=False))
            return
        if old is None:
            self.post_message(WorkspaceWritten(f"Created {name}", ok=True))
        else:
            self.post_message(WorkspaceWritten(f"Renamed {old} → {name}", True, (old, name)))
        self.post_message(WorkspacesLoaded(self.engine.list_workspaces(), name))

    @on(WorkspaceWritten)
    def _written(self, message: WorkspaceWritten) -> None:
        if message.renamed is not None and self.current == message.renamed[0]:
            self.current = message.renamed[1]
        self.notify(
            message.note, title="Workspaces", severity="information" if message.ok else "error"
        )

    def waiting_for(self) -> Iterator[str]:
        if not self.loaded:
            yield "the workspaces"

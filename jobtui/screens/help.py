"""`?`: the keys of the screen underneath, built from its live bindings (posting's idea)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label

from jobtui.widgets.tables import KeyTable


def describe_key(key: str, app_key_display: str | None = None) -> str:
    names = {
        "question_mark": "?",
        "colon": ":",
        "slash": "/",
        "space": "space",
        "escape": "esc",
        "enter": "enter",
        "asterisk": "*",
    }
    return app_key_display or names.get(key, key)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, target: Screen[object]):
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide", id="help"):
            yield Label(
                f"Keys — {self.target.__class__.__name__.removesuffix('Screen')}",
                classes="dialog-title",
            )
            yield KeyTable(id="help-table", cursor_type="row", zebra_stripes=True)
            yield Label(
                "Dimmed keys do not apply here right now. esc closes.", classes="dialog-hint"
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("keys", "action", "where")
        # One row per action, its keys together; the screen's own actions first, then the
        # app's, then the focused widget's (movement).
        groups: dict[tuple[int, str, str], list[str]] = {}
        enabled: dict[tuple[int, str, str], bool] = {}
        for key, active in self.target.active_bindings.items():
            binding = active.binding
            if not binding.description:
                continue
            node = active.node
            rank = 0 if node is self.target else 1 if node is self.app else 2
            if not binding.id:
                rank = 3  # Textual's own (focus next, copy): last
            where = "app" if node is self.app else type(node).__name__.removesuffix("Screen")
            ident = (rank, where, binding.description)
            groups.setdefault(ident, []).append(
                describe_key(key, self.app.get_key_display(binding))
            )
            enabled[ident] = active.enabled
        for ident in sorted(groups, key=lambda i: i[0]):
            _, where, description = ident
            style = "" if enabled[ident] else "dim"
            table.add_row(
                Text(" ".join(dict.fromkeys(groups[ident])), style=style),
                Text(description + ("" if enabled[ident] else " (n/a)"), style=style),
                Text(where, style="dim"),
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)

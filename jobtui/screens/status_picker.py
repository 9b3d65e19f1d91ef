"""Pick the statuses the job list shows, several at once (issue 20.7), as the CLI's
repeatable `--status`: space ticks, enter shows them, esc leaves the filter as it was."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection

from jobtui.engine import JobStatus
from jobtui.widgets.bars import short_state
from jobtui.widgets.fmt import STATE_ICONS


class StatusPickerScreen(ModalScreen[tuple[JobStatus, ...] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "apply", "Show these", priority=True, id="statuses.apply"),
        Binding("escape", "cancel", "Cancel", id="statuses.cancel"),
        Binding("a", "clear", "All statuses", id="statuses.all"),
    ]

    def __init__(
        self,
        order: Sequence[JobStatus],
        counts: Mapping[JobStatus, int],
        selected: Sequence[JobStatus],
    ) -> None:
        super().__init__()
        self.order = list(order)
        self.counts = counts
        self.selected = set(selected)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Show jobs in these statuses", classes="dialog-title")
            yield SelectionList[str](
                *(
                    Selection(
                        f"{STATE_ICONS.get(s.value, '')} {short_state(s.value)} "
                        f"({self.counts.get(s, 0)})",
                        s.value,
                        s in self.selected,
                    )
                    for s in self.order
                ),
                id="status-picks",
            )
            yield Label(
                "space ticks · enter shows them · a: all statuses · esc cancels",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_apply(self) -> None:
        picked = set(self.query_one(SelectionList).selected)
        self.dismiss(tuple(s for s in self.order if s.value in picked))

    def action_clear(self) -> None:
        self.dismiss(())

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Drive the wizard by keys alone: tab to a field, type, pick from a Select.

`settle` is helpers.settle: it waits for the wizard's first step (`WizardScreen.ready`), its
workers (validation, samples, previews) and their messages, and fails loudly on a timeout.
"""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Collapsible, Input, Select, SelectionList, Static
from textual.widgets._collapsible import CollapsibleTitle

from jobtui.engine import Engine
from jobtui.screens.wizard.screen import WizardScreen
from jobtui.widgets.forms import field_id
from tests.ui.helpers import record_notes, settle

NOT_DONE = object()


class WizardApp(App[None]):
    """A tiny host: pushes the wizard and keeps what it was dismissed with."""

    def __init__(
        self, engine: Engine, job_ref: str | int | None = None, duplicate: bool = False
    ) -> None:
        super().__init__()
        record_notes(self)
        self.engine = engine
        self.job_ref = job_ref
        self.duplicate = duplicate
        self.result: Any = NOT_DONE

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.open_wizard(self.job_ref, self.duplicate)

    def open_wizard(self, job_ref: str | int | None = None, duplicate: bool = False) -> None:
        self.result = NOT_DONE
        self.push_screen(WizardScreen(self.engine, job_ref, duplicate), self._done)

    def _done(self, result: str | None) -> None:
        self.result = result


def wizard(pilot: Pilot[Any]) -> WizardScreen:
    screen = pilot.app.screen
    assert isinstance(screen, WizardScreen), screen
    return screen


def control(pilot: Pilot[Any], path: str) -> Widget:
    return pilot.app.screen.query_one(f"#{field_id(path)}")


async def focus(pilot: Pilot[Any], target: Widget | str) -> Widget:
    """Reach `target` with tab or shift+tab (the shorter way), opening folded sections."""
    widget = control(pilot, target) if isinstance(target, str) else target
    for fold in reversed(list(widget.ancestors)):
        # (a fold's own title is reachable while it is folded)
        if (
            isinstance(fold, Collapsible)
            and fold.collapsed
            and widget not in fold.query(CollapsibleTitle)
        ):
            await focus(pilot, fold.query_one(CollapsibleTitle))
            await pilot.press("enter")
            await pilot.pause()
    for _ in range(80):
        focused = pilot.app.focused
        if focused is widget:
            return widget
        chain = pilot.app.screen.focus_chain
        assert widget in chain, f"{target} cannot take focus"
        here = chain.index(focused) if focused in chain else -1
        there = chain.index(widget)
        forward = (there - here) % len(chain)
        await pilot.press("tab" if forward <= len(chain) - forward else "shift+tab")
    raise AssertionError(f"could not reach {target} with tab; focus is on {pilot.app.focused}")


def _keys(text: str) -> list[str]:
    return ["space" if ch == " " else ch for ch in text]


async def type_in(pilot: Pilot[Any], path: str, text: str) -> None:
    widget = await focus(pilot, path)
    assert isinstance(widget, Input), widget
    await pilot.press("end", "ctrl+u")
    await pilot.press(*_keys(text))
    await settle(pilot)


async def choose(pilot: Pilot[Any], target: str | Widget, value: Any) -> None:
    widget = await focus(pilot, target)
    assert isinstance(widget, Select), widget
    values = [v for _, v in widget._options]
    current = values.index(widget.value) if widget.value in values else 0
    wanted = values.index(value)
    await pilot.press("enter")
    await pilot.pause()
    step = "down" if wanted > current else "up"
    await pilot.press(*([step] * abs(wanted - current)))
    await pilot.press("enter")
    await settle(pilot)
    assert widget.value == value, (widget.value, value)


async def pick(pilot: Pilot[Any], path: str, *values: Any) -> None:
    """Toggle entries of a SelectionList with arrows and space."""
    widget = await focus(pilot, path)
    assert isinstance(widget, SelectionList), widget
    for value in values:
        index = next(
            i for i in range(widget.option_count) if widget.get_option_at_index(i).value == value
        )
        for _ in range(widget.option_count + 1):
            if widget.highlighted == index:
                break
            here = -1 if widget.highlighted is None else widget.highlighted
            await pilot.press("down" if index > here else "up")
        assert widget.highlighted == index
        await pilot.press("space")
    await settle(pilot)


async def toggle(pilot: Pilot[Any], path: str) -> None:
    await focus(pilot, path)
    await pilot.press("space")
    await settle(pilot)


async def next_step(pilot: Pilot[Any], expect: str | None = None) -> None:
    await pilot.press("ctrl+n")
    await settle(pilot)
    if expect is not None:
        assert wizard(pilot).step == expect, (
            wizard(pilot).step,
            [str(e) for e in wizard(pilot).errors],
        )

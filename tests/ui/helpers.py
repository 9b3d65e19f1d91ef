"""Driving the dashboard in tests: build it like the CLI does, wait for events, not time.

`settle` waits until the app is at rest: no worker pending or running, every queued message
handled, and the screen showing all it asked for (`EngineScreen.waiting_for`: its first
page, the rows on screen, the wizard's first step…). It never guesses from quiet rounds:
when that takes longer than `TIMEOUT` it fails, naming what it was still waiting for. A
notification of an internal error (a bug, not an engine refusal) fails the test too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar
from weakref import WeakKeyDictionary

from textual import events
from textual.app import App, ComposeResult
from textual.notifications import Notification, SeverityLevel
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from jobtui.app import JobtuiApp, make_app
from jobtui.engine import Engine
from jobtui.screens.base import EngineScreen
from jobtui.screens.registry import Screens
from jobtui.widgets.vtable import VirtualTable

TIMEOUT = 60.0  # seconds; generous for a loaded 2-core machine, and only paid on failure


class SettleTimeout(AssertionError):
    pass


def build(engine: Engine, **kwargs: Any) -> JobtuiApp:
    """The app with polling off (tests call `poll_now`) and no daemon start."""
    kwargs.setdefault("start_daemon", False)
    kwargs.setdefault("poll_interval", 0)
    return record_notes(make_app(engine, **kwargs))


_NOTES: WeakKeyDictionary[App[Any], list[Notification]] = WeakKeyDictionary()
_CHECKED: WeakKeyDictionary[App[Any], int] = WeakKeyDictionary()

A = TypeVar("A", bound=App[Any])


def record_notes(app: A) -> A:
    """Keep every notification the app shows: the app drops one after its timeout (5 s by
    default), which a test step can outlast on a loaded machine."""
    shown = _NOTES.setdefault(app, [])
    notify = app.notify

    def recording(
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        shown.append(Notification(message, title, severity))
        notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    app.notify = recording  # type: ignore[method-assign]
    return app


def notes(app: App[Any]) -> list[Notification]:
    """Every notification shown so far (see `record_notes`)."""
    return _NOTES[app]


def unhandled(app: App[Any]) -> list[str]:
    """Messages queued and not handled yet, and callbacks that wait for a repaint.

    A message can start a chain (a key, the input's Submitted, its handler's focus call):
    draining the queues once is not enough, they must be found empty. Timer ticks do not
    count: a progress bar or a blinking cursor has one every second or less, for ever.
    """
    nodes = [app, *(n for s in app.screen_stack for n in s.walk_children(with_self=True))]
    queued = sum(
        not isinstance(message, events.Timer)
        for node in nodes
        for message in node._message_queue.values
    )
    after = sum(len(s._callbacks) for s in app.screen_stack)
    return [f"{queued} messages"] * bool(queued) + [f"{after} after-repaint calls"] * bool(after)


def waiting_for(app: App[Any]) -> list[str]:
    """What the app has started and not finished, in words; empty when at rest."""
    reasons = [
        f"worker {w.description or w.name!r} of {type(w.node).__name__}"
        for w in app.workers
        if not w.is_finished
    ]
    reasons += unhandled(app)
    screen = app.screen
    if isinstance(screen, EngineScreen):
        reasons += [f"{type(screen).__name__}: {r}" for r in screen.waiting_for()]
    return reasons


def fail_on_internal_errors(app: App[Any]) -> None:
    """An "Internal error" notification is a bug (an engine refusal is titled "Error")."""
    shown = _NOTES.get(app, [])
    new, _CHECKED[app] = shown[_CHECKED.get(app, 0) :], len(shown)
    for note in new:
        if note.title == "Internal error":
            raise AssertionError(f"the app reported an internal error: {note.message}")


async def settle(pilot: Pilot[Any], timeout: float = TIMEOUT) -> None:
    """Wait until the app is at rest (see the module's doc); fail loudly after `timeout`."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause(0)  # every message queued so far is handled
        fail_on_internal_errors(app)
        reasons = waiting_for(app)
        if not reasons:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise SettleTimeout(f"still waiting after {timeout:.0f} s for: {'; '.join(reasons)}")
        unfinished = [w for w in app.workers if not w.is_finished]
        # The workers' own tasks, never a wrapper such as `w.wait()`: cancelling a task that
        # awaits another cancels that one too, so the worker still running would end
        # CANCELLED and its answer never arrive (seen once as a 60 s settle timeout).
        running = [w._task for w in unfinished if w.is_running and w._task is not None]
        if unfinished and not running:
            continue  # started, not yet running: the pause above lets them run
        if running:
            # Wake when one of them ends (its result is a message to handle).
            await asyncio.wait(running, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        else:
            await pilot.pause()  # a repaint: rows drawn as placeholders ask for themselves


async def until(pilot: Pilot[Any], ready: Callable[[], bool], what: str) -> None:
    """Let the app run until `ready()` holds; fail loudly, naming `what`, after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        if time.monotonic() > deadline:
            raise SettleTimeout(f"still waiting after {TIMEOUT:.0f} s for {what}")
        await pilot.pause()
    await settle(pilot)


async def press(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def table(app: App[Any], selector: str = "VirtualTable") -> VirtualTable:
    return app.screen.query_one(selector, VirtualTable)


def row_names(app: App[Any]) -> list[str]:
    """The first cell of every loaded row of the screen's table, in order."""
    t = table(app)
    out = []
    for i in range(t.source.row_count()):
        row = t.source.get_row(i)
        if row is not None:
            cell = row.cells[0]
            out.append(cell if isinstance(cell, str) else str(cell))
    return out


async def goto_row(pilot: Pilot[Any], name: str) -> None:
    """Move the cursor to the row whose first cell is `name`."""
    names = row_names(pilot.app)
    table(pilot.app).move_cursor(names.index(name))
    await settle(pilot)


class StubWizard(Screen[str | None]):
    """Stands in for the wizard (its own tests drive it): records how it was opened."""

    opened: ClassVar[list[tuple[str | int | None, bool]]] = []

    def __init__(self, job_ref: str | int | None = None, duplicate: bool = False):
        super().__init__()
        StubWizard.opened.append((job_ref, duplicate))

    def compose(self) -> ComposeResult:
        yield Static("wizard")


class StubWizardScreens(Screens):
    """The app's screens, with the stand-in wizard."""

    def wizard(self, job_ref: str | None = None, duplicate: bool = False) -> Screen[str | None]:
        return StubWizard(job_ref, duplicate)

"""Driving the dashboard in tests: build it like the CLI does, wait for work, not time."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import WorkerFailed

from jobtui.app import JobtuiApp, make_app
from jobtui.engine import Engine
from jobtui.widgets.vtable import VirtualTable


def build(engine: Engine, **kwargs: Any) -> JobtuiApp:
    """The app with polling off (tests call `poll_now`) and no daemon start."""
    kwargs.setdefault("start_daemon", False)
    kwargs.setdefault("poll_interval", 0)
    return make_app(engine, **kwargs)


async def settle(pilot: Pilot[Any]) -> None:
    """Let messages flow and every worker finish, twice (results start more work)."""
    app = pilot.app
    quiet = 0
    for _ in range(30):
        await pilot.pause(0)  # every widget has drained its queue
        pending = [w for w in app.workers if not w.is_finished]
        if pending:
            quiet = 0
            # An exclusive worker replaced by a newer one ends cancelled: that is expected,
            # while a worker that failed must still fail the test.
            results = await asyncio.gather(*(w.wait() for w in pending), return_exceptions=True)
            for result in results:
                if isinstance(result, WorkerFailed):
                    raise result
            continue
        # Let a repaint happen: a paint may ask for rows after the refresh (call_after_refresh),
        # so only two quiet rounds in a row mean nothing more is coming.
        await pilot.pause()
        if any(not w.is_finished for w in app.workers):
            quiet = 0
            continue
        quiet += 1
        if quiet == 2:
            break


async def press(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def table(app: JobtuiApp, selector: str = "VirtualTable") -> VirtualTable:
    return app.screen.query_one(selector, VirtualTable)


def row_names(app: JobtuiApp) -> list[str]:
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
    names = row_names(pilot.app)  # type: ignore[arg-type]
    table(pilot.app).move_cursor(names.index(name))  # type: ignore[arg-type]
    await settle(pilot)


class StubWizard(Screen[str | None]):
    """Stands in for the wizard (its own tests drive it): records how it was opened."""

    opened: ClassVar[list[tuple[str | int | None, bool]]] = []

    def __init__(self, engine: Engine, job_ref: str | int | None = None, duplicate: bool = False):
        super().__init__()
        StubWizard.opened.append((job_ref, duplicate))

    def compose(self) -> ComposeResult:
        yield Static("wizard")

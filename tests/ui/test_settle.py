"""`settle`, the helper every dashboard test waits with, must not disturb what it waits on."""

from __future__ import annotations

import asyncio
import threading

from textual.app import App
from textual.worker import Worker, WorkerState

from tests.ui.helpers import settle


class TwoWorkers(App[None]):
    """A fast worker, and a slow one released only once the app has handled the fast
    one's end: the slow one is surely still running when the fast one ends."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "fast" and event.state is WorkerState.SUCCESS:
            self.release.set()


async def a_few_loop_turns() -> str:
    # Ends a few event-loop turns later: after `settle` has begun waiting (no clock).
    for _ in range(50):
        await asyncio.sleep(0)
    return "fast"


async def test_settle_lets_a_slower_worker_finish_when_a_faster_one_ends_first():
    """Waiting for the first worker to end must not cancel the second (its answer would
    never arrive and the screen would wait for ever: a 60 s settle timeout seen in CI)."""
    app = TwoWorkers()
    async with app.run_test() as pilot:
        fast = app.run_worker(a_few_loop_turns(), name="fast")
        slow = app.run_worker(lambda: app.release.wait(30) and "slow", name="slow", thread=True)
        await settle(pilot)
        assert fast.state is WorkerState.SUCCESS
        assert slow.state is WorkerState.SUCCESS, slow.state
        assert slow.result == "slow"

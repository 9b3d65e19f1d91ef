"""Screens of the dashboard. Each talks to the engine only through `Engine`, from workers.

`JobtuiScreen` gives every screen the same few helpers: `call` (an engine call in a thread
worker whose result comes back as a message), a poll loop that re-arms itself after each
refresh (no overlap, skipped while a modal covers the screen), and the display clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker

if TYPE_CHECKING:
    from jobtui.app import JobtuiApp
    from jobtui.engine import Engine

R = TypeVar("R")


class Deliver(Message):
    """From a worker thread: run `callback(value)` on the UI thread."""

    def __init__(self, callback: Callable[[Any], None], value: Any = None) -> None:
        super().__init__()
        self.callback = callback
        self.value = value


class JobtuiScreen(Screen[R]):
    """Shared plumbing for the dashboard's screens."""

    poll_interval: float = 1.0
    _poll_timer: Timer | None = None

    @property
    def jobtui(self) -> JobtuiApp:
        return self.app  # type: ignore[return-value]

    @property
    def engine(self) -> Engine:
        return self.jobtui.engine

    @property
    def read_only(self) -> bool:
        return self.jobtui.read_only

    @property
    def utc(self) -> bool:
        return self.jobtui.utc

    def now(self) -> float:
        return self.engine.now()

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        then: Callable[[Any], object] | None = None,
        **kw: Any,
    ) -> Worker[Any]:
        """Run `fn(*args, **kw)` in a thread worker; `then(result)` runs on the UI thread."""
        return self.jobtui.call_engine(fn, *args, then=then, **kw)

    def done(
        self, message: Callable[[Any], str], *, title: str = "", refresh: bool = True
    ) -> Callable[[Any], None]:
        """A `then` callback: notify `message(result)`, then refresh the screen."""

        def callback(value: Any) -> None:
            self.notify(message(value), title=title)
            if refresh:
                self.poll_now()

        return callback

    def confirm_replay(self, run_id: int, title: str) -> None:
        """Ask before replaying run `run_id`, or say at once why it cannot be (no stored
        output), rather than after a confirmation."""
        from jobtui.screens.confirm import ConfirmScreen

        def checked(problem: str | None) -> None:
            if problem:
                self.notify(problem, title="Replay", severity="warning")
                return

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self.call(
                        self.engine.replay_run,
                        run_id,
                        then=self.done(
                            lambda new: f"Queued replay #{new.id} of run #{run_id}",
                            title="Replay",
                        ),
                    )

            self.app.push_screen(
                ConfirmScreen(
                    title,
                    "Its stored output is delivered again to the job's current sinks "
                    "(not a re-run).",
                    yes="Replay",
                ),
                confirmed,
            )

        self.call(self.engine.replay_problem, run_id, then=checked)

    def deliver(self, callback: Callable[[Any], None], value: Any = None) -> None:
        """Thread-safe: hand `value` to `callback` on the UI thread (a posted message)."""
        self.post_message(Deliver(callback, value))

    @on(Deliver)
    def _deliver(self, message: Deliver) -> None:
        message.stop()
        message.callback(message.value)

    # -- footer -----------------------------------------------------------------
    _binding_state: tuple[object, ...] | None = None

    def refresh_bindings_if_changed(self) -> None:
        """Recompute which keys apply; redraw the footer only when that changed.

        A footer redraw rebuilds its widgets (~100 style applications), far too much to
        do on every cursor move.
        """
        state = tuple(self.check_action(binding.action, ()) for _, binding in self._bindings)
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    # -- polling ---------------------------------------------------------------
    def start_polling(self) -> None:
        self.poll_now()

    def schedule_poll(self) -> None:
        """Re-arm after a refresh finished: polls never overlap."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
        interval = self.jobtui.poll_interval
        if interval > 0 and self.is_attached:
            self._poll_timer = self.set_timer(interval, self._on_poll_timer)

    def _on_poll_timer(self) -> None:
        self._poll_timer = None
        if self.app.screen is not self:
            self.schedule_poll()  # a modal or another screen is on top: wait
            return
        self.poll_now()

    def poll_now(self) -> None:
        """Start one refresh; its result handler calls `schedule_poll`."""

    def times_changed(self) -> None:
        """The display zone changed (local/UTC): redraw every time shown."""

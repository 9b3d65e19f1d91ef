"""The Textual app, built by a factory from an engine (DESIGN.md §4 rule 3).

Threading model (as in harlequin): engine calls run in thread workers (`call_engine`);
a worker only posts messages; message handlers on the UI thread own every widget. One
`Worker.StateChanged` handler turns an engine error into a notification, so a failing
call never crashes the app.
"""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.worker import Worker, WorkerState

from jobtui.screens.palette import JobCommands

if TYPE_CHECKING:
    from jobtui.engine import Engine


class EngineResult(Message):
    """A worker finished an engine call; `callback(value)` runs on the UI thread."""

    def __init__(self, callback: Callable[[Any], object], value: Any) -> None:
        super().__init__()
        self.callback = callback
        self.value = value


class DaemonStarted(Message):
    def __init__(self, what: str | None) -> None:
        super().__init__()
        self.what = what


@dataclass
class UndoEntry:
    label: str  # what comes back, for the notification: "restored 3 jobs"
    undo: Callable[[], Any]  # runs in a worker


def stdin_terminal() -> int | None:
    """The file descriptor of stdin when it is a terminal that `hung_up` can watch."""
    if not hasattr(select, "poll"):  # not on every platform
        return None
    try:
        fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else None
        return fd if fd is not None and os.isatty(fd) else None
    except (OSError, ValueError):
        return None


def hung_up(fd: int) -> bool:
    """Whether the terminal on `fd` has hung up (it reads as no terminal at all then)."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return any(events & (select.POLLHUP | select.POLLNVAL) for _, events in poller.poll(0))
    except (OSError, ValueError):
        return True


class JobtuiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "jobtui"
    COMMANDS = App.COMMANDS | {JobCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("colon,ctrl+p", "command_palette", "Commands", show=False, id="app.palette"),
        Binding("t", "toggle_utc", "Local/UTC", id="app.toggle_utc"),
        Binding("u", "undo", "Undo", id="app.undo"),
    ]

    utc: reactive[bool] = reactive(False)

    def __init__(
        self,
        engine: Engine,
        read_only: bool = False,
        start_daemon: bool = True,
        poll_interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.read_only = read_only
        self.start_daemon = start_daemon
        self.poll_interval = poll_interval
        self.undo_stack: list[UndoEntry] = []
        self.daemon_note = ""  # what starting the daemon did, for the header

    def on_mount(self) -> None:
        from jobtui.screens.jobs import JobsScreen

        if self.read_only:
            self.sub_title = "read-only"
        self.push_screen(JobsScreen())
        if self.start_daemon and not self.read_only:
            self.ensure_daemon()
        terminal = stdin_terminal()
        if not self.is_headless and terminal is not None:
            self.set_interval(1.0, lambda: self._exit_if_hung_up(terminal))

    def _exit_if_hung_up(self, terminal: int) -> None:
        # A terminal can go away without a SIGHUP reaching us (an SSH connection that
        # drops under `make run`, or a shell that does not pass it on); Textual's input
        # thread then spins on EOF at full CPU, so leave (the daemon runs on).
        if hung_up(terminal):
            self.exit(return_code=1)

    # -- engine calls ------------------------------------------------------------
    def call_engine(
        self,
        fn: Callable[..., Any],
        *args: Any,
        then: Callable[[Any], object] | None = None,
        **kwargs: Any,
    ) -> Worker[Any]:
        """Call `fn` in a thread worker; post its result back as an `EngineResult`."""

        def work() -> Any:
            value = fn(*args, **kwargs)
            if then is not None:
                self.post_message(EngineResult(then, value))
            return value

        name = getattr(fn, "__name__", "engine call")
        return self.run_worker(
            work, thread=True, group="engine", exit_on_error=False, description=name
        )

    @on(EngineResult)
    def _engine_result(self, message: EngineResult) -> None:
        message.callback(message.value)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        self.show_error(event.worker.error)

    def show_error(self, error: BaseException | None) -> None:
        from jobtui.engine import JobtuiError

        if isinstance(error, JobtuiError):
            self.notify(str(error), title="Error", severity="error", timeout=8)
        elif error is not None:
            self.notify(
                f"{type(error).__name__}: {error}",
                title="Internal error",
                severity="error",
                timeout=10,
            )

    # -- daemon --------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="daemon", exit_on_error=False)
    def ensure_daemon(self) -> None:
        ensure = getattr(self.engine, "ensure_daemon", None)
        if ensure is None:
            self.post_message(DaemonStarted("daemon control is not available in this build"))
            return
        self.post_message(DaemonStarted(ensure()))

    @on(DaemonStarted)
    def _daemon_started(self, message: DaemonStarted) -> None:
        if message.what:
            self.daemon_note = message.what
            self.notify(message.what, title="Daemon")

    # -- undo ------------------------------------------------------------------------
    def push_undo(self, label: str, undo: Callable[[], Any]) -> None:
        self.undo_stack.append(UndoEntry(label, undo))
        del self.undo_stack[:-20]

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("Nothing to undo")
            return
        entry = self.undo_stack.pop()

        def done(_: Any) -> None:
            self.notify(f"Undone: {entry.label}", title="Undo")
            refresh = getattr(self.screen, "poll_now", None)
            if refresh:
                refresh()

        self.call_engine(entry.undo, then=done)

    # -- time and help ----------------------------------------------------------------
    def action_toggle_utc(self) -> None:
        self.utc = not self.utc
        self.notify("Times in UTC" if self.utc else "Times in local time", timeout=2)

    def watch_utc(self) -> None:
        from jobtui.screens import JobtuiScreen

        for screen in self.screen_stack:
            if isinstance(screen, JobtuiScreen):
                screen.times_changed()

    def action_help(self) -> None:
        from jobtui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.screen))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            if self.read_only:
                return False
            return True if self.undo_stack else None
        return True


def make_app(
    engine: Engine, read_only: bool = False, start_daemon: bool = True, poll_interval: float = 1.0
) -> JobtuiApp:
    return JobtuiApp(
        engine, read_only=read_only, start_daemon=start_daemon, poll_interval=poll_interval
    )


def run_app(engine: Engine, read_only: bool = False, start_daemon: bool = True) -> None:
    make_app(engine, read_only=read_only, start_daemon=start_daemon).run()

"""The Textual app, built by a factory from an engine (DESIGN.md §4 rule 3).

The app holds what outlives a screen: the engine, read-only mode, the display clock
(local/UTC), the undo stack, the daemon note and the `Screens` that build every screen.
Screens own their engine calls (screens/base.py); the app's own workers (starting the
daemon, undo) post typed messages like theirs.

Keys are data: every binding has an id, and `keymap.toml` in the config directory maps
ids to other keys (`App.set_keymap`).
"""

from __future__ import annotations

import os
import select
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message import Message
from textual.reactive import reactive
from textual.worker import Worker, WorkerState

from jobtui.paths import keymap_path
from jobtui.screens.base import JobtuiScreen, Undo, error_text
from jobtui.screens.confirm import ConfirmScreen, PromptScreen, TextScreen
from jobtui.screens.help import HelpScreen
from jobtui.screens.palette import JobCommands
from jobtui.screens.registry import Screens, screen_classes
from jobtui.screens.run_options import RunOptionsScreen
from jobtui.widgets.logview import LogView
from jobtui.widgets.rowview import RowView
from jobtui.widgets.tables import KeyTable
from jobtui.widgets.vtable import VirtualTable

if TYPE_CHECKING:
    from jobtui.engine import Engine

UNDO_DEPTH = 20


@dataclass
class DaemonStarted(Message):
    what: str | None  # what starting the daemon did, or None when one was alive


@dataclass
class Undone(Message):
    label: str


def stdin_terminal() -> int | None:
    """The file descriptor of stdin when it is a terminal that `hung_up` can watch."""
    if sys.platform == "win32":  # no poll() there
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


# -- the keymap ------------------------------------------------------------------------------
def load_keymap(path: Path) -> tuple[dict[str, str], list[str]]:
    """The `binding id → keys` map of a keymap.toml, and what is wrong with it, in words.

    `"jobs.run" = "x"` and a table (`[jobs]` then `run = "x"`) say the same; several keys
    are comma-separated (`"x,f5"`). A missing file is an empty keymap.
    """
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}, []
    except OSError as exc:
        return {}, [f"{path}: {exc.strerror}"]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return {}, [f"{path}: {exc}"]
    keymap: dict[str, str] = {}
    problems: list[str] = []

    def walk(table: dict[str, Any], prefix: str) -> None:
        for key, value in table.items():
            ident = prefix + key
            if isinstance(value, dict):
                walk(value, ident + ".")
            elif isinstance(value, str) and value.replace(",", "").strip():
                keymap[ident] = ",".join(k.strip() for k in value.split(",") if k.strip())
            else:
                problems.append(f'{ident}: give the keys as a string, like "ctrl+r" or "x,f5"')

    walk(data, "")
    return keymap, problems


def binding_ids() -> set[str]:
    """The id of every binding of the dashboard (what a keymap may name)."""
    classes: list[type[DOMNode]] = [
        JobtuiApp,
        *screen_classes(),
        ConfirmScreen,
        PromptScreen,
        TextScreen,
        HelpScreen,
        RunOptionsScreen,
        RowView,
        VirtualTable,
        KeyTable,
        LogView,
    ]
    ids = set()
    for cls in classes:
        for binding in cls.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


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
        screens: type[Screens] = Screens,
        keymap_file: Path | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.read_only = read_only
        self.start_daemon = start_daemon
        self.poll_interval = poll_interval
        self.screens = screens(engine)
        self.keymap_file = keymap_file
        self.undo_stack: list[Undo] = []
        self.daemon_note = ""  # what starting the daemon did, for the header
        self._clashes_told: set[frozenset[str]] = set()

    def on_mount(self) -> None:
        if self.keymap_file is not None:
            self.apply_keymap(self.keymap_file)
        if self.read_only:
            self.sub_title = "read-only"
        self.push_screen(self.screens.jobs())
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

    # -- keys ------------------------------------------------------------------------------
    def apply_keymap(self, path: Path) -> None:
        keymap, problems = load_keymap(path)
        known = binding_ids() if keymap else set()
        problems += [
            f"{ident}: no key has this id (README, “The dashboard's keys”)"
            for ident in sorted(set(keymap) - known)
        ]
        self.set_keymap({i: k for i, k in keymap.items() if i in known})
        if problems:
            self.notify("\n".join(problems), title=f"Keymap {path}", severity="warning", timeout=15)

    def handle_bindings_clash(self, clashed_bindings: set[Binding], node: DOMNode) -> None:
        # Called on every key press while the clash stands: say it once.
        ids = frozenset(b.id or b.action for b in clashed_bindings)
        if ids in self._clashes_told:
            return
        self._clashes_told.add(ids)
        keys = ", ".join(sorted({b.key for b in clashed_bindings}))
        self.notify(
            f"The keymap binds {keys} a second time: {', '.join(sorted(ids))} lost it",
            title="Keymap",
            severity="warning",
            timeout=15,
        )

    # -- errors of the app's own workers --------------------------------------------------
    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            title, text = error_text(event.worker.error)
            self.notify(text, title=title, severity="error", timeout=10)

    # -- daemon --------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="daemon", exit_on_error=False)
    def ensure_daemon(self) -> None:
        self.post_message(DaemonStarted(self.engine.ensure_daemon()))

    @on(DaemonStarted)
    def _daemon_started(self, message: DaemonStarted) -> None:
        if message.what:
            self.daemon_note = message.what
            self.notify(message.what, title="Daemon")

    # -- undo ------------------------------------------------------------------------------
    def push_undo(self, undo: Undo) -> None:
        self.undo_stack.append(undo)
        del self.undo_stack[:-UNDO_DEPTH]

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("Nothing to undo")
            return
        self._undo(self.undo_stack.pop())

    @work(thread=True, group="undo", exit_on_error=False)
    def _undo(self, undo: Undo) -> None:
        undo.apply(self.engine)
        self.post_message(Undone(undo.label))

    @on(Undone)
    def _undone(self, message: Undone) -> None:
        self.notify(f"Undone: {message.label}", title="Undo")
        if isinstance(self.screen, JobtuiScreen):
            self.screen.poll_now()

    # -- time and help -----------------------------------------------------------------------
    def action_toggle_utc(self) -> None:
        self.utc = not self.utc
        self.notify("Times in UTC" if self.utc else "Times in local time", timeout=2)

    def watch_utc(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, JobtuiScreen):
                screen.times_changed()

    def action_help(self) -> None:
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


def make_app(engine: Engine, **options: Any) -> JobtuiApp:
    """The app for the CLI and the tests alike: `JobtuiApp`'s options (the CLI adds the
    user's keymap file, tests turn polling and the daemon start off)."""
    return JobtuiApp(engine, **options)


def run_app(engine: Engine, read_only: bool = False, start_daemon: bool = True) -> None:
    make_app(
        engine, read_only=read_only, start_daemon=start_daemon, keymap_file=keymap_path()
    ).run()

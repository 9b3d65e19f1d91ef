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
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.actions import ActionParseResult
from textual.app import App
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from jobtui.paths import keymap_path
from jobtui.screens.base import JobtuiScreen, Undo, error_text
from jobtui.screens.confirm import ConfirmScreen, PromptScreen, TextScreen
from jobtui.screens.crontab_import import CrontabImportScreen
from jobtui.screens.help import HelpScreen
from jobtui.screens.log_save import SaveLogScreen
from jobtui.screens.palette import JobCommands
from jobtui.screens.registry import Screens, screen_classes
from jobtui.screens.run_options import RunOptionsScreen
from jobtui.widgets.bars import daemon_text
from jobtui.widgets.fmt import state_label
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


@dataclass
class CancelsRead(Message):
    states: dict[int, str]  # run id → state, of the runs being cancelled


@dataclass
class DaemonAnswered(Message):
    text: str  # the daemon's state after a palette command, in words


CANCEL_CHECK = 0.5  # seconds between looks at the runs being cancelled
CANCEL_GIVE_UP = 600.0  # stop following a run that never ends (its worker is gone)


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
    from jobtui.screens.status_picker import StatusPickerScreen

    classes: list[type[DOMNode]] = [
        JobtuiApp,
        *screen_classes(),
        ConfirmScreen,
        PromptScreen,
        TextScreen,
        HelpScreen,
        RunOptionsScreen,
        StatusPickerScreen,
        SaveLogScreen,
        CrontabImportScreen,
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
        self._cancelling: dict[int, float] = {}  # run id → when following it started
        self._cancel_timer: Timer | None = None

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

    # -- the daemon, from the palette -----------------------------------------------------
    def action_daemon_status(self) -> None:
        self._daemon_call("status")

    def action_daemon_pause(self) -> None:
        self._daemon_call("pause")

    def action_daemon_resume(self) -> None:
        self._daemon_call("resume")

    @work(thread=True, group="daemon-call", exit_on_error=False)
    def _daemon_call(self, what: str) -> None:
        engine = self.engine
        if what == "pause":
            engine.pause_daemon()
        elif what == "resume":
            engine.resume_daemon()
        status = engine.daemon_status()
        text = daemon_text(status, self.daemon_note, engine.now()).plain
        self.post_message(DaemonAnswered(text))

    @on(DaemonAnswered)
    def _daemon_answered(self, message: DaemonAnswered) -> None:
        self.notify(message.text, title="Daemon", timeout=8)
        if isinstance(self.screen, JobtuiScreen):
            self.screen.poll_now()

    # -- runs being cancelled ----------------------------------------------------------------
    def follow_cancel(self, run_id: int) -> None:
        """Tell the user when run `run_id`, asked to stop, has ended (and in which state)."""
        self._cancelling[run_id] = time.monotonic()
        if self._cancel_timer is None:
            self._cancel_timer = self.set_interval(CANCEL_CHECK, self._check_cancels)

    def _check_cancels(self) -> None:
        now = time.monotonic()
        for run_id, since in list(self._cancelling.items()):
            if now - since > CANCEL_GIVE_UP:
                del self._cancelling[run_id]
        if not self._cancelling and self._cancel_timer is not None:
            self._cancel_timer.stop()
            self._cancel_timer = None
            return
        self._read_cancels(tuple(self._cancelling))

    @work(thread=True, exclusive=True, group="cancels", exit_on_error=False)
    def _read_cancels(self, run_ids: tuple[int, ...]) -> None:
        self.post_message(
            CancelsRead({run_id: self.engine.get_run(run_id).state.value for run_id in run_ids})
        )

    @on(CancelsRead)
    def _cancels_read(self, message: CancelsRead) -> None:
        for run_id, state in message.states.items():
            if state in ("queued", "running", "cancelling") or run_id not in self._cancelling:
                continue
            del self._cancelling[run_id]
            self.notify(f"Run #{run_id}: {state_label(state)}", title="Cancel")
            if isinstance(self.screen, JobtuiScreen):
                self.screen.poll_now()

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

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        if await super().run_action(action, default_namespace, namespaces):
            return True
        if self.read_only and isinstance(action, str):
            # A key that changes something does nothing in read-only mode: say why
            # rather than ignore it (issue 20.13).
            node = self if default_namespace is None else default_namespace
            writes: frozenset[str] = frozenset()
            if node is self:
                writes = frozenset({"undo", "daemon_pause", "daemon_resume"})
            elif isinstance(node, JobtuiScreen):
                writes = node.WRITES
            if action in writes:
                self.notify(
                    f"{read_only_label(node, action)}: not in read-only mode "
                    "(the dashboard was started with --read-only)",
                    title="Read-only",
                    severity="warning",
                )
                return True
        return False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("daemon_pause", "daemon_resume") and self.read_only:
            return False
        if action == "undo":
            if self.read_only:
                return False
            return True if self.undo_stack else None
        return True


def read_only_label(node: DOMNode, action: str) -> str:
    """What the key refused does, in words ("Run", "Delete"), for the read-only notice."""
    for binding in node.BINDINGS:
        if isinstance(binding, Binding) and binding.action == action and binding.description:
            return binding.description
    return action.replace("_", " ").capitalize()


def make_app(engine: Engine, **options: Any) -> JobtuiApp:
    """The app for the CLI and the tests alike: `JobtuiApp`'s options (the CLI adds the
    user's keymap file, tests turn polling and the daemon start off)."""
    return JobtuiApp(engine, **options)


def run_app(engine: Engine, read_only: bool = False, start_daemon: bool = True) -> None:
    make_app(
        engine, read_only=read_only, start_daemon=start_daemon, keymap_file=keymap_path()
    ).run()

"""The ctrl+s dialog of the log viewer: where to save the log, saved from the dialog itself.

The save runs in a worker while the dialog stays open, so a refusal (a missing directory,
no permission, a directory given as the file) is shown where the path can be fixed, not as
a toast after the path is gone. A missing directory is offered to be created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from jobtui.engine import JobtuiError
from jobtui.screens.confirm import PromptScreen

# (path, create the missing directory) → lines written; raises JobtuiError when refused.
SaveLog = Callable[[str, bool], int]


@dataclass
class SaveAnswered(Message):
    path: str
    lines: int | None  # None: refused
    error: str = ""
    missing_dir: str = ""  # the directory that does not exist (offered to be created)


class SaveLogScreen(PromptScreen):
    """Dismissed with a note ("Saved 300 lines to …") once saved; None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="save.cancel"),
        Binding("ctrl+o", "create", "Create the directory", id="save.create"),
    ]

    def __init__(self, default: str, save: SaveLog) -> None:
        super().__init__("Save the log to", default, message="The whole log, as plain text.")
        self.save_log = save
        self.missing_dir = ""
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.message, classes="dialog-body", markup=False)
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="save-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create it and save (ctrl+o)", id="create", variant="warning")
                yield Button("OK (enter)", id="ok", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#create").display = False
        self.query_one("#save-error").display = False

    @on(Button.Pressed, "#create")
    def _create_pressed(self) -> None:
        self.action_create()

    @on(Input.Changed, "#prompt-input")
    def _path_changed(self) -> None:
        self._show_error("", "")

    def accept(self, value: str) -> None:
        self._start(value, create=False)

    def action_create(self) -> None:
        if self.missing_dir:
            self._start(self.query_one("#prompt-input", Input).value, create=True)

    def _start(self, value: str, *, create: bool) -> None:
        path = value.strip()
        if not path:
            self._show_error("path: give a file to save the log to", "")
            return
        if not self.busy:
            self.busy = True
            self.write(str(Path(path).expanduser()), create)

    @work(thread=True, exclusive=True, group="save-log", exit_on_error=False)
    def write(self, path: str, create: bool) -> None:
        target = Path(path)
        if target.is_dir():
            self.post_message(SaveAnswered(path, None, f"{path} is a directory: name a file"))
            return
        if not create and not target.parent.is_dir():
            missing = str(target.parent)
            error = f"directory {missing} does not exist"
            self.post_message(SaveAnswered(path, None, error, missing))
            return
        try:
            lines = self.save_log(path, create)
        except JobtuiError as exc:
            self.post_message(SaveAnswered(path, None, str(exc)))
            return
        self.post_message(SaveAnswered(path, lines))

    @on(SaveAnswered)
    def _answered(self, message: SaveAnswered) -> None:
        self.busy = False
        if message.lines is None:
            self._show_error(message.error, message.missing_dir)
            return
        plural = "" if message.lines == 1 else "s"
        self.dismiss(f"Saved {message.lines:,} line{plural} to {message.path}")

    def _show_error(self, error: str, missing_dir: str) -> None:
        self.missing_dir = missing_dir
        box = self.query_one("#save-error", Static)
        box.update(error + ("\nctrl+o creates it and saves." if missing_dir else ""))
        box.display = bool(error)
        self.query_one("#create").display = bool(missing_dir)

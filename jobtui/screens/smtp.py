"""SMTP settings for alert mail (issue 20.17): the TUI face of `jobtui daemon smtp`.

Host, port, TLS, user, password (a secret reference only: `env:NAME` or `file:PATH`,
resolved when mail is sent) and sender, saved in the engine's settings; `ctrl+t` saves
and sends a test message, so what is tested is what is shown. JOBTUI_SMTP_* environment
variables override the saved values (the note says which are set here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker

from jobtui.engine import Engine, InvalidInput
from jobtui.screens.base import JobtuiScreen, error_text
from jobtui.screens.confirm import PromptScreen
from jobtui.widgets.footer import KeyFooter

TLS_CHOICES = [
    ("none (port 25)", "none"),
    ("STARTTLS (port 587)", "starttls"),
    ("implicit TLS (port 465)", "ssl"),
]
FIELDS = [
    ("host", "Host", "smtp.example.com (empty: no mail server)"),
    ("port", "Port", "25"),
    ("user", "User", "a login, or env:NAME / file:PATH"),
    ("password", "Password", "env:NAME or file:PATH, never the password"),
    ("sender", "From", "jobtui@this-host"),
]


@dataclass
class SmtpLoaded(Message):
    settings: dict[str, Any] | None
    note: str = ""  # what was just done ("saved", "sent a test message to …")


class SmtpScreen(JobtuiScreen[None]):
    CSS_PATH = ["wizard/wizard.tcss", "manage.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="smtp.back"),
        Binding("ctrl+s", "save", "Save", id="smtp.save"),
        Binding(
            "ctrl+t",
            "test_mail",
            "Send test mail",
            id="smtp.test",
            tooltip="Save, then send a test message",
        ),
    ]
    WRITES = frozenset({"save", "test_mail"})

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static("SMTP server for alert mail", id="manage-title")
        with VerticalScroll(id="smtp-form"):
            for key, label, placeholder in FIELDS[:2]:
                yield self._row(key, label, placeholder)
            with Horizontal(classes="field-row"):
                yield Label("TLS", classes="field-label")
                yield Select(
                    TLS_CHOICES, value="none", allow_blank=False, id="smtp-tls", compact=True
                )
            for key, label, placeholder in FIELDS[2:]:
                yield self._row(key, label, placeholder)
            yield Static("", id="smtp-env", classes="field-hint", markup=False)
            with Horizontal(id="smtp-actions"):
                yield Button("Save (ctrl+s)", id="smtp-save", variant="primary")
                yield Button("Send test mail (ctrl+t)", id="smtp-test")
            yield Static("", id="smtp-result", markup=False)
        yield KeyFooter()

    @staticmethod
    def _row(key: str, label: str, placeholder: str) -> Horizontal:
        return Horizontal(
            Label(label, classes="field-label"),
            Input(placeholder=placeholder, id=f"smtp-{key}", compact=True),
            classes="field-row",
        )

    def on_mount(self) -> None:
        overrides = sorted(k for k in os.environ if k.startswith("JOBTUI_SMTP_"))
        self.query_one("#smtp-env", Static).update(
            "Environment variables JOBTUI_SMTP_* override these"
            + (f" (set here: {', '.join(overrides)})." if overrides else " (none set here).")
        )
        self.query_one("#smtp-host", Input).focus()
        self._load()

    # -- loading ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="smtp-load", exit_on_error=False)
    def _load(self, note: str = "") -> None:
        self.post_message(SmtpLoaded(self.engine.smtp_settings(), note))

    @on(SmtpLoaded)
    def _loaded(self, message: SmtpLoaded) -> None:
        settings = message.settings or {}
        for key, _, _ in FIELDS:
            value = settings.get(key)
            self.query_one(f"#smtp-{key}", Input).value = "" if value is None else str(value)
        tls = "ssl" if settings.get("ssl") else "starttls" if settings.get("starttls") else "none"
        self.query_one("#smtp-tls", Select).value = tls
        if not message.settings:
            result = "No SMTP server is set: alert mail is not sent (the daemon logs it)."
        else:
            result = message.note
        self.query_one("#smtp-result", Static).update(result)
        if message.note:
            self.notify(message.note, title="SMTP")
        self.loaded = True

    def waiting_for(self) -> Iterator[str]:
        if not self.loaded:
            yield "the SMTP settings"

    # -- saving and testing ---------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """What the form says, as `set_smtp_settings` takes it ("" clears a key)."""
        values: dict[str, Any] = {
            key: self.query_one(f"#smtp-{key}", Input).value.strip() for key, _, _ in FIELDS
        }
        port = values["port"]
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise InvalidInput("port: give a number from 1 to 65535")
        tls = self.query_one("#smtp-tls", Select).value
        values["starttls"] = "1" if tls == "starttls" else ""
        values["ssl"] = "1" if tls == "ssl" else ""
        return values

    def action_save(self) -> None:
        try:
            values = self.values()
        except InvalidInput as exc:
            self.notify(str(exc), title="Error", severity="error")
            return
        self._save(values, None)

    def action_test_mail(self) -> None:
        try:
            values = self.values()
        except InvalidInput as exc:
            self.notify(str(exc), title="Error", severity="error")
            return
        if not values["host"]:
            self.notify("host: set a mail server first", title="Error", severity="error")
            return

        def chosen(to: str | None) -> None:
            if to and to.strip():
                self._save(values, to.strip())

        self.app.push_screen(
            PromptScreen("Send a test mail to", placeholder="you@example.com"), chosen
        )

    @work(thread=True, group="smtp-save", exit_on_error=False, description="save SMTP")
    def _save(self, values: dict[str, Any], test_to: str | None) -> None:
        self.engine.set_smtp_settings(**values)
        note = "Saved"
        if test_to:
            note = "Saved; " + self.engine.send_test_mail(test_to)
        self.post_message(SmtpLoaded(self.engine.smtp_settings(), note))

    def worker_failed(self, worker: Worker[object]) -> None:
        # Already notified; kept on the form too, where the fix is typed.
        super().worker_failed(worker)
        if worker.error is not None:
            self.query_one("#smtp-result", Static).update(error_text(worker.error)[1])

    @on(Button.Pressed, "#smtp-save")
    async def _save_pressed(self) -> None:
        await self.run_action("save")

    @on(Button.Pressed, "#smtp-test")
    async def _test_pressed(self) -> None:
        await self.run_action("test_mail")

    def action_close(self) -> None:
        self.dismiss(None)

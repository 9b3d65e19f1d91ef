"""Sink presets ("global sinks"): list, create, edit, delete (confirmed), test connection.

The options form comes from the engine's `SINK_OPTIONS` models; the engine's `save_preset`
is the judge and its `FieldError`s show beside the fields. Secrets are references
(`env:NAME`, `file:PATH`); secret-looking fields are password inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Select, Static

from jobtui.engine import SINK_OPTIONS, Engine, FieldError, JobtuiError, SinkPreset, SpecError
from jobtui.screens.base import EngineScreen
from jobtui.screens.confirm import ConfirmScreen
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.forms import FieldRow, ModelForm, field_id, show_errors
from jobtui.widgets.tables import KeyTable


@dataclass
class PresetsLoaded(Message):
    presets: list[SinkPreset]
    users: dict[str, list[str]]
    error: str = ""


@dataclass
class PresetDone(Message):
    """The outcome of a save, delete or test."""

    action: str
    ok: bool
    text: str
    errors: list[FieldError]
    name: str | None = None


class SinkPresetsScreen(EngineScreen[None]):
    CSS_PATH = ["wizard/wizard.tcss", "manage.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New preset", id="presets.new"),
        Binding("ctrl+s", "save", "Save", id="presets.save", priority=True),
        Binding("ctrl+t", "test", "Test connection", id="presets.test", priority=True),
        Binding("ctrl+d", "delete", "Delete", id="presets.delete", priority=True),
        Binding("escape", "close", "Back", id="presets.back"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.loaded = False
        self.presets: list[SinkPreset] = []
        self.users: dict[str, list[str]] = {}
        self.editing: str | None = None  # name of the stored preset shown, None for new

    def compose(self) -> ComposeResult:
        yield Static("Sink presets", id="manage-title")
        with Horizontal(id="manage-body"):
            with Vertical(id="manage-list", classes="side-panel"):
                yield KeyTable(id="preset-table", cursor_type="row", zebra_stripes=True)
                yield Static(
                    "enter: edit · n: new · ctrl+d: delete", classes="field-hint", markup=False
                )
            with VerticalScroll(id="preset-editor"):
                yield FieldRow(
                    "name", "name *", Input(id=field_id("name"), compact=True, placeholder="name")
                )
                yield FieldRow(
                    "type",
                    "type",
                    Select(
                        [(t, t) for t in SINK_OPTIONS],
                        value="file",
                        allow_blank=False,
                        id=field_id("type"),
                        compact=True,
                    ),
                )
                yield Vertical(id="preset-options")
                with Horizontal(id="preset-actions"):
                    yield Button("Save (ctrl+s)", id="preset-save", variant="success", compact=True)
                    yield Button("Test connection (ctrl+t)", id="preset-test", compact=True)
                    yield Button(
                        "Delete (ctrl+d)", id="preset-delete", variant="error", compact=True
                    )
                yield Static("", id="preset-result", markup=False)
        yield KeyFooter()

    async def on_mount(self) -> None:
        await self._show_form("file", {})
        self._load()

    # -- loading -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="presets-load", exit_on_error=False)
    def _load(self) -> None:
        try:
            presets = self.engine.list_presets()
            users = {p.name: self.engine.jobs_using_preset(p.name) for p in presets}
        except JobtuiError as exc:
            self.post_message(PresetsLoaded([], {}, str(exc)))
            return
        self.post_message(PresetsLoaded(presets, users))

    @on(PresetsLoaded)
    def _loaded(self, message: PresetsLoaded) -> None:
        if message.error:
            self.notify(message.error, severity="error")
        self.presets = message.presets
        self.users = message.users
        table = self.query_one("#preset-table", DataTable)
        table.clear(columns=True)
        table.add_columns("NAME", "TYPE", "WORKSPACE", "USED BY")
        for preset in self.presets:
            used = self.users.get(preset.name, [])
            table.add_row(
                preset.name,
                preset.type,
                preset.workspace,
                f"{len(used)} job(s)" if used else "—",
                key=preset.name,
            )
        if self.presets:
            table.focus()
        else:
            self.query_one(f"#{field_id('name')}", Input).focus()
        self.loaded = True

    def waiting_for(self) -> Iterator[str]:
        if not self.loaded:
            yield "the sink presets"

    # -- editing -------------------------------------------------------------------------
    async def _show_form(self, sink_type: str, options: dict[str, Any]) -> None:
        holder = self.query_one("#preset-options", Vertical)
        await holder.remove_children()
        form = ModelForm(SINK_OPTIONS[sink_type], "options", options, id="preset-form")
        form.border_title = f"{sink_type} options"
        form.add_class("form-section")
        await holder.mount(form)

    def _form(self) -> ModelForm:
        return self.query_one("#preset-form", ModelForm)

    @on(Select.Changed, "#f-type")
    async def _type_changed(self, event: Select.Changed) -> None:
        if self._form().model is not SINK_OPTIONS.get(str(event.value)):
            await self._show_form(str(event.value), {})

    @on(DataTable.RowSelected, "#preset-table")
    async def _row_selected(self, event: DataTable.RowSelected) -> None:
        name = event.row_key.value
        preset = next((p for p in self.presets if p.name == name), None)
        if preset is None:
            return
        self.editing = preset.name
        self.query_one(f"#{field_id('name')}", Input).value = preset.name
        select = self.query_one(f"#{field_id('type')}", Select)
        with select.prevent(Select.Changed):
            select.value = preset.type
        await self._show_form(preset.type, dict(preset.options))
        show_errors(self, [])
        self._result("")
        self.query_one(f"#{field_id('name')}", Input).focus()

    async def action_new(self) -> None:
        self.editing = None
        self.query_one(f"#{field_id('name')}", Input).value = ""
        select = self.query_one(f"#{field_id('type')}", Select)
        with select.prevent(Select.Changed):
            select.value = "file"
        await self._show_form("file", {})
        show_errors(self, [])
        self._result("")
        self.query_one(f"#{field_id('name')}", Input).focus()

    def _document(self) -> dict[str, Any]:
        return {
            "name": self.query_one(f"#{field_id('name')}", Input).value.strip(),
            "type": str(self.query_one(f"#{field_id('type')}", Select).value),
            "options": self._form().value(),
        }

    def _result(self, text: str, ok: bool | None = None) -> None:
        result = self.query_one("#preset-result", Static)
        result.set_class(ok is True, "-ok")
        result.set_class(ok is False, "-failed")
        result.update(text)

    @on(Button.Pressed, "#preset-save")
    def action_save(self) -> None:
        self._save(self._document(), self.editing)

    @work(thread=True, exclusive=True, group="presets-write", exit_on_error=False)
    def _save(self, doc: dict[str, Any], editing: str | None) -> None:
        try:
            replace = editing is not None and editing == doc["name"]
            preset = self.engine.save_preset(doc, replace=replace)
            if editing is not None and editing != doc["name"]:
                # A rename: the old name goes, unless jobs still use it.
                try:
                    self.engine.delete_preset(editing)
                except JobtuiError as exc:
                    self.post_message(
                        PresetDone("save", True, f"Saved {preset.name}; kept {editing}: {exc}", [])
                    )
                    return
        except SpecError as exc:
            self.post_message(PresetDone("save", False, "Not saved", list(exc.errors)))
            return
        except JobtuiError as exc:
            self.post_message(PresetDone("save", False, str(exc), _field_error(str(exc))))
            return
        self.post_message(PresetDone("save", True, f"Saved {preset.name}", [], preset.name))

    @on(Button.Pressed, "#preset-test")
    def action_test(self) -> None:
        doc = self._document()
        self._result("Testing…")
        self._test({"type": doc["type"], "options": doc["options"]})

    @work(thread=True, exclusive=True, group="presets-test", exit_on_error=False)
    def _test(self, sink: dict[str, Any]) -> None:
        try:
            text = self.engine.test_sink(sink)
        except SpecError as exc:
            self.post_message(PresetDone("test", False, "Cannot test", list(exc.errors)))
            return
        except (JobtuiError, OSError) as exc:
            self.post_message(PresetDone("test", False, str(exc), []))
            return
        self.post_message(PresetDone("test", True, str(text or "ok"), []))

    @on(Button.Pressed, "#preset-delete")
    def action_delete(self) -> None:
        name = self.editing
        if name is None:
            self.notify("Pick a stored preset first (enter on its row)", severity="warning")
            return
        used = self.users.get(name, [])
        message = f"Used by: {', '.join(used)} — the engine will refuse." if used else ""

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(name)

        self.app.push_screen(
            ConfirmScreen(f"Delete the sink preset {name!r}?", message, "Delete", danger=True),
            answered,
        )

    @work(thread=True, exclusive=True, group="presets-write", exit_on_error=False)
    def _delete(self, name: str) -> None:
        try:
            self.engine.delete_preset(name)
        except JobtuiError as exc:
            self.post_message(PresetDone("delete", False, str(exc), []))
            return
        self.post_message(PresetDone("delete", True, f"Deleted {name}", []))

    @on(PresetDone)
    async def _done(self, message: PresetDone) -> None:
        show_errors(self, message.errors)
        detail = "; ".join(str(e) for e in message.errors if not e.path)
        text = message.text + (f": {detail}" if detail else "")
        self._result(("✔ " if message.ok else "✖ ") + text, message.ok)
        if message.ok and message.action in ("save", "delete"):
            self.notify(text, title="Sink presets")
            self.editing = message.name
            if message.action == "delete":
                await self.action_new()
            self._load()
        elif not message.ok and message.action == "delete":
            self.notify(text, severity="error", title="Not deleted")

    def action_close(self) -> None:
        self.dismiss(None)


def _field_error(text: str) -> list[FieldError]:
    """`name: a preset named … exists` → an error beside the name field."""
    head, sep, rest = text.partition(": ")
    if sep and head in ("name", "type", "options"):
        return [FieldError(head, rest)]
    return []

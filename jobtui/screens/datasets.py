"""Datasets: list built-in and custom datasets; create, edit, import and export custom ones.

A field's options form comes from the engine's field models (`datagen.fields.FIELD_MODELS`);
its type is picked from the engine's searchable `field_types()` list. Five sample records
follow every edit (`Engine.sample_dataset` on the unsaved spec); the engine's `SpecError`s
show beside the fields they name.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Select, Static
from textual.worker import get_current_worker

from jobtui.engine import FIELD_MODELS, Dataset, Engine, FieldError, JobtuiError, SpecError
from jobtui.screens.base import EngineScreen
from jobtui.screens.confirm import ConfirmScreen, PromptScreen
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.forms import FieldRow, ModelForm, field_id, show_errors, show_sample
from jobtui.widgets.tables import KeyTable


@dataclass
class DatasetsLoaded(Message):
    datasets: list[Dataset]
    types: list[tuple[str, str, dict[str, Any]]]  # (label, name, template)
    select: str | None = None
    error: str = ""


@dataclass
class SampleDone(Message):
    rows: list[dict[str, Any]]
    errors: list[FieldError]
    error: str = ""


@dataclass
class DatasetDone(Message):
    ok: bool
    text: str
    errors: list[FieldError]
    select: str | None = None
    imported: dict[str, Any] | None = None


class DatasetsScreen(EngineScreen[None]):
    CSS_PATH = ["wizard/wizard.tcss", "manage.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new", "New dataset", id="datasets.new", priority=True),
        Binding("ctrl+a", "add_field", "Add field", id="datasets.add_field", priority=True),
        Binding("ctrl+x", "remove_field", "Remove field", id="datasets.remove_field"),
        Binding("alt+up", "move_field(-1)", "Field up", id="datasets.field_up"),
        Binding("alt+down", "move_field(1)", "Field down", id="datasets.field_down"),
        Binding("ctrl+s", "save", "Save", id="datasets.save", priority=True),
        Binding("ctrl+d", "delete", "Delete", id="datasets.delete", priority=True),
        Binding("ctrl+e", "export", "Export JSON", id="datasets.export", priority=True),
        Binding("ctrl+o", "import", "Import JSON", id="datasets.import", priority=True),
        Binding("ctrl+r", "resample", "New sample", id="datasets.resample", priority=True),
        Binding("escape", "close", "Back", id="datasets.back"),
    ]

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.loaded = False
        self.datasets: list[Dataset] = []
        self.types: list[tuple[str, str, dict[str, Any]]] = []
        self.ds_name = ""
        self.ds_description = ""
        self.fields: list[dict[str, Any]] = []
        self.current = -1  # index of the field in the editor
        self.stored: str | None = None  # name of the stored custom dataset being edited
        self.builtin = False
        self.seed = 1
        self._field_lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        yield Static("Datasets", id="manage-title")
        with Horizontal(id="manage-body"):
            with Vertical(id="manage-list", classes="side-panel"):
                yield KeyTable(id="dataset-table", cursor_type="row", zebra_stripes=True)
                yield Static(
                    "enter: open · ctrl+n: new · ctrl+o: import", classes="field-hint", markup=False
                )
            with VerticalScroll(id="dataset-editor"):
                yield FieldRow("name", "name *", Input(id=field_id("name"), compact=True))
                yield FieldRow(
                    "description", "description", Input(id=field_id("description"), compact=True)
                )
                yield KeyTable(id="field-table", cursor_type="row")
                yield FieldRow(
                    "fields",
                    "add a field",
                    Select([], prompt="type to search field types", id="field-type", compact=True),
                    "ctrl+a adds it · ctrl+x removes · alt+↑/↓ reorders",
                )
                yield Vertical(id="field-editor")
                with Horizontal(id="dataset-actions"):
                    yield Button(
                        "Save (ctrl+s)", id="dataset-save", variant="success", compact=True
                    )
                    yield Button("Export (ctrl+e)", id="dataset-export", compact=True)
                    yield Button(
                        "Delete (ctrl+d)", id="dataset-delete", variant="error", compact=True
                    )
                yield Static("", id="dataset-result", markup=False)
                yield Static("Sample (ctrl+r: new sample)", classes="panel-title")
                yield KeyTable(id="dataset-sample-table", cursor_type="none", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._load()

    # -- loading -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="datasets-load", exit_on_error=False)
    def _load(self, select: str | None = None) -> None:
        try:
            datasets = self.engine.list_datasets()
            types = [
                (f"{t.name} ({t.kind}) — {t.description}", t.name, dict(t.template))
                for t in self.engine.field_types()
            ]
        except JobtuiError as exc:
            self.post_message(DatasetsLoaded([], [], None, str(exc)))
            return
        self.post_message(DatasetsLoaded(datasets, types, select))

    @on(DatasetsLoaded)
    async def _loaded(self, message: DatasetsLoaded) -> None:
        if message.error:
            self.notify(message.error, severity="error")
        self.datasets = message.datasets
        if message.types and not self.types:
            self.types = message.types
            self.query_one("#field-type", Select).set_options(
                [(label, name) for label, name, _ in self.types]
            )
        table = self.query_one("#dataset-table", DataTable)
        table.clear(columns=True)
        table.add_columns("DATASET", "KIND", "FIELDS")
        for ds in self.datasets:
            table.add_row(
                ds.name, "built-in" if ds.builtin else "custom", str(len(ds.fields)), key=ds.name
            )
        names = [d.name for d in self.datasets]
        if message.select in names:
            table.move_cursor(row=names.index(message.select))
            await self._open(message.select)
        elif not self.ds_name and self.datasets:
            await self._open(self.datasets[0].name)
        table.focus()
        self.loaded = True

    def waiting_for(self) -> Iterator[str]:
        if not self.loaded:
            yield "the datasets"

    async def _open(self, name: str | None) -> None:
        ds = next((d for d in self.datasets if d.name == name), None)
        if ds is None:
            return
        self.builtin = ds.builtin
        self.stored = None if ds.builtin else ds.name
        # A built-in opens as a copy: saving it makes a custom dataset.
        await self._edit(f"{ds.name}-copy" if ds.builtin else ds.name, ds.description, ds.fields)
        if ds.builtin:
            self._result(f"{ds.name} is built in: saving stores this copy as a custom dataset")

    async def _edit(self, name: str, description: str, fields: list[dict[str, Any]]) -> None:
        self.ds_name = name
        self.ds_description = description
        self.fields = copy.deepcopy(fields)
        with self.query_one(f"#{field_id('name')}", Input).prevent(Input.Changed):
            self.query_one(f"#{field_id('name')}", Input).value = name
        with self.query_one(f"#{field_id('description')}", Input).prevent(Input.Changed):
            self.query_one(f"#{field_id('description')}", Input).value = description
        self.current = 0 if self.fields else -1
        self._fill_fields()
        await self._show_field()
        show_errors(self, [])
        self._result("")
        self._sample()

    @on(DataTable.RowSelected, "#dataset-table")
    async def _dataset_chosen(self, event: DataTable.RowSelected) -> None:
        await self._open(event.row_key.value)
        self.query_one(f"#{field_id('name')}", Input).focus()

    # -- fields --------------------------------------------------------------------------
    def _fill_fields(self) -> None:
        table = self.query_one("#field-table", DataTable)
        with table.prevent(DataTable.RowHighlighted):
            self._fill_table(table)

    def _fill_table(self, table: DataTable[Any]) -> None:
        table.clear(columns=True)
        table.add_columns("#", "FIELD", "TYPE", "OPTIONS")
        for i, spec in enumerate(self.fields):
            options = {k: v for k, v in spec.items() if k not in ("name", "type")}
            table.add_row(
                str(i + 1),
                str(spec.get("name", "")),
                str(spec.get("type", "")),
                json.dumps(options, default=str)[:50],
                key=str(i),
            )
        if 0 <= self.current < len(self.fields):
            table.move_cursor(row=self.current)

    async def _show_field(self) -> None:
        async with self._field_lock:
            await self._show_field_now()

    async def _show_field_now(self) -> None:
        holder = self.query_one("#field-editor", Vertical)
        await holder.remove_children()
        if not 0 <= self.current < len(self.fields):
            return
        spec = self.fields[self.current]
        model = FIELD_MODELS.get(str(spec.get("type")))
        if model is None:
            await holder.mount(Static(f"unknown field type {spec.get('type')!r}", markup=False))
            return
        form = ModelForm(model, f"fields[{self.current}]", spec, exclude=("type",), id="field-form")
        form.border_title = f"field {self.current + 1}: {spec.get('type')}"
        form.add_class("form-section")
        await holder.mount(form)

    def _store_field(self) -> None:
        forms = list(self.query("#field-form").results(ModelForm))
        if forms and 0 <= self.current < len(self.fields):
            kind = self.fields[self.current].get("type")
            self.fields[self.current] = {"type": kind, **forms[0].value()}
            self.fields[self.current] = {
                "name": self.fields[self.current].pop("name", ""),
                **self.fields[self.current],
            }

    @on(DataTable.RowHighlighted, "#field-table")
    async def _field_highlighted(self, event: DataTable.RowHighlighted) -> None:
        index = int(event.row_key.value or 0)
        if index != self.current:
            self._store_field()
            self.current = index
            await self._show_field()

    @on(ModelForm.Changed)
    def _form_changed(self) -> None:
        self._store_field()
        self._refresh_row()
        self._sample()

    def _refresh_row(self) -> None:
        table = self.query_one("#field-table", DataTable)
        if 0 <= self.current < len(self.fields) and table.row_count > self.current:
            spec = self.fields[self.current]
            options = {k: v for k, v in spec.items() if k not in ("name", "type")}
            key = str(self.current)
            columns = list(table.columns)
            table.update_cell(key, columns[1], str(spec.get("name", "")))
            table.update_cell(key, columns[3], json.dumps(options, default=str)[:50])

    @on(Input.Changed, "#f-name")
    @on(Input.Changed, "#f-description")
    def _header_changed(self) -> None:
        self.ds_name = self.query_one(f"#{field_id('name')}", Input).value.strip()
        self.ds_description = self.query_one(f"#{field_id('description')}", Input).value
        self._sample()

    async def action_add_field(self) -> None:
        select = self.query_one("#field-type", Select)
        if select.is_blank():
            select.focus()
            self.notify("Pick a field type first (type to search)", severity="warning")
            return
        template = next((t for _, n, t in self.types if n == select.value), None)
        if template is None:
            return
        self._store_field()
        taken = {f.get("name") for f in self.fields}
        base = str(select.value)
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        self.fields.append({"name": name, **copy.deepcopy(template)})
        self.current = len(self.fields) - 1
        self._fill_fields()
        await self._show_field()
        self._sample()

    async def action_remove_field(self) -> None:
        if not 0 <= self.current < len(self.fields):
            return
        del self.fields[self.current]
        self.current = min(self.current, len(self.fields) - 1)
        self._fill_fields()
        await self._show_field()
        self._sample()

    async def action_move_field(self, delta: int) -> None:
        i = self.current
        j = i + delta
        if not (0 <= i < len(self.fields) and 0 <= j < len(self.fields)):
            return
        self._store_field()
        self.fields[i], self.fields[j] = self.fields[j], self.fields[i]
        self.current = j
        self._fill_fields()
        await self._show_field()
        self._sample()

    # -- document, sample, save ------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        self._store_field()
        doc: dict[str, Any] = {"name": self.ds_name, "fields": copy.deepcopy(self.fields)}
        if self.ds_description:
            doc["description"] = self.ds_description
        return doc

    def action_resample(self) -> None:
        self.seed += 1
        self._sample()

    def _sample(self) -> None:
        self._run_sample(self.document(), self.seed)

    @work(thread=True, exclusive=True, group="datasets-sample", exit_on_error=False)
    def _run_sample(self, doc: dict[str, Any], seed: int) -> None:
        if not doc["fields"]:
            self.post_message(SampleDone([], [], "add a field to see sample records"))
            return
        try:
            rows = self.engine.sample_dataset({**doc, "name": doc["name"] or "x"}, 5, seed)
        except SpecError as exc:
            if not get_current_worker().is_cancelled:
                self.post_message(SampleDone([], list(exc.errors)))
            return
        except JobtuiError as exc:
            self.post_message(SampleDone([], [], str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(SampleDone(rows, []))

    @on(SampleDone)
    def _sample_done(self, message: SampleDone) -> None:
        show_errors(self, message.errors)
        show_sample(self.query_one("#dataset-sample-table", DataTable), message.rows, 40)
        loose = [str(e) for e in message.errors if not e.path.startswith("fields[")]
        if message.error or loose:
            self._result("✖ " + (message.error or "; ".join(loose)), False)

    def _result(self, text: str, ok: bool | None = None) -> None:
        result = self.query_one("#dataset-result", Static)
        result.set_class(ok is True, "-ok")
        result.set_class(ok is False, "-failed")
        result.update(text)

    @on(Button.Pressed, "#dataset-save")
    def action_save(self) -> None:
        self._save(self.document(), self.stored)

    @work(thread=True, exclusive=True, group="datasets-write", exit_on_error=False)
    def _save(self, doc: dict[str, Any], stored: str | None) -> None:
        try:
            saved = self.engine.save_dataset(doc, replace=stored == doc["name"])
        except SpecError as exc:
            self.post_message(DatasetDone(False, "Not saved", list(exc.errors)))
            return
        except JobtuiError as exc:
            head, sep, rest = str(exc).partition(": ")
            errors = [FieldError(head, rest)] if sep and head == "name" else []
            self.post_message(DatasetDone(False, str(exc), errors))
            return
        self.post_message(DatasetDone(True, f"Saved {saved.name}", [], saved.name))

    @on(Button.Pressed, "#dataset-delete")
    def action_delete(self) -> None:
        name = self.stored
        if name is None:
            self.notify("Only a stored custom dataset can be deleted", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(name)

        self.app.push_screen(
            ConfirmScreen(f"Delete the dataset {name!r}?", "", "Delete", danger=True), answered
        )

    @work(thread=True, exclusive=True, group="datasets-write", exit_on_error=False)
    def _delete(self, name: str) -> None:
        try:
            self.engine.delete_dataset(name)
        except JobtuiError as exc:
            self.post_message(DatasetDone(False, str(exc), []))
            return
        self.post_message(DatasetDone(True, f"Deleted {name}", [], None))

    @on(Button.Pressed, "#dataset-export")
    def action_export(self) -> None:
        doc = self.document()

        def answered(path: str | None) -> None:
            if path:
                self._export(doc, path)

        self.app.push_screen(
            PromptScreen("Export the dataset as JSON to", value=f"{doc['name'] or 'dataset'}.json"),
            answered,
        )

    @work(thread=True, exclusive=True, group="datasets-file", exit_on_error=False)
    def _export(self, doc: dict[str, Any], path: str) -> None:
        target = Path(path).expanduser()
        try:
            target.write_text(json.dumps(doc, indent=2) + "\n")
        except OSError as exc:
            self.post_message(DatasetDone(False, f"cannot write {target}: {exc.strerror}", []))
            return
        self.post_message(DatasetDone(True, f"Exported to {target}", [], self.stored))

    def action_import(self) -> None:
        def answered(path: str | None) -> None:
            if path:
                self._import(path)

        self.app.push_screen(PromptScreen("Import a dataset from the JSON file"), answered)

    @work(thread=True, exclusive=True, group="datasets-file", exit_on_error=False)
    def _import(self, path: str) -> None:
        source = Path(path).expanduser()
        try:
            doc = json.loads(source.read_text())
        except OSError as exc:
            self.post_message(DatasetDone(False, f"cannot read {source}: {exc.strerror}", []))
            return
        except ValueError as exc:
            self.post_message(DatasetDone(False, f"{source} is not JSON: {exc}", []))
            return
        if not isinstance(doc, dict):
            self.post_message(DatasetDone(False, f"{source} holds no dataset object", []))
            return
        self.post_message(DatasetDone(True, f"Imported {source} (not saved yet)", [], None, doc))

    @on(DatasetDone)
    async def _done(self, message: DatasetDone) -> None:
        if message.imported is not None:
            doc = message.imported
            self.stored = None
            self.builtin = False
            fields = doc.get("fields")
            await self._edit(
                str(doc.get("name", "")),
                str(doc.get("description", "")),
                [f for f in fields if isinstance(f, dict)] if isinstance(fields, list) else [],
            )
        show_errors(self, message.errors)
        self._result(("✔ " if message.ok else "✖ ") + message.text, message.ok)
        if message.ok and message.text.startswith(("Saved", "Deleted")):
            self.stored = message.select
            self.ds_name = "" if message.select is None else self.ds_name
            self._load(message.select)

    async def action_new(self) -> None:
        self.stored = None
        self.builtin = False
        await self._edit("", "", [])
        self.query_one(f"#{field_id('name')}", Input).focus()

    def action_close(self) -> None:
        self.dismiss(None)

"""Step 3, Generator: the output format and its options, three records previewed beside."""

from __future__ import annotations

import copy
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Select, Static
from textual.worker import get_current_worker

from jobtui.engine import FORMAT_LABELS, FORMAT_OPTIONS, Engine, JobtuiError
from jobtui.screens.wizard.base import Edited, FormatPreviewReady, Scroll, set_text
from jobtui.screens.wizard.collect import FormValues
from jobtui.widgets.forms import FieldRow, ModelForm, field_id


class GeneratorStep(Horizontal):
    def __init__(self, engine: Engine, *, id: str, classes: str) -> None:
        super().__init__(id=id, classes=classes)
        self.engine = engine
        self.form: ModelForm | None = None

    def compose(self) -> ComposeResult:
        yield Scroll(id="generator-forms")
        with Vertical(id="generator-preview", classes="side-panel"):
            yield Label("Preview: 3 records in this format", classes="panel-title")
            with Scroll():
                yield Static("", id="format-preview", markup=False)

    async def build(self, generator: dict[str, Any]) -> None:
        fmt = generator.get("format", "jsonl")
        self.format: Select[str] = Select(
            [(f"{label} ({key})", key) for key, label in FORMAT_LABELS.items()],
            value=fmt if fmt in FORMAT_OPTIONS else "jsonl",
            allow_blank=False,
            id=field_id("datagen.generator.format"),
            compact=True,
        )
        self.holder = Vertical(id="format-holder")
        await self.query_one("#generator-forms", Scroll).mount_all(
            [FieldRow("datagen.generator.format", "format", self.format), self.holder]
        )
        options = generator.get("options")
        await self._mount_form(fmt, options if isinstance(options, dict) else {})

    async def _mount_form(self, fmt: str, values: dict[str, Any]) -> None:
        await self.holder.remove_children()
        self.form = None
        if fmt in FORMAT_OPTIONS:
            self.form = ModelForm(
                FORMAT_OPTIONS[fmt], "datagen.generator.options", values, id="form-format"
            )
            self.form.border_title = f"{FORMAT_LABELS.get(fmt, fmt)} options"
            self.form.add_class("form-section")
            await self.holder.mount(self.form)

    @on(Select.Changed, "#f-datagen-generator-format")
    async def _format_changed(self, event: Select.Changed) -> None:
        event.stop()
        fmt = str(event.value)
        if self.form is not None and self.form.model is FORMAT_OPTIONS.get(fmt):
            return
        await self._mount_form(fmt, starter(fmt))
        self.post_message(Edited())

    @work(thread=True, exclusive=True, group="wizard-format-preview", exit_on_error=False)
    def preview(self, spec: dict[str, Any]) -> None:
        previewed = copy.deepcopy(spec)
        if not previewed.get("name"):
            previewed["name"] = "preview"
        try:
            text = self.engine.preview(previewed, n=3)
        except JobtuiError as exc:
            text = f"No preview: {exc}"
        if not get_current_worker().is_cancelled:
            self.post_message(FormatPreviewReady(text))

    @on(FormatPreviewReady)
    def _previewed(self, message: FormatPreviewReady) -> None:
        message.stop()
        set_text(self.query_one("#format-preview", Static), message.text)

    def fill(self, values: FormValues) -> None:
        values.generator_format = str(self.format.value)
        values.format_options = self.form.value() if self.form is not None else {}


def starter(fmt: str) -> dict[str, Any]:
    """Options a newly chosen format starts with: each required option's first example
    (the template format's record template), so the preview shows at once."""
    model = FORMAT_OPTIONS.get(fmt)
    if model is None:
        return {}
    return {
        name: info.examples[0]
        for name, info in model.model_fields.items()
        if info.is_required() and info.examples
    }

"""The Readers and Transformers steps of a `pipeline` job: an ordered list of typed items
(add, remove, move up and down), the shown one's options as a form generated from the
engine's validated options schema, and a preview of the first records after them.

Options a form cannot render (a free-form mapping: `set`'s expressions, `constant`'s values,
`rename`'s pairs, http headers) are typed as JSON, so what was there comes back unchanged;
options the schema does not know are kept as they were and left for the engine to name.
"""

from __future__ import annotations

import copy
import json
import typing
from typing import Any

from pydantic import BaseModel
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import get_current_worker

from jobtui.engine import READER_OPTIONS, TRANSFORMER_OPTIONS, Engine, JobtuiError, SpecError
from jobtui.screens.wizard.base import Edited, OutputReady, Scroll, set_text
from jobtui.screens.wizard.collect import keep_types
from jobtui.widgets.forms import FieldRow, ModelForm, field_id


def json_keys(model: type[BaseModel]) -> list[str]:
    """The options typed as JSON: mappings (a form's `a=b, c=d` cannot hold a comma)."""
    out = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = typing.get_args(annotation) if typing.get_origin(annotation) else ()
        mapping = typing.get_origin(annotation) is dict or any(
            typing.get_origin(a) is dict for a in args
        )
        if mapping:
            out.append(info.alias or name)
    return out


def json_value(text: str) -> Any:
    """What a JSON field holds; text that is no JSON goes on as typed, for the engine to
    refuse naming the field."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def editable(value: Any, default: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A pipeline part's items to edit (copies), or `default` for a new pipeline."""
    if not isinstance(value, list):
        return default
    return [copy.deepcopy(v) for v in value if isinstance(v, dict)]


class ChainStep(Horizontal):
    """One part of a pipeline (`readers` or `transformers`): its items, in order."""

    def __init__(
        self,
        engine: Engine,
        part: str,
        schemas: dict[str, type[BaseModel]],
        *,
        noun: str,
        first_type: str,
        next_type: str,
        id: str,
        classes: str,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.engine = engine
        self.part = part
        self.schemas = schemas
        self.noun = noun
        self.first_type = first_type  # what Add makes in an empty list
        self.next_type = next_type  # … and after an item
        self.items: list[dict[str, Any]] = []
        self.index = 0
        self.form: ModelForm | None = None
        self.json_rows: dict[str, Input] = {}
        self.previewed: Any = None  # the pipeline last previewed

    @classmethod
    def readers(cls, engine: Engine) -> ChainStep:
        return cls(
            engine,
            "readers",
            READER_OPTIONS,
            noun="reader",
            first_type="file",
            next_type="jsonl",  # after a source giving bytes: a parse reader
            id="step-readers",
            classes="step",
        )

    @classmethod
    def transformers(cls, engine: Engine) -> ChainStep:
        return cls(
            engine,
            "transformers",
            TRANSFORMER_OPTIONS,
            noun="transformer",
            first_type="filter",
            next_type="filter",
            id="step-transformers",
            classes="step",
        )

    def compose(self) -> ComposeResult:
        yield Scroll(id=f"{self.part}-forms", classes="chain-forms")
        with Vertical(id=f"{self.part}-side", classes="side-panel"):
            yield Label("Preview", classes="panel-title")
            what = "read" if self.part == "readers" else "after the transformers"
            yield Static(
                f"The first records {what}, from the start (no watermark); ctrl+r reads again.",
                classes="chain-help",
                markup=False,
            )
            with Scroll(classes="chain-preview-scroll"):
                yield Static("", id=f"{self.part}-preview", markup=False)

    @property
    def prefix(self) -> str:
        return f"pipeline.{self.part}"

    def prepare(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    async def build(self) -> None:
        self.pick: Select[int] = Select(
            self._pick_options(),
            value=0 if self.items else Select.NULL,
            allow_blank=not self.items,
            prompt=f"no {self.noun}s",
            id=f"{self.part}-pick",
            compact=True,
        )
        self.holder = Vertical(id=f"{self.part}-holder", classes="chain-holder")
        buttons = [
            Button(f"Add {self.noun}", id=f"{self.part}-add", compact=True),
            Button("Remove", id=f"{self.part}-remove", compact=True),
            Button("Up", id=f"{self.part}-up", compact=True),
            Button("Down", id=f"{self.part}-down", compact=True),
        ]
        await self.query_one(f"#{self.part}-forms", Scroll).mount_all(
            [
                Horizontal(self.pick, classes="chain-bar"),
                Horizontal(*buttons, classes="chain-bar chain-buttons"),
                self.holder,
            ]
        )
        await self._mount_form()

    def _pick_options(self) -> list[tuple[str, int]]:
        n = len(self.items)
        return [
            (f"{self.noun} {i + 1} of {n}: {item.get('type') or '?'}", i)
            for i, item in enumerate(self.items)
        ]

    async def _mount_form(self) -> None:
        await self.holder.remove_children()
        self.form, self.json_rows = None, {}
        if not self.items:
            text = (
                f"No {self.noun}s: records go to the writers as read. Add {self.noun} to "
                "filter, rename, set or drop fields."
                if self.part == "transformers"
                else f"A pipeline needs a {self.noun}: add one."
            )
            await self.holder.mount(Static(text, classes="field-hint chain-empty", markup=False))
            return
        i = self.index
        item = self.items[i]
        prefix = f"{self.prefix}[{i}]"
        kind = item.get("type")
        known = isinstance(kind, str) and kind in self.schemas
        type_select: Select[str] = Select(
            [(name, name) for name in self.schemas],
            value=str(kind) if known else Select.NULL,
            allow_blank=not known,
            id=field_id(f"{prefix}.type"),
            classes="chain-type",
            compact=True,
        )
        widgets: list[Widget] = [FieldRow(f"{prefix}.type", "type", type_select)]
        options = item.get("options")
        options = options if isinstance(options, dict) else {}
        if known:
            model = self.schemas[str(kind)]
            as_json = json_keys(model)
            form = ModelForm(model, f"{prefix}.options", options, exclude=as_json, id="form-chain")
            rows: list[Widget] = [form] if form.fields else []
            self.form = form if form.fields else None
            for key in as_json:
                info = model.model_fields[key]
                path = f"{prefix}.options.{key}"
                box = Input(
                    json.dumps(options[key]) if key in options else "",
                    placeholder='JSON, e.g. {"field": "value"}',
                    id=field_id(path),
                    classes="chain-json",
                    compact=True,
                )
                self.json_rows[key] = box
                label = key.replace("_", " ") + (" *" if info.is_required() else "")
                rows.append(FieldRow(path, label, box, info.description or ""))
            if rows:
                section = Vertical(*rows, classes="form-section chain-options")
                section.border_title = f"{kind} options"
                widgets.append(section)
        await self.holder.mount_all(widgets)

    def store(self) -> None:
        """Write the shown item's forms back into `items`."""
        if not self.items:
            return
        item = self.items[self.index]
        if not isinstance(item.get("type"), str) or item["type"] not in self.schemas:
            return
        was = item.get("options")
        was = was if isinstance(was, dict) else {}
        shown = {spec.key for spec in self.form.fields} if self.form is not None else set()
        shown |= set(self.json_rows)
        options = {k: v for k, v in was.items() if k not in shown}
        if self.form is not None:
            options.update(self.form.value())
        for key, box in self.json_rows.items():
            if box.value.strip():
                options[key] = json_value(box.value)
        options = keep_types(was, options)
        if options or "options" in item:
            item["options"] = {**{k: options[k] for k in was if k in options}, **options}
        else:
            item.pop("options", None)

    @on(ModelForm.Changed, "#form-chain")
    def _form_changed(self) -> None:
        self.store()  # and on to the screen, which validates

    @on(Input.Changed, ".chain-json")
    def _json_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.store()
        path = next(
            f"{self.prefix}[{self.index}].options.{k}"
            for k, box in self.json_rows.items()
            if box is event.input
        )
        self.post_message(Edited(path))

    async def _show(self, index: int) -> None:
        self.index = index
        with self.pick.prevent(Select.Changed):
            self.pick.set_options(self._pick_options())
            if self.items:
                self.pick.value = index
        await self._mount_form()

    @on(Select.Changed, ".chain-bar Select")
    async def _picked(self, event: Select.Changed) -> None:
        event.stop()
        index = event.value
        if event.select.is_blank() or not isinstance(index, int) or index == self.index:
            return
        self.store()
        self.index = index
        await self._mount_form()

    @on(Select.Changed, ".chain-type")
    async def _type_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.is_blank() or event.value == self.items[self.index].get("type"):
            return
        keep = {k: v for k, v in self.items[self.index].items() if k == "name"}
        self.items[self.index] = {"type": str(event.value), **keep}
        await self._show(self.index)
        self.post_message(Edited(f"{self.prefix}[{self.index}].type"))

    @on(Button.Pressed, ".chain-buttons Button")
    async def _button(self, event: Button.Pressed) -> None:
        event.stop()
        action = (event.button.id or "").rpartition("-")[2]
        self.store()
        i = self.index
        if action == "add":
            at = i + 1 if self.items else 0
            self.items.insert(at, {"type": self.next_type if self.items else self.first_type})
            await self._show(at)
        elif action == "remove":
            if not self.items:
                return
            del self.items[i]
            await self._show(max(0, min(i, len(self.items) - 1)))
        elif action in ("up", "down"):
            j = i - 1 if action == "up" else i + 1
            if not 0 <= j < len(self.items):
                return
            self.items[i], self.items[j] = self.items[j], self.items[i]
            await self._show(j)
        self.post_message(Edited())

    # -- preview ------------------------------------------------------------------
    def preview(self, spec: dict[str, Any], again: bool = False) -> None:
        """Read the first records of `spec` (collect.preview_spec) unless already shown."""
        if spec.get("pipeline") == self.previewed and not again:
            return
        self.previewed = copy.deepcopy(spec.get("pipeline"))
        set_text(self.query_one(f"#{self.part}-preview", Static), "Reading…")
        self._preview(spec)

    def no_preview(self) -> None:
        """A field of the pipeline is missing or wrong: no records until it is right."""
        self.previewed = None
        text = f"The preview shows once the {self.part} are complete and valid."
        set_text(self.query_one(f"#{self.part}-preview", Static), text)

    @work(thread=True, exclusive=True, group="wizard-chain-preview", exit_on_error=False)
    def _preview(self, spec: dict[str, Any]) -> None:
        try:
            text = self.engine.preview(spec, n=10)
        except SpecError as exc:
            text = "No preview until this is fixed:\n" + "\n".join(f"✖ {e}" for e in exc.errors)
        except (JobtuiError, OSError) as exc:
            text = f"No preview: {exc}"
        if not get_current_worker().is_cancelled:
            self.post_message(OutputReady(text))

    @on(OutputReady)
    def _preview_ready(self, message: OutputReady) -> None:
        message.stop()
        set_text(self.query_one(f"#{self.part}-preview", Static), message.text)

    def fill(self) -> list[dict[str, Any]]:
        self.store()
        return copy.deepcopy(self.items)

"""Step 4, Sinks: where the records go, one or more; a preset by name or prefilled from one,
and a connection test whose failure shows beside the field it names."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Label, Select, Static

from jobtui.engine import SINK_OPTIONS, Engine, JobtuiError, SpecError
from jobtui.screens.wizard.base import (
    Edited,
    PresetInfo,
    PresetsReloaded,
    Scroll,
    SinkTested,
    set_text,
    show_outcome,
)
from jobtui.screens.wizard.collect import PRESET_PREFIX, FormValues
from jobtui.widgets.forms import FieldRow, ModelForm, field_id


class SinksStep(Horizontal):
    """Also a pipeline's Writers step: `prefix` "pipeline.writers", `noun` "writer" (a
    writer's own `format` is kept as it was)."""

    def __init__(
        self,
        engine: Engine,
        *,
        id: str,
        classes: str,
        prefix: str = "datagen.sinks",
        noun: str = "sink",
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.engine = engine
        self.prefix = prefix
        self.noun = noun
        self.sinks: list[dict[str, Any]] = []
        self.presets: list[PresetInfo] = []
        self.index = 0  # the sink shown
        self.form: ModelForm | None = None
        # The job's output format and its options (the wizard's current choice): a file
        # sink's test names an example path with its extension.
        self.output_format: Callable[[], tuple[str, dict[str, Any]]] = lambda: ("jsonl", {})

    def compose(self) -> ComposeResult:
        yield Scroll(id="sinks-forms")
        with Vertical(id="sinks-side", classes="side-panel"):
            yield Label("Connection", classes="panel-title")
            yield Static(
                "Secrets are references: env:NAME or file:PATH, resolved only when "
                "a run starts. ctrl+t tests the connection.",
                id="sinks-help",
                markup=False,
            )
            yield Static("", id="sink-test-result", markup=False)

    def prepare(self, sinks: list[dict[str, Any]], presets: list[PresetInfo]) -> None:
        """The job's sinks (a file sink for a new job), before the step is first shown."""
        self.sinks = sinks or [{"type": "file"}]
        self.presets = presets

    async def build(self) -> None:
        self.pick: Select[int] = Select(
            self._pick_options(), value=0, allow_blank=False, id="sink-pick", compact=True
        )
        prefill: Select[str] = Select(
            [(f"{p.name} ({p.type})", p.name) for p in self.presets],
            prompt="prefill from preset…" if self.presets else "no sink presets saved",
            id="sink-prefill",
            compact=True,
            disabled=not self.presets,
        )
        self.holder = Vertical(id="sink-holder")
        await self.query_one("#sinks-forms", Scroll).mount_all(
            [
                Horizontal(
                    self.pick,
                    Button(f"Add {self.noun}", id="sink-add", compact=True),
                    Button(f"Remove {self.noun}", id="sink-remove", compact=True),
                    id="sink-bar",
                ),
                self.holder,
                Horizontal(
                    Label("prefill", classes="field-label"),
                    prefill,
                    classes="field-line",
                    id="sink-prefill-row",
                ),
                Horizontal(
                    Button("Test connection (ctrl+t)", id="sink-test", compact=True),
                    id="sink-actions",
                ),
            ]
        )
        await self._mount_form()

    # -- presets saved meanwhile (on the presets screen, by the CLI) --------------------
    def shown(self) -> None:
        """Each time the step is shown: read the presets again."""
        self._reload_presets()

    @work(thread=True, exclusive=True, group="wizard-presets", exit_on_error=False)
    def _reload_presets(self) -> None:
        presets = [PresetInfo(p.name, p.type, dict(p.options)) for p in self.engine.list_presets()]
        self.post_message(PresetsReloaded(presets))

    @on(PresetsReloaded)
    def _presets_reloaded(self, message: PresetsReloaded) -> None:
        message.stop()
        if message.presets == self.presets:
            return
        self.presets = message.presets
        for prefill in self.query("#sink-prefill").results(Select):
            prefill.set_options([(f"{p.name} ({p.type})", p.name) for p in self.presets])
            prefill.prompt = "prefill from preset…" if self.presets else "no sink presets saved"
            prefill.disabled = not self.presets
        for kind in self.query(".sink-type").results(Select):
            value = kind.value
            with kind.prevent(Select.Changed):
                kind.set_options(self._type_choices())
                if value in [v for _, v in self._type_choices()]:
                    kind.value = value

    def _type_choices(self) -> list[tuple[str, str]]:
        choices = [(name, name) for name in SINK_OPTIONS]
        choices += [(f"preset {p.name} ({p.type})", PRESET_PREFIX + p.name) for p in self.presets]
        return choices

    def _pick_options(self) -> list[tuple[str, int]]:
        out = []
        for i, sink in enumerate(self.sinks):
            what = sink.get("type") or f"preset {sink.get('preset')}"
            out.append((f"{self.noun} {i + 1} of {len(self.sinks)}: {what}", i))
        return out

    async def _mount_form(self) -> None:
        await self.holder.remove_children()
        self.form = None
        i = self.index
        sink = self.sinks[i]
        prefix = f"{self.prefix}[{i}]"
        current = (
            PRESET_PREFIX + str(sink["preset"]) if sink.get("preset") else str(sink.get("type"))
        )
        choices = self._type_choices()
        known = current in [v for _, v in choices]
        type_select: Select[str] = Select(
            choices,
            value=current if known else Select.NULL,
            allow_blank=not known,
            id=field_id(f"{prefix}.type"),
            classes="sink-type",
            compact=True,
        )
        widgets: list[Widget] = [FieldRow(f"{prefix}.type", "type", type_select)]
        sink_type = sink.get("type")
        if isinstance(sink_type, str) and sink_type in SINK_OPTIONS:
            self.form = ModelForm(
                SINK_OPTIONS[sink_type],
                f"{prefix}.options",
                sink.get("options") or {},
                id="form-sink",
            )
            self.form.border_title = f"{sink_type} options"
            self.form.add_class("form-section")
            widgets.append(self.form)
        elif sink.get("preset"):
            preset = next((p for p in self.presets if p.name == sink["preset"]), None)
            text = (
                f"Uses the sink preset {sink['preset']!r}"
                + (f" ({preset.type}): {json.dumps(preset.options)}" if preset else "")
                + ". Edit it on the sink presets screen."
            )
            widgets.append(Static(text, classes="field-hint", markup=False))
            widgets.append(FieldRow(f"{prefix}.preset", "preset", Static("")))
        await self.holder.mount_all(widgets)
        set_text(self.query_one("#sink-test-result", Static), "")

    def store(self) -> None:
        """Write the shown sink's form back into `sinks`."""
        if not self.sinks:
            return
        sink = self.sinks[self.index]
        if sink.get("type") and self.form is not None:
            options = self.form.value()
            if options or "options" in sink:
                sink["options"] = options
            else:
                sink.pop("options", None)

    @on(ModelForm.Changed, "#form-sink")
    def _form_changed(self) -> None:
        self.store()  # and on to the screen, which validates

    async def _show(self, index: int) -> None:
        self.index = index
        with self.pick.prevent(Select.Changed):
            self.pick.set_options(self._pick_options())
            self.pick.value = index
        await self._mount_form()

    @on(Select.Changed, "#sink-pick")
    async def _picked(self, event: Select.Changed) -> None:
        event.stop()
        index = event.value
        if event.select.is_blank() or not isinstance(index, int) or index == self.index:
            return
        self.store()
        self.index = index
        await self._mount_form()

    @on(Select.Changed, ".sink-type")
    async def _type_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.is_blank():
            return
        value = str(event.value)
        sink = self.sinks[self.index]
        keep = {k: v for k, v in sink.items() if k == "name"}
        if value.startswith(PRESET_PREFIX):
            new = {"preset": value[len(PRESET_PREFIX) :], **keep}
        else:
            if sink.get("type") == value:
                return
            new = {"type": value, **keep}
        if new == {k: v for k, v in sink.items() if k != "options"} and "options" not in sink:
            return
        self.sinks[self.index] = new
        await self._show(self.index)
        self.post_message(Edited())

    @on(Select.Changed, "#sink-prefill")
    async def _prefill(self, event: Select.Changed) -> None:
        event.stop()
        preset = next((p for p in self.presets if p.name == event.value), None)
        if event.select.is_blank() or preset is None:
            return
        new: dict[str, Any] = {"type": preset.type, "options": copy.deepcopy(preset.options)}
        if "name" in self.sinks[self.index]:
            new["name"] = self.sinks[self.index]["name"]
        self.sinks[self.index] = new
        await self._show(self.index)
        event.select.clear()
        self.notify(f"Sink options copied from the preset {preset.name!r}")
        self.post_message(Edited())

    @on(Button.Pressed, "#sink-add")
    async def _add(self, event: Button.Pressed) -> None:
        event.stop()
        self.store()
        self.sinks.append({"type": "console"})
        await self._show(len(self.sinks) - 1)
        self.post_message(Edited())

    @on(Button.Pressed, "#sink-remove")
    async def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        if len(self.sinks) <= 1:
            self.notify(f"A job needs at least one {self.noun}", severity="warning")
            return
        del self.sinks[self.index]
        await self._show(max(0, self.index - 1))
        self.post_message(Edited())

    @on(Button.Pressed, "#sink-test")
    def _test_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.test()

    def test(self) -> None:
        self.store()
        set_text(self.query_one("#sink-test-result", Static), "Testing…")
        fmt, options = self.output_format()
        self._test(self.index, copy.deepcopy(self.sinks[self.index]), fmt, options)

    @work(thread=True, exclusive=True, group="wizard-test-sink", exit_on_error=False)
    def _test(
        self, index: int, sink: dict[str, Any], fmt: str, format_options: dict[str, Any]
    ) -> None:
        try:
            if sink.get("preset"):
                sink = self.engine.resolve_sink(sink)
            text = self.engine.test_sink(sink, format=fmt, format_options=format_options)
            self.post_message(SinkTested(index, True, text or "ok"))
        except SpecError as exc:
            self.post_message(SinkTested(index, False, "; ".join(str(e) for e in exc.errors)))
        except (JobtuiError, OSError) as exc:
            self.post_message(SinkTested(index, False, str(exc)))

    @on(SinkTested)
    def _tested(self, message: SinkTested) -> None:
        message.stop()
        show_outcome(self.query_one("#sink-test-result", Static), message.ok, message.text)
        if message.ok or message.index != self.index:
            return
        # "dsn: connection refused" → beside the dsn field.
        head, sep, rest = message.text.partition(": ")
        if sep and self.form is not None:
            for path in self.form.paths():
                if path.endswith("." + head):
                    self.query_one(f"#{field_id(path)}-row", FieldRow).set_error(rest)
                    return
        prefix = f"{self.prefix}[{message.index}]"
        for row in self.query(f"#{field_id(prefix + '.type')}-row").results(FieldRow):
            row.set_error(message.text)

    def fill(self, values: FormValues) -> None:
        self.store()
        values.sinks = copy.deepcopy(self.sinks)

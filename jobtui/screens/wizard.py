"""The job wizard: create, edit and duplicate a job in a few steps, with live previews.

Steps: Settings → Datasets → Generator → Sinks → Last step (a `command` job has one Command
step instead of the middle three). Every section's form is generated from the engine's
pydantic models (`widgets.forms.ModelForm`); the engine's `validate_spec` is the only judge
of what is right, and its `FieldError`s are shown beside the fields they name. Blocking
engine calls run in thread workers that post messages; the handlers own the widgets.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import (
    Button,
    Collapsible,
    ContentSwitcher,
    DataTable,
    Footer,
    Input,
    Label,
    ProgressBar,
    Select,
    SelectionList,
    Static,
)
from textual.worker import get_current_worker

from jobtui.engine import (
    FORMAT_LABELS,
    FORMAT_OPTIONS,
    SCHEDULE_TYPES,
    SINK_OPTIONS,
    Alerts,
    CommandSpec,
    DatagenSpec,
    Engine,
    FieldError,
    JobSpec,
    JobtuiError,
    Policies,
    ScheduleBase,
    SpecError,
    timezones,
)
from jobtui.widgets.forms import FieldRow, ModelForm, field_id, show_errors

STEP_TITLES: dict[str, str] = {
    "settings": "Settings",
    "datasets": "Datasets",
    "generator": "Generator",
    "sinks": "Sinks",
    "command": "Command",
    "last": "Last step",
}
DATAGEN_STEPS = ("settings", "datasets", "generator", "sinks", "last")
COMMAND_STEPS = ("settings", "command", "last")
TOP_ORDER = (
    "name",
    "description",
    "workspace",
    "kind",
    "active",
    "queue",
    "tags",
    "schedule",
    "policies",
    "alerts",
    "parameters",
    "datagen",
    "command",
)
DATAGEN_ORDER = ("datasets",)
SCHEDULE_LABELS: dict[str, str] = {
    "": "manual (no schedule)",
    "once": "once",
    "cron": "cron (Unix 5 fields or Quartz 6/7)",
    "interval": "interval",
    "random": "random delay",
    "window": "window (dates × hours × weekdays)",
}
PRESET_PREFIX = "preset:"
W = TypeVar("W", bound=Widget)


def step_of(path: str) -> str:
    """Which step owns the field an error path names."""
    for prefix, step in (
        ("datagen.datasets", "datasets"),
        ("datagen.generator", "generator"),
        ("datagen.sinks", "sinks"),
        ("command", "command"),
    ):
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return step
    return "settings"


def _update(widget: Static, text: str) -> None:
    """Update a Static only when its text changes (an update costs a layout pass)."""
    if str(widget.content) != text:
        widget.update(text)


def _ordered(doc: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    out = {k: doc[k] for k in order if k in doc}
    out.update({k: v for k, v in doc.items() if k not in out})
    return out


# -- messages from workers ------------------------------------------------------------
@dataclass
class DatasetInfo:
    name: str
    description: str = ""
    builtin: bool = True


@dataclass
class PresetInfo:
    name: str
    type: str
    options: dict[str, Any]


@dataclass
class Loaded(Message):
    original: dict[str, Any]
    mode: str
    job_id: int | None
    qualified_name: str
    workspaces: list[str]
    datasets: list[DatasetInfo]
    presets: list[PresetInfo]
    error: str = ""


@dataclass
class Validated(Message):
    errors: list[FieldError]
    advance_from: str | None = None
    then: str = ""  # "save", "output", "download" after a clean validation


@dataclass
class SchedulePreviewed(Message):
    words: str
    fires: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class SampleReady(Message):
    dataset: str
    rows: list[dict[str, Any]]
    error: str = ""


@dataclass
class FormatPreviewReady(Message):
    text: str


@dataclass
class SinkTested(Message):
    index: int
    ok: bool
    text: str


@dataclass
class OutputReady(Message):
    text: str


@dataclass
class DownloadProgress(Message):
    done: int
    total: int | None


@dataclass
class DownloadDone(Message):
    ok: bool
    text: str


@dataclass
class Saved(Message):
    qualified_name: str | None
    errors: list[FieldError]
    error: str = ""
    stay: bool = False  # saved on the way to a download: keep the wizard open
    job_id: int | None = None


class Scroll(VerticalScroll, can_focus=False):
    """A scrolling column that is not a tab stop itself: focusing a field scrolls to it."""


class AskScreen(ModalScreen[bool]):
    """A yes/no question."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="ask.yes"),
        Binding("n,escape", "answer(False)", "No", id="ask.no"),
    ]
    CSS_PATH = "wizard.tcss"

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="ask-box"):
            yield Static(self.question, id="ask-question", markup=False)
            with Horizontal(id="ask-buttons"):
                yield Button(f"{self.yes} (y)", id="ask-yes", variant="error")
                yield Button(f"{self.no} (n)", id="ask-no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#ask-no", Button).focus()

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "ask-yes")


class WizardScreen(Screen[str | None]):
    """Create (job_ref None), edit (job_ref) or duplicate (job_ref, duplicate=True) a job."""

    CSS_PATH = "wizard.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next_step", "Next step", id="wizard.next", priority=True),
        Binding("ctrl+b", "prev_step", "Back", id="wizard.back", priority=True),
        Binding("ctrl+s", "save", "Save", id="wizard.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="wizard.cancel"),
        Binding("slash", "filter_datasets", "Filter datasets", id="wizard.filter"),
        Binding("ctrl+r", "resample", "New sample", id="wizard.resample"),
        Binding("ctrl+t", "test_sink", "Test connection", id="wizard.test_sink"),
        Binding("ctrl+o", "show_output", "Show output", id="wizard.output"),
    ]

    def __init__(self, engine: Engine, job_ref: str | int | None = None, duplicate: bool = False):
        super().__init__()
        self.engine = engine
        self.job_ref = job_ref
        self.duplicate = duplicate
        self.mode = "duplicate" if duplicate else ("edit" if job_ref is not None else "new")
        self.original: dict[str, Any] = {}
        self.job_id: int | None = None
        self.source_name = ""
        self.saved_name: str | None = None
        self.loaded = False
        self.steps: tuple[str, ...] = DATAGEN_STEPS
        self.step = "settings"
        self.errors: list[FieldError] = []
        self.dataset_infos: list[DatasetInfo] = []
        self.selected_datasets: list[str] = []
        self.highlighted_dataset: str | None = None
        self.sample_seed = 1
        self.presets: list[PresetInfo] = []
        self.sinks: list[dict[str, Any]] = []
        self.sink_index = 0
        self.baseline: dict[str, Any] = {}
        self._filtering = False
        self._saving = False
        self._cache: dict[str, Widget | None] = {}
        self.built: set[str] = set()
        self.schedule_words = ""
        self.next_fires: list[str] = []
        self.workspaces: list[str] = []
        self._crumbs: dict[str, Label] = {}
        # Errors show once the user touched the field or tried to leave its step.
        self.touched: set[str] = set()
        self.attempted: set[str] = set()

    # -- layout ------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        title = {"new": "New job", "edit": "Edit job", "duplicate": "Duplicate job"}[self.mode]
        yield Static(title, id="wizard-title")
        yield Horizontal(id="wizard-steps")
        with ContentSwitcher(id="wizard-body", initial="step-loading"):
            yield Static("Loading…", id="step-loading")
            with Horizontal(id="step-settings", classes="step"):
                yield Scroll(id="settings-forms")
                with Vertical(id="schedule-panel", classes="side-panel"):
                    yield Label("Schedule", classes="panel-title")
                    yield Static("", id="schedule-words", markup=False)
                    yield Static("", id="schedule-fires", markup=False)
            with Horizontal(id="step-datasets", classes="step"):
                yield Vertical(id="datasets-pick")
                with Vertical(id="datasets-preview", classes="side-panel"):
                    yield Label("Sample records (ctrl+r: new sample)", id="sample-title")
                    yield DataTable(id="dataset-sample", cursor_type="none", zebra_stripes=True)
                    yield Static("", id="sample-note", markup=False)
            with Horizontal(id="step-generator", classes="step"):
                yield Scroll(id="generator-forms")
                with Vertical(id="generator-preview", classes="side-panel"):
                    yield Label("Preview: 3 records in this format", classes="panel-title")
                    with Scroll():
                        yield Static("", id="format-preview", markup=False)
            with Horizontal(id="step-sinks", classes="step"):
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
            yield Scroll(id="step-command", classes="step")
            with Horizontal(id="step-last", classes="step"):
                yield Scroll(id="last-forms")
                with Vertical(id="output-panel", classes="side-panel"):
                    yield Label("Output", classes="panel-title")
                    with Scroll(id="output-scroll"):
                        yield Static("", id="output", markup=False)
        yield Static("", id="step-errors", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    # -- loading -----------------------------------------------------------------
    @work(thread=True, group="wizard-load", exit_on_error=False)
    def _load(self) -> None:
        engine = self.engine
        original: dict[str, Any] = {}
        job_id: int | None = None
        qualified = ""
        error = ""
        try:
            if self.job_ref is not None:
                job = engine.get_job(self.job_ref)
                original = copy.deepcopy(job.spec)
                qualified = job.qualified_name
                if self.duplicate:
                    original["name"] = self._fresh_name(job.workspace, job.name)
                else:
                    job_id = job.id
            workspaces = [w.name for w in engine.list_workspaces()]
            datasets = self._datasets()
            presets = [PresetInfo(p.name, p.type, dict(p.options)) for p in engine.list_presets()]
        except JobtuiError as exc:
            error = str(exc)
            workspaces, datasets, presets = ["default"], [], []
        self.post_message(
            Loaded(original, self.mode, job_id, qualified, workspaces, datasets, presets, error)
        )

    def _datasets(self) -> list[DatasetInfo]:
        lister = getattr(self.engine, "list_datasets", None)
        if lister is not None:
            try:
                return [DatasetInfo(d.name, d.description, d.builtin) for d in lister()]
            except NotImplementedError:
                pass
        return [DatasetInfo(name) for name in sorted(self.engine.known_dataset_names())]

    def _fresh_name(self, workspace: str, name: str) -> str:
        taken = {j.name for j in self.engine.list_jobs(workspace=workspace, include_system=True)}
        base = f"{name}-copy"
        candidate, n = base, 2
        while candidate in taken:
            candidate = f"{base}-{n}"
            n += 1
        return candidate

    @on(Loaded)
    async def _loaded(self, message: Loaded) -> None:
        if message.error:
            self.notify(message.error, severity="error", title="Cannot open the wizard")
            self.dismiss(None)
            return
        self.original = message.original
        self.job_id = message.job_id
        self.source_name = message.qualified_name
        self.dataset_infos = message.datasets
        self.presets = message.presets
        spec = self.original
        datagen = spec.get("datagen") if isinstance(spec.get("datagen"), dict) else {}
        assert isinstance(datagen, dict)
        self.selected_datasets = [d for d in datagen.get("datasets", []) if isinstance(d, str)]
        sinks = datagen.get("sinks")
        self.sinks = [dict(s) for s in sinks if isinstance(s, dict)] if sinks else []
        if not self.sinks:
            self.sinks = [{"type": "file"}]
        self.workspaces = message.workspaces
        self.loaded = True
        await self._set_steps()
        await self._show_step("settings")
        self.baseline = self.collect_spec()
        self._revalidate()

    # -- settings step -------------------------------------------------------------
    async def _build_settings(self, workspaces: list[str]) -> None:
        spec = self.original
        holder = self._get("#settings-forms", Scroll)
        job = ModelForm(
            JobSpec,
            "",
            spec,
            only=("workspace", "name", "description", "kind", "active", "queue", "tags"),
            suggestions={"workspace": workspaces},
            id="form-job",
        )
        job.border_title = "Job"
        schedule = spec.get("schedule") if isinstance(spec.get("schedule"), dict) else None
        kind = schedule.get("type", "") if schedule else ""
        type_select: Select[str] = Select(
            [(label, key) for key, label in SCHEDULE_LABELS.items()],
            value=kind if kind in SCHEDULE_LABELS else "",
            allow_blank=False,
            id=field_id("schedule.type"),
            compact=True,
        )
        sched_box = Vertical(
            FieldRow("schedule.type", "schedule", type_select),
            Vertical(id="schedule-holder"),
            id="schedule-section",
            classes="form-section",
        )
        sched_box.border_title = "Schedule"
        policies = spec.get("policies") if isinstance(spec.get("policies"), dict) else {}
        assert isinstance(policies, dict)
        overlap = policies.get("overlap", "skip")
        overlap_policy = overlap.get("policy", "skip") if isinstance(overlap, dict) else overlap
        overlap_max = overlap.get("max", "") if isinstance(overlap, dict) else ""
        policy_form = ModelForm(
            Policies, "policies", policies, exclude=("overlap",), id="form-policies"
        )
        overlap_select: Select[str] = Select(
            [(p, p) for p in ("skip", "queue", "allow")],
            value=overlap_policy if overlap_policy in ("skip", "queue", "allow") else "skip",
            allow_blank=False,
            id=field_id("policies.overlap"),
            compact=True,
        )
        overlap_input = Input(
            str(overlap_max),
            placeholder="1",
            type="integer",
            id=field_id("policies.overlap.max"),
            compact=True,
        )
        policy_box = Vertical(
            policy_form,
            FieldRow(
                "policies.overlap",
                "overlap",
                overlap_select,
                "When a fire comes while a run is still going",
            ),
            FieldRow("policies.overlap.max", "overlap max", overlap_input, "With allow: at most"),
            id="policies-section",
            classes="form-section",
        )
        policy_box.border_title = "Policies"
        policy_fold = Collapsible(
            policy_box,
            title="Policies: retry, timeout, overlap, misfire",
            collapsed="policies" not in spec,
            id="fold-policies",
        )
        alerts = ModelForm(Alerts, "alerts", spec.get("alerts") or {}, id="form-alerts")
        alerts.border_title = "Alerts"
        alerts_fold = Collapsible(
            alerts,
            title="Alerts: emails, states, threshold, recovery",
            collapsed="alerts" not in spec,
            id="fold-alerts",
        )
        datagen = spec.get("datagen") if isinstance(spec.get("datagen"), dict) else {}
        datagen_form = ModelForm(
            DatagenSpec,
            "datagen",
            datagen or {},
            exclude=("datasets", "generator", "sinks"),
            id="form-datagen",
        )
        datagen_form.border_title = "Data generation"
        datagen_fold = Collapsible(
            datagen_form,
            title="Data generation: records, buffer, threads, seed, locale, replay",
            collapsed=not datagen
            or not any(k not in ("datasets", "generator", "sinks") for k in datagen),
            id="fold-datagen",
        )
        for form in (job, alerts, datagen_form):
            form.add_class("form-section")
        await holder.mount_all([job, sched_box, policy_fold, alerts_fold, datagen_fold])
        await self._mount_schedule_form(kind, schedule or {})

    async def _mount_schedule_form(self, kind: str, values: dict[str, Any]) -> None:
        self._cache.clear()
        holder = self._get("#schedule-holder", Vertical)
        await holder.remove_children()
        if kind in SCHEDULE_TYPES:
            model = SCHEDULE_TYPES[kind]
            common = list(ScheduleBase.model_fields)
            own = [f for f in model.model_fields if f not in common and f != "type"]
            form = ModelForm(
                model,
                "schedule",
                values,
                only=own + common,
                suggestions={"timezone": timezones()},
                id="form-schedule",
            )
            await holder.mount(form)
        self._cache.clear()

    def _schedule_form(self) -> ModelForm | None:
        return self._find("#form-schedule", ModelForm)

    @on(Select.Changed, "#f-schedule-type")
    async def _schedule_type_changed(self, event: Select.Changed) -> None:
        if not self.loaded:
            return
        old = self._schedule_form()
        keep = old.value() if old else {}
        kind = str(event.value) if not event.select.is_blank() else ""
        if old is not None and old.model is SCHEDULE_TYPES.get(kind):
            return
        model = SCHEDULE_TYPES.get(kind)
        if model is not None:
            keep = {k: v for k, v in keep.items() if k in model.model_fields}
        await self._mount_schedule_form(kind, keep)
        self.touched.add("schedule")
        self._revalidate()

    # -- datasets step -------------------------------------------------------------
    async def _build_datasets(self) -> None:
        pick = self._get("#datasets-pick", Vertical)
        filter_input = Input(placeholder="/ filter datasets", id="dataset-filter", compact=True)
        selection: SelectionList[str] = SelectionList(id=field_id("datagen.datasets"), compact=True)
        await pick.mount_all(
            [
                filter_input,
                FieldRow(
                    "datagen.datasets",
                    "datasets *",
                    selection,
                    "space: pick · enter: pick · /: filter",
                ),
            ]
        )
        self._fill_dataset_list("")

    def _fill_dataset_list(self, text: str) -> None:
        selection = self._get(f"#{field_id('datagen.datasets')}", SelectionList)
        self._filtering = True
        try:
            selection.clear_options()
            needle = text.strip().lower()
            for info in self.dataset_infos:
                haystack = f"{info.name} {info.description}".lower()
                if needle and needle not in haystack:
                    continue
                label = info.name if info.builtin else f"{info.name} (custom)"
                if info.description:
                    label += f" — {info.description}"
                selection.add_option((label, info.name, info.name in self.selected_datasets))
        finally:
            self._filtering = False

    @on(Input.Changed, "#dataset-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._fill_dataset_list(event.value)

    @on(Input.Submitted, "#dataset-filter")
    def _filter_done(self) -> None:
        self._get(f"#{field_id('datagen.datasets')}", SelectionList).focus()

    @on(SelectionList.SelectedChanged, "#f-datagen-datasets")
    def _datasets_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        if self._filtering:
            return
        visible = {
            event.selection_list.get_option_at_index(i).value
            for i in range(event.selection_list.option_count)
        }
        chosen = set(event.selection_list.selected)
        kept = [d for d in self.selected_datasets if d not in visible or d in chosen]
        kept += [d for d in event.selection_list.selected if d not in kept]
        self.selected_datasets = kept
        self.touched.add("datagen.datasets")
        index = event.selection_list.highlighted
        if index is not None:
            name = event.selection_list.get_option_at_index(index).value
            if name != self.highlighted_dataset:
                self.highlighted_dataset = name
                self._sample(name, self.sample_seed)
        self._revalidate()

    @on(SelectionList.SelectionHighlighted, "#f-datagen-datasets")
    def _dataset_highlighted(self, event: SelectionList.SelectionHighlighted[str]) -> None:
        name = event.selection.value
        if name != self.highlighted_dataset:
            self.highlighted_dataset = name
            self._sample(name, self.sample_seed)

    @work(thread=True, exclusive=True, group="wizard-sample", exit_on_error=False)
    def _sample(self, name: str, seed: int) -> None:
        sampler = getattr(self.engine, "sample_dataset", None)
        if sampler is None:
            self.post_message(SampleReady(name, [], "samples are not available yet"))
            return
        try:
            rows = sampler(name, n=5, seed=seed)
        except (JobtuiError, NotImplementedError) as exc:
            self.post_message(SampleReady(name, [], str(exc) or "no sample"))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(SampleReady(name, list(rows)))

    @on(SampleReady)
    def _sample_ready(self, message: SampleReady) -> None:
        table = self._get("#dataset-sample", DataTable)
        table.clear(columns=True)
        self._get("#sample-title", Label).update(
            f"Sample of {message.dataset} (ctrl+r: new sample)"
        )
        _update(self._get("#sample-note", Static), message.error)
        if not message.rows:
            return
        columns = list(message.rows[0])
        table.add_columns(*columns)
        for row in message.rows:
            table.add_row(*[_cell(row.get(c)) for c in columns])

    def action_filter_datasets(self) -> None:
        self._get("#dataset-filter", Input).focus()

    def action_resample(self) -> None:
        if self.step == "datasets" and self.highlighted_dataset:
            self.sample_seed += 1
            self._sample(self.highlighted_dataset, self.sample_seed)
        elif self.step == "generator":
            self._format_preview(self.collect_spec())

    # -- generator step -------------------------------------------------------------
    async def _build_generator(self) -> None:
        datagen = self.original.get("datagen") or {}
        generator = datagen.get("generator") if isinstance(datagen, dict) else None
        generator = generator if isinstance(generator, dict) else {}
        fmt = generator.get("format", "jsonl")
        fmt_select: Select[str] = Select(
            [(f"{label} ({key})", key) for key, label in FORMAT_LABELS.items()],
            value=fmt if fmt in FORMAT_OPTIONS else "jsonl",
            allow_blank=False,
            id=field_id("datagen.generator.format"),
            compact=True,
        )
        holder = self._get("#generator-forms", Scroll)
        await holder.mount_all(
            [
                FieldRow("datagen.generator.format", "format", fmt_select),
                Vertical(id="format-holder"),
            ]
        )
        options = generator.get("options") if isinstance(generator.get("options"), dict) else {}
        await self._mount_format_form(fmt, options or {})

    async def _mount_format_form(self, fmt: str, values: dict[str, Any]) -> None:
        self._cache.clear()
        holder = self._get("#format-holder", Vertical)
        await holder.remove_children()
        if fmt in FORMAT_OPTIONS:
            form = ModelForm(
                FORMAT_OPTIONS[fmt], "datagen.generator.options", values, id="form-format"
            )
            form.border_title = f"{FORMAT_LABELS.get(fmt, fmt)} options"
            form.add_class("form-section")
            await holder.mount(form)
        self._cache.clear()

    @on(Select.Changed, "#f-datagen-generator-format")
    async def _format_changed(self, event: Select.Changed) -> None:
        if not self.loaded:
            return
        fmt = str(event.value)
        form = self._find("#form-format", ModelForm)
        if form is not None and form.model is FORMAT_OPTIONS.get(fmt):
            return
        await self._mount_format_form(fmt, {})
        self._revalidate()
        self._format_preview(self.collect_spec())

    @work(thread=True, exclusive=True, group="wizard-format-preview", exit_on_error=False)
    def _format_preview(self, spec: dict[str, Any]) -> None:
        preview = getattr(self.engine, "preview", None)
        if preview is None:
            self.post_message(FormatPreviewReady("(previews are not available yet)"))
            return
        previewed = copy.deepcopy(spec)
        if not previewed.get("name"):
            previewed["name"] = "preview"
        try:
            text = preview(previewed, n=3)
        except (JobtuiError, NotImplementedError) as exc:
            text = f"No preview: {exc}"
        if not get_current_worker().is_cancelled:
            self.post_message(FormatPreviewReady(str(text)))

    @on(FormatPreviewReady)
    def _format_preview_ready(self, message: FormatPreviewReady) -> None:
        _update(self._get("#format-preview", Static), message.text)

    # -- sinks step --------------------------------------------------------------------
    def _sink_choices(self) -> list[tuple[str, str]]:
        choices = [(name, name) for name in SINK_OPTIONS]
        choices += [(f"preset {p.name} ({p.type})", PRESET_PREFIX + p.name) for p in self.presets]
        return choices

    def _sink_pick_options(self) -> list[tuple[str, int]]:
        out = []
        for i, sink in enumerate(self.sinks):
            what = sink.get("type") or f"preset {sink.get('preset')}"
            out.append((f"sink {i + 1} of {len(self.sinks)}: {what}", i))
        return out

    async def _build_sinks(self) -> None:
        holder = self._get("#sinks-forms", Scroll)
        pick: Select[int] = Select(
            self._sink_pick_options(), value=0, allow_blank=False, id="sink-pick", compact=True
        )
        prefill: Select[str] = Select(
            [(f"{p.name} ({p.type})", p.name) for p in self.presets],
            prompt="prefill from preset…" if self.presets else "no sink presets saved",
            id="sink-prefill",
            compact=True,
            disabled=not self.presets,
        )
        await holder.mount_all(
            [
                Horizontal(
                    pick,
                    Button("Add sink", id="sink-add", compact=True),
                    Button("Remove sink", id="sink-remove", compact=True),
                    id="sink-bar",
                ),
                Vertical(id="sink-holder"),
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
        await self._mount_sink_form()

    async def _mount_sink_form(self) -> None:
        self._cache.clear()
        holder = self._get("#sink-holder", Vertical)
        await holder.remove_children()
        i = self.sink_index
        sink = self.sinks[i]
        prefix = f"datagen.sinks[{i}]"
        current = (
            PRESET_PREFIX + str(sink["preset"]) if sink.get("preset") else str(sink.get("type"))
        )
        choices = self._sink_choices()
        values = [v for _, v in choices]
        type_select: Select[str] = Select(
            choices,
            value=current if current in values else Select.NULL,
            allow_blank=current not in values,
            id=field_id(f"{prefix}.type"),
            classes="sink-type",
            compact=True,
        )
        widgets: list[Widget] = [FieldRow(f"{prefix}.type", "type", type_select)]
        sink_type = sink.get("type")
        if isinstance(sink_type, str) and sink_type in SINK_OPTIONS:
            form = ModelForm(
                SINK_OPTIONS[sink_type],
                f"{prefix}.options",
                sink.get("options") or {},
                id="form-sink",
            )
            form.border_title = f"{sink_type} options"
            form.add_class("form-section")
            widgets.append(form)
        elif sink.get("preset"):
            preset = next((p for p in self.presets if p.name == sink["preset"]), None)
            text = (
                f"Uses the sink preset {sink['preset']!r}"
                + (f" ({preset.type}): {json.dumps(preset.options)}" if preset else "")
                + ". Edit it on the sink presets screen."
            )
            widgets.append(Static(text, classes="field-hint", markup=False))
            widgets.append(FieldRow(f"{prefix}.preset", "preset", Static("")))
        await holder.mount_all(widgets)
        self._cache.clear()
        _update(self._get("#sink-test-result", Static), "")

    def _sink_form(self) -> ModelForm | None:
        return self._find("#form-sink", ModelForm)

    def _store_sink(self) -> None:
        """Write the shown sink form back into self.sinks."""
        if not self.sinks:
            return
        sink = self.sinks[self.sink_index]
        form = self._sink_form()
        if sink.get("type") and form is not None:
            options = form.value()
            if options or "options" in sink:
                sink["options"] = options
            else:
                sink.pop("options", None)

    async def _refresh_sink_pick(self) -> None:
        pick = self._get("#sink-pick", Select)
        with pick.prevent(Select.Changed):
            pick.set_options(self._sink_pick_options())
            pick.value = self.sink_index

    @on(Select.Changed, "#sink-pick")
    async def _sink_picked(self, event: Select.Changed) -> None:
        if not self.loaded or event.select.is_blank():
            return
        index = event.value
        if not isinstance(index, int):
            return
        if index == self.sink_index:
            return
        self._store_sink()
        self.sink_index = index
        await self._mount_sink_form()

    @on(Select.Changed, ".sink-type")
    async def _sink_type_changed(self, event: Select.Changed) -> None:
        if not self.loaded or event.select.is_blank():
            return
        value = str(event.value)
        sink = self.sinks[self.sink_index]
        keep = {k: v for k, v in sink.items() if k == "name"}
        if value.startswith(PRESET_PREFIX):
            new = {"preset": value[len(PRESET_PREFIX) :], **keep}
        else:
            if sink.get("type") == value:
                return
            new = {"type": value, **keep}
        if new == {k: v for k, v in sink.items() if k != "options"} and "options" not in sink:
            return
        self.sinks[self.sink_index] = new
        await self._mount_sink_form()
        await self._refresh_sink_pick()
        self._revalidate()

    @on(Select.Changed, "#sink-prefill")
    async def _prefill(self, event: Select.Changed) -> None:
        if not self.loaded or event.select.is_blank():
            return
        preset = next((p for p in self.presets if p.name == event.value), None)
        if preset is None:
            return
        sink = self.sinks[self.sink_index]
        new: dict[str, Any] = {"type": preset.type, "options": copy.deepcopy(preset.options)}
        if "name" in sink:
            new["name"] = sink["name"]
        self.sinks[self.sink_index] = new
        await self._mount_sink_form()
        await self._refresh_sink_pick()
        event.select.clear()
        self.notify(f"Sink options copied from the preset {preset.name!r}")
        self._revalidate()

    @on(Button.Pressed, "#sink-add")
    async def _add_sink(self) -> None:
        self._store_sink()
        self.sinks.append({"type": "console"})
        self.sink_index = len(self.sinks) - 1
        await self._refresh_sink_pick()
        await self._mount_sink_form()
        self._revalidate()

    @on(Button.Pressed, "#sink-remove")
    async def _remove_sink(self) -> None:
        if len(self.sinks) <= 1:
            self.notify("A datagen job needs at least one sink", severity="warning")
            return
        del self.sinks[self.sink_index]
        self.sink_index = max(0, self.sink_index - 1)
        await self._refresh_sink_pick()
        await self._mount_sink_form()
        self._revalidate()

    @on(Button.Pressed, "#sink-test")
    def _test_pressed(self) -> None:
        self.action_test_sink()

    def action_test_sink(self) -> None:
        if self.step != "sinks":
            return
        self._store_sink()
        _update(self._get("#sink-test-result", Static), "Testing…")
        self._test_sink(self.sink_index, copy.deepcopy(self.sinks[self.sink_index]))

    @work(thread=True, exclusive=True, group="wizard-test-sink", exit_on_error=False)
    def _test_sink(self, index: int, sink: dict[str, Any]) -> None:
        tester = getattr(self.engine, "test_sink", None)
        if tester is None:
            self.post_message(SinkTested(index, False, "testing sinks is not available yet"))
            return
        try:
            if sink.get("preset"):
                sink = self.engine.resolve_sink(sink)
            text = tester(sink)
            self.post_message(SinkTested(index, True, str(text or "ok")))
        except SpecError as exc:
            self.post_message(SinkTested(index, False, "; ".join(str(e) for e in exc.errors)))
        except (JobtuiError, NotImplementedError, OSError) as exc:
            self.post_message(SinkTested(index, False, str(exc)))

    @on(SinkTested)
    def _sink_tested(self, message: SinkTested) -> None:
        result = self._get("#sink-test-result", Static)
        result.set_class(message.ok, "-ok")
        result.set_class(not message.ok, "-failed")
        result.update(("✔ " if message.ok else "✖ ") + message.text)
        if message.ok or message.index != self.sink_index:
            return
        # "dsn: connection refused" → beside the dsn field.
        head, sep, rest = message.text.partition(": ")
        prefix = f"datagen.sinks[{message.index}]"
        form = self._sink_form()
        if sep and form is not None:
            for path in form.paths():
                if path.endswith("." + head):
                    row = self._get(f"#{field_id(path)}-row", FieldRow)
                    row.set_error(rest)
                    return
        rows = self.query(f"#{field_id(prefix + '.type')}-row").results(FieldRow)
        for row in rows:
            row.set_error(message.text)

    # -- command step --------------------------------------------------------------------
    async def _build_command(self) -> None:
        command = self.original.get("command")
        form = ModelForm(
            CommandSpec,
            "command",
            command if isinstance(command, dict) else {},
            words=("argv",),
            labels={"argv": "command line", "cwd": "working dir", "shell": "run in a shell"},
            id="form-command",
        )
        form.border_title = "Command"
        form.add_class("form-section")
        await self._get("#step-command", Scroll).mount(form)

    # -- last step ----------------------------------------------------------------------
    async def _build_last(self) -> None:
        holder = self._get("#last-forms", Scroll)
        widgets: list[Widget] = []
        if self.mode == "edit":
            widgets.append(
                FieldRow(
                    "note",
                    "release note",
                    Input(placeholder="what changed", id=field_id("note"), compact=True),
                    "Saved as the new version's note",
                )
            )
        widgets += [
            Horizontal(
                Button("Save and schedule (ctrl+s)", id="save", variant="success", compact=True),
                Button("Show output (ctrl+o)", id="show-output", compact=True),
                id="last-actions",
            ),
            FieldRow(
                "download",
                "download to",
                Input(
                    placeholder="file path, e.g. ~/orders.csv",
                    id=field_id("download"),
                    compact=True,
                ),
                "Runs the job now into this file (enter or the button)",
            ),
            Horizontal(
                Button("Download file", id="download-button", compact=True),
                ProgressBar(id="download-progress", show_eta=False, classes="-idle"),
                id="download-bar",
            ),
            Static("", id="download-result", markup=False),
            Static("", id="summary", markup=False),
        ]
        await holder.mount_all(widgets)

    def _update_summary(self) -> None:
        spec = self.collect_spec()
        lines = [
            f"{spec.get('workspace', 'default')}/{spec.get('name') or '(no name)'}"
            f"  ·  {spec.get('kind', 'datagen')}",
        ]
        lines.append(f"Schedule: {self.schedule_words or 'manual'}")
        if self.next_fires:
            lines.append(f"Next fire: {self.next_fires[0]}")
        datagen = spec.get("datagen")
        if isinstance(datagen, dict):
            lines.append(f"Datasets: {', '.join(datagen.get('datasets', [])) or '—'}")
            gen = datagen.get("generator") or {}
            lines.append(f"Format: {FORMAT_LABELS.get(gen.get('format', 'jsonl'), '?')}")
            for i, sink in enumerate(datagen.get("sinks", [])):
                lines.append(
                    f"Sink {i + 1}: "
                    + (
                        f"preset {sink['preset']}"
                        if sink.get("preset")
                        else f"{sink.get('type')} {json.dumps(sink.get('options', {}))}"
                    )
                )
        lines += ["", "The job spec (as `jobs export` prints it):", json.dumps(spec, indent=2)]
        _update(self._get("#summary", Static), "\n".join(lines))

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#show-output")
    def _output_pressed(self) -> None:
        self.action_show_output()

    @on(Button.Pressed, "#download-button")
    @on(Input.Submitted, "#f-download")
    def _download_pressed(self) -> None:
        self._revalidate(then="download")

    def action_show_output(self) -> None:
        self._revalidate(then="output")

    @work(thread=True, exclusive=True, group="wizard-output", exit_on_error=False)
    def _run_output(self, spec: dict[str, Any]) -> None:
        preview = getattr(self.engine, "preview", None)
        if preview is None:
            self.post_message(OutputReady("(previews are not available yet)"))
            return
        try:
            text = preview(spec, n=20)
        except (JobtuiError, NotImplementedError) as exc:
            text = f"No output: {exc}"
        self.post_message(OutputReady(str(text)))

    @on(OutputReady)
    def _output_ready(self, message: OutputReady) -> None:
        _update(self._get("#output", Static), message.text)

    @work(thread=True, exclusive=True, group="wizard-download", exit_on_error=False)
    def _download(self, spec: dict[str, Any], path: str, note: str) -> None:
        """Save the job, run it now into one file (the run's `to_file` option), follow it."""
        engine = self.engine
        try:
            job = self._store_job(spec, note or "saved to download a file")
        except SpecError as exc:
            self.post_message(Saved(None, list(exc.errors), stay=True))
            self.post_message(DownloadDone(False, "not saved: fix the fields first"))
            return
        except JobtuiError as exc:
            self.post_message(DownloadDone(False, str(exc)))
            return
        self.post_message(Saved(job.qualified_name, [], stay=True, job_id=job.id))
        total: int | None = None
        datagen = spec.get("datagen")
        if isinstance(datagen, dict):
            per = datagen.get("max_records", 1000)
            if isinstance(per, int):
                total = per * max(1, len(datagen.get("datasets", [])))
        try:
            run = engine.queue_run(
                job.id, title="download from the wizard", options={"to_file": path}
            )

            def polled(current: Any) -> None:
                self.post_message(DownloadProgress(int(current.records or 0), total))

            final = engine.wait_for_run(run.id, on_poll=polled)
        except (JobtuiError, OSError) as exc:
            self.post_message(DownloadDone(False, str(exc)))
            return
        if final.state.value not in ("succeeded", "partially_succeeded"):
            reason = final.error or final.state.value
            self.post_message(DownloadDone(False, f"run {final.id} {final.state.value}: {reason}"))
            return
        where = "; ".join(final.results) or path
        self.post_message(
            DownloadDone(True, f"{final.records} records written (run {final.id}): {where}")
        )

    @on(DownloadProgress)
    def _download_progress(self, message: DownloadProgress) -> None:
        bar = self._get("#download-progress", ProgressBar)
        bar.update(total=message.total, progress=message.done)

    @on(DownloadDone)
    def _download_done(self, message: DownloadDone) -> None:
        result = self._get("#download-result", Static)
        result.set_class(message.ok, "-ok")
        result.set_class(not message.ok, "-failed")
        result.update(("✔ " if message.ok else "✖ ") + message.text)
        if message.ok:
            bar = self._get("#download-progress", ProgressBar)
            bar.update(total=bar.total or 1, progress=bar.total or 1)
            self.notify(message.text, title="Download")

    # -- widget lookups (cached: a DOM query walks every widget of the screen) --------
    def _find(self, selector: str, kind: type[W]) -> W | None:
        if selector in self._cache:
            widget = self._cache[selector]
            if widget is None:
                return None
            if widget.is_attached and isinstance(widget, kind):
                return widget
        found = next(iter(self.query(selector).results(kind)), None)
        self._cache[selector] = found
        return found

    def _get(self, selector: str, kind: type[W]) -> W:
        widget = self._find(selector, kind)
        if widget is None:
            raise NoMatches(f"no {kind.__name__} matches {selector}")
        return widget

    # -- assembling the spec ------------------------------------------------------------
    def _form(self, form_id: str) -> ModelForm | None:
        return self._find(f"#{form_id}", ModelForm)

    def collect_spec(self) -> dict[str, Any]:
        """The job spec as the user has it so far: only what they chose or what was there."""
        spec = copy.deepcopy(self.original)
        job_form = self._form("form-job")
        if job_form is not None:
            _merge(spec, job_form)
        kind = spec.get("kind", "datagen")
        # schedule
        sched_select = self._find(f"#{field_id('schedule.type')}", Select)
        sched_kind = "" if sched_select is None or sched_select.is_blank() else sched_select.value
        if sched_kind:
            form = self._schedule_form()
            spec["schedule"] = {"type": sched_kind, **(form.value() if form else {})}
        elif spec.get("schedule") is not None:
            spec.pop("schedule")
        # policies
        policies_form = self._form("form-policies")
        if policies_form is not None:
            original = self.original.get("policies")
            policies = dict(original) if isinstance(original, dict) else {}
            _merge(policies, policies_form)
            overlap = self._overlap_value(policies.get("overlap"))
            if overlap is None:
                policies.pop("overlap", None)
            else:
                policies["overlap"] = overlap
            if policies or "policies" in self.original:
                spec["policies"] = _ordered(policies, ("retry", "timeout", "overlap", "misfire"))
            else:
                spec.pop("policies", None)
        alerts_form = self._form("form-alerts")
        if alerts_form is not None:
            alerts = alerts_form.value()
            if alerts or "alerts" in self.original:
                spec["alerts"] = alerts
            else:
                spec.pop("alerts", None)
        if kind == "command":
            spec.pop("datagen", None)
            command_form = self._form("form-command")
            if command_form is not None:
                spec["command"] = command_form.value()
            elif not isinstance(spec.get("command"), dict):
                spec["command"] = {}
        else:
            if spec.get("command") is not None or "command" in spec:
                if self.original.get("command") is None and "command" in self.original:
                    spec["command"] = None
                else:
                    spec.pop("command", None)
            spec["datagen"] = self._collect_datagen()
        return _ordered(spec, TOP_ORDER)

    def _overlap_value(self, original: Any) -> Any:
        select = self._find(f"#{field_id('policies.overlap')}", Select)
        if select is None:
            return original
        policy = select.value if not select.is_blank() else "skip"
        text = self._get(f"#{field_id('policies.overlap.max')}", Input).value.strip()
        if text:
            try:
                return {"policy": policy, "max": int(text)}
            except ValueError:
                return {"policy": policy, "max": text}
        if isinstance(original, dict) and "max" not in original:
            return {"policy": policy}
        if original is None and policy == "skip":
            return None
        return policy

    def _collect_datagen(self) -> dict[str, Any]:
        original = self.original.get("datagen")
        datagen = copy.deepcopy(original) if isinstance(original, dict) else {}
        settings = self._form("form-datagen")
        if settings is not None:
            _merge(datagen, settings)
        datagen["datasets"] = list(self.selected_datasets)
        # generator
        fmt_select = self._find(f"#{field_id('datagen.generator.format')}", Select)
        gen_original = datagen.get("generator")
        if not isinstance(gen_original, dict):
            gen_original = {}
        if fmt_select is not None:
            fmt = str(fmt_select.value)
            generator: dict[str, Any] = {}
            if fmt != "jsonl" or "format" in gen_original:
                generator["format"] = fmt
            form = self._form("form-format")
            options = form.value() if form is not None else {}
            if options or ("options" in gen_original and gen_original.get("format") == fmt):
                generator["options"] = options
            if generator or "generator" in datagen:
                datagen["generator"] = generator
            else:
                datagen.pop("generator", None)
        # sinks
        self._store_sink()
        datagen["sinks"] = copy.deepcopy(self.sinks)
        return _ordered(
            datagen,
            (
                "datasets",
                "max_records",
                "randomize_records",
                "flush_each_record",
                "use_buffer",
                "buffer_size",
                "threads",
                "seed",
                "locale",
                "replay",
                "generator",
                "sinks",
            ),
        )

    # -- validation ------------------------------------------------------------------
    def _revalidate(self, advance_from: str | None = None, then: str = "") -> None:
        if not self.loaded:
            return
        self._validate(self.collect_spec(), advance_from, then)

    @work(thread=True, exclusive=True, group="wizard-validate", exit_on_error=False)
    def _validate(self, spec: dict[str, Any], advance_from: str | None, then: str) -> None:
        _, errors = self.engine.validate_spec(spec)
        errors = list(errors)
        name, workspace = spec.get("name"), spec.get("workspace", "default")
        if isinstance(name, str) and name and not any(e.path == "name" for e in errors):
            try:
                other = self.engine.get_job(f"{workspace}/{name}")
            except JobtuiError:
                other = None
            if other is not None and other.id != self.job_id:
                errors.append(
                    FieldError("name", f"a job named {name!r} exists already in {workspace!r}")
                )
        if get_current_worker().is_cancelled:
            return
        self.post_message(Validated(errors, advance_from, then))
        schedule = spec.get("schedule")
        self._preview_schedule(schedule, [e for e in errors if e.path.startswith("schedule")])

    def _preview_schedule(self, schedule: Any, errors: list[FieldError]) -> None:
        """Runs inside the validation worker: words and next fires of the schedule."""
        if errors:
            self.post_message(SchedulePreviewed("", [], "; ".join(str(e) for e in errors)))
            return
        if not schedule:
            self.post_message(
                SchedulePreviewed("Manual: runs only when asked to (r in the job list)")
            )
            return
        describe = getattr(self.engine, "describe_schedule", None)
        if describe is None:
            from jobtui.engine import describe_schedule

            describe = describe_schedule
        try:
            words = str(describe(schedule))
        except (JobtuiError, ValueError) as exc:
            self.post_message(SchedulePreviewed("", [], str(exc)))
            return
        previewer = getattr(self.engine, "schedule_preview", None)
        if previewer is None:
            self.post_message(SchedulePreviewed(words, ["(next fires are not available yet)"]))
            return
        try:
            fires = previewer(schedule, n=5)
        except (JobtuiError, ValueError, NotImplementedError) as exc:
            self.post_message(SchedulePreviewed(words, [], str(exc)))
            return
        lines = []
        for fire in fires:
            at = fire.at.strftime("%a %Y-%m-%d %H:%M:%S %Z")
            note = getattr(fire, "note", "")
            lines.append(f"{at}  ⚠ {note}" if note else at)
        self.post_message(SchedulePreviewed(words, lines or ["no upcoming fires"]))

    @on(SchedulePreviewed)
    def _schedule_previewed(self, message: SchedulePreviewed) -> None:
        self.schedule_words = f"✖ {message.error}" if message.error else message.words
        self.next_fires = [] if message.error else list(message.fires)
        if self.step == "last":
            self._update_summary()
        words = self._get("#schedule-words", Static)
        fires = self._get("#schedule-fires", Static)
        words.set_class(bool(message.error), "-failed")
        if message.error:
            _update(words, f"✖ {message.error}")
            _update(fires, "")
            return
        _update(words, message.words)
        _update(fires, ("Next fires:\n" + "\n".join(message.fires)) if message.fires else "")

    def _visible(self, error: FieldError) -> bool:
        if step_of(error.path) in self.attempted:
            return True
        return any(
            error.path == t or error.path.startswith((t + ".", t + "[")) or t.startswith(error.path)
            for t in self.touched
        )

    @on(Validated)
    async def _validated(self, message: Validated) -> None:
        if message.advance_from is not None:
            self.attempted.add(message.advance_from)
        if message.then:
            self.attempted.update(self.steps)
        self.errors = message.errors
        left = show_errors(self, [e for e in message.errors if self._visible(e)])
        for fold_id in ("#fold-policies", "#fold-alerts", "#fold-datagen"):
            fold = self._find(fold_id, Collapsible)
            if fold is not None and fold.collapsed and fold.query(".field-row.-invalid"):
                fold.collapsed = False
        mine = [e for e in left if step_of(e.path) == self.step]
        _update(self._get("#step-errors", Static), "\n".join(f"✖ {e}" for e in mine))
        self._mark_steps()
        if self.step == "last":
            self._update_summary()
        if message.advance_from is not None:
            blocking = [e for e in message.errors if step_of(e.path) == message.advance_from]
            if blocking:
                self.notify(
                    f"{len(blocking)} field(s) need attention: {blocking[0]}",
                    severity="warning",
                    title=f"{STEP_TITLES[message.advance_from]} is not finished",
                )
                self._focus_error(blocking[0])
                return
            steps = self.steps
            index = steps.index(message.advance_from)
            if index + 1 < len(steps):
                await self._show_step(steps[index + 1])
            return
        if message.then:
            if message.errors:
                first = message.errors[0]
                owner = step_of(first.path)
                await self._show_step(owner if owner in self.steps else self.step)
                self._focus_error(first)
                self.notify(
                    f"Fix {len(message.errors)} field(s) first: {first}",
                    severity="error",
                )
                return
            spec = self.collect_spec()
            if message.then == "save":
                self._save(spec, self._note())
            elif message.then == "output":
                _update(self._get("#output", Static), "Generating…")
                self._run_output(spec)
            elif message.then == "download":
                self._start_download(spec)

    def _focus_error(self, error: FieldError) -> None:
        for row in self.query(FieldRow):
            if row.has_class("-invalid") and (
                error.path == row.path or error.path.startswith(row.path)
            ):
                if row.control.focusable:
                    row.control.focus()
                row.scroll_visible()
                return

    def _start_download(self, spec: dict[str, Any]) -> None:
        path = self._get(f"#{field_id('download')}", Input).value.strip()
        row = self._get(f"#{field_id('download')}-row", FieldRow)
        if not path:
            row.set_error("give a file path to write to")
            return
        row.set_error(None)
        _update(self._get("#download-result", Static), "Running…")
        bar = self._get("#download-progress", ProgressBar)
        bar.remove_class("-idle")
        bar.update(total=None, progress=0)
        self._download(spec, path, self._note())

    # -- steps ---------------------------------------------------------------------------
    async def _set_steps(self) -> None:
        kind = self.collect_spec().get("kind", "datagen")
        steps = COMMAND_STEPS if kind == "command" else DATAGEN_STEPS
        header = self._get("#wizard-steps", Horizontal)
        if steps == self.steps and header.children:
            return
        self.steps = steps
        await header.remove_children()
        self._crumbs = {
            step: Label(f" {i + 1} {STEP_TITLES[step]} ", id=f"crumb-{step}", classes="crumb")
            for i, step in enumerate(self.steps)
        }
        await header.mount_all(list(self._crumbs.values()))
        self._mark_steps()

    def _mark_steps(self) -> None:
        bad = {step_of(e.path) for e in self.errors}
        current = self.steps.index(self.step) if self.step in self.steps else 0
        for i, step in enumerate(self.steps):
            crumb = self._crumbs.get(step)
            if crumb is not None:
                crumb.set_class(step == self.step, "-current")
                crumb.set_class(i < current, "-done")
                crumb.set_class(step in bad, "-invalid")

    async def _show_step(self, step: str) -> None:
        # Steps are built when first shown: fewer widgets, quicker screen.
        if step not in self.built:
            self.built.add(step)
            builder = {
                "settings": lambda: self._build_settings(self.workspaces),
                "datasets": self._build_datasets,
                "generator": self._build_generator,
                "sinks": self._build_sinks,
                "command": self._build_command,
                "last": self._build_last,
            }[step]
            await builder()
            self._cache.clear()
        self.step = step
        self._get("#wizard-body", ContentSwitcher).current = f"step-{step}"
        self._mark_steps()
        loose = [
            e
            for e in self.errors
            if step_of(e.path) == step and self._visible(e) and not self._placed(e)
        ]
        _update(self._get("#step-errors", Static), "\n".join(f"✖ {e}" for e in loose))
        if step == "last":
            self._update_summary()
        if step == "generator":
            self._format_preview(self.collect_spec())
        if step == "datasets" and self.highlighted_dataset is None and self.dataset_infos:
            chosen = self.selected_datasets
            first = chosen[0] if chosen else self.dataset_infos[0].name
            self.highlighted_dataset = first
            self._sample(first, self.sample_seed)
        self.call_after_refresh(self._focus_first, step)
        self.refresh_bindings()

    def _placed(self, error: FieldError) -> bool:
        return any(
            row.has_class("-invalid") and error.path.startswith(row.path)
            for row in self.query(FieldRow)
        )

    def _focus_first(self, step: str) -> None:
        if step == "datasets":
            self._get(f"#{field_id('datagen.datasets')}", SelectionList).focus()
            return
        container = self.query_one(f"#step-{step}")
        for widget in container.query("*"):
            if widget.focusable and not isinstance(widget, VerticalScroll):
                widget.focus()
                return

    def action_next_step(self) -> None:
        if not self.loaded:
            return
        if self.step == "last":
            self.action_save()
            return
        self._revalidate(advance_from=self.step)

    async def action_prev_step(self) -> None:
        if not self.loaded:
            return
        index = self.steps.index(self.step)
        if index > 0:
            await self._show_step(self.steps[index - 1])

    def action_save(self) -> None:
        if not self.loaded or self._saving:
            return
        self._revalidate(then="save")

    def _note(self) -> str:
        note = self._find(f"#{field_id('note')}", Input)
        return note.value.strip() if note is not None else ""

    def _store_job(self, spec: dict[str, Any], note: str) -> Any:
        """Create or update the job (in a worker thread); later saves update it."""
        if self.job_id is not None:
            return self.engine.update_job(self.job_id, spec, note)
        if self.mode == "duplicate":
            return self.engine.create_job(spec, f"duplicated from {self.source_name}")
        return self.engine.create_job(spec, note or "created")

    @work(thread=True, exclusive=True, group="wizard-save", exit_on_error=False)
    def _save(self, spec: dict[str, Any], note: str) -> None:
        self._saving = True
        try:
            job = self._store_job(spec, note)
        except SpecError as exc:
            self.post_message(Saved(None, list(exc.errors)))
            return
        except JobtuiError as exc:
            self.post_message(Saved(None, [], str(exc)))
            return
        finally:
            self._saving = False
        self.post_message(Saved(job.qualified_name, [], job_id=job.id))

    @on(Saved)
    async def _saved(self, message: Saved) -> None:
        if message.qualified_name:
            if message.stay:
                # Saved on the way to a download: the wizard now edits the stored job.
                self.job_id = message.job_id
                self.saved_name = message.qualified_name
                self.baseline = self.collect_spec()
                self.notify(f"Saved {message.qualified_name}", title="Job saved")
                return
            verb = "Saved" if self.mode == "edit" else "Created"
            self.notify(f"{verb} {message.qualified_name}", title="Job saved")
            self.dismiss(message.qualified_name)
            return
        if message.errors:
            self.post_message(Validated(message.errors))
            first = message.errors[0]
            if step_of(first.path) in self.steps:
                await self._show_step(step_of(first.path))
            self.notify(str(first), severity="error", title="Not saved")
        else:
            self.notify(message.error, severity="error", title="Not saved")

    # -- changes and leaving -----------------------------------------------------------------
    @on(ModelForm.Changed)
    async def _form_changed(self, event: ModelForm.Changed) -> None:
        if not self.loaded:
            return
        self.touched.add(event.path)
        if event.path == "kind":
            await self._set_steps()
        if event.form.id == "form-sink":
            self._store_sink()
        self._revalidate()
        if event.form.id == "form-format":
            self._format_preview(self.collect_spec())

    @on(Input.Changed, "#f-policies-overlap-max")
    @on(Select.Changed, "#f-policies-overlap")
    def _overlap_changed(self) -> None:
        if self.loaded:
            self.touched.add("policies.overlap")
        self._revalidate()

    @property
    def dirty(self) -> bool:
        return self.loaded and self.collect_spec() != self.baseline

    def action_cancel(self) -> None:
        # A job saved on the way to a download exists: leaving returns its name.
        if not self.dirty:
            self.dismiss(self.saved_name)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(self.saved_name)

        self.app.push_screen(
            AskScreen("Discard your changes to this job?", "Discard", "Keep editing"), answered
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter_datasets":
            return self.step == "datasets"
        if action == "resample":
            return True if self.step in ("datasets", "generator") else None
        if action == "test_sink":
            return True if self.step == "sinks" else None
        if action == "prev_step":
            return True if self.step != "settings" else None
        if action == "show_output":
            return True if self.step == "last" else None
        return True


def _merge(target: dict[str, Any], form: ModelForm) -> None:
    """Set the form's keys in target, dropping the ones it leaves out."""
    value = form.value()
    for spec in form.fields:
        if spec.key in value:
            target[spec.key] = value[spec.key]
        else:
            target.pop(spec.key, None)


def _cell(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)[:60]
    return str(value)[:60]

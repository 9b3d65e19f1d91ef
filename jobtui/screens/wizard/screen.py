"""The job wizard: create, edit and duplicate a job in a few steps, with live previews.

Steps: Settings → Datasets → Generator → Sinks → Last step (a `command` job has one Command
step instead of the middle three, a `pipeline` job Readers → Transformers → Writers); each
is a widget of its own module, built when first shown. Every section's form is generated
from the engine's pydantic models (`widgets.forms.ModelForm`); collect.py turns what they
hold into the spec; the engine's `validate_spec` is the only judge of what is right, and
its `FieldError`s are shown beside the fields they name.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, ContentSwitcher, Input, Label, Static
from textual.worker import get_current_worker

from jobtui.engine import (
    FORMAT_LABELS,
    Engine,
    FieldError,
    Job,
    JobtuiError,
    SpecError,
    describe_schedule,
)
from jobtui.screens.base import EngineScreen
from jobtui.screens.confirm import ConfirmScreen
from jobtui.screens.wizard.base import (
    DatasetInfo,
    DownloadDone,
    DownloadProgress,
    Edited,
    Loaded,
    MissingDirectory,
    OutputReady,
    PresetInfo,
    Saved,
    SchedulePreviewed,
    Validated,
    set_text,
)
from jobtui.screens.wizard.chain import ChainStep, editable
from jobtui.screens.wizard.collect import (
    DATAGEN_STEPS,
    STEP_TITLES,
    FormValues,
    collect_spec,
    preview_spec,
    step_of,
    steps_for,
    summary,
)
from jobtui.screens.wizard.command import CommandStep
from jobtui.screens.wizard.datasets import DatasetsStep
from jobtui.screens.wizard.download import download_now
from jobtui.screens.wizard.generator import GeneratorStep
from jobtui.screens.wizard.last import LastStep
from jobtui.screens.wizard.settings import SettingsStep
from jobtui.screens.wizard.sinks import SinksStep
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.forms import FieldRow, ModelForm, show_errors


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class WizardScreen(EngineScreen[str | None]):
    """Create (job_ref None), edit (job_ref) or duplicate (job_ref, duplicate=True) a job."""

    CSS_PATH = ["wizard.tcss", "pipeline.tcss"]
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
        super().__init__(engine)
        self.job_ref = job_ref
        self.duplicate = duplicate
        self.mode = "duplicate" if duplicate else ("edit" if job_ref is not None else "new")
        self.original: dict[str, Any] = {}
        self.job_id: int | None = None
        self.source_name = ""
        self.loaded = False
        self.ready = False  # loaded, and the first step built
        self.steps: tuple[str, ...] = DATAGEN_STEPS
        self.step = "settings"
        self.errors: list[FieldError] = []
        self.alerts_note = ""  # alert emails but no SMTP server (issue 20.17)
        self.baseline: dict[str, Any] = {}
        self._saving = False
        self.built: set[str] = set()
        self.schedule_words = ""
        self.next_fires: list[str] = []
        self.workspaces: list[str] = []
        self._crumbs: dict[str, Label] = {}
        # Errors show once the user touched the field or tried to leave its step.
        self.touched: set[str] = set()
        self.attempted: set[str] = set()
        self.settings = SettingsStep(id="step-settings", classes="step")
        self.datasets = DatasetsStep(engine, id="step-datasets", classes="step")
        self.generator = GeneratorStep(engine, id="step-generator", classes="step")
        self.sinks = SinksStep(engine, id="step-sinks", classes="step")
        self.sinks.output_format = self._output_format
        self.command = CommandStep(id="step-command", classes="step")
        self.readers = ChainStep.readers(engine)
        self.transformers = ChainStep.transformers(engine)
        self.writers = SinksStep(
            engine, id="step-writers", classes="step", prefix="pipeline.writers", noun="writer"
        )
        self.writers.output_format = self._pipeline_format
        self.last = LastStep(id="step-last", classes="step")

    # -- layout ------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        title = {"new": "New job", "edit": "Edit job", "duplicate": "Duplicate job"}[self.mode]
        yield Static(title, id="wizard-title")
        yield Horizontal(id="wizard-steps")
        with ContentSwitcher(id="wizard-body", initial="step-loading"):
            yield Static("Loading…", id="step-loading")
            yield self.settings
            yield self.datasets
            yield self.generator
            yield self.sinks
            yield self.command
            yield self.readers
            yield self.transformers
            yield self.writers
            yield self.last
        yield Static("", id="step-errors", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._load()

    @property
    def sink_index(self) -> int:
        return self.sinks.index

    def waiting_for(self) -> Iterator[str]:
        if not self.ready:
            yield "the job and the first step"

    # -- loading -----------------------------------------------------------------
    @work(thread=True, group="wizard-load", exit_on_error=False)
    def _load(self) -> None:
        engine = self.engine
        original: dict[str, Any] = {}
        job_id: int | None = None
        qualified = ""
        try:
            if self.job_ref is not None:
                job = engine.get_job(self.job_ref)
                original = copy.deepcopy(job.spec)
                qualified = job.qualified_name
                if self.duplicate:
                    original["name"] = self._fresh_name(job)
                else:
                    job_id = job.id
            workspaces = [w.name for w in engine.list_workspaces()]
            datasets = [
                DatasetInfo(d.name, d.description, d.builtin) for d in engine.list_datasets()
            ]
            presets = [PresetInfo(p.name, p.type, dict(p.options)) for p in engine.list_presets()]
            no_jobs = self.job_ref is None and not engine.list_jobs(limit=1)
        except JobtuiError as exc:
            self.post_message(Loaded({}, None, "", [], [], [], str(exc)))
            return
        self.post_message(
            Loaded(original, job_id, qualified, workspaces, datasets, presets, no_jobs=no_jobs)
        )

    def _fresh_name(self, job: Job) -> str:
        jobs = self.engine.list_jobs(workspace=job.workspace, include_system=True)
        taken = {j.name for j in jobs}
        base = f"{job.name}-copy"
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
        datagen = _dict(self.original.get("datagen"))
        chosen = [d for d in datagen.get("datasets", []) if isinstance(d, str)]
        self.datasets.prepare(message.datasets, chosen)
        sinks = datagen.get("sinks")
        self.sinks.prepare(
            [dict(s) for s in sinks if isinstance(s, dict)] if sinks else [], message.presets
        )
        pipeline = _dict(self.original.get("pipeline"))
        self.readers.prepare(editable(pipeline.get("readers"), [{"type": "file"}]))
        self.transformers.prepare(editable(pipeline.get("transformers"), []))
        self.writers.prepare(editable(pipeline.get("writers"), []), message.presets)
        self.workspaces = message.workspaces
        self.settings.offer_import = message.no_jobs
        self.loaded = True
        await self._set_steps()
        await self._show_step("settings")
        self.baseline = self.collect_spec()
        self._revalidate()
        self.ready = True

    # -- the spec ------------------------------------------------------------------
    def collect_spec(self) -> dict[str, Any]:
        """The job spec as the user has it so far (collect.py)."""
        values = FormValues()
        self.datasets.fill(values)
        self.sinks.fill(values)
        values.readers = self.readers.fill()
        values.transformers = self.transformers.fill()
        self.writers.store()
        values.writers = copy.deepcopy(self.writers.sinks)
        for step, widget in (
            ("settings", self.settings),
            ("generator", self.generator),
            ("command", self.command),
        ):
            if step in self.built:
                widget.fill(values)
        return collect_spec(self.original, values)

    # -- validation ------------------------------------------------------------------
    def _revalidate(self, advance_from: str | None = None, then: str = "") -> None:
        if self.loaded:
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
        note = ""
        alerts = spec.get("alerts")
        if (
            isinstance(alerts, dict)
            and alerts.get("emails")
            and self.engine.smtp_settings() is None
        ):
            note = (
                "⚠ No SMTP server is set: these alerts would not be sent. "
                "Set one in SMTP settings (command palette) or with `jobtui daemon smtp`."
            )
        self.post_message(Validated(errors, advance_from, then, alerts_note=note))
        schedule = spec.get("schedule")
        self.post_message(
            self._preview_schedule(schedule, [e for e in errors if e.path.startswith("schedule")])
        )

    def _preview_schedule(self, schedule: Any, errors: list[FieldError]) -> SchedulePreviewed:
        """In the validation worker: the schedule's words and next fires."""
        if errors:
            return SchedulePreviewed("", [], "; ".join(str(e) for e in errors))
        if not schedule:
            return SchedulePreviewed("Manual: runs only when asked to (r in the job list)")
        try:
            words = describe_schedule(schedule)
        except (JobtuiError, ValueError) as exc:
            return SchedulePreviewed("", [], str(exc))
        try:
            fires = self.engine.schedule_preview(schedule, n=5)
        except (JobtuiError, ValueError) as exc:
            return SchedulePreviewed(words, [], str(exc))
        lines = []
        for fire in fires:
            at = fire.at.strftime("%a %Y-%m-%d %H:%M:%S %Z")
            lines.append(f"{at}  ⚠ {fire.note}" if fire.note else at)
        return SchedulePreviewed(words, lines or ["no upcoming fires"])

    @on(SchedulePreviewed)
    def _schedule_previewed(self, message: SchedulePreviewed) -> None:
        self.schedule_words = f"✖ {message.error}" if message.error else message.words
        self.next_fires = [] if message.error else list(message.fires)
        if self.step == "last":
            self._update_summary()
        self.settings.show_schedule(message)

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
        self.alerts_note = message.alerts_note
        if "settings" in self.built:
            self.settings.show_alerts_note(message.alerts_note)
        left = show_errors(self, [e for e in message.errors if self._visible(e)])
        if "settings" in self.built:
            self.settings.unfold_invalid()
        mine = [e for e in left if step_of(e.path) == self.step]
        set_text(self.query_one("#step-errors", Static), "\n".join(f"✖ {e}" for e in mine))
        self._mark_steps()
        if self.step == "last":
            self._update_summary()
        self._chain_preview()
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
            index = self.steps.index(message.advance_from)
            if index + 1 < len(self.steps):
                await self._show_step(self.steps[index + 1])
            return
        if message.then:
            if message.errors:
                first = message.errors[0]
                owner = step_of(first.path)
                await self._show_step(owner if owner in self.steps else self.step)
                self._focus_error(first)
                self.notify(f"Fix {len(message.errors)} field(s) first: {first}", severity="error")
                return
            spec = self.collect_spec()
            if message.then == "save":
                self._save(spec, self.last.note)
            elif message.then == "output":
                self.last.show_output("Generating…")
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

    # -- steps ---------------------------------------------------------------------------
    async def _set_steps(self) -> None:
        kind = self.collect_spec().get("kind", "datagen")
        self.settings.show_kind(kind)
        steps = steps_for(kind)
        header = self.query_one("#wizard-steps", Horizontal)
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

    async def _build(self, step: str) -> None:
        """Steps are built when first shown: fewer widgets, quicker screen."""
        spec = self.original
        datagen = _dict(spec.get("datagen"))
        if step == "settings":
            await self.settings.build(spec, self.workspaces)
        elif step == "datasets":
            await self.datasets.build()
        elif step == "generator":
            await self.generator.build(_dict(datagen.get("generator")))
        elif step == "sinks":
            await self.sinks.build()
        elif step == "command":
            await self.command.build(_dict(spec.get("command")))
        elif step in ("readers", "transformers", "writers"):
            await getattr(self, step).build()
        else:
            await self.last.build(with_note=self.mode == "edit")

    async def _show_step(self, step: str) -> None:
        if step not in self.built:
            self.built.add(step)
            await self._build(step)
        self.step = step
        self.query_one("#wizard-body", ContentSwitcher).current = f"step-{step}"
        self._mark_steps()
        loose = [
            e
            for e in self.errors
            if step_of(e.path) == step and self._visible(e) and not self._placed(e)
        ]
        set_text(self.query_one("#step-errors", Static), "\n".join(f"✖ {e}" for e in loose))
        if step == "last":
            self._update_summary()
        if step == "settings":
            self.settings.show_kind(self.collect_spec().get("kind", "datagen"))
        if step == "generator":
            self.generator.preview(self.collect_spec())
        if step == "datasets":
            self.datasets.shown()
        if step == "sinks":
            self.sinks.shown()
        if step == "writers":
            self.writers.shown()
        self._chain_preview()
        self.call_after_refresh(self._focus_first, step)
        self.refresh_bindings()

    def _placed(self, error: FieldError) -> bool:
        return any(
            row.has_class("-invalid") and error.path.startswith(row.path)
            for row in self.query(FieldRow)
        )

    def _focus_first(self, step: str) -> None:
        if step == "datasets":
            self.datasets.choices.focus()
            return
        for widget in self.query_one(f"#step-{step}").query("*"):
            if widget.focusable and not isinstance(widget, VerticalScroll):
                widget.focus()
                return

    def _update_summary(self) -> None:
        spec = self.collect_spec()
        text = summary(spec, self.schedule_words, self.next_fires, FORMAT_LABELS)
        self.last.show_summary(text)
        self.last.show_kind(spec.get("kind", "datagen"), scheduled=bool(spec.get("schedule")))

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

    # -- changes -------------------------------------------------------------------------
    @on(ModelForm.Changed)
    async def _form_changed(self, event: ModelForm.Changed) -> None:
        if not self.loaded:
            return
        self.touched.add(event.path)
        if event.path == "kind":
            await self._set_steps()
        self._changed()

    @on(Edited)
    def _edited(self, message: Edited) -> None:
        if self.loaded and message.touched is not None:
            self.touched.add(message.touched)
        self._changed()

    def _changed(self) -> None:
        self._revalidate()
        if self.step == "generator":
            self.generator.preview(self.collect_spec())

    # -- keys of single steps ------------------------------------------------------------
    def action_filter_datasets(self) -> None:
        self.datasets.focus_filter()

    def _chain_preview(self, again: bool = False) -> None:
        """On the readers or transformers step, the first records once they are valid."""
        step = self.readers if self.step == "readers" else self.transformers
        bad = [e for e in self.errors if e.path.startswith("pipeline")]
        if self.step in ("readers", "transformers") and all(
            step_of(e.path) == "writers"
            for e in bad  # the preview writes to the console
        ):
            step.preview(preview_spec(self.collect_spec(), step is self.transformers), again)
        elif self.step in ("readers", "transformers"):
            step.no_preview()

    def action_resample(self) -> None:
        if self.step in ("readers", "transformers"):
            self._chain_preview(again=True)
        elif self.step == "datasets":
            self.datasets.resample()
        elif self.step == "generator":
            self.generator.preview(self.collect_spec())

    def _output_format(self) -> tuple[str, dict[str, Any]]:
        generator = _dict(_dict(self.collect_spec().get("datagen")).get("generator"))
        return str(generator.get("format") or "jsonl"), _dict(generator.get("options"))

    def _pipeline_format(self) -> tuple[str, dict[str, Any]]:
        fmt = _dict(_dict(self.collect_spec().get("pipeline")).get("format"))
        return str(fmt.get("format") or "jsonl"), _dict(fmt.get("options"))

    def action_test_sink(self) -> None:
        if self.step in ("sinks", "writers"):
            (self.sinks if self.step == "sinks" else self.writers).test()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter_datasets":
            return self.step == "datasets"
        if action == "resample":
            chain = ("readers", "transformers")
            return True if self.step in ("datasets", "generator", *chain) else None
        if action == "test_sink":
            return True if self.step in ("sinks", "writers") else None
        if action == "prev_step":
            return True if self.step != "settings" else None
        if action == "show_output":  # records to show: a datagen job's
            return True if self.step == "last" and "command" not in self.steps else None
        return True

    # -- saving ------------------------------------------------------------------------
    def action_save(self) -> None:
        if self.loaded and not self._saving:
            self._revalidate(then="save")

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    def _store_job(self, spec: dict[str, Any], note: str) -> Job:
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
            verb = "Saved" if self.mode == "edit" else "Created"
            self.notify(f"{verb} {message.qualified_name}", title="Job saved")
            if self.alerts_note:
                self.notify(self.alerts_note.lstrip("⚠ "), title="Alerts", severity="warning")
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

    @property
    def dirty(self) -> bool:
        return self.loaded and self.collect_spec() != self.baseline

    def action_cancel(self) -> None:
        if not self.dirty:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmScreen(
                "Discard your changes to this job?", yes="Discard", no="Keep editing", danger=True
            ),
            answered,
        )

    # -- output and download ------------------------------------------------------------
    @on(Button.Pressed, "#show-output")
    def action_show_output(self) -> None:
        self._revalidate(then="output")

    @work(thread=True, exclusive=True, group="wizard-output", exit_on_error=False)
    def _run_output(self, spec: dict[str, Any]) -> None:
        try:
            text = self.engine.preview(spec, n=20)
        except JobtuiError as exc:
            text = f"No output: {exc}"
        self.post_message(OutputReady(text))

    @on(OutputReady)
    def _output_ready(self, message: OutputReady) -> None:
        self.last.show_output(message.text)

    @on(Button.Pressed, "#download-button")
    @on(Input.Submitted, "#f-download")
    def _download_pressed(self) -> None:
        self._revalidate(then="download")

    def _start_download(self, spec: dict[str, Any], create_dirs: bool = False) -> None:
        path = self.last.download_path()
        if path is not None:
            self.last.download_started()
            self._download(spec, path, create_dirs)

    @work(thread=True, exclusive=True, group="wizard-download", exit_on_error=False)
    def _download(self, spec: dict[str, Any], path: str, create_dirs: bool) -> None:
        """Run the definition on screen now into one file (`Engine.download`): nothing is
        saved, scheduled or stored. Closing the wizard stops it."""
        worker = get_current_worker()
        self.post_message(
            download_now(self.engine, spec, path, create_dirs, self.post_message, worker)
        )

    @on(MissingDirectory)
    def _missing_directory(self, message: MissingDirectory) -> None:
        """Offer to create the directory; without it, the reason stays beside the field."""
        target = os.path.abspath(os.path.expanduser(self.last.download_path() or ""))
        directory = os.path.dirname(target)

        def answered(create: bool | None) -> None:
            if create:
                self._start_download(message.spec, create_dirs=True)
            else:
                self.last.download_done(False, message.error)

        self.app.push_screen(
            ConfirmScreen(
                f"Create {directory}?",
                "The directory to download to does not exist: create it, then download.",
                yes="Create",
                no="Cancel",
            ),
            answered,
        )

    @on(DownloadProgress)
    def _download_progress(self, message: DownloadProgress) -> None:
        self.last.download_progress(message.done, message.total)

    @on(DownloadDone)
    def _download_done(self, message: DownloadDone) -> None:
        self.last.download_done(message.ok, message.text)
        if message.ok:
            self.notify(message.text, title="Download")

"""Step 1, Settings: the job itself, its schedule (with its words and next fires beside it),
policies, alerts and the data generation settings (folded until used)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, Select, Static

from jobtui.engine import (
    SCHEDULE_TYPES,
    Alerts,
    DatagenSpec,
    JobSpec,
    PipelineSpec,
    Policies,
    ScheduleBase,
    timezones,
)
from jobtui.screens.crontab_import import open_crontab_import
from jobtui.screens.wizard.base import Edited, SchedulePreviewed, Scroll, section, set_text
from jobtui.screens.wizard.collect import (
    OVERLAP_POLICIES,
    PIPELINE_PARTS,
    FormValues,
    Section,
    keep_types,
    misfire_form,
)
from jobtui.widgets.forms import FieldRow, ModelForm, field_id

SCHEDULE_LABELS: dict[str, str] = {
    "": "manual (no schedule)",
    "once": "once",
    "cron": "cron (Unix 5 fields or Quartz 6/7)",
    "interval": "interval",
    "random": "random delay",
    "window": "window (dates × hours × weekdays)",
}
FOLDS = ("#fold-policies", "#fold-alerts", "#fold-datagen", "#fold-pipeline")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class SettingsStep(Horizontal):
    offer_import = False  # no job yet: coming from cron is one button away (issue 20.21)

    def compose(self) -> ComposeResult:
        yield Scroll(id="settings-forms")
        with Vertical(id="schedule-panel", classes="side-panel"):
            yield Label("Schedule", classes="panel-title")
            yield Static("", id="schedule-words", markup=False)
            yield Static("", id="schedule-fires", markup=False)

    async def build(self, spec: dict[str, Any], workspaces: list[str]) -> None:
        self.job_form = ModelForm(
            JobSpec,
            "",
            spec,
            only=("workspace", "name", "description", "kind", "active", "queue", "tags"),
            suggestions={"workspace": workspaces},
            id="form-job",
        )
        self.job_form.border_title = "Job"
        schedule = spec.get("schedule") if isinstance(spec.get("schedule"), dict) else None
        kind = schedule.get("type", "") if schedule else ""
        self.schedule_type: Select[str] = Select(
            [(label, key) for key, label in SCHEDULE_LABELS.items()],
            value=kind if kind in SCHEDULE_LABELS else "",
            allow_blank=False,
            id=field_id("schedule.type"),
            compact=True,
        )
        self.schedule_holder = Vertical(id="schedule-holder")
        self.schedule_form: ModelForm | None = None
        schedule_box = Vertical(
            FieldRow("schedule.type", "schedule", self.schedule_type),
            self.schedule_holder,
            id="schedule-section",
            classes="form-section",
        )
        schedule_box.border_title = "Schedule"
        policies = _dict(spec.get("policies"))
        overlap = policies.get("overlap", "skip")
        policy = overlap.get("policy", "skip") if isinstance(overlap, dict) else overlap
        self.policies_form = ModelForm(
            Policies, "policies", misfire_form(policies), exclude=("overlap",), id="form-policies"
        )
        self.overlap: Select[str] = Select(
            [(p, p) for p in OVERLAP_POLICIES],
            value=policy if policy in OVERLAP_POLICIES else "skip",
            allow_blank=False,
            id=field_id("policies.overlap"),
            compact=True,
        )
        self.overlap_max = Input(
            str(overlap.get("max", "") if isinstance(overlap, dict) else ""),
            placeholder="no limit",
            type="integer",
            id=field_id("policies.overlap.max"),
            compact=True,
        )
        policy_box = Vertical(
            self.policies_form,
            FieldRow(
                "policies.overlap",
                "overlap",
                self.overlap,
                "When a fire comes while a run is still going",
            ),
            FieldRow(
                "policies.overlap.max",
                "overlap max",
                self.overlap_max,
                "With allow: at most this many runs at once (empty: no limit)",
            ),
            id="policies-section",
            classes="form-section",
        )
        policy_box.border_title = "Policies"
        self.alerts_form = ModelForm(Alerts, "alerts", spec.get("alerts") or {}, id="form-alerts")
        self.alerts_form.border_title = "Alerts"
        datagen = _dict(spec.get("datagen"))
        self.datagen_form = ModelForm(
            DatagenSpec,
            "datagen",
            datagen,
            exclude=("datasets", "generator", "sinks"),
            id="form-datagen",
        )
        self.datagen_form.border_title = "Data generation"
        pipeline = _dict(spec.get("pipeline"))
        self.pipeline_form = ModelForm(
            PipelineSpec, "pipeline", pipeline, exclude=PIPELINE_PARTS, id="form-pipeline"
        )
        self.pipeline_form.border_title = "Pipeline"
        for form in (self.job_form, self.alerts_form, self.datagen_form, self.pipeline_form):
            form.add_class("form-section")
        folds = [
            Collapsible(
                policy_box,
                title="Policies: retry, timeout, overlap, misfire",
                collapsed="policies" not in spec,
                id="fold-policies",
            ),
            Collapsible(
                self.alerts_form,
                Static("", id="alerts-smtp-note", classes="field-hint", markup=False),
                title="Alerts: emails, states, threshold, recovery",
                collapsed="alerts" not in spec,
                id="fold-alerts",
            ),
            Collapsible(
                self.datagen_form,
                title="Data generation: records, buffer, threads, seed, locale, replay",
                collapsed=not any(k not in ("datasets", "generator", "sinks") for k in datagen),
                id="fold-datagen",
            ),
            Collapsible(
                self.pipeline_form,
                title="Pipeline: format, batch, max errors, replay",
                collapsed=not any(k not in PIPELINE_PARTS for k in pipeline),
                id="fold-pipeline",
            ),
        ]
        offer = (
            [
                Horizontal(
                    Label("No jobs yet. From cron?", id="crontab-offer-text"),
                    Button("Import from crontab…", id="wizard-import-crontab", compact=True),
                    id="crontab-offer",
                )
            ]
            if self.offer_import
            else []
        )
        await self.query_one("#settings-forms", Scroll).mount_all(
            [*offer, self.job_form, schedule_box, *folds]
        )
        await self._mount_schedule_form(kind, schedule or {})
        self._sync_replay()

    @on(Button.Pressed, "#wizard-import-crontab")
    def _import_crontab(self, event: Button.Pressed) -> None:
        event.stop()
        wizard = self.screen
        engine = getattr(wizard, "engine", None)
        if engine is not None:  # jobs made: the wizard closes onto the list showing them
            open_crontab_import(self.app, engine, created=lambda: wizard.dismiss(None))

    async def _mount_schedule_form(self, kind: str, values: dict[str, Any]) -> None:
        await self.schedule_holder.remove_children()
        self.schedule_form = None
        if kind in SCHEDULE_TYPES:
            model = SCHEDULE_TYPES[kind]
            common = list(ScheduleBase.model_fields)
            own = [f for f in model.model_fields if f not in common and f != "type"]
            self.schedule_form = ModelForm(
                model,
                "schedule",
                values,
                only=own + common,
                suggestions={"timezone": timezones()},
                id="form-schedule",
            )
            await self.schedule_holder.mount(self.schedule_form)

    @on(Select.Changed, "#f-schedule-type")
    async def _schedule_type_changed(self, event: Select.Changed) -> None:
        event.stop()
        old = self.schedule_form
        kind = str(event.value) if not event.select.is_blank() else ""
        model = SCHEDULE_TYPES.get(kind)
        if old is not None and old.model is model:
            return
        keep = old.value() if old else {}
        if model is not None:
            keep = {k: v for k, v in keep.items() if k in model.model_fields}
        await self._mount_schedule_form(kind, keep)
        self.post_message(Edited("schedule"))

    @on(Input.Changed, "#f-policies-overlap-max")
    @on(Select.Changed, "#f-policies-overlap")
    def _overlap_changed(self, event: Input.Changed | Select.Changed) -> None:
        event.stop()
        self.post_message(Edited("policies.overlap"))

    @on(Checkbox.Changed, "#f-datagen-replay-enabled")
    def _replay_toggled(self, event: Checkbox.Changed) -> None:
        self._sync_replay()  # the form's own Changed goes on to the wizard

    def _sync_replay(self) -> None:
        """How many runs' output to keep means nothing while replay is off: not editable."""
        for enabled in self.query("#f-datagen-replay-enabled").results(Checkbox):
            for keep in self.query("#f-datagen-replay-keep"):
                keep.disabled = not enabled.value

    def show_alerts_note(self, note: str) -> None:
        """Warn beside the alerts when no SMTP server would send them (issue 20.17)."""
        for box in self.query("#alerts-smtp-note").results(Static):
            set_text(box, note)
            box.display = bool(note)

    def show_kind(self, kind: str) -> None:
        """Data generation settings only for a datagen job, pipeline settings only for a
        pipeline job."""
        for fold in self.query("#fold-datagen"):
            fold.display = kind == "datagen"
        for fold in self.query("#fold-pipeline"):
            fold.display = kind == "pipeline"

    def unfold_invalid(self) -> None:
        """Open a folded section that holds a field in error."""
        for fold in self.query(Collapsible):
            if fold.collapsed and fold.query(".field-row.-invalid"):
                fold.collapsed = False

    def show_schedule(self, message: SchedulePreviewed) -> None:
        words = self.query_one("#schedule-words", Static)
        fires = self.query_one("#schedule-fires", Static)
        words.set_class(bool(message.error), "-failed")
        if message.error:
            set_text(words, f"✖ {message.error}")
            set_text(fires, "")
            return
        set_text(words, message.words)
        set_text(fires, ("Next fires:\n" + "\n".join(message.fires)) if message.fires else "")

    def fill(self, values: FormValues) -> None:
        values.job = section(self.job_form)
        if not self.schedule_type.is_blank():
            values.schedule_type = str(self.schedule_type.value)
        values.schedule = self.schedule_form.value() if self.schedule_form else {}
        values.policies = section(self.policies_form)
        policy = "skip" if self.overlap.is_blank() else str(self.overlap.value)
        values.overlap = (policy, self.overlap_max.value)
        values.alerts = self.alerts_form.value()
        values.datagen = section(self.datagen_form)
        form = self.pipeline_form
        values.pipeline = Section(
            keep_types(form.initial, form.value()), tuple(spec.key for spec in form.fields)
        )

"""The job spec from what the wizard's forms hold: pure functions, no widgets, no Textual.

The wizard's steps read their widgets into a `FormValues`; `collect_spec` turns it and the
spec the wizard opened into the spec to validate and save. The spec keeps only what the
user chose or what was there: a form's default is not written back, and a key the user
never saw is left as it was. `summary` is the last step's text.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

STEP_TITLES: dict[str, str] = {
    "settings": "Settings",
    "datasets": "Datasets",
    "generator": "Generator",
    "sinks": "Sinks",
    "command": "Command",
    "readers": "Readers",
    "transformers": "Transformers",
    "writers": "Writers",
    "last": "Last step",
}
DATAGEN_STEPS = ("settings", "datasets", "generator", "sinks", "last")
COMMAND_STEPS = ("settings", "command", "last")
# A pipeline's own settings (format, batch size, max errors…) fold in the Settings step.
PIPELINE_STEPS = ("settings", "readers", "transformers", "writers", "last")
PIPELINE_PARTS = ("readers", "transformers", "writers")
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
    "pipeline",
)
DATAGEN_ORDER = (
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
)
POLICIES_ORDER = ("retry", "timeout", "overlap", "misfire")
OVERLAP_POLICIES = ("skip", "queue", "allow")
PRESET_PREFIX = "preset:"  # a sink type choice that names a preset


def steps_for(kind: str) -> tuple[str, ...]:
    if kind == "pipeline":
        return PIPELINE_STEPS
    return COMMAND_STEPS if kind == "command" else DATAGEN_STEPS


def step_of(path: str) -> str:
    """Which step owns the field an error path names."""
    for prefix, step in (
        ("datagen.datasets", "datasets"),
        ("datagen.generator", "generator"),
        ("datagen.sinks", "sinks"),
        ("command", "command"),
        ("pipeline.readers", "readers"),
        ("pipeline.transformers", "transformers"),
        ("pipeline.writers", "writers"),
    ):
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return step
    return "settings"


def ordered(doc: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    out = {k: doc[k] for k in order if k in doc}
    out.update({k: v for k, v in doc.items() if k not in out})
    return out


@dataclass
class Section:
    """What one form holds: its value and the keys it shows (a key it leaves out goes)."""

    value: dict[str, Any]
    keys: tuple[str, ...]

    def merge_into(self, target: dict[str, Any]) -> None:
        for key in self.keys:
            if key in self.value:
                target[key] = self.value[key]
            else:
                target.pop(key, None)


@dataclass
class FormValues:
    """What the wizard's widgets hold; None where a step's widgets were never built."""

    job: Section | None = None
    schedule_type: str = ""  # "" for manual
    schedule: dict[str, Any] = field(default_factory=dict)
    policies: Section | None = None
    overlap: tuple[str, str] | None = None  # (policy, the max as typed)
    alerts: dict[str, Any] | None = None
    datagen: Section | None = None  # the data generation settings of the first step
    datasets: list[str] = field(default_factory=list)
    generator_format: str | None = None
    format_options: dict[str, Any] = field(default_factory=dict)
    sinks: list[dict[str, Any]] = field(default_factory=list)
    command: dict[str, Any] | None = None
    pipeline: Section | None = None  # the pipeline settings of the first step
    readers: list[dict[str, Any]] | None = None
    transformers: list[dict[str, Any]] | None = None
    writers: list[dict[str, Any]] | None = None


def keep_types(initial: Any, value: Any) -> Any:
    """A form gives text for a field that takes text or a number (`initial: 5`, `timeout:
    30`, `max_errors: 10`): left as it was, it stays the number it was, so a job edited
    without a change is saved unchanged."""
    if isinstance(initial, dict) and isinstance(value, dict):
        return {k: keep_types(initial.get(k), v) if k in initial else v for k, v in value.items()}
    if (
        isinstance(value, str)
        and isinstance(initial, int | float)
        and not isinstance(initial, bool)
        and value.strip() == str(initial)
    ):
        return initial
    return value


def overlap_value(original: Any, policy: str, max_text: str) -> Any:
    """The overlap policy in the shape the spec had (a word, or a table with a max)."""
    text = max_text.strip()
    if text:
        try:
            return {"policy": policy, "max": int(text)}
        except ValueError:
            return {"policy": policy, "max": text}  # the engine names the field
    if isinstance(original, dict) and "max" not in original:
        return {"policy": policy}
    if original is None and policy == "skip":
        return None
    return policy


def misfire_form(policies: dict[str, Any]) -> dict[str, Any]:
    """The policies as the form reads them: a misfire word ("once") becomes its table."""
    misfire = policies.get("misfire")
    if isinstance(misfire, str):
        return {**policies, "misfire": {"policy": misfire}}
    return policies


def misfire_value(original: Any, value: Any) -> Any:
    """The misfire policy back in the shape the spec had: a word stays a word unless the
    user set a cap (which needs the table)."""
    if isinstance(original, str) and isinstance(value, dict) and set(value) <= {"policy"}:
        return value.get("policy", original)
    return value


def collect_spec(original: dict[str, Any], form: FormValues) -> dict[str, Any]:
    """The job spec as the user has it so far: only what they chose or what was there."""
    spec = copy.deepcopy(original)
    if form.job is not None:
        form.job.merge_into(spec)
    kind = spec.get("kind", "datagen")
    if form.schedule_type:
        spec["schedule"] = {"type": form.schedule_type, **form.schedule}
    elif spec.get("schedule") is not None:
        spec.pop("schedule")
    if form.policies is not None:
        kept = original.get("policies")
        policies = dict(kept) if isinstance(kept, dict) else {}
        form.policies.merge_into(policies)
        if "misfire" in policies:
            policies["misfire"] = misfire_value(
                (kept or {}).get("misfire") if isinstance(kept, dict) else None,
                policies["misfire"],
            )
        overlap = policies.get("overlap")
        if form.overlap is not None:
            overlap = overlap_value(overlap, *form.overlap)
        if overlap is None:
            policies.pop("overlap", None)
        else:
            policies["overlap"] = overlap
        if policies or "policies" in original:
            spec["policies"] = ordered(policies, POLICIES_ORDER)
        else:
            spec.pop("policies", None)
    if form.alerts is not None:
        if form.alerts or "alerts" in original:
            spec["alerts"] = form.alerts
        else:
            spec.pop("alerts", None)
    if kind == "pipeline":
        spec.pop("datagen", None)
        spec.pop("command", None)
        spec["pipeline"] = collect_pipeline(original, form)
        return ordered(spec, TOP_ORDER)
    spec.pop("pipeline", None)
    if kind == "command":
        spec.pop("datagen", None)
        if form.command is not None:
            spec["command"] = form.command
        elif not isinstance(spec.get("command"), dict):
            spec["command"] = {}
    else:
        if "command" in spec:
            # An explicit `"command": null` stays; a command left from a kind change goes.
            if original.get("command") is None and "command" in original:
                spec["command"] = None
            else:
                spec.pop("command", None)
        spec["datagen"] = collect_datagen(original, form)
    return ordered(spec, TOP_ORDER)


def collect_pipeline(original: dict[str, Any], form: FormValues) -> dict[str, Any]:
    """The pipeline section: what was there, the settings form over it, then the readers,
    transformers and writers as their steps hold them (keys in the order they were)."""
    kept = original.get("pipeline")
    pipeline = copy.deepcopy(kept) if isinstance(kept, dict) else {}
    if form.pipeline is not None:
        form.pipeline.merge_into(pipeline)
    for part in PIPELINE_PARTS:
        items = getattr(form, part)
        if items is not None:
            if items or part != "transformers" or part in pipeline:
                pipeline[part] = copy.deepcopy(items)
        elif part != "transformers":
            pipeline.setdefault(part, [])
    return pipeline


def collect_datagen(original: dict[str, Any], form: FormValues) -> dict[str, Any]:
    kept = original.get("datagen")
    datagen = copy.deepcopy(kept) if isinstance(kept, dict) else {}
    if form.datagen is not None:
        form.datagen.merge_into(datagen)
    datagen["datasets"] = list(form.datasets)
    if form.generator_format is not None:
        fmt = form.generator_format
        was = datagen.get("generator")
        was = was if isinstance(was, dict) else {}
        generator: dict[str, Any] = {}
        if fmt != "jsonl" or "format" in was:
            generator["format"] = fmt
        options = form.format_options
        if options or ("options" in was and was.get("format") == fmt):
            generator["options"] = options
        if generator or "generator" in datagen:
            datagen["generator"] = generator
        else:
            datagen.pop("generator", None)
    datagen["sinks"] = copy.deepcopy(form.sinks)
    return ordered(datagen, DATAGEN_ORDER)


def preview_spec(spec: dict[str, Any], transformers: bool = True) -> dict[str, Any]:
    """What the readers and transformers steps preview: the pipeline alone (the records as
    read without `transformers`), written to the console in the first writer's format, so
    an unfinished writer does not stop it."""
    pipeline = spec.get("pipeline")
    pipeline = dict(pipeline) if isinstance(pipeline, dict) else {}
    if not transformers:
        pipeline.pop("transformers", None)
    writers = pipeline.get("writers")
    first = writers[0] if isinstance(writers, list) and writers else {}
    console: dict[str, Any] = {"type": "console"}
    if isinstance(first, dict) and isinstance(first.get("format"), dict):
        console["format"] = first["format"]
    pipeline["writers"] = [console]
    return {"name": "preview", "kind": "pipeline", "pipeline": pipeline}


def sink_text(sink: dict[str, Any]) -> str:
    if sink.get("preset"):
        return f"preset {sink['preset']}"
    return f"{sink.get('type')} {json.dumps(sink.get('options', {}))}"


def summary(
    spec: dict[str, Any], schedule_words: str, next_fires: list[str], formats: dict[str, str]
) -> str:
    """The last step's summary: the job in a few lines, then its spec as JSON."""
    lines = [
        f"{spec.get('workspace', 'default')}/{spec.get('name') or '(no name)'}"
        f"  ·  {spec.get('kind', 'datagen')}",
        f"Schedule: {schedule_words or 'manual'}",
    ]
    if next_fires:
        lines.append(f"Next fire: {next_fires[0]}")
    datagen = spec.get("datagen")
    if isinstance(datagen, dict):
        lines.append(f"Datasets: {', '.join(datagen.get('datasets', [])) or '—'}")
        generator = datagen.get("generator") or {}
        lines.append(f"Format: {formats.get(generator.get('format', 'jsonl'), '?')}")
        for i, sink in enumerate(datagen.get("sinks", [])):
            lines.append(f"Sink {i + 1}: {sink_text(sink)}")
    pipeline = spec.get("pipeline")
    if isinstance(pipeline, dict):
        for part, title in (("readers", "Read"), ("transformers", "Then"), ("writers", "Write")):
            items = pipeline.get(part) or []
            words = [
                str(i.get("type") or f"preset {i.get('preset')}")
                for i in items
                if isinstance(i, dict)
            ]
            lines.append(f"{title}: {' → '.join(words) if words else '—'}")
    lines += ["", "The job spec (as `jobs export` prints it):", json.dumps(spec, indent=2)]
    return "\n".join(lines)

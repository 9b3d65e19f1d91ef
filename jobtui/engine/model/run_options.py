"""What a run may be given when it is queued: typed parameters and run options, checked
against the job's spec (every mistake named by its path)."""

from __future__ import annotations

import copy
import json
import os
import re
from typing import TYPE_CHECKING, Any

from jobtui.engine.model.errors import FieldError, SpecError

if TYPE_CHECKING:  # the spec models (pydantic) load only where a run's options are checked
    from jobtui.engine.model.spec import JobSpec

RUN_OPTION_KEYS = {
    "args": "command arguments that replace the configured ones",
    "env": "environment variables added to (or replacing) the configured ones",
    "max_records": "records per dataset",
    "seed": "random seed",
    "locale": "Faker locale",
    "threads": "generation threads",
    "randomize_records": "a random number of records up to max_records",
    "to_file": "write to this one file instead of the job's sinks",
    "replay_of": "replay the stored output of this run",
    "set": "override parts of the pipeline for this run: {path: value}",
    "since": "read from this time (epoch seconds; a pipeline's --since)",
}


def _to_file_problem(path: str) -> str | None:
    """Why a run could not write `path`, found before it is queued (a typo in a directory
    would otherwise create that directory tree, or fail only once the run has started)."""
    if os.path.isdir(path):
        return f"{path} is a directory (give a file name)"
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        return f"directory {parent} does not exist"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable"
    return None


def check_parameters(spec: JobSpec, given: dict[str, Any] | None) -> dict[str, Any]:
    from jobtui.engine.model.policies import coerce_parameter

    given = dict(given or {})
    errors: list[FieldError] = []
    for name in given:
        if name not in spec.parameters:
            known = ", ".join(spec.parameters) or "none"
            errors.append(FieldError(f"parameters.{name}", f"unknown parameter (known: {known})"))
    out: dict[str, Any] = {}
    for name, param in spec.parameters.items():
        try:
            if name in given:
                out[name] = coerce_parameter(param, given[name])
            elif param.default is not None:
                out[name] = coerce_parameter(param, param.default)
            elif param.required:
                errors.append(FieldError(f"parameters.{name}", "is required"))
        except ValueError as exc:
            errors.append(FieldError(f"parameters.{name}", str(exc)))
    if errors:
        raise SpecError(errors)
    return out


def check_options(spec: JobSpec, options: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(options or {})
    if spec.kind == "pipeline":
        # `--set readers[0].options.query=…`: a path into the pipeline, gathered under "set"
        # (text that reads as JSON is taken as JSON: 10, true, null, [..]).
        paths = {k: out.pop(k) for k in list(out) if k not in RUN_OPTION_KEYS}
        if paths:
            merged = dict(out.get("set") or {}) if isinstance(out.get("set"), dict) else {}
            merged.update({k: _json_or_text(v) for k, v in paths.items()})
            out["set"] = merged
    errors: list[FieldError] = []
    command_only = {"args", "env"}
    datagen_only = {"max_records", "seed", "locale", "threads", "randomize_records", "to_file"}
    pipeline_only = {"set", "since"}
    for key in out:
        if key not in RUN_OPTION_KEYS:
            # Name only what this job takes (replay_of is set by replay_run, not typed).
            usable = {"command": command_only, "pipeline": pipeline_only}.get(
                spec.kind, datagen_only
            )
            known = ", ".join(k for k in RUN_OPTION_KEYS if k in usable)
            errors.append(FieldError(f"options.{key}", f"unknown (use: {known})"))
    for key in out:
        if key in command_only and spec.kind != "command":
            errors.append(FieldError(f"options.{key}", "only for a command job"))
        if key in datagen_only and spec.kind != "datagen":
            errors.append(FieldError(f"options.{key}", "only for a datagen job"))
        if key in pipeline_only and spec.kind != "pipeline":
            errors.append(FieldError(f"options.{key}", "only for a pipeline job"))
    if "set" in out and spec.kind == "pipeline" and spec.pipeline is not None:
        errors += _check_overrides(spec, out["set"])
    if "since" in out and spec.kind == "pipeline":
        try:
            out["since"] = float(out["since"])
        except (TypeError, ValueError):
            errors.append(FieldError("options.since", "must be a time in epoch seconds"))
    if "args" in out and not (
        isinstance(out["args"], list) and all(isinstance(a, str) for a in out["args"])
    ):
        errors.append(FieldError("options.args", "must be a list of strings"))
    if "env" in out and not (
        isinstance(out["env"], dict) and all(isinstance(v, str) for v in out["env"].values())
    ):
        errors.append(FieldError("options.env", "must map names to strings"))
    for key, low, high in (("max_records", 1, 10_000_000_000), ("threads", 1, 64)):
        if key in out:
            try:
                value = int(out[key])
                if not low <= value <= high or isinstance(out[key], bool):
                    raise ValueError
                out[key] = value
            except (TypeError, ValueError):
                errors.append(FieldError(f"options.{key}", f"must be from {low} to {high}"))
    if "seed" in out:
        try:
            out["seed"] = None if out["seed"] is None else int(out["seed"])
        except (TypeError, ValueError):
            errors.append(FieldError("options.seed", "must be an integer"))
    if "randomize_records" in out:
        out["randomize_records"] = str(out["randomize_records"]).lower() in (
            "true",
            "1",
            "yes",
            "on",
        )
    if "locale" in out:
        from faker.config import AVAILABLE_LOCALES

        if out["locale"] not in AVAILABLE_LOCALES:
            errors.append(FieldError("options.locale", f"unknown locale {out['locale']!r}"))
    if "to_file" in out:
        out["to_file"] = os.path.abspath(os.path.expanduser(str(out["to_file"])))
        problem = _to_file_problem(out["to_file"])
        if problem:
            errors.append(FieldError("options.to_file", problem))
    if errors:
        raise SpecError(errors)
    return out


def _json_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


_STEP = re.compile(r"\.?([A-Za-z_][\w-]*)|\[(\d+)\]")


def override_path(path: str) -> list[str | int]:
    """`readers[0].options.query` → ["readers", 0, "options", "query"]; ValueError."""
    steps: list[str | int] = []
    pos = 0
    text = path.strip()
    if text.startswith("pipeline."):
        text = text[len("pipeline.") :]
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None or (pos == 0 and text.startswith(".")):
            raise ValueError(f"{path!r} is not a path such as readers[0].options.query")
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not steps:
        raise ValueError("an empty path")
    return steps


def apply_overrides(pipeline: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of the pipeline section with each `path: value` set; ValueError naming the
    path that does not lead anywhere."""
    out = copy.deepcopy(pipeline)
    for path, value in overrides.items():
        steps = override_path(path)
        node: Any = out
        for i, step in enumerate(steps):
            last = i == len(steps) - 1
            if isinstance(step, int):
                if not isinstance(node, list) or step >= len(node):
                    raise ValueError(f"{path}: there is no item {step} there")
            elif not isinstance(node, dict):
                raise ValueError(f"{path}: {step!r} is not inside an object")
            if last:
                node[step] = value
            else:
                if isinstance(node, dict) and step not in node:
                    node[step] = {}
                node = node[step]
    return out


def _check_overrides(spec: JobSpec, overrides: Any) -> list[FieldError]:
    from jobtui.engine.model.spec import check_pipeline

    if not isinstance(overrides, dict) or not all(isinstance(k, str) for k in overrides):
        return [FieldError("options.set", "must map paths to values")]
    assert spec.pipeline is not None
    base = spec.pipeline.model_dump(exclude_defaults=True)
    try:
        changed = apply_overrides(base, overrides)
    except ValueError as exc:
        return [FieldError("options.set", str(exc))]
    return [
        FieldError(f"options.set.{e.path.removeprefix('pipeline.')}", e.message)
        for e in check_pipeline(changed, None)
    ]

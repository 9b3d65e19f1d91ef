"""Validation of job specs (DESIGN.md §2): every mistake at once, each with its field path.

`validate_spec` checks a raw JSON document and returns the typed `JobSpec` or the list of
`FieldError`s. The document stored is the user's own (only what they wrote, checked), so
`jobs export` gives back what `jobs import` read.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from jobtui.engine.model.base import (
    NAME_PATTERN,
    Strict,
)
from jobtui.engine.model.errors import FieldError, SpecError
from jobtui.engine.model.formats import FORMAT_OPTIONS
from jobtui.engine.model.pipeline import (
    READER_OPTIONS,
    TRANSFORMER_OPTIONS,
    FormatSpec,
    PipelineSpec,
    chain_errors,
)
from jobtui.engine.model.policies import (
    Alerts,
    Parameter,
    Policies,
)
from jobtui.engine.model.schedules import (
    SCHEDULE_TYPES,
    Schedule,
)
from jobtui.engine.model.shape import (
    brief,
    field_path,
    shape_problem,
    shorten_quoted,
)
from jobtui.engine.model.sinks import SINK_OPTIONS


class GeneratorSpec(Strict):
    format: Literal[
        "jsonl", "json", "csv", "sql", "xml", "parquet", "avro", "excel", "template"
    ] = "jsonl"
    options: dict[str, Any] = Field(default_factory=dict)


class ReplaySpec(Strict):
    enabled: bool = False
    keep: int = Field(3, ge=1, le=1000)


class SinkSpec(Strict):
    """Inline (`type` + `options`) or by preset name (`preset`)."""

    # One of model.sinks.SINK_OPTIONS (checked below, so a new sink type needs no edit here).
    type: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    preset: str | None = None
    name: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        # Before pydantic's own check, so a list or an object gets this message too.
        if value is not None and (not isinstance(value, str) or value not in SINK_OPTIONS):
            names = [repr(name) for name in SINK_OPTIONS]
            raise ValueError(f"must be one of {', '.join(names[:-1])} or {names[-1]}")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> SinkSpec:
        if (self.type is None) == (self.preset is None):
            raise ValueError("give either type (with options) or preset")
        if self.preset is not None and self.options:
            raise ValueError("options: a preset sink takes its options from the preset")
        return self


class WriterSpec(SinkSpec):
    """A pipeline's writer: a sink with, optionally, its own format."""

    format: FormatSpec | None = None


class DatagenSpec(Strict):
    datasets: list[str] = Field(..., min_length=1)
    max_records: int = Field(1000, ge=1, le=10_000_000_000)
    randomize_records: bool = False
    flush_each_record: bool = False
    use_buffer: bool = True
    buffer_size: int = Field(1000, ge=1, le=1_000_000)
    threads: int = Field(1, ge=1, le=64)
    seed: int | None = None
    locale: str = "en_US"
    replay: ReplaySpec = Field(default_factory=ReplaySpec)
    generator: GeneratorSpec = Field(default_factory=GeneratorSpec)
    sinks: list[SinkSpec] = Field(..., min_length=1)

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        from faker.config import AVAILABLE_LOCALES

        if value not in AVAILABLE_LOCALES:
            raise ValueError(f"unknown locale {brief(value)} (for example en_US, fr_FR, de_DE)")
        return value

    @field_validator("datasets")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a dataset twice")
        return value


class CommandSpec(Strict):
    argv: list[str] = Field(..., min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    shell: bool = False
    # `ordered`: stdout and stderr told apart and stored in the order written (the write
    # fence, run/fence.py); `separate`: told apart, in the order read (no fence: no cost per
    # write, and setuid programs such as sudo work when jobtui does not run as root);
    # `merged`: one pipe for both, in the order written (all as stdout).
    output: Literal["ordered", "separate", "merged"] = "ordered"
    # The command sees a minimal environment (see run/command.py: BASE_ENV) plus `env`;
    # `true` passes the whole environment of whoever starts the run, a list passes those
    # variables only.
    inherit_env: bool | list[str] = False

    @field_validator("argv")
    @classmethod
    def _program(cls, value: list[str]) -> list[str]:
        if not value[0].strip():
            raise ValueError("the program (first item) must not be empty")
        return value

    @field_validator("env")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                raise ValueError(f"{brief(key)} is not an environment variable name")
        return value

    @field_validator("inherit_env", mode="before")
    @classmethod
    def _inherit_text(cls, value: Any) -> Any:
        """As typed in a form: `true`/`false`, or names separated by commas or spaces."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.lower() in ("true", "yes", "all", "*"):
            return True
        if text.lower() in ("false", "no", "none", ""):
            return False
        return [name for name in re.split(r"[\s,;'\"\[\]]+", text) if name]

    @field_validator("inherit_env")
    @classmethod
    def _inherited(cls, value: bool | list[str]) -> bool | list[str]:
        if isinstance(value, list):
            for key in value:
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                    raise ValueError(f"{brief(key)} is not an environment variable name")
        return value


class JobSpec(Strict):
    name: str
    description: str = ""
    workspace: str = "default"
    kind: Literal["datagen", "command", "pipeline"] = "datagen"
    active: bool = True
    queue: str = "local"
    tags: list[str] = Field(default_factory=list)
    schedule: Schedule | None = Field(None, discriminator="type")
    policies: Policies = Field(default_factory=Policies)
    alerts: Alerts = Field(default_factory=Alerts)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    datagen: DatagenSpec | None = None
    command: CommandSpec | None = None
    pipeline: PipelineSpec | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        if not NAME_PATTERN.match(value):
            raise ValueError(
                "use letters, digits, '.', '_' and '-' (up to 100, starting with a letter or digit)"
            )
        return value

    @field_validator("workspace")
    @classmethod
    def _workspace(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError("use letters, digits, '.', '_' and '-'")
        return value

    @field_validator("queue")
    @classmethod
    def _queue(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", value):
            raise ValueError("use letters, digits, '.', '_' and '-'")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not re.match(r"^[\w.:-]{1,40}$", tag):
                raise ValueError(
                    f"tag {brief(tag)}: use up to 40 letters, digits, '.', ':', '_', '-'"
                )
        return value


# -- validation ----------------------------------------------------------------
def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"must be at least {bound}" if kind == "greater_than_equal" else f"must be > {bound}"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return f"must be at most {bound}" if kind == "less_than_equal" else f"must be < {bound}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s)"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return "has characters that are not allowed"
    if kind in ("value_error", "assertion_error"):
        msg = str(error["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
        return msg
    msg = str(error["msg"])
    return msg[:1].lower() + msg[1:]


def _is_tag(part: int | str) -> bool:
    """A part pydantic adds to a location (a union's branch, a validator's name)."""
    return isinstance(part, str) and (
        "[" in part or part in ("str", "int", "float", "bool", "OverlapPolicy", "constrained-str")
    )


def _user_loc(loc: tuple[int | str, ...], data: Any) -> tuple[int | str, ...]:
    """A location with the parts pydantic adds taken out: a part is the user's when the
    document has it (a key named "str" is a key), or when it is the field found missing."""
    out: list[int | str] = []
    node = data
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]  # type: ignore[index]
            out.append(part)
        elif i == len(loc) - 1 and not _is_tag(part):
            out.append(part)
    return tuple(out)


_NO_DATA = object()


def errors_of(exc: ValidationError, prefix: str = "", data: Any = _NO_DATA) -> list[FieldError]:
    """Pydantic's errors as FieldErrors with dotted paths, under `prefix`. With the `data`
    that was validated, the paths hold exactly the user's keys."""
    out: list[FieldError] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        # Unions add the branch's name to the location; it means nothing to a user.
        loc = tuple(p for p in loc if not _is_tag(p)) if data is _NO_DATA else _user_loc(loc, data)
        message = shorten_quoted(_message(error))
        # Model validators write "field: reason" to point at one field of the model.
        match = re.match(r"^([a-z_]+): (.*)$", message)
        if match and error["type"] == "value_error":
            loc = (*loc, match.group(1))
            message = match.group(2)
        path = field_path(loc)
        if prefix:
            path = f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"
        out.append(FieldError(path, message))
    return out


def _check(model: type[BaseModel], data: Any, prefix: str) -> tuple[Any, list[FieldError]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, errors_of(exc, prefix, data)


def validate_spec(
    data: Any,
    *,
    known_datasets: set[str] | None = None,
    known_presets: set[str] | None = None,
) -> tuple[JobSpec | None, list[FieldError]]:
    """Check a job spec; return the typed spec, or None and every mistake found."""
    if not isinstance(data, dict):
        return None, [FieldError("", "a job spec must be a JSON object")]
    problem = shape_problem(data)
    if problem is not None:
        return None, [problem]
    errors: list[FieldError] = []
    # Sections whose shape depends on a value (schedule type, generator format, sink type)
    # are checked against the right model one by one so every error keeps a clean path.
    top = dict(data)
    schedule = top.pop("schedule", None)
    datagen = top.pop("datagen", None)
    pipeline = top.pop("pipeline", None)
    _, found = _check(JobSpec, {**top, "name": top.get("name", "")} if "name" in top else top, "")
    errors += found

    if schedule is not None:
        if not isinstance(schedule, dict):
            errors.append(FieldError("schedule", "must be an object or null"))
        else:
            kind = schedule.get("type")
            model = SCHEDULE_TYPES.get(kind) if isinstance(kind, str) else None
            if model is None:
                errors.append(
                    FieldError("schedule.type", f"must be one of {', '.join(SCHEDULE_TYPES)}")
                )
            else:
                errors += _check(model, schedule, "schedule")[1]

    kind = data.get("kind", "datagen")
    if kind == "datagen":
        if datagen is None:
            errors.append(FieldError("datagen", "is required for a datagen job"))
        elif not isinstance(datagen, dict):
            errors.append(FieldError("datagen", "must be an object"))
        else:
            errors += _check_datagen(datagen, known_datasets, known_presets)
        if data.get("command") is not None:
            # kind defaults to datagen: a command spec that left it out gets told how.
            hint = "" if "kind" in data else ' (add "kind": "command")'
            errors.append(FieldError("command", f"only a command job has a command{hint}"))
    elif kind == "command":
        if data.get("command") is None:
            errors.append(FieldError("command", "is required for a command job"))
        if datagen is not None:
            errors.append(FieldError("datagen", "only a datagen job has datagen"))
    elif kind == "pipeline":
        if pipeline is None:
            errors.append(FieldError("pipeline", "is required for a pipeline job"))
        elif not isinstance(pipeline, dict):
            errors.append(FieldError("pipeline", "must be an object"))
        else:
            errors += check_pipeline(pipeline, known_presets)
        for other in ("datagen", "command"):
            if data.get(other) is not None:
                errors.append(FieldError(other, f"only a {other} job has {other}"))
    if kind != "pipeline" and pipeline is not None:
        hint = "" if "kind" in data else ' (add "kind": "pipeline")'
        errors.append(FieldError("pipeline", f"only a pipeline job has pipeline{hint}"))

    if errors:
        return None, _dedupe(errors)
    return JobSpec.model_validate(data), []


def check_pipeline(
    pipeline: dict[str, Any], known_presets: set[str] | None, prefix: str = "pipeline"
) -> list[FieldError]:
    """A pipeline section: its shape, then each reader's, transformer's and writer's options
    against its own schema, so every error keeps the path of the user's key."""
    errors: list[FieldError] = []
    _, found = _check(PipelineSpec, pipeline, prefix)
    errors += found
    for part, schemas in (("readers", READER_OPTIONS), ("transformers", TRANSFORMER_OPTIONS)):
        items = pipeline.get(part)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            kind, options = item.get("type"), item.get("options", {})
            if isinstance(kind, str) and kind in schemas and isinstance(options, dict):
                errors += _check(schemas[kind], options, f"{prefix}.{part}[{i}].options")[1]
                fmt, fmt_options = options.get("format"), options.get("format_options")
                if fmt in FORMAT_OPTIONS and isinstance(fmt_options, dict):
                    path = f"{prefix}.{part}[{i}].options.format_options"
                    errors += _check(FORMAT_OPTIONS[fmt], fmt_options, path)[1]
    readers = pipeline.get("readers")
    if isinstance(readers, list):
        for i, reason in chain_errors(readers):
            errors.append(FieldError(f"{prefix}.readers[{i}].type", reason))
    writers = pipeline.get("writers")
    if isinstance(writers, list):
        errors += _check_sinks(writers, f"{prefix}.writers", known_presets, WriterSpec)
        for i, writer in enumerate(writers):
            fmt = writer.get("format") if isinstance(writer, dict) else None
            if isinstance(fmt, dict):
                errors += _format_options(fmt, f"{prefix}.writers[{i}].format.options")
    fmt = pipeline.get("format")
    if isinstance(fmt, dict):
        errors += _format_options(fmt, f"{prefix}.format.options")
    return errors


def _format_options(generator: dict[str, Any], path: str) -> list[FieldError]:
    fmt = generator.get("format", "jsonl")
    options = generator.get("options", {})
    if isinstance(fmt, str) and fmt in FORMAT_OPTIONS and isinstance(options, dict):
        return _check(FORMAT_OPTIONS[fmt], options, path)[1]
    return []


def _check_datagen(
    datagen: dict[str, Any], known_datasets: set[str] | None, known_presets: set[str] | None
) -> list[FieldError]:
    errors: list[FieldError] = []
    _, found = _check(DatagenSpec, datagen, "datagen")
    errors += found
    datasets = datagen.get("datasets")
    if known_datasets is not None and isinstance(datasets, list):
        for i, name in enumerate(datasets):
            if isinstance(name, str) and name not in known_datasets:
                errors.append(
                    FieldError(f"datagen.datasets[{i}]", f"no dataset named {brief(name)}")
                )
    generator = datagen.get("generator")
    if isinstance(generator, dict):
        fmt = generator.get("format", "jsonl")
        options = generator.get("options", {})
        # A format that is not a word is reported by DatagenSpec; it cannot pick options.
        if isinstance(fmt, str) and fmt in FORMAT_OPTIONS and isinstance(options, dict):
            errors += _check(FORMAT_OPTIONS[fmt], options, "datagen.generator.options")[1]
    sinks = datagen.get("sinks")
    if isinstance(sinks, list):
        errors += _check_sinks(sinks, "datagen.sinks", known_presets)
    return errors


def _check_sinks(
    sinks: list[Any],
    prefix: str,
    known_presets: set[str] | None,
    model: type[BaseModel] | None = None,
) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, sink in enumerate(sinks):
        if not isinstance(sink, dict):
            if model is not None:
                errors.append(FieldError(f"{prefix}[{i}]", "must be an object"))
            continue
        path = f"{prefix}[{i}]"
        if model is not None:
            errors += _check(model, sink, path)[1]
        sink_type = sink.get("type")
        options = sink.get("options", {})
        if isinstance(sink_type, str) and sink_type in SINK_OPTIONS and isinstance(options, dict):
            errors += _check(SINK_OPTIONS[sink_type], options, f"{path}.options")[1]
        preset = sink.get("preset")
        if known_presets is not None and isinstance(preset, str) and preset not in known_presets:
            errors.append(FieldError(f"{path}.preset", f"no sink preset named {brief(preset)}"))
    return errors


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    seen: set[tuple[str, str]] = set()
    out = []
    for error in errors:
        key = (error.path, error.message)
        if key not in seen:
            seen.add(key)
            out.append(error)
    return out


def check_spec(data: Any, **known: Any) -> JobSpec:
    """validate_spec, raising SpecError with every mistake."""
    spec, errors = validate_spec(data, **known)
    if errors or spec is None:
        raise SpecError(errors)
    return spec


def timezones() -> list[str]:
    return sorted(available_timezones())

"""Dataset specs: the JSON shape of a dataset and its validation.

A dataset is `{"name", "description", "fields": [...]}`; each field is
`{"name", "type", ...options}` plus the options every field takes:

- `nullable`: percent (0-100) of records where the value is null;
- `unique`: no two records of one run share the value (by construction, see generate.py);
- `locale`: the Faker locale of this field (default: the run's).

Field types: `faker` (a Faker provider with `args`), `sequence`, `choice`, `integer`,
`float`, `boolean`, `uuid`, `date_range`, `datetime_range`, `pattern`, `words` (words
drawn from a vocabulary), `constant`, `reference` (a field of another dataset of the same
run), `object` (nested fields) and `list` (of one field). Integers and floats may follow a
sample's spread (`quantiles`); a date may never precede another date field (`after`).
Errors name their path: `fields[2].weights: must have as many items as values`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jobtui.engine.model.errors import FieldError, SpecError

DATASET_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$"
MAX_DEPTH = 6


class FieldBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., pattern=FIELD_NAME)
    description: str = ""
    nullable: int | float = Field(0, ge=0, le=100, description="Percent of null values")
    unique: bool = Field(False, description="No two records share a value")
    locale: str | None = Field(None, description="Faker locale of this field")

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is not None:
            check_locale(value)
        return value


class FakerField(FieldBase):
    type: Literal["faker"]
    provider: str = Field(..., pattern=r"^[a-z_][a-z0-9_]*$")
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        from jobtui.engine.datagen.providers import provider_exists

        if not provider_exists(value):
            raise ValueError(f"no Faker provider named {value!r}")
        return value


class SequenceField(FieldBase):
    type: Literal["sequence"]
    start: int = 1
    step: int = 1

    @field_validator("step")
    @classmethod
    def _step(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be 0")
        return value


class ChoiceField(FieldBase):
    type: Literal["choice"]
    values: list[Any] = Field(..., min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> ChoiceField:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("weights: must have as many items as values")
            if any(w < 0 for w in self.weights):
                raise ValueError("weights: must not be negative")
            if sum(self.weights) <= 0:
                raise ValueError("weights: at least one must be above 0")
        if self.unique and len({repr(v) for v in self.values}) != len(self.values):
            raise ValueError("values: must be distinct when the field is unique")
        return self


def _check_quantiles(quantiles: list[float] | None, low: float, high: float) -> None:
    if quantiles is None:
        return
    if len(quantiles) < 2:
        raise ValueError("quantiles: needs at least 2 values (the lowest and the highest)")
    if any(b < a for a, b in itertools.pairwise(quantiles)):
        raise ValueError("quantiles: must be in ascending order")
    if quantiles[0] < low or quantiles[-1] > high:
        raise ValueError(f"quantiles: must lie between min ({low}) and max ({high})")


QUANTILES_HELP = (
    "Ascending cut points: values fall equally often between each two consecutive ones "
    "(a sample's spread); none: spread evenly from min to max"
)


class IntegerField(FieldBase):
    type: Literal["integer"]
    min: int = 0
    max: int = 1000
    quantiles: list[float] | None = Field(None, description=QUANTILES_HELP)

    @model_validator(mode="after")
    def _range(self) -> IntegerField:
        if self.max < self.min:
            raise ValueError("max: must be at least min")
        _check_quantiles(self.quantiles, self.min, self.max)
        return self


class FloatField(FieldBase):
    type: Literal["float"]
    min: float = 0.0
    max: float = 1000.0
    decimals: int = Field(2, ge=0, le=10)
    quantiles: list[float] | None = Field(None, description=QUANTILES_HELP)

    @model_validator(mode="after")
    def _range(self) -> FloatField:
        if self.max < self.min:
            raise ValueError("max: must be at least min")
        _check_quantiles(self.quantiles, self.min, self.max)
        return self


class BooleanField(FieldBase):
    type: Literal["boolean"]
    true_percent: float = Field(50, ge=0, le=100, description="Percent of true values")


class UuidField(FieldBase):
    type: Literal["uuid"]


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date such as 2024-01-31")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date such as 2024-01-31") from None


def _parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise ValueError("must be a date-time such as 2024-01-31T08:00:00")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        raise ValueError(f"{value!r} is not a date-time such as 2024-01-31T08:00:00") from None


GAPS_HELP = (
    "With `after`: ascending cut points of the time from that field to this one (days; "
    "seconds for date-times), each slice between two equally likely"
)


def _check_gaps(gaps: list[float] | None, after: str | None) -> None:
    if gaps is None:
        return
    if after is None:
        raise ValueError("gaps: only with `after`")
    if len(gaps) < 2:
        raise ValueError("gaps: needs at least 2 values (the shortest and the longest)")
    if gaps[0] < 0:
        raise ValueError("gaps: must not be negative")
    if any(b < a for a, b in itertools.pairwise(gaps)):
        raise ValueError("gaps: must be in ascending order")


class DateRangeField(FieldBase):
    type: Literal["date_range"]
    start: str = "2020-01-01"
    end: str = "2025-12-31"
    format: str | None = Field(None, description="strftime format (default ISO 8601)")
    after: str | None = Field(
        None, description="Another date field of this dataset that this one is never before"
    )
    gaps: list[float] | None = Field(None, description=GAPS_HELP)

    @field_validator("start", "end")
    @classmethod
    def _date(cls, value: Any) -> str:
        return _parse_date(value).isoformat()

    @model_validator(mode="after")
    def _order(self) -> DateRangeField:
        if _parse_date(self.end) < _parse_date(self.start):
            raise ValueError("end: must not be before start")
        _check_gaps(self.gaps, self.after)
        return self


class DatetimeRangeField(FieldBase):
    type: Literal["datetime_range"]
    start: str = "2020-01-01T00:00:00"
    end: str = "2025-12-31T23:59:59"
    format: str | None = Field(None, description="strftime format (default ISO 8601)")
    after: str | None = Field(
        None, description="Another date field of this dataset that this one is never before"
    )
    gaps: list[float] | None = Field(None, description=GAPS_HELP)

    @field_validator("start", "end")
    @classmethod
    def _datetime(cls, value: Any) -> str:
        return _parse_datetime(value).isoformat()

    @model_validator(mode="after")
    def _order(self) -> DatetimeRangeField:
        if _parse_datetime(self.end) < _parse_datetime(self.start):
            raise ValueError("end: must not be before start")
        _check_gaps(self.gaps, self.after)
        return self


class PatternField(FieldBase):
    type: Literal["pattern"]
    pattern: str = Field(
        ..., min_length=1, description="? a letter, # a digit, \\ escapes, others literal"
    )
    case: Literal["upper", "lower"] = "upper"
    alternatives: list[str] | None = Field(
        None, description="Other patterns; each value follows one of them or `pattern`"
    )
    weights: list[float] | None = Field(
        None, description="How often each pattern is used: `pattern` first, then alternatives"
    )

    @field_validator("pattern")
    @classmethod
    def _escapes(cls, value: str) -> str:
        _check_escapes(value)
        return value

    @model_validator(mode="after")
    def _alternatives(self) -> PatternField:
        for alternative in self.alternatives or []:
            if not alternative:
                raise ValueError("alternatives: a pattern must not be empty")
            try:
                _check_escapes(alternative)
            except ValueError as exc:
                raise ValueError(f"alternatives: {alternative!r} {exc}") from None
        if self.weights is not None:
            _check_weights(self.weights, 1 + len(self.alternatives or []), "patterns")
        return self


def _check_escapes(value: str) -> None:
    if re.search(r"(?<!\\)(\\\\)*\\$", value):
        raise ValueError("ends with a lone backslash")


def _check_weights(weights: list[float], count: int, what: str) -> None:
    if len(weights) != count:
        raise ValueError(f"weights: must have as many items as {what} ({count})")
    if any(w < 0 for w in weights):
        raise ValueError("weights: must not be negative")
    if sum(weights) <= 0:
        raise ValueError("weights: at least one must be above 0")


class WordsField(FieldBase):
    type: Literal["words"]
    words: list[str] = Field(..., min_length=1, description="The vocabulary words are drawn from")
    weights: list[float] | None = Field(None, description="How often each word is drawn")
    min_words: int = Field(1, ge=1, le=100)
    max_words: int = Field(3, ge=1, le=100)
    count_weights: list[float] | None = Field(
        None, description="How often each word count from min_words to max_words is used"
    )

    @model_validator(mode="after")
    def _counts(self) -> WordsField:
        if self.max_words < self.min_words:
            raise ValueError("max_words: must be at least min_words")
        if self.weights is not None:
            _check_weights(self.weights, len(self.words), "words")
        if self.count_weights is not None:
            span = self.max_words - self.min_words + 1
            try:
                _check_weights(self.count_weights, span, "word counts")
            except ValueError as exc:
                raise ValueError(f"count_{exc}") from None
        return self


class ConstantField(FieldBase):
    type: Literal["constant"]
    value: Any = None


class ReferenceField(FieldBase):
    type: Literal["reference"]
    dataset: str = Field(..., pattern=DATASET_NAME)
    field: str = Field(..., pattern=FIELD_NAME)


class ObjectField(FieldBase):
    type: Literal["object"]
    fields: list[AnyField] = Field(..., min_length=1)

    @field_validator("fields")
    @classmethod
    def _names(cls, value: list[Any]) -> list[Any]:
        _check_names(value)
        return value


class ListField(FieldBase):
    type: Literal["list"]
    item: AnyItem
    min_items: int = Field(0, ge=0, le=1000)
    max_items: int = Field(5, ge=0, le=1000)

    @model_validator(mode="after")
    def _range(self) -> ListField:
        if self.max_items < self.min_items:
            raise ValueError("max_items: must be at least min_items")
        return self


FIELD_MODELS: dict[str, type[FieldBase]] = {
    "faker": FakerField,
    "sequence": SequenceField,
    "choice": ChoiceField,
    "integer": IntegerField,
    "float": FloatField,
    "boolean": BooleanField,
    "uuid": UuidField,
    "date_range": DateRangeField,
    "datetime_range": DatetimeRangeField,
    "pattern": PatternField,
    "words": WordsField,
    "constant": ConstantField,
    "reference": ReferenceField,
    "object": ObjectField,
    "list": ListField,
}

# Kinds whose values can be made unique (others refuse `unique`).
UNIQUE_KINDS = {
    "faker",
    "sequence",
    "choice",
    "integer",
    "float",
    "uuid",
    "date_range",
    "datetime_range",
    "pattern",
    "reference",
}

AnyField = Annotated[
    FakerField
    | SequenceField
    | ChoiceField
    | IntegerField
    | FloatField
    | BooleanField
    | UuidField
    | DateRangeField
    | DatetimeRangeField
    | PatternField
    | WordsField
    | ConstantField
    | ReferenceField
    | ObjectField
    | ListField,
    Field(discriminator="type"),
]


# A list's item is a field whose name is optional.
AnyItem = dict[str, Any]

ObjectField.model_rebuild()
ListField.model_rebuild()


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., pattern=DATASET_NAME)
    description: str = ""
    workspace: str | None = None
    fields: list[dict[str, Any]] = Field(..., min_length=1)


def _check_names(fields: list[Any]) -> None:
    seen: set[str] = set()
    for i, f in enumerate(fields):
        name = getattr(f, "name", None)
        if name in seen:
            raise ValueError(f"fields[{i}].name: {name!r} is used twice")
        if name is not None:
            seen.add(name)


_LOCALES: set[str] | None = None


def check_locale(value: str) -> None:
    global _LOCALES
    if _LOCALES is None:
        from faker.config import AVAILABLE_LOCALES

        _LOCALES = set(AVAILABLE_LOCALES)
    if value not in _LOCALES:
        raise ValueError(f"unknown locale {value!r} (for example en_US, fr_FR, de_DE)")


def _with_prefix(errors: list[FieldError], prefix: str) -> list[FieldError]:
    out = []
    for e in errors:
        path = f"{prefix}.{e.path}" if e.path and not e.path.startswith("[") else prefix + e.path
        out.append(FieldError(path, e.message))
    return out


def check_field(data: Any, path: str, depth: int = 0, item: bool = False) -> list[FieldError]:
    """Every mistake of one field spec, with paths under `path`."""
    from jobtui.engine.model.spec import errors_of

    if not isinstance(data, dict):
        return [FieldError(path, "must be an object with a name and a type")]
    kind = data.get("type")
    model = FIELD_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(FIELD_MODELS)
        if kind is None:
            return [FieldError(f"{path}.type", f"is required (one of {known})")]
        return [FieldError(f"{path}.type", f"unknown field type {kind!r} (one of {known})")]
    if depth > MAX_DEPTH:
        return [FieldError(path, f"nested more than {MAX_DEPTH} levels deep")]
    errors: list[FieldError] = []
    body = dict(data)
    if item:
        body.setdefault("name", "item")
    children: Any = []
    child_item: Any = None
    if kind == "object":
        children = body.get("fields") if isinstance(body.get("fields"), list) else []
        body["fields"] = [{"name": "x", "type": "constant"}] if children else body.get("fields")
    if kind == "list":
        child_item = body.get("item")
        body["item"] = {}
    try:
        model.model_validate(body)
    except ValidationError as exc:
        errors += _with_prefix(errors_of(exc), path)
    else:
        if kind == "faker":
            from jobtui.engine.datagen.providers import check_call

            why = check_call(
                body["provider"], dict(body.get("args") or {}), body.get("locale") or "en_US"
            )
            if why:
                errors.append(FieldError(f"{path}.args", why))
    if data.get("unique") and kind not in UNIQUE_KINDS:
        errors.append(FieldError(f"{path}.unique", f"a {kind} field cannot be unique"))
    if kind == "object":
        errors += check_fields(children, f"{path}.fields", depth + 1)
    if kind == "list":
        if child_item is None:
            errors.append(FieldError(f"{path}.item", "is required (a field spec)"))
        else:
            errors += check_field(child_item, f"{path}.item", depth + 1, item=True)
    return errors


def check_fields(fields: Any, path: str = "fields", depth: int = 0) -> list[FieldError]:
    if not isinstance(fields, list) or not fields:
        return [FieldError(path, "needs at least 1 field")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, f in enumerate(fields):
        errors += check_field(f, f"{path}[{i}]", depth)
        name = f.get("name") if isinstance(f, dict) else None
        if isinstance(name, str):
            if name in seen:
                errors.append(FieldError(f"{path}[{i}].name", f"{name!r} is used twice"))
            seen.add(name)
    return errors + _check_after(fields, path, depth)


def _check_after(fields: list[Any], path: str, depth: int) -> list[FieldError]:
    """`after` names another date field of the same type among the top-level fields, and
    the chain of `after`s has no loop."""
    errors: list[FieldError] = []
    by_name = {f.get("name"): f for f in fields if isinstance(f, dict)}
    for i, f in enumerate(fields):
        if not isinstance(f, dict) or f.get("after") is None:
            continue
        where, target = f"{path}[{i}].after", f.get("after")
        kind = f.get("type")
        if depth > 0:
            errors.append(FieldError(where, "only top-level date fields can be ordered"))
        elif f.get("unique"):
            errors.append(FieldError(where, "an ordered date field cannot be unique"))
        elif target == f.get("name"):
            errors.append(FieldError(where, "a field cannot come after itself"))
        elif target not in by_name:
            errors.append(FieldError(where, f"no field named {target!r} in this dataset"))
        elif by_name[target].get("type") != kind:
            errors.append(FieldError(where, f"{target!r} is not a {kind} field"))
        else:
            seen = {f.get("name")}
            step: Any = by_name[target]
            while isinstance(step, dict) and step.get("after") is not None:
                if step.get("name") in seen:
                    errors.append(FieldError(where, "the `after` fields form a loop"))
                    break
                seen.add(step.get("name"))
                step = by_name.get(step.get("after"))
    return errors


def references(fields: list[dict[str, Any]], path: str = "fields") -> list[tuple[str, str, str]]:
    """(path, dataset, field) of every reference field, nested ones included."""
    out: list[tuple[str, str, str]] = []
    for i, f in enumerate(fields):
        here = f"{path}[{i}]"
        if f.get("type") == "reference":
            out.append((here, f["dataset"], f["field"]))
        elif f.get("type") == "object":
            out += references(f["fields"], f"{here}.fields")
        elif f.get("type") == "list":
            out += references([{**f["item"], "name": "item"}], f"{here}.item")
    return out


def validate_dataset(
    data: Any, lookup: Callable[[str], Mapping[str, Any] | None] | None = None
) -> dict[str, Any]:
    """Check a dataset spec; return the cleaned spec or raise SpecError naming every mistake.

    `lookup(name)` gives another dataset's spec (or None) to check reference targets.
    """
    from jobtui.engine.model.spec import errors_of

    if not isinstance(data, dict):
        raise SpecError([FieldError("", "a dataset spec must be a JSON object")])
    errors: list[FieldError] = []
    try:
        DatasetSpec.model_validate(data)
    except ValidationError as exc:
        errors += [e for e in errors_of(exc) if not e.path.startswith("fields[")]
    if isinstance(data.get("fields"), list) and data["fields"]:
        errors += check_fields(data["fields"])
    elif "fields" in data:
        errors.append(FieldError("fields", "needs at least 1 field"))
    if not errors:
        errors += _check_references(data, lookup)
    if errors:
        raise SpecError(errors)
    clean: dict[str, Any] = {
        "name": data["name"],
        "description": data.get("description", ""),
        "fields": data["fields"],
    }
    if data.get("workspace"):
        clean["workspace"] = data["workspace"]
    return clean


def _check_references(
    data: dict[str, Any], lookup: Callable[[str], Mapping[str, Any] | None] | None
) -> list[FieldError]:
    errors: list[FieldError] = []
    for path, ds, field in references(data["fields"]):
        target = data if ds == data["name"] else (lookup(ds) if lookup else None)
        if target is None:
            if lookup is not None:
                errors.append(FieldError(f"{path}.dataset", f"no dataset named {ds!r}"))
            continue
        if ds == data["name"]:
            errors.append(FieldError(f"{path}.dataset", "a dataset cannot reference itself"))
            continue
        names = {f.get("name"): f for f in target.get("fields", [])}
        if field not in names:
            errors.append(FieldError(f"{path}.field", f"dataset {ds!r} has no field {field!r}"))
        elif names[field].get("type") in ("object", "list"):
            errors.append(
                FieldError(f"{path}.field", f"{ds}.{field} is a {names[field]['type']} field")
            )
        elif lookup is not None and _cycle(ds, data["name"], lookup, set()):
            errors.append(FieldError(f"{path}.dataset", "references form a cycle"))
    return errors


def _cycle(
    current: str, origin: str, lookup: Callable[[str], Mapping[str, Any] | None], seen: set[str]
) -> bool:
    if current in seen:
        return False
    seen.add(current)
    spec = lookup(current)
    if spec is None:
        return False
    for _, ds, _ in references(list(spec.get("fields", []))):
        if ds == origin or _cycle(ds, origin, lookup, seen):
            return True
    return False


def walk(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every field spec, nested ones included (depth first)."""
    out: list[dict[str, Any]] = []
    for f in fields:
        out.append(f)
        if f.get("type") == "object":
            out += walk(f["fields"])
        elif f.get("type") == "list":
            out += walk([f["item"]])
    return out

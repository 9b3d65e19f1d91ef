"""Forms generated from pydantic models: one row per field, errors inline by field path.

The engine owns the option models (job spec sections, generator formats, sink types); a
`ModelForm` renders any of them: `Literal` → Select, `bool` → Checkbox, `list[Literal]` →
SelectionList, numbers and text → Input (a TextArea for text marked `multiline` in its
`json_schema_extra`: templates), nested models → a titled group. The form never
checks a rule itself: it turns what the user typed into JSON values, the engine validates,
and `show_errors` puts each `FieldError` beside the field its path names.
"""

from __future__ import annotations

import json
import re
import shlex
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import (
    Checkbox,
    DataTable,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
    TextArea,
)

from jobtui.widgets.tables import TickBox, TickList

FieldKind = Literal["bool", "choice", "multichoice", "int", "float", "text", "list", "dict"]
SECRET_KEY = re.compile(r"password|passwd|secret|token|api[-_]?key|credential", re.I)


class Omit:
    """Marker: the field holds its default and was not in the initial document."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT = Omit()


def field_id(path: str) -> str:
    """A widget id for a field path (`datagen.sinks[0].options.path` → `f-datagen-sinks-0-…`)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", path).strip("-")


def humanize(key: str) -> str:
    return key.replace("_", " ")


@dataclass
class FieldSpec:
    """What the form needs to know about one field of a model."""

    key: str  # the key in the JSON document (the alias when there is one)
    path: str  # the full dotted path, as the engine names it in errors
    label: str
    kind: FieldKind
    default: Any = None
    required: bool = False
    optional: bool = False  # None is a valid value
    choices: tuple[Any, ...] = ()
    description: str = ""
    secret: bool = False
    words: bool = False  # a list typed as shell words (argv) rather than comma-separated
    multiline: bool = False  # text of several lines (a TextArea)
    children: list[FieldSpec] = field(default_factory=list)  # nested model

    @property
    def is_group(self) -> bool:
        return bool(self.children)


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Union, types.UnionType)


def _default_of(info: FieldInfo) -> tuple[Any, bool]:
    """(default value, required?)"""
    if info.default_factory is not None:
        return info.default_factory(), False  # type: ignore[call-arg]
    if info.default is PydanticUndefined:
        return None, True
    return info.default, False


def describe_model(
    model: type[BaseModel],
    prefix: str = "",
    *,
    exclude: Iterable[str] = (),
    only: Iterable[str] | None = None,
    words: Iterable[str] = (),
) -> list[FieldSpec]:
    """The fields of `model` the form can render, in declaration order."""
    skip = set(exclude)
    keep = list(only) if only is not None else None
    word_keys = set(words)
    out: list[FieldSpec] = []
    names = keep if keep is not None else list(model.model_fields)
    for name in names:
        if name in skip:
            continue
        info = model.model_fields[name]
        key = info.alias or name
        if key in skip:
            continue
        spec = _describe_field(key, info, prefix, key in word_keys)
        if spec is not None:
            out.append(spec)
    return out


def _describe_field(key: str, info: FieldInfo, prefix: str, words: bool) -> FieldSpec | None:
    path = f"{prefix}.{key}" if prefix else key
    default, required = _default_of(info)
    annotation = _unwrap(info.annotation)
    optional = False
    if _is_union(annotation):
        args: list[Any] = [_unwrap(a) for a in typing.get_args(annotation)]
        if type(None) in args:
            optional = True
            args = [a for a in args if a is not type(None)]
        literals = [a for a in args if typing.get_origin(a) is Literal]
        if literals:
            annotation = literals[0]
        elif len(args) == 1:
            annotation = args[0]
        elif set(args) <= {int, float}:
            annotation = float  # a number: typed as one
        else:
            annotation = str  # str | int | float: durations and the like, typed as text
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    base = dict(
        key=key,
        path=path,
        label=humanize(key),
        default=default,
        required=required,
        optional=optional,
        description=info.description or "",
        secret=bool(SECRET_KEY.search(key)),
    )
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        children = describe_model(annotation, path)
        if not children:
            return None
        return FieldSpec(kind="text", children=children, **base)  # type: ignore[arg-type]
    if annotation is bool:
        return FieldSpec(kind="bool", **base)  # type: ignore[arg-type]
    if origin is Literal:
        return FieldSpec(kind="choice", choices=typing.get_args(annotation), **base)  # type: ignore[arg-type]
    if annotation is int:
        return FieldSpec(kind="int", **base)  # type: ignore[arg-type]
    if annotation is float:
        return FieldSpec(kind="float", **base)  # type: ignore[arg-type]
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        item = _unwrap(item)
        if typing.get_origin(item) is Literal:
            return FieldSpec(kind="multichoice", choices=typing.get_args(item), **base)  # type: ignore[arg-type]
        return FieldSpec(kind="list", words=words, **base)  # type: ignore[arg-type]
    if origin is dict:
        pair = typing.get_args(annotation)
        if pair and pair[1] is str:
            return FieldSpec(kind="dict", **base)  # type: ignore[arg-type]
        return None  # free-form documents are not form material
    multiline = bool(extra.get("multiline"))
    return FieldSpec(kind="text", multiline=multiline, **base)  # type: ignore[arg-type]


# -- text <-> values --------------------------------------------------------------
def value_to_text(spec: FieldSpec, value: Any) -> str:
    if value is None:
        return ""
    if spec.kind == "list":
        items = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        return shlex.join(items) if spec.words else ", ".join(items)
    if spec.kind == "dict":
        if isinstance(value, Mapping):
            return ", ".join(f"{k}={v}" for k, v in value.items())
        return str(value)
    return str(value)


def text_to_value(spec: FieldSpec, text: str) -> Any:
    """The JSON value for what was typed. Anything that does not convert is passed on as
    typed, so the engine's validation names the mistake."""
    stripped = text.strip()
    if spec.kind in ("int", "float"):
        if not stripped:
            return None if spec.optional or not spec.required else ""
        try:
            if spec.kind == "int":
                return int(stripped)
            number = float(stripped)
            return int(number) if number.is_integer() and "." not in stripped else number
        except ValueError:
            return stripped
    if spec.kind == "list":
        if spec.words:
            try:
                return shlex.split(text)
            except ValueError:
                return text.split()
        return [part.strip() for part in text.split(",") if part.strip()]
    if spec.kind == "dict":
        out: dict[str, str] = {}
        for part in text.split(","):
            if not part.strip():
                continue
            name, _, item = part.partition("=")
            out[name.strip()] = item.strip()
        return out
    if not stripped and spec.optional:
        return None
    return text


# -- widgets ------------------------------------------------------------------------
class FieldRow(Vertical):
    """One field: label, control, hint and an inline error, addressed by its path."""

    DEFAULT_CLASSES = "field-row"

    def __init__(self, path: str, label: str, control: Widget, hint: str = "") -> None:
        super().__init__(id=field_id(path) + "-row")
        self.path = path
        self.label = label
        self.control = control
        self.hint = hint
        self._error = ""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-line"):
            yield Label(self.label, classes="field-label")
            yield self.control
        if self.hint:
            yield Static(self.hint, classes="field-hint", markup=False)
        yield Static("", classes="field-error", markup=False)

    def set_error(self, message: str | None) -> None:
        if (message or "") == self._error:
            return
        self._error = message or ""
        error = self.query_one(".field-error", Static)
        error.update(f"✖ {message}" if message else "")
        self.set_class(bool(message), "-invalid")

    @property
    def error(self) -> str:
        return self._error


def make_control(spec: FieldSpec, value: Any, suggestions: list[str] | None = None) -> Widget:
    wid = field_id(spec.path)
    if spec.kind == "bool":
        return TickBox(spec.description, bool(value), id=wid, classes="field-control", compact=True)
    if spec.kind == "choice":
        options = [(str(c) if c not in ("\n", "\r\n") else repr(c), c) for c in spec.choices]
        return Select(
            options,
            value=value if value in spec.choices else Select.NULL,
            allow_blank=spec.optional or value not in spec.choices,
            id=wid,
            classes="field-control",
            compact=True,
        )
    if spec.kind == "multichoice":
        chosen = set(value or [])
        return TickList(
            *[(str(c), c, c in chosen) for c in spec.choices],
            id=wid,
            classes="field-control field-multichoice",
            compact=True,
        )
    if spec.multiline:
        area = TextArea(
            value_to_text(spec, value),
            id=wid,
            classes="field-control field-multiline",
            compact=True,
            soft_wrap=False,
        )
        area.styles.height = 5
        area.styles.width = "1fr"
        return area
    placeholder = ""
    if spec.kind == "dict":
        placeholder = "NAME=value, NAME2=value"
    elif spec.kind == "list":
        placeholder = "program arg …" if spec.words else "comma-separated"
    elif spec.key == "timezone" and spec.default is None:
        # A schedule without a zone uses the machine's; say which one it is.
        placeholder = f"(machine's: {machine_timezone()})"
    elif spec.optional and spec.default is None:
        placeholder = "(none)"
    return Input(
        value_to_text(spec, value),
        placeholder=placeholder,
        password=spec.secret,
        type="integer" if spec.kind == "int" else "text",
        suggester=SuggestFromList(suggestions, case_sensitive=False) if suggestions else None,
        id=wid,
        classes="field-control",
        compact=True,
        select_on_focus=False,
    )


def machine_timezone() -> str:
    """The IANA name of this machine's zone when it can be told, else its abbreviation."""
    import os
    from datetime import datetime

    tz = os.environ.get("TZ")
    if tz:
        return tz.lstrip(":")
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            return link.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return datetime.now().astimezone().tzname() or "local"


def read_control(spec: FieldSpec, control: Widget) -> Any:
    if isinstance(control, Checkbox):
        return control.value
    if isinstance(control, Select):
        return None if control.is_blank() else control.value
    if isinstance(control, SelectionList):
        chosen = set(control.selected)
        return [c for c in spec.choices if c in chosen]
    if isinstance(control, Input):
        return text_to_value(spec, control.value)
    if isinstance(control, TextArea):
        return text_to_value(spec, control.text)
    raise TypeError(f"no value for {control!r}")


class ModelForm(Vertical):
    """A form for the fields of a pydantic model, under a path prefix.

    `values` is the document the form starts from (its keys at this level). `value()`
    gives back the document: a field is left out when it holds its default and was not
    in `values`, so what the form writes is what the user chose — the same document a
    hand-written `jobs import` file would hold.
    """

    DEFAULT_CLASSES = "model-form"

    class Changed(Message):
        """Some value of the form changed."""

        def __init__(self, form: ModelForm, path: str) -> None:
            super().__init__()
            self.form = form
            self.path = path

        @property
        def control(self) -> ModelForm:
            return self.form

    def __init__(
        self,
        model: type[BaseModel],
        prefix: str = "",
        values: Mapping[str, Any] | None = None,
        *,
        exclude: Iterable[str] = (),
        only: Iterable[str] | None = None,
        words: Iterable[str] = (),
        suggestions: Mapping[str, list[str]] | None = None,
        labels: Mapping[str, str] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.model = model
        self.prefix = prefix
        self.initial: dict[str, Any] = dict(values or {})
        self.fields = describe_model(model, prefix, exclude=exclude, only=only, words=words)
        self.suggestions = dict(suggestions or {})
        self.labels = dict(labels or {})
        self._controls: dict[str, tuple[FieldSpec, Widget]] = {}

    # -- building --------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield from self._rows(self.fields, self.initial)

    def _rows(self, specs: list[FieldSpec], values: Mapping[str, Any]) -> Iterator[Widget]:
        for spec in specs:
            raw = values.get(spec.key, spec.default) if isinstance(values, Mapping) else None
            if spec.is_group:
                sub = raw if isinstance(raw, Mapping) else {}
                group = Vertical(*self._rows(spec.children, sub), classes="form-group")
                group.border_title = self.labels.get(spec.key, spec.label)
                yield group
                continue
            if spec.kind == "choice" and raw is None and not spec.optional and spec.choices:
                raw = spec.choices[0]
            control = make_control(spec, raw, self.suggestions.get(spec.key))
            self._controls[spec.path] = (spec, control)
            label = self.labels.get(spec.key, spec.label)
            if spec.required:
                label += " *"
            hint = "" if spec.kind == "bool" else spec.description
            yield FieldRow(spec.path, label, control, hint)

    # -- reading ---------------------------------------------------------------
    def control_for(self, path: str) -> Widget:
        return self._controls[path][1]

    def field_value(self, path: str) -> Any:
        spec, control = self._controls[path]
        return read_control(spec, control)

    def value(self) -> dict[str, Any]:
        return self._collect(self.fields, self.initial)

    def _collect(self, specs: list[FieldSpec], initial: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in specs:
            present = spec.key in initial
            if spec.is_group:
                sub_initial = initial.get(spec.key)
                sub = self._collect(
                    spec.children, sub_initial if isinstance(sub_initial, Mapping) else {}
                )
                # Keys of the group the form does not show are kept as they were.
                if isinstance(sub_initial, Mapping):
                    sub = {**{k: v for k, v in sub_initial.items() if k not in sub}, **sub}
                    for child in spec.children:
                        if child.key not in sub:
                            sub.pop(child.key, None)
                if sub or present:
                    out[spec.key] = sub
                continue
            value = self.field_value(spec.path)
            if not present and _same(value, spec.default):
                continue
            if not present and _shown_default(spec, value):
                continue
            if not present and value is None and spec.optional:
                continue
            if not present and spec.kind in ("list", "dict") and not value and not spec.required:
                continue
            out[spec.key] = value
        return out

    def paths(self) -> list[str]:
        return list(self._controls)

    # -- events ----------------------------------------------------------------
    def _changed(self, widget: Widget | None) -> None:
        for path, (_, control) in self._controls.items():
            if control is widget:
                self.post_message(self.Changed(self, path))
                return

    def on_input_changed(self, event: Input.Changed) -> None:
        self._changed(event.input)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._changed(event.checkbox)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._changed(event.select)

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged[Any]) -> None:
        self._changed(event.selection_list)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._changed(event.text_area)


def _shown_default(spec: FieldSpec, value: Any) -> bool:
    """A text box still showing a non-text default as text (`inherit_env`'s "False"): the
    default, not a value the user typed."""
    default = spec.default
    if default is None or isinstance(default, str) or not isinstance(value, str):
        return False
    return value == value_to_text(spec, default)


def _same(value: Any, default: Any) -> bool:
    if value == default and type(value) is type(default):
        return True
    return isinstance(value, int | float) and isinstance(default, int | float) and value == default


def show_errors(root: Widget, errors: Iterable[Any], scope: Iterable[str] = ()) -> list[Any]:
    """Put each error beside the FieldRow its path names (or the nearest enclosing field).

    Returns the errors no row took. `scope`: only rows whose path starts with one of these
    prefixes are cleared and filled (all rows when empty).
    """
    prefixes = tuple(scope)
    rows = [
        row
        for row in root.query(FieldRow)
        if not prefixes or any(_under(row.path, p) for p in prefixes)
    ]
    by_path = {row.path: row for row in rows}
    messages: dict[str, list[str]] = {}
    left: list[Any] = []
    for error in errors:
        path = str(error.path)
        if prefixes and not any(_under(path, p) for p in prefixes):
            continue
        target = _nearest(path, by_path)
        if target is None:
            left.append(error)
            continue
        suffix = path[len(target) :].lstrip(".")
        messages.setdefault(target, []).append(
            f"{suffix}: {error.message}" if suffix else str(error.message)
        )
    for path, row in by_path.items():
        row.set_error("; ".join(messages[path]) if path in messages else None)
    return left


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def _nearest(path: str, rows: Mapping[str, Any]) -> str | None:
    candidate = path
    while candidate:
        if candidate in rows:
            return candidate
        cut = max(candidate.rfind("."), candidate.rfind("["))
        if cut <= 0:
            return None
        candidate = candidate[:cut]
    return None


def sample_cell(value: Any, width: int) -> str:
    """A generated value as a table cell: ∅ for null, JSON for lists and objects."""
    if value is None:
        return "∅"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)[:width]
    return str(value)[:width]


def show_sample(table: DataTable[Any], rows: list[dict[str, Any]], width: int) -> None:
    """Sample records beside the form that made them: a column per field."""
    table.clear(columns=True)
    if rows:
        columns = list(rows[0])
        table.add_columns(*columns)
        for row in rows:
            table.add_row(*[sample_cell(row.get(c), width) for c in columns])

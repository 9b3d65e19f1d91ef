"""What the wizard's steps and its screen share: the messages workers post, small helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from jobtui.engine import FieldError
from jobtui.screens.wizard.collect import Section
from jobtui.widgets.forms import ModelForm


class Scroll(VerticalScroll, can_focus=False):
    """A scrolling column that is not a tab stop itself: focusing a field scrolls to it."""


def set_text(widget: Static, text: str) -> None:
    """Update a Static only when its text changes (an update costs a layout pass)."""
    if str(widget.content) != text:
        widget.update(text)


def show_outcome(widget: Static, ok: bool, text: str) -> None:
    """`✔ text` or `✖ text`, coloured."""
    widget.set_class(ok, "-ok")
    widget.set_class(not ok, "-failed")
    widget.update(("✔ " if ok else "✖ ") + text)


def section(form: ModelForm) -> Section:
    return Section(form.value(), tuple(spec.key for spec in form.fields))


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


# -- messages ----------------------------------------------------------------------------
@dataclass
class Edited(Message):
    """A step changed the job outside its forms' own `ModelForm.Changed`: validate again."""

    touched: str | None = None  # the field the user changed: its errors show from now on


@dataclass
class Loaded(Message):
    original: dict[str, Any]
    job_id: int | None
    qualified_name: str
    workspaces: list[str]
    datasets: list[DatasetInfo]
    presets: list[PresetInfo]
    error: str = ""
    no_jobs: bool = False  # a new job while there is none: offer the crontab import


@dataclass
class Validated(Message):
    errors: list[FieldError]
    advance_from: str | None = None
    then: str = ""  # "save", "output", "download" after a clean validation
    alerts_note: str = ""  # alert emails with no SMTP server set: they would not be sent


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

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DownloadProgress)  # only the latest count matters


@dataclass
class PresetsReloaded(Message):
    presets: list[PresetInfo]


@dataclass
class MissingDirectory(Message):
    """The download's directory does not exist: ask before creating it."""

    spec: dict[str, Any]
    error: str


@dataclass
class DownloadDone(Message):
    ok: bool
    text: str


@dataclass
class Saved(Message):
    qualified_name: str | None
    errors: list[FieldError]
    error: str = ""
    job_id: int | None = None

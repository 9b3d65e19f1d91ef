"""The last step: a summary and the spec, save (with a release note when editing), the
output shown beside, and a download: the definition on screen run now into one file,
with nothing saved."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Label, ProgressBar, Static

from jobtui.screens.wizard.base import Scroll, set_text, show_outcome
from jobtui.widgets.forms import FieldRow, field_id


class LastStep(Horizontal):
    note_box: Input | None = None  # built with the step, when editing

    def compose(self) -> ComposeResult:
        yield Scroll(id="last-forms")
        with Vertical(id="output-panel", classes="side-panel"):
            yield Label("Output", classes="panel-title")
            with Scroll(id="output-scroll"):
                yield Static("", id="output", markup=False)

    async def build(self, with_note: bool) -> None:
        widgets: list[Widget] = []
        if with_note:
            self.note_box = Input(placeholder="what changed", id=field_id("note"), compact=True)
            widgets.append(
                FieldRow("note", "release note", self.note_box, "Saved as the new version's note")
            )
        self.download_box = Input(
            placeholder="file path, e.g. ~/orders.csv", id=field_id("download"), compact=True
        )
        self.download_row = FieldRow(
            "download",
            "download to",
            self.download_box,
            "Runs this definition now into the file; saves nothing (enter or the button)",
        )
        self.progress = ProgressBar(id="download-progress", show_eta=False, classes="-idle")
        self.result = Static("", id="download-result", markup=False)
        self.summary = Static("", id="summary", markup=False)
        widgets += [
            Horizontal(
                Button("Save and schedule (ctrl+s)", id="save", variant="success", compact=True),
                Button("Show output (ctrl+o)", id="show-output", compact=True),
                id="last-actions",
            ),
            self.download_row,
            Horizontal(
                Button("Download file", id="download-button", compact=True),
                self.progress,
                id="download-bar",
            ),
            self.result,
            self.summary,
        ]
        await self.query_one("#last-forms", Scroll).mount_all(widgets)

    @property
    def note(self) -> str:
        return self.note_box.value.strip() if self.note_box is not None else ""

    def show_kind(self, kind: str, scheduled: bool) -> None:
        """Save says whether it schedules; output and download only for records."""
        for button in self.query("#save").results(Button):
            label = "Save and schedule (ctrl+s)" if scheduled else "Save (ctrl+s)"
            if str(button.label) != label:
                button.label = label
        for widget in self.query("#show-output, #download-bar, #download-result"):
            widget.display = kind == "datagen"
        for row in self.query(f"#{field_id('download')}-row"):
            row.display = kind == "datagen"
        for panel in self.query("#output-panel"):
            panel.display = kind == "datagen"

    def show_summary(self, text: str) -> None:
        set_text(self.summary, text)

    def show_output(self, text: str) -> None:
        set_text(self.query_one("#output", Static), text)

    def download_path(self) -> str | None:
        """The path to download to, or None (and why, beside the field)."""
        path = self.download_box.value.strip()
        self.download_row.set_error(None if path else "give a file path to write to")
        return path or None

    def download_started(self) -> None:
        set_text(self.result, "Running…")
        self.progress.remove_class("-idle")
        self.progress.update(total=None, progress=0)

    def download_progress(self, done: int, total: int | None) -> None:
        self.progress.update(total=total, progress=done)

    def download_done(self, ok: bool, text: str) -> None:
        show_outcome(self.result, ok, text)
        if ok:
            total = self.progress.total or 1
            self.progress.update(total=total, progress=total)
        else:
            self.progress.add_class("-idle")  # not left pulsing as if still running

"""Step 2, Datasets: pick the datasets (filter as you type), five sample records beside."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, SelectionList, Static
from textual.worker import get_current_worker

from jobtui.engine import Engine, JobtuiError
from jobtui.screens.wizard.base import DatasetInfo, Edited, SampleReady, set_text
from jobtui.screens.wizard.collect import FormValues
from jobtui.widgets.forms import FieldRow, field_id, show_sample
from jobtui.widgets.tables import KeyTable, TickList


class DatasetsStep(Horizontal):
    def __init__(self, engine: Engine, *, id: str, classes: str) -> None:
        super().__init__(id=id, classes=classes)
        self.engine = engine
        self.infos: list[DatasetInfo] = []
        self.selected: list[str] = []
        self.highlighted: str | None = None
        self.seed = 1
        self._filling = False

    def compose(self) -> ComposeResult:
        yield Vertical(id="datasets-pick")
        with Vertical(id="datasets-preview", classes="side-panel"):
            yield Label("Sample records (ctrl+r: new sample)", id="sample-title")
            yield KeyTable(id="dataset-sample", cursor_type="none", zebra_stripes=True)
            yield Static("", id="sample-note", markup=False)

    def prepare(self, infos: list[DatasetInfo], selected: list[str]) -> None:
        """What the job chose, before the step is first shown (its widgets come then)."""
        self.infos, self.selected = infos, selected

    async def build(self) -> None:
        self.choices: SelectionList[str] = TickList(id=field_id("datagen.datasets"), compact=True)
        self.filter = Input(placeholder="/ filter datasets", id="dataset-filter", compact=True)
        await self.query_one("#datasets-pick", Vertical).mount_all(
            [
                self.filter,
                FieldRow(
                    "datagen.datasets",
                    "datasets *",
                    self.choices,
                    "space: pick · enter: pick · /: filter",
                ),
            ]
        )
        self._fill_list("")

    def shown(self) -> None:
        """First time on screen: a sample of the first chosen dataset (or the first one)."""
        if self.highlighted is None and self.infos:
            self.highlighted = self.selected[0] if self.selected else self.infos[0].name
            self.sample(self.highlighted, self.seed)

    def _fill_list(self, text: str) -> None:
        self._filling = True
        try:
            self.choices.clear_options()
            needle = text.strip().lower()
            for info in self.infos:
                if needle and needle not in f"{info.name} {info.description}".lower():
                    continue
                label = info.name if info.builtin else f"{info.name} (custom)"
                if info.description:
                    label += f" — {info.description}"
                self.choices.add_option((label, info.name, info.name in self.selected))
        finally:
            self._filling = False

    @on(Input.Changed, "#dataset-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill_list(event.value)

    @on(Input.Submitted, "#dataset-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.choices.focus()

    def focus_filter(self) -> None:
        self.filter.focus()

    @on(SelectionList.SelectedChanged, "#f-datagen-datasets")
    def _chosen(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        if self._filling:
            return
        choices = event.selection_list
        visible = {choices.get_option_at_index(i).value for i in range(choices.option_count)}
        chosen = set(choices.selected)
        # What the filter hides stays chosen; what was picked is added in its order.
        kept = [d for d in self.selected if d not in visible or d in chosen]
        kept += [d for d in choices.selected if d not in kept]
        self.selected = kept
        index = choices.highlighted
        if index is not None:
            self._highlight(choices.get_option_at_index(index).value)
        self.post_message(Edited("datagen.datasets"))

    @on(SelectionList.SelectionHighlighted, "#f-datagen-datasets")
    def _highlighted(self, event: SelectionList.SelectionHighlighted[str]) -> None:
        event.stop()
        self._highlight(event.selection.value)

    def _highlight(self, name: str) -> None:
        if name != self.highlighted:
            self.highlighted = name
            self.sample(name, self.seed)

    def resample(self) -> None:
        if self.highlighted:
            self.seed += 1
            self.sample(self.highlighted, self.seed)

    @work(thread=True, exclusive=True, group="wizard-sample", exit_on_error=False)
    def sample(self, name: str, seed: int) -> None:
        try:
            rows = self.engine.sample_dataset(name, n=5, seed=seed)
        except JobtuiError as exc:
            self.post_message(SampleReady(name, [], str(exc) or "no sample"))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(SampleReady(name, list(rows)))

    @on(SampleReady)
    def _sample_ready(self, message: SampleReady) -> None:
        message.stop()
        self.query_one("#sample-title", Label).update(
            f"Sample of {message.dataset} (ctrl+r: new sample)"
        )
        set_text(self.query_one("#sample-note", Static), message.error)
        show_sample(self.query_one("#dataset-sample", DataTable), message.rows, 60)

    def fill(self, values: FormValues) -> None:
        values.datasets = list(self.selected)

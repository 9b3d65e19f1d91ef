"""Small charts of the job detail: the trend of its last runs, and a running run's speed.

`RunTrend`: one column per finished run, oldest left, as many as fit: a row of durations,
a row of records (when the job makes records), a row marking the failures with ✗ (a shape,
not only a colour). `RateTrend`: a running run's records/s between successive polls.
Colours are component classes (app.tcss).
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import Static

from jobtui.engine import Run
from jobtui.widgets.fmt import fmt_count, fmt_duration

BLOCKS = "▁▂▃▄▅▆▇█"
LABEL = 10  # "duration  "
LEGEND = 20  # what the right of each row says ("  ✗ failed: 12 of 40")
FAILED = frozenset({"failed", "interrupted", "partially_succeeded"})
SAMPLES = 120  # polls of a running run kept


def blocks(values: list[float]) -> str:
    """One block per value, scaled to the largest (a zero is the lowest block)."""
    top = max(values, default=0.0)
    if top <= 0:
        return BLOCKS[0] * len(values)
    return "".join(BLOCKS[min(7, int(7 * v / top + 0.5))] for v in values)


class RunTrend(Static):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"trend--failed", "trend--label"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.runs: list[Run] = []

    def show(self, recent: list[Run]) -> None:
        """`recent`: the job's runs, newest first (as list_runs gives them)."""
        self.runs = [
            r for r in recent if r.state.is_final and r.state.value not in ("missed", "skipped")
        ]
        self.update(self.chart())

    def on_resize(self, event: events.Resize) -> None:
        self.update(self.chart())

    def chart(self) -> Text:
        width = self.content_region.width or 60
        room = max(5, width - LABEL - LEGEND)
        runs = list(reversed(self.runs[:room]))  # oldest left
        text = Text(no_wrap=True, overflow="crop")
        if not runs:
            return text.append("no finished run yet", style=self._style("trend--label"))
        failed = self._style("trend--failed")
        label = self._style("trend--label")
        marks = [r.state.value in FAILED for r in runs]
        durations = [r.duration or 0.0 for r in runs]

        def row(name: str, values: list[float], legend: str) -> None:
            text.append(f"{name:<{LABEL}}", style=label)
            for bad, char in zip(marks, blocks(values), strict=True):
                text.append(char, style=failed if bad else None)
            text.append(f"  {legend}\n", style=label)

        row("duration", durations, f"max {fmt_duration(max(durations))}")
        records = [float(r.records) for r in runs]
        if any(records):
            row("records", records, f"max {fmt_count(int(max(records)))}")
        text.append(f"{'':<{LABEL}}")
        for bad in marks:
            text.append("✗" if bad else "·", style=failed if bad else label)
        text.append(f"  ✗ failed: {sum(marks)} of {len(runs)}", style=label)
        return text

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)


class RateTrend(Static):
    """Records/s of the running run, one block per poll, newest right."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"trend--label"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.run_id: int | None = None
        self.samples: list[tuple[float, int]] = []  # (time, records)

    def show(self, run: Run | None, now: float) -> None:
        if run is None or not run.state.is_active or not run.tasks:
            self.run_id, self.samples = None, []
            self.display = False
            return
        if run.id != self.run_id:
            self.run_id, self.samples = run.id, []
            if run.started_at is not None:  # the first rate: from the start
                self.samples.append((run.started_at.timestamp(), 0))
        if not self.samples or now > self.samples[-1][0]:
            self.samples.append((now, run.records))
            del self.samples[:-SAMPLES]
        self.display = True
        self.update(self.chart())

    def rates(self) -> list[float]:
        pairs = zip(self.samples, self.samples[1:], strict=False)
        return [max(0.0, (r1 - r0) / (t1 - t0)) for (t0, r0), (t1, r1) in pairs if t1 > t0]

    def chart(self) -> Text:
        label = self.get_component_rich_style("trend--label", partial=True)
        rates = self.rates()
        width = self.content_region.width or 60
        shown = rates[-max(5, width - LABEL - LEGEND) :]
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"{'records/s':<{LABEL}}", style=label)
        if not shown:
            return text.append("measuring…", style=label)
        text.append(blocks(shown))
        text.append(f"  now {fmt_count(int(shown[-1]))}/s · peak {fmt_count(int(max(shown)))}/s")
        return text

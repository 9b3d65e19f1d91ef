"""One-line bars: the daemon and status totals header, and a status badge."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Static

from jobtui.engine import DaemonStatus, JobStatus
from jobtui.widgets.fmt import STATE_ICONS, fmt_relative, state_label

STATUS_ORDER = [
    JobStatus.RUNNING,
    JobStatus.QUEUED,
    JobStatus.FAILED,
    JobStatus.PARTIALLY_SUCCEEDED,
    JobStatus.CANCELLED,
    JobStatus.SUCCEEDED,
    JobStatus.SCHEDULED,
    JobStatus.PAUSED,
    JobStatus.NEVER_RUN,
    JobStatus.EXPIRED,
]

SHORT_LABELS = {
    "partially_succeeded": "partial",
    "never_run": "never run",
}


def short_state(state: str) -> str:
    return SHORT_LABELS.get(state, state_label(state))


def daemon_text(
    status: DaemonStatus | None, note: str, now: float, read_only: bool = False
) -> Text:
    """`daemon ● alive pid 4242 · up 3h · reconciled 2 orphans` and the like; a
    READ-ONLY badge first when the dashboard changes nothing (issue 20.13)."""
    text = Text()
    if read_only:
        text.append(" READ-ONLY ", style="bold reverse")
        text.append(" ")
    text.append("daemon ", style="bold")
    if status is None:
        text.append("○ unknown", style="dim")
        if note:
            text.append(f" · {note}", style="dim")
        return text
    if not status.alive:
        text.append("○ not running", style="bold")
        text.append("  (schedules do not fire; `jobtui daemon` or restart without --no-daemon)")
    elif not status.responsive:
        text.append("◌ unresponsive", style="bold")
        text.append(f" pid {status.pid}")
        if status.heartbeat_at:
            text.append(f" · last heartbeat {fmt_relative(status.heartbeat_at, now)}")
    else:
        text.append("● alive", style="bold")
        text.append(f" pid {status.pid}")
        if status.since:
            text.append(f" · up since {fmt_relative(status.since, now)}")
    if status.paused:
        text.append(" · paused", style="bold")
    if status.alive and status.condition:
        text.append(f" · {status.condition}", style="bold")
    workers = (status.info or {}).get("workers")
    if status.alive and isinstance(workers, int):
        text.append(f" · {workers} worker{'' if workers == 1 else 's'}", style="bold")
    if status.alive:
        text.append(" · at start: " + reconciled_text(status.info or {}))
    if note:
        # "started the jobtui daemon in the background (pid 42)" is said in full once, as
        # a notification; the bar keeps the gist.
        text.append(" · started by this session" if note.startswith("started") else f" · {note}")
    return text


def reconciled_text(info: Mapping[str, object]) -> str:
    """What the daemon found at start-up (its StartReport), in words."""
    parts = []
    adopted = info.get("adopted")
    if isinstance(adopted, list) and adopted:
        parts.append(f"adopted {len(adopted)} running")
    interrupted = info.get("interrupted")
    if isinstance(interrupted, list) and interrupted:
        parts.append(f"{len(interrupted)} interrupted")
    for key, label in (("missed", "missed fires"), ("caught_up", "caught up")):
        value = info.get(key)
        if isinstance(value, int) and value:
            parts.append(f"{value} {label}")
    return ", ".join(parts) if parts else "nothing to reconcile"


class DaemonBar(Static):
    """The header line: what the daemon is doing."""


class TotalsBar(Horizontal):
    """Totals per status; the active status filter is highlighted. Colours: `-<status>`."""

    def compose(self) -> ComposeResult:
        yield Label("", id="total-all", classes="total")
        for status in STATUS_ORDER:
            yield Label("", id=f"total-{status.value}", classes=f"total -{status.value}")

    def show(
        self,
        counts: Mapping[JobStatus, int],
        selected: Collection[JobStatus],
        capped: bool = False,
    ) -> None:
        """`selected`: the statuses the list is filtered to (empty: all). `capped`: a search's
        counts stopped at a cap (its total is cap + 1): each is a lower bound, shown "n+"."""
        total = sum(counts.values())
        more = "+" if capped else ""
        all_label = self.query_one("#total-all", Label)
        all_label.update(f"all {total - 1 if capped else total}{more}")
        all_label.set_class(not selected, "-selected")
        for status in STATUS_ORDER:
            n = counts.get(status, 0)
            label = self.query_one(f"#total-{status.value}", Label)
            label.display = bool(n) or status in selected
            label.update(
                f"{STATE_ICONS.get(status.value, '')} {short_state(status.value)} {n}{more}"
            )
            label.set_class(status in selected, "-selected")


class StatusBadge(Static):
    """A job or run state with its icon; the colour comes from the `-<state>` class."""

    def show(self, state: str) -> None:
        for cls in list(self.classes):
            if cls.startswith("-"):
                self.remove_class(cls)
        self.add_class(f"-{state}")
        self.update(f"{STATE_ICONS.get(state, '')} {state_label(state)}")

"""Workers (issue 19): the live Celery workers, from Celery's inspection and each worker's
presence on the broker, refreshed every few seconds: host, state, queues, slots, runs in
progress, processed and failed counts, last heartbeat."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from jobtui.engine import Engine, JobtuiError
from jobtui.screens.base import EngineScreen
from jobtui.screens.confirm import PromptScreen
from jobtui.widgets.tables import KeyTable

REFRESH = 3.0


@dataclass
class WorkersLoaded(Message):
    workers: list[Any]
    note: str = ""


@dataclass
class QueueChanged(Message):
    note: str  # what the worker answered


class WorkersScreen(EngineScreen[None]):
    CSS_PATH = "manage.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", id="workers.back"),
        Binding("r", "refresh", "Refresh", id="workers.refresh"),
        Binding(
            "a",
            "add_queue",
            "Add queue",
            id="workers.add_queue",
            tooltip="The worker under the cursor consumes one more queue",
        ),
        Binding(
            "x",
            "cancel_queue",
            "Stop queue",
            id="workers.cancel_queue",
            tooltip="The worker under the cursor stops consuming a queue",
        ),
    ]

    def __init__(self, engine: Engine, refresh: float = REFRESH) -> None:
        super().__init__(engine)
        self.refresh_every = refresh
        self.loaded = False
        self.found: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("Workers", id="manage-title")
        yield KeyTable(id="workers-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="workers-note", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#workers-table", DataTable)
        table.add_columns(
            "HOST", "STATE", "QUEUES", "SLOTS", "ACTIVE", "RUNS", "PROCESSED", "FAILED", "HEARTBEAT"
        )
        self._load()

    @work(thread=True, exclusive=True, group="workers-load", exit_on_error=False)
    def _load(self) -> None:
        try:
            found = self.engine.list_workers(timeout=1.0)
        except JobtuiError as exc:
            self.post_message(WorkersLoaded([], str(exc)))
            return
        self.post_message(WorkersLoaded(found, "" if found else "no live worker"))

    @on(WorkersLoaded)
    def _loaded(self, message: WorkersLoaded) -> None:
        self.found = message.workers
        table = self.query_one("#workers-table", DataTable)
        table.clear()
        for w in self.found:
            table.add_row(
                w.host,
                "online" if w.online else "silent",
                ",".join(w.queues),
                w.concurrency,
                w.active,
                " ".join(f"#{r}" for r in w.runs) or "—",
                w.processed,
                w.failed,
                f"{w.heartbeat_age:.0f}s ago" if w.heartbeat_age is not None else "—",
                key=w.host,
            )
        online = sum(1 for w in self.found if w.online)
        self.query_one("#manage-title", Static).update(f"Workers · {online} online")
        self.query_one("#workers-note", Static).update(message.note)
        self.loaded = True
        if self.refresh_every > 0 and self.is_attached:
            self.set_timer(self.refresh_every, self._poll)

    def _poll(self) -> None:
        if self.is_attached and self.app.screen is self:
            self._load()
        elif self.is_attached:
            self.set_timer(self.refresh_every, self._poll)

    def waiting_for(self) -> Iterator[str]:
        if not self.loaded:
            yield "the workers"

    def action_refresh(self) -> None:
        self._load()

    def _current(self) -> Any | None:
        table = self.query_one("#workers-table", DataTable)
        if not self.found or table.cursor_row < 0 or table.cursor_row >= len(self.found):
            return None
        return self.found[table.cursor_row]

    def action_add_queue(self) -> None:
        self._ask_queue(True)

    def action_cancel_queue(self) -> None:
        self._ask_queue(False)

    def _ask_queue(self, consume: bool) -> None:
        worker = self._current()
        if worker is None:
            self.notify("no worker under the cursor", severity="warning")
            return
        verb = "consume" if consume else "stop consuming"
        value = "" if consume else (worker.queues[0] if worker.queues else "")

        def chosen(queue: str | None) -> None:
            if queue and queue.strip():
                self._change_queue(worker.host, queue.strip(), consume)

        self.app.push_screen(
            PromptScreen(f"Queue for {worker.host} to {verb}", value, "queue name"), chosen
        )

    @work(thread=True, group="workers-action", exit_on_error=False)
    def _change_queue(self, host: str, queue: str, consume: bool) -> None:
        self.post_message(QueueChanged(self.engine.worker_queue(host, queue, consume)))

    @on(QueueChanged)
    def _queue_changed(self, message: QueueChanged) -> None:
        self.notify(message.note)
        self._load()

    def action_close(self) -> None:
        self.dismiss(None)

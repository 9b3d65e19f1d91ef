"""Workers (issue 19): the live Celery workers and their queues, as Flower shows them,
refreshed every few seconds. Per worker: host, state, queues, slots, runs in progress,
processed and failed counts, last heartbeat. Per queue: depth on the broker, deliveries
not yet acknowledged, consumers, and this host's runs waiting to be sent. From here, with
confirmation: grow or shrink the pool of the worker under the cursor, make it consume
one more queue or stop consuming one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Static

from jobtui.engine import Engine, JobtuiError
from jobtui.screens.base import EngineScreen
from jobtui.screens.confirm import ConfirmScreen, PromptScreen
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.tables import KeyTable

REFRESH = 3.0
# What the screen shows: (workers, queues); the engine's scale_overview unless a test
# gives fixed data.
Source = Callable[[], tuple[list[Any], list[Any]]]
CHANGES = frozenset({"add_queue", "cancel_queue", "grow", "shrink"})


@dataclass
class WorkersLoaded(Message):
    workers: list[Any]
    queues: list[Any]
    note: str = ""


@dataclass
class WorkerChanged(Message):
    note: str  # what the worker answered
    error: bool = False


class WorkersScreen(EngineScreen[None]):
    CSS_PATH = "manage.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", id="workers.back"),
        Binding("r", "refresh", "Refresh", id="workers.refresh"),
        Binding(
            "plus",
            "grow",
            "Grow pool",
            id="workers.grow",
            tooltip="One more slot for the worker under the cursor (Celery pool_grow)",
        ),
        Binding(
            "minus",
            "shrink",
            "Shrink pool",
            id="workers.shrink",
            tooltip="One slot fewer for the worker under the cursor; its runs go on",
        ),
        Binding(
            "a",
            "add_queue",
            "Add queue",
            id="workers.add_queue",
            tooltip="The worker under the cursor consumes one more queue (add_consumer)",
        ),
        Binding(
            "x",
            "cancel_queue",
            "Stop queue",
            id="workers.cancel_queue",
            tooltip="The worker under the cursor stops consuming a queue (cancel_consumer)",
        ),
    ]

    def __init__(self, engine: Engine, refresh: float = REFRESH, source: Source | None = None):
        super().__init__(engine)
        self.refresh_every = refresh
        self.source: Source = source or (lambda: engine.scale_overview(timeout=1.0))
        self.loaded = False
        self.pending = 0  # changes sent, not answered yet
        self.found: list[Any] = []
        self.queues: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("Workers", id="manage-title")
        yield KeyTable(id="workers-table", cursor_type="row", zebra_stripes=True)
        yield Static("Queues", id="queues-title")
        yield KeyTable(id="queues-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="workers-note", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#workers-table", DataTable).add_columns(
            "HOST", "STATE", "QUEUES", "SLOTS", "ACTIVE", "RUNS", "PROCESSED", "FAILED", "HEARTBEAT"
        )
        self.query_one("#queues-table", DataTable).add_columns(
            "QUEUE", "DEPTH", "UNACKED", "CONSUMERS", "WAITING HERE"
        )
        self.query_one("#workers-table", DataTable).focus()
        self._load()
        if self.refresh_every > 0:
            self.set_interval(self.refresh_every, self._poll)

    @work(thread=True, exclusive=True, group="workers-load", exit_on_error=False)
    def _load(self) -> None:
        try:
            found, queues = self.source()
        except JobtuiError as exc:
            self.post_message(WorkersLoaded([], [], str(exc)))
            return
        self.post_message(WorkersLoaded(found, queues, "" if found else "no live worker"))

    @on(WorkersLoaded)
    def _loaded(self, message: WorkersLoaded) -> None:
        before = self._current()
        self.found, self.queues = message.workers, message.queues
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
        hosts = [w.host for w in self.found]
        if before is not None and before.host in hosts:  # the cursor stays on its worker
            table.move_cursor(row=hosts.index(before.host), animate=False)
        queues = self.query_one("#queues-table", DataTable)
        queues.clear()
        for q in self.queues:
            queues.add_row(
                q.name,
                "?" if q.depth is None else q.depth,
                q.unacked,
                f"{len(q.consumers)} ({', '.join(q.consumers)})" if q.consumers else "0",
                q.waiting_runs,
                key=q.name,
            )
        online = sum(1 for w in self.found if w.online)
        self.query_one("#manage-title", Static).update(
            f"Workers · {online} online · {len(self.queues)} queue(s)"
        )
        self.query_one("#workers-note", Static).update(message.note)
        self.loaded = True
        self.refresh_bindings()

    def _poll(self) -> None:
        if self.app.screen is self:  # not under a dialog of its own
            self._load()

    def waiting_for(self) -> Iterator[str]:
        if not self.loaded:
            yield "the workers"
        if self.pending:
            yield f"{self.pending} worker change(s) to be answered"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in CHANGES:
            if getattr(self.app, "read_only", False):
                return False
            if self._current() is None:
                return None  # shown dimmed: no worker under the cursor
        return True

    def action_refresh(self) -> None:
        self._load()

    def _current(self) -> Any | None:
        if not self.is_mounted:
            return None
        table = self.query_one("#workers-table", DataTable)
        if not self.found or table.cursor_row < 0 or table.cursor_row >= len(self.found):
            return None
        return self.found[table.cursor_row]

    # -- changes, each confirmed ----------------------------------------------------------
    def _confirm(self, title: str, message: str, then: Callable[[], None], danger: bool) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(ConfirmScreen(title, message, danger=danger), answered)

    def action_grow(self) -> None:
        self._ask_pool(+1)

    def action_shrink(self) -> None:
        self._ask_pool(-1)

    def _ask_pool(self, delta: int) -> None:
        worker = self._current()
        if worker is None:
            return
        size = worker.concurrency + delta
        if size < 1:
            self.notify(
                f"{worker.host} has one slot: a pool keeps at least one", severity="warning"
            )
            return
        verb = "Grow" if delta > 0 else "Shrink"
        note = "" if delta > 0 else "Its running runs go on; it takes fewer new ones."
        self._confirm(
            f"{verb} the pool of {worker.host} to {size} slot(s)?",
            note,
            lambda: self._change(lambda: self.engine.worker_pool(worker.host, delta)),
            danger=delta < 0,
        )

    def action_add_queue(self) -> None:
        self._ask_queue(True)

    def action_cancel_queue(self) -> None:
        self._ask_queue(False)

    def _ask_queue(self, consume: bool) -> None:
        worker = self._current()
        if worker is None:
            return
        verb = "consume" if consume else "stop consuming"
        value = "" if consume else (worker.queues[0] if worker.queues else "")

        def chosen(queue: str | None) -> None:
            name = (queue or "").strip()
            if not name:
                return
            self._confirm(
                f"Make {worker.host} {verb} queue {name}?",
                "" if consume else "Its running runs go on; it takes no new run from it.",
                lambda: self._change(lambda: self.engine.worker_queue(worker.host, name, consume)),
                danger=not consume,
            )

        self.app.push_screen(
            PromptScreen(f"Queue for {worker.host} to {verb}", value, "queue name"), chosen
        )

    def _change(self, call: Callable[[], str]) -> None:
        self.pending += 1
        self._send(call)

    @work(thread=True, group="workers-action", exit_on_error=False)
    def _send(self, call: Callable[[], str]) -> None:
        try:
            self.post_message(WorkerChanged(call()))
        except JobtuiError as exc:
            self.post_message(WorkerChanged(str(exc), error=True))

    @on(WorkerChanged)
    def _changed(self, message: WorkerChanged) -> None:
        self.pending = max(0, self.pending - 1)
        self.notify(message.note, severity="error" if message.error else "information")
        self.loaded = False
        self._load()

    def action_close(self) -> None:
        self.dismiss(None)

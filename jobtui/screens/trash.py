"""The trash (issue 20.16): deleted jobs, kept `TRASH_DAYS` days with their history.

`enter`/`r` restores the job under the cursor (unless its name was taken meanwhile: the
engine says so); `ctrl+d`/`x` purges it for good, after a confirmation. The list is
the engine's `list_trash`, the same as `jobtui jobs trash`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Static

from jobtui.engine import Engine, JobSummary
from jobtui.screens.base import ActionDone, JobtuiScreen
from jobtui.screens.confirm import ConfirmScreen
from jobtui.widgets.fmt import fmt_abs, fmt_relative, inert
from jobtui.widgets.footer import KeyFooter
from jobtui.widgets.tables import KeyTable


@dataclass
class TrashLoaded(Message):
    jobs: list[JobSummary]


class TrashScreen(JobtuiScreen[None]):
    CSS_PATH = "manage.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", id="trash.back"),
        Binding("enter,r", "restore", "Restore", id="trash.restore", tooltip="Back to the list"),
        Binding(
            "ctrl+d,x", "purge", "Purge", id="trash.purge", tooltip="Remove it and its history"
        ),
        Binding("j", "cursor_down", "Down", show=False, id="trash.down"),
        Binding("k", "cursor_up", "Up", show=False, id="trash.up"),
    ]
    WRITES = frozenset({"restore", "purge"})
    ON_SUBJECT = frozenset({"restore", "purge"})

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.jobs: list[JobSummary] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static("Trash", id="manage-title")
        yield KeyTable(id="trash-table", cursor_type="row", zebra_stripes=True)
        yield Static(
            f"Deleted jobs stay {self.engine.TRASH_DAYS} days with their runs and versions. "
            "enter: restore · ctrl+d: purge now · esc: back",
            id="trash-note",
            classes="field-hint",
            markup=False,
        )
        yield KeyFooter()

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#trash-table", DataTable)

    def on_mount(self) -> None:
        self.table.add_columns("NAME", "KIND", "DELETED", "PURGED", "VERSION", "DESCRIPTION")
        self.table.focus()
        self.poll_now()

    # -- loading ------------------------------------------------------------------------
    def poll_now(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="trash-load", exit_on_error=False)
    def _load(self) -> None:
        self.post_message(TrashLoaded(self.engine.list_trash()))

    @on(TrashLoaded)
    def _loaded(self, message: TrashLoaded) -> None:
        table = self.table
        keep = self.subject
        self.jobs = message.jobs
        table.clear()
        now = self.now()
        for job in self.jobs:
            # A trashed job is never changed, so its updated_at is when it was deleted.
            deleted = job.updated_at
            purge_at = deleted + timedelta(days=self.engine.TRASH_DAYS)
            table.add_row(
                inert(job.qualified_name),
                job.kind.value,
                f"{fmt_relative(deleted, now)} · {fmt_abs(deleted, self.utc, now)}",
                fmt_relative(purge_at, now) if purge_at.timestamp() > now else "at next cleanup",
                f"v{job.version}",
                inert(job.description),
                key=str(job.id),
            )
        names = [j.qualified_name for j in self.jobs]
        if keep in names:
            table.move_cursor(row=names.index(keep))
        count = len(self.jobs)
        title = f"Trash · {count} job{'s' if count != 1 else ''}" if count else "Trash · empty"
        self.query_one("#manage-title", Static).update(title)
        self.loaded = True
        self.refresh_bindings_if_changed()

    def waiting_for(self) -> Iterator[str]:
        if not self.loaded:
            yield "the trash"

    def times_changed(self) -> None:
        self.poll_now()

    # -- the job under the cursor -----------------------------------------------------------
    @property
    def current(self) -> JobSummary | None:
        row = self.table.cursor_row if self.is_mounted else -1
        return self.jobs[row] if 0 <= row < len(self.jobs) else None

    @property
    def subject(self) -> str | None:
        job = self.current
        return job.qualified_name if job else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings_if_changed()

    @on(DataTable.RowSelected)
    async def _selected(self, event: DataTable.RowSelected) -> None:
        # The table takes enter first; through run_action, read-only mode says why not.
        event.stop()
        await self.run_action("restore")

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_close(self) -> None:
        self.dismiss(None)

    # -- restore and purge --------------------------------------------------------------
    def action_restore(self) -> None:
        if job := self.current:
            self._restore(job)

    @work(thread=True, group="action", exit_on_error=False, description="restore a job")
    def _restore(self, job: JobSummary) -> None:
        restored = self.engine.restore_job(job.id)
        self.post_message(ActionDone(f"Restored {restored.qualified_name}", "Trash"))

    def action_purge(self) -> None:
        job = self.current
        if job is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._purge(job)

        self.app.push_screen(
            ConfirmScreen(
                f"Purge {job.qualified_name}?",
                "The job, its versions, runs and logs are removed for good: "
                "nothing brings them back.",
                yes="Purge",
                danger=True,
            ),
            confirmed,
        )

    @work(thread=True, group="action", exit_on_error=False, description="purge a job")
    def _purge(self, job: JobSummary) -> None:
        self.engine.delete_job(job.id, purge=True)
        self.post_message(ActionDone(f"Purged {job.qualified_name}", "Trash"))

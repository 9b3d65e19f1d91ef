"""What every screen shares: the engine it was given, workers that die with it, typed messages.

Threading model (harlequin's): a screen's blocking engine calls run in thread workers the
screen owns (`@work(thread=True)` methods); a worker only posts typed messages; the
screen's handlers own its widgets. A worker's result reaches the screen that asked or
nobody: when the screen closes, its workers are cancelled and what they post is dropped.
A failed call becomes a notification (`EngineScreen._worker_failed`), never a crash.

Screens never import the app nor each other: the app is reached through the `Dashboard`
protocol and other screens are built by its `Navigator` (screens/registry.py), so the
import graph has no cycle. Dialogs that open nothing (confirm.py, run_options.py) are
leaves and are imported directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, cast

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from jobtui.engine import JobtuiError
from jobtui.screens.confirm import ConfirmScreen, TextScreen
from jobtui.screens.run_options import RunOptionsScreen
from jobtui.widgets.fmt import state_label

if TYPE_CHECKING:
    from jobtui.engine import Engine, Job

R = TypeVar("R")


# -- what screens ask of the app ---------------------------------------------------------
ALL_WORKSPACES = ""  # what the workspaces screen answers for "show every workspace"


class Navigator(Protocol):
    """Builds the screens one screen opens from another (the app holds one)."""

    def job_detail(self, job_id: int) -> Screen[None]: ...

    def history(self, job_id: int | None, job_name: str | None = None) -> Screen[None]: ...

    def logs(self, run_id: int) -> Screen[None]: ...

    def wizard(self, job_ref: str | None = None, duplicate: bool = False) -> Screen[str | None]: ...

    def workspaces(self, current: str | None) -> Screen[str | None]: ...

    def datasets(self) -> Screen[None]: ...

    def sink_presets(self) -> Screen[None]: ...

    def workers(self) -> Screen[None]: ...

    def trash(self) -> Screen[None]: ...

    def smtp(self) -> Screen[None]: ...


class Dashboard(Protocol):
    """The app as screens see it (`JobtuiApp` is one)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def read_only(self) -> bool: ...

    @property
    def utc(self) -> bool: ...

    @property
    def poll_interval(self) -> float: ...

    @property
    def daemon_note(self) -> str: ...

    @property
    def screens(self) -> Navigator: ...

    def push_undo(self, undo: Undo) -> None: ...

    def follow_cancel(self, run_id: int) -> None: ...


@dataclass(frozen=True)
class Undo:
    """What `u` takes back, as data (it outlives the screen that made it)."""

    label: str  # for the notification: "restored 3 jobs"
    restore_jobs: tuple[int, ...] = ()
    set_active: tuple[tuple[int, bool], ...] = ()
    cancel_runs: tuple[int, ...] = ()

    def apply(self, engine: Engine) -> None:
        for job_id in self.restore_jobs:
            engine.restore_job(job_id)
        for job_id, active in self.set_active:
            engine.set_active(job_id, active)
        for run_id in self.cancel_runs:
            if engine.get_run(run_id).state.is_active:
                engine.cancel_run(run_id)


# -- messages from workers -----------------------------------------------------------------
@dataclass
class ActionDone(Message):
    """An engine call a key started has returned: say what happened, then refresh."""

    note: str  # "" says nothing
    title: str = ""
    undo: Undo | None = None
    reload: bool = False  # start the list over (rows went away) rather than refresh it
    queued: tuple[tuple[int, int], ...] = ()  # (job id, run id) of the runs it queued
    following: int | None = None  # a run being cancelled: the app says when it has ended


@dataclass
class ShowText(Message):
    """Something to read came back (a diff, a run's errors): open it in a text view."""

    title: str
    body: RenderableType


@dataclass
class JobFetched(Message):
    """The whole job, for the run-with-options dialog."""

    job: Job


@dataclass
class ReplayChecked(Message):
    run_id: int
    question: str
    problem: str | None


def error_text(error: BaseException) -> tuple[str, str]:
    """(title, text) of the notification for a failed engine call."""
    if isinstance(error, JobtuiError):
        return "Error", str(error)
    return "Internal error", f"{type(error).__name__}: {error}"


class EngineScreen(Screen[R]):
    """A screen given the engine it talks to; a failed worker of it becomes a notification."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # Worker messages do not bubble: each screen hears its own workers.
        if event.state != WorkerState.ERROR or event.worker.error is None:
            return
        title, text = error_text(event.worker.error)
        self.notify(text, title=title, severity="error", timeout=8 if title == "Error" else 10)
        self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[object]) -> None:
        """A worker of this screen raised (already notified)."""

    def waiting_for(self) -> Iterator[str]:
        """What this screen has asked for and not shown yet, in words (tests wait on it)."""
        return iter(())


class JobtuiScreen(EngineScreen[R]):
    """A dashboard screen: read-only mode, the display clock, polling, shared actions.

    Actions in `WRITES` change something: they are absent in read-only mode. Actions in
    `ON_SUBJECT` act on what the cursor is on (`subject`): dimmed when there is none, and
    named in the command palette ("Run default/orders").
    """

    WRITES: ClassVar[frozenset[str]] = frozenset()
    ON_SUBJECT: ClassVar[frozenset[str]] = frozenset()

    _poll_timer: Timer | None = None
    _polling = False
    # The newest run this screen queued, per job: `l` and `c` right after `r` act on it,
    # not on the last run of a row the next refresh has not brought yet.
    _queued: dict[int, int]

    def newest_run(self, job_id: int, known: int | None) -> int | None:
        """The newer of the run a row knows and the one this screen queued for the job."""
        queued = getattr(self, "_queued", {}).get(job_id)
        return max(queued, known or 0) if queued is not None else known

    @property
    def dashboard(self) -> Dashboard:
        return cast("Dashboard", self.app)

    @property
    def read_only(self) -> bool:
        return self.dashboard.read_only

    @property
    def utc(self) -> bool:
        return self.dashboard.utc

    def titled(self, title: str) -> Text:
        """A title line, the READ-ONLY badge first in read-only mode (as the job list's
        header shows it, issue 20.13). Plain text: names in it are never markup."""
        text = Text()
        if self.read_only:
            text.append(" READ-ONLY ", style="bold reverse")
            text.append(" ")
        text.append(title)
        return text

    @property
    def screens(self) -> Navigator:
        return self.dashboard.screens

    def now(self) -> float:
        return self.engine.now()

    # -- which keys apply --------------------------------------------------------------
    @property
    def subject(self) -> str | None:
        """The name of what the cursor is on, or None."""
        return None

    def applies(self, action: str) -> bool:
        """Whether `action` has something to act on now (False dims it)."""
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.WRITES and self.read_only:
            return False
        if action in self.ON_SUBJECT and self.subject is None:
            return None
        return True if self.applies(action) else None

    def palette_label(self, binding: Binding) -> str:
        subject = self.subject
        if subject and binding.action in self.ON_SUBJECT:
            return f"{binding.description} {subject}"
        return binding.description

    _binding_state: tuple[object, ...] | None = None

    def refresh_bindings_if_changed(self) -> None:
        """Recompute which keys apply; redraw the footer only when that changed.

        A footer redraw rebuilds its widgets (~100 style applications), far too much to
        do on every cursor move.
        """
        state = tuple(self.check_action(binding.action, ()) for _, binding in self._bindings)
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    # -- polling --------------------------------------------------------------------------
    def schedule_poll(self) -> None:
        """Re-arm after a refresh finished: polls never overlap."""
        self._polling = True
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        interval = self.dashboard.poll_interval
        if interval > 0 and self.is_attached:
            self._poll_timer = self.set_timer(interval, self._on_poll_timer)

    def _on_poll_timer(self) -> None:
        self._poll_timer = None
        if self.app.screen is not self:
            self.schedule_poll()  # a modal or another screen is on top: wait
            return
        self.poll_now()

    def poll_now(self) -> None:
        """Start one refresh; its result handler calls `schedule_poll`."""

    def worker_failed(self, worker: Worker[object]) -> None:
        if self._polling:
            self.schedule_poll()  # a failed refresh must not stop the refreshing

    def times_changed(self) -> None:
        """The display zone changed (local/UTC): redraw every time shown."""

    # -- what a key started has finished ------------------------------------------------------
    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        message.stop()
        if message.note:
            self.notify(message.note, title=message.title)
        if message.undo is not None:
            self.dashboard.push_undo(message.undo)
        if message.following is not None:
            self.dashboard.follow_cancel(message.following)
        if message.queued:
            if not hasattr(self, "_queued"):
                self._queued = {}
            for job_id, run_id in message.queued:
                self._queued[job_id] = max(run_id, self._queued.get(job_id, 0))
        self.action_finished(message)

    def action_finished(self, message: ActionDone) -> None:
        """Refresh what the screen shows after an action."""
        self.poll_now()

    @on(ShowText)
    def _show_text(self, message: ShowText) -> None:
        message.stop()
        self.app.push_screen(TextScreen(message.title, message.body))

    # -- actions several screens offer ------------------------------------------------------
    @work(thread=True, group="action", exit_on_error=False, description="queue a run")
    def queue_run(self, job_id: int, what: str = "", **options: Any) -> None:
        run = self.engine.queue_run(job_id, trigger="manual", **options)  # type: ignore[arg-type]
        note = f"Queued run #{run.id} {what}".strip()
        self.post_message(ActionDone(note, "Run", queued=((job_id, run.id),)))

    def confirm_cancel(self, run_id: int) -> None:
        """`c`: stopping a run is destructive, so it asks first (y), as k9s does."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.cancel_run(run_id)

        self.app.push_screen(
            ConfirmScreen(
                f"Cancel run #{run_id}?",
                "A queued run will not start; a running one is stopped (SIGTERM, then SIGKILL "
                "after the grace period). What it delivered so far stays.",
                yes="Cancel run",
                no="Keep it",
                danger=True,
            ),
            answered,
        )

    @work(thread=True, group="action", exit_on_error=False, description="cancel a run")
    def cancel_run(self, run_id: int) -> None:
        run = self.engine.cancel_run(run_id)
        if run.state.is_final:  # a queued run: cancelled at once
            self.post_message(
                ActionDone(f"Run #{run.id}: {state_label(run.state.value)}", "Cancel")
            )
            return
        # A running run is being stopped: say so, and say again when it has (the app
        # follows it), rather than a "cancelling" that the log contradicts (issue 20.12).
        note = f"Run #{run.id}: stopping… (a note follows when it has stopped)"
        self.post_message(ActionDone(note, "Cancel", following=run.id))

    def ask_run_options(self, job: Job, what: str = "") -> None:
        """The run-with-options dialog, then a run with what it answered."""

        def chosen(options: dict[str, Any] | None) -> None:
            if options is not None:
                self.queue_run(job.id, what, **options)

        self.app.push_screen(RunOptionsScreen(job), chosen)

    @work(thread=True, group="action", exit_on_error=False, description="read a job")
    def fetch_for_run_options(self, job_id: int) -> None:
        self.post_message(JobFetched(self.engine.get_job(job_id)))

    @on(JobFetched)
    def _job_fetched(self, message: JobFetched) -> None:
        message.stop()
        self.ask_run_options(message.job, f"of {message.job.qualified_name}")

    def confirm_replay(self, run_id: int, question: str) -> None:
        """Ask before replaying run `run_id`, or say at once why it cannot be (no stored
        output), rather than after a confirmation."""
        self._check_replay(run_id, question)

    @work(thread=True, group="action", exit_on_error=False, description="check a replay")
    def _check_replay(self, run_id: int, question: str) -> None:
        self.post_message(ReplayChecked(run_id, question, self.engine.replay_problem(run_id)))

    @on(ReplayChecked)
    def _replay_checked(self, message: ReplayChecked) -> None:
        message.stop()
        if message.problem:
            self.notify(message.problem, title="Replay", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._replay(message.run_id)

        self.app.push_screen(
            ConfirmScreen(
                message.question,
                "Its stored output is delivered again to the job's current sinks (not a re-run).",
                yes="Replay",
            ),
            confirmed,
        )

    @work(thread=True, group="action", exit_on_error=False, description="replay a run")
    def _replay(self, run_id: int) -> None:
        new = self.engine.replay_run(run_id)
        self.post_message(ActionDone(f"Queued replay #{new.id} of run #{run_id}", "Replay"))

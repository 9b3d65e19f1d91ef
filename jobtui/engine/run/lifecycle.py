"""The run lifecycle: the one module that inserts runs and changes their state.

    queue ──> queued ──claim──> running ──request_cancel──> cancelling
                │                  │                            │
                └─request_cancel─> cancelled     finish <───────┘
                                   (one conditional UPDATE to a final state)

- `queue` inserts (the API after checking parameters and options, the daemon for fires,
  catch-ups and retries: there is no other insert).
- `claim` is one conditional UPDATE that only one process can win (the dispatcher, or a
  worker started by hand on a queued run); `attach` records the worker's process.
- `finish` ends a running (or cancelling) run once: the worker's reporter, an executor
  whose worker died, hung or timed out, and start-up reconciliation all come here, so the
  run's tasks are settled by one rule and a success moves the watermark.
- Post-run (retry, follow-ups, alerts) is the daemon's, once per ended run
  (schedule/postrun.py).
Every state change is recorded in `run_transitions` by the store's triggers.
"""

from __future__ import annotations

from typing import Any

from jobtui.engine.model.codec import dumps
from jobtui.engine.model.errors import Conflict, NotFound
from jobtui.engine.model.types import RunState
from jobtui.engine.store import logs as log_rows
from jobtui.engine.store import remote as remote_rows
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store

RUNNING = ("running", "cancelling")


def queue(
    store: Store,
    now: float,
    *,
    job_id: int,
    job_version: int,
    trigger: str,
    title: str = "",
    parameters: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    since: float | None = None,
    scheduled_for: float | None = None,
    attempt: int = 1,
    retry_of: int | None = None,
    state: str = "queued",
    epoch: int | None = None,
    held: bool = False,
) -> int:
    """Insert a run (`missed` / `skipped` record a fire that did not run: ended at once;
    `held`: queued, but the daemon releases it when the job's overlap policy has room)."""
    ended = now if RunState(state) != RunState.QUEUED else None
    return run_rows.insert_run(
        store,
        job_id=job_id,
        job_version=job_version,
        trigger=trigger,
        title=title or "",
        state=state,
        parameters=dumps(parameters or {}),
        options=dumps(options or {}),
        queued_at=now,
        scheduled_for=scheduled_for,
        ended_at=ended,
        attempt=attempt,
        retry_of=retry_of,
        since=since,
        epoch=epoch,
        held=held,
    )


def claim(
    store: Store, run_id: int, now: float, *, epoch: int | None = None, executor: str = "local"
) -> bool:
    """queued → running; True for the one caller that wins."""
    return run_rows.claim(store, run_id, now, epoch, executor)


def attach(
    store: Store, run_id: int, now: float, pid: int, pgid: int, started: float | None
) -> None:
    """The worker that executes a claimed run: its pid, process group, process start time
    (so a restarted daemon tells it from a recycled pid) and first beat."""
    run_rows.attach_worker(store, run_id, now, pid, pgid, started)


def request_cancel(store: Store, run_id: int, now: float) -> None:
    """queued → cancelled at once; running → cancelling (the worker stops within 1 s, its
    executor makes sure); a cancelling run is left as it is. Conflict when it has ended."""
    with store.transaction():
        state = run_rows.state_of(store, run_id)
        if state is None:
            raise NotFound(f"no run with id {run_id}")
        if state == RunState.QUEUED.value:
            finish(
                store,
                run_id,
                now,
                RunState.CANCELLED,
                "cancelled before it started",
                from_states=("queued",),
                cancel_requested=True,
            )
        elif state == RunState.RUNNING.value:
            run_rows.set_cancelling(store, run_id, now)
        elif state != RunState.CANCELLING.value:
            raise Conflict(f"run {run_id} has already ended ({state})")


def task_state_for(state: RunState) -> str:
    """The one rule for a run's unfinished tasks when it ends."""
    if state in (RunState.CANCELLED, RunState.INTERRUPTED):
        return state.value
    return RunState.FAILED.value


def finish(
    store: Store,
    run_id: int,
    now: float,
    state: RunState,
    error: str | None,
    *,
    errors: list[dict[str, Any]] | None = None,
    results: list[str] | None = None,
    from_states: tuple[str, ...] = RUNNING,
    by_worker: bool = False,
    cancel_requested: bool = False,
    offsets: dict[str, Any] | None = None,
) -> bool:
    """End a run once: False when it was not in `from_states` (it ended already).

    `errors` are added to the run's error list; `results` replace its results when given;
    `by_worker` (the worker's own report) also stamps the last heartbeat."""
    if not state.is_final:
        raise ValueError(f"{state.value} is not a final state")
    return run_rows.end(
        store,
        run_id,
        from_states=from_states,
        state=state,
        task_state=task_state_for(state),
        now=now,
        error=error,
        errors_add=list(errors or []),
        results=results,
        heartbeat=by_worker,
        cancel_requested=cancel_requested,
        offsets=offsets,
    )


def note_error(store: Store, run_id: int, message: str, now: float) -> None:
    """Add a reason to an ended run's error (post-run found something wrong)."""
    run_rows.add_error(store, run_id, {"message": message, "at": now})


def end_unreported(
    store: Store,
    run_id: int,
    now: float,
    state: RunState,
    message: str,
    detail: str = "",
) -> bool:
    """End a run whose worker cannot report its end any more (it died, hung, timed out,
    or is gone after a restart): the reason goes into its errors and its log."""
    error: dict[str, Any] = {"message": message, "at": now}
    if detail:
        error["traceback"] = detail
    if not finish(store, run_id, now, state, message, errors=[error]):
        return False
    level = "warning" if state == RunState.CANCELLED else "error"
    log_rows.append_line(store, run_id, now, message, level)
    return True


def requeue(store: Store, run_id: int, reason: str) -> bool:
    """running → queued for a claimed run that no worker took (its task could not be sent
    to the broker): it waits with `reason` and goes out again."""
    return remote_rows.unclaim(store, run_id, reason)

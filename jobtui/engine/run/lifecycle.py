"""The run lifecycle: the one place a run is inserted and its state changed.

queue → (claim) running → (cancel) cancelling → a final state. Callers validate what they
pass (the API checks parameters and options, the daemon its fires); these functions only
write, with conditions that keep each step to one writer.
"""

from __future__ import annotations

from typing import Any

from jobtui.engine.model.codec import dumps
from jobtui.engine.model.types import RunState
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store


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
) -> int:
    """Insert a run (`missed` / `skipped` record a fire that did not run: ended at once)."""
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
    )

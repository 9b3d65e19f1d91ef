"""Ingesting remote runs' events into SQLite, in order and exactly once.

Each event carries (run id, attempt, source, seq). `apply_batch` applies a batch of
stream entries in one SQLite transaction: an event whose seq is not above the run's cursor
for its source (`remote_events`) was applied before (a redelivery after a crash between
the commit and the stream acknowledgement) and is skipped; an event of another attempt or
of an unknown run is dropped. The caller acknowledges the entries only after the commit.
The writing itself is SqliteReporter's and the lifecycle's: the same SQL as a local run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from jobtui.engine.model.runtime import TaskState
from jobtui.engine.model.types import RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.run.events import Event
from jobtui.engine.run.reporter import SqliteReporter
from jobtui.engine.store import logs as log_rows
from jobtui.engine.store import remote as remote_rows
from jobtui.engine.store.db import Store

log = logging.getLogger("jobtui.daemon")


@dataclass
class IngestReport:
    applied: int = 0
    skipped: int = 0
    ended: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)


def apply_batch(store: Store, events: list[Event], now: float) -> IngestReport:
    """Apply `events` (in stream order) in one transaction; what happened."""
    report = IngestReport()
    cursors: dict[tuple[int, str], int] = {}
    attempts: dict[int, int | None] = {}
    with store.transaction():
        for event in events:
            if event.run_id not in attempts:
                ident = remote_rows.run_ident(store, event.run_id)
                attempts[event.run_id] = int(ident["attempt"]) if ident is not None else None
            if attempts[event.run_id] != event.attempt:
                report.skipped += 1  # a run deleted since, or another attempt's
                continue
            key = (event.run_id, event.source)
            if key not in cursors:
                cursors[key] = remote_rows.event_cursor(store, event.run_id, event.source)
            if event.seq <= cursors[key]:
                report.skipped += 1
                continue
            store.execute("SAVEPOINT event")
            try:
                _apply(store, event, now, report)
            except Exception:
                store.execute("ROLLBACK TO event")
                log.exception("could not apply event %s of run %s", event.kind, event.run_id)
            store.execute("RELEASE event")
            cursors[key] = event.seq
            remote_rows.set_event_cursor(store, event.run_id, event.source, event.seq)
            report.applied += 1
    return report


def _apply(store: Store, event: Event, now: float, report: IngestReport) -> None:
    run_id, data = event.run_id, event.data
    reporter = SqliteReporter(store, run_id)
    kind = event.kind
    if kind == "start":
        remote_rows.set_host(store, run_id, str(data.get("host") or "?"), now)
        report.started.append(run_id)
    elif kind == "logs":
        lines = data.get("lines") or []
        if lines:
            base = log_rows.log_size(store, run_id)
            rows = [
                (run_id, base + i + 1, float(ts), str(level), str(stream), str(message))
                for i, (_seq, ts, level, stream, message) in enumerate(lines)
            ]
            log_rows.insert_lines(store, run_id, rows)
        remote_rows.beat(store, run_id, now)
    elif kind == "task":
        if remote_rows.task_id_at(store, run_id, int(data["position"])) is None:
            reporter.add_task(int(data["position"]), str(data["name"]), data.get("total"))
    elif kind == "progress":
        tasks = []
        for t in data.get("tasks") or []:
            task_id = remote_rows.task_id_at(store, run_id, int(t["id"]))
            if task_id is not None:
                tasks.append(TaskState(**{**t, "id": task_id, "dirty": False}))
        # The heartbeat is when the control host heard it (hosts' clocks may differ).
        reporter.progress(now, int(data.get("records") or 0), data.get("progress"), tasks)
    elif kind == "options":
        reporter.record_options(dict(data.get("options") or {}))
    elif kind == "finish":
        state = RunState(str(data["state"]))
        if lifecycle.finish(
            store,
            run_id,
            float(data.get("now") or now),
            state,
            data.get("error"),
            errors=list(data.get("errors") or []),
            results=list(data.get("results") or []),
            by_worker=True,
        ):
            report.ended.append(run_id)
    elif kind == "end":  # the task's word: the run's process died without reporting its end
        state = RunState(str(data["state"]))
        if lifecycle.end_unreported(
            store, run_id, now, state, str(data.get("message")), str(data.get("detail") or "")
        ):
            report.ended.append(run_id)
    else:
        log.warning("unknown event %r of run %s ignored", kind, run_id)

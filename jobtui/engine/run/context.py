"""Executing a run's body from its order, whoever executes it: `execute(order, reporter,
data_dir)` runs a command job, a datagen run or a replay, heartbeats and polls for a cancel
through the reporter, stops itself at the job's timeout, and reports the final outcome once.

The local worker (run/worker.py) calls it with a SqliteReporter; a remote executor's worker
calls it with a reporter that streams the same calls back to the control host.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobtui.engine.model.clock import Clock, SystemClock
from jobtui.engine.model.durations import format_duration
from jobtui.engine.model.errors import JobtuiError
from jobtui.engine.model.runtime import Outcome, RunContext, RunOrder, RunReporter, Stopped
from jobtui.engine.model.secrets import redact, redact_value
from jobtui.engine.model.types import RunState
from jobtui.engine.run.executor import GRACE, HEARTBEAT_INTERVAL, run_timeout
from jobtui.engine.run.logs import LogWriter, lost_note

CANCEL_POLL = 0.25


class Monitor(threading.Thread):
    """Heartbeats, polls the cancel request and watches the deadline."""

    def __init__(self, ctx: RunContext, heartbeat: float, timeout: float | None):
        super().__init__(name=f"monitor-{ctx.run_id}", daemon=True)
        self.ctx = ctx
        self.heartbeat = heartbeat
        self.deadline = ctx.started_at + timeout if timeout else None
        self.timeout = timeout
        self.done = threading.Event()

    def run(self) -> None:
        last_beat = 0.0
        while not self.done.wait(CANCEL_POLL):
            now = self.ctx.now()
            try:
                if self.ctx.reporter.cancel_requested():
                    if not self.ctx.stop.is_set():
                        self.ctx.log.warning("cancel requested: stopping")
                    self.ctx.request_stop("cancelled")
                if (
                    self.deadline is not None
                    and now >= self.deadline
                    and not self.ctx.stop.is_set()
                ):
                    self.ctx.log.error(f"timed out after {format_duration(self.timeout)}: stopping")
                    self.ctx.request_stop("timeout")
                if now - last_beat >= self.heartbeat:
                    self.ctx.write_progress()
                    last_beat = now
            except Exception as exc:  # a busy database must not kill the heartbeat
                with contextlib.suppress(Exception):
                    print(f"monitor: {exc}", file=sys.stderr)


def execute(
    order: RunOrder,
    reporter: RunReporter,
    data_dir: Path,
    *,
    heartbeat: float = HEARTBEAT_INTERVAL,
    grace: float = GRACE,
    clock: Clock | None = None,
) -> Outcome:
    """Run the order's body to its end and report that end; the outcome."""
    clock = clock or SystemClock()
    # Every line goes through `redact`: a resolved secret value never reaches the log.
    log = LogWriter(reporter, clock=clock.now, redact=redact).start()
    ctx = RunContext(order, reporter, log, data_dir, grace=grace, clock=clock)
    monitor = Monitor(ctx, heartbeat, run_timeout(ctx.raw_spec))

    def on_term(signum: int, frame: Any) -> None:
        # The supervisor's timeout backstop also sends SIGTERM; when a slow start kept the
        # monitor from seeing the deadline first, that is still a timeout, not a cancel.
        late = monitor.deadline is not None and ctx.now() >= monitor.deadline
        ctx.request_stop("timeout" if late else "cancelled")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    monitor.start()
    title = f" — {ctx.title}" if ctx.title else ""
    log.info(
        f"run {ctx.run_id} of {ctx.workspace}/{ctx.job_name} (version {order.job_version}, "
        f"{ctx.trigger}){title}: worker pid {os.getpid()}"
    )
    if ctx.parameters:
        log.info(f"parameters: {json.dumps(ctx.parameters, ensure_ascii=False)}")
    if ctx.since is not None:
        log.info(f"since: {datetime.fromtimestamp(ctx.since, UTC).isoformat()}")
    try:
        if reporter.cancel_requested():
            ctx.request_stop("cancelled")
        ctx.check()
        outcome = body(ctx)
    except Stopped as stop:
        outcome = stopped(ctx, str(stop))
    except JobtuiError as exc:
        if ctx.stop.is_set():
            outcome = stopped(ctx, ctx.stop_reason or "cancelled")
        else:
            log.error(str(exc))
            ctx.add_error(str(exc))
            outcome = Outcome(RunState.FAILED, error=str(exc))
    except Exception as exc:
        detail = traceback.format_exc()
        message = f"{type(exc).__name__}: {exc}"
        log.error(f"failed: {message}")
        log.error(detail)
        ctx.add_error(message, detail)
        outcome = Outcome(RunState.FAILED, error=message)
    monitor.done.set()
    monitor.join(timeout=5)
    if outcome.error:
        outcome.error = redact(outcome.error)
    summary = f"{outcome.state.value}"
    if outcome.error:
        summary += f": {outcome.error}"
    # A failure is an error (`logs --level error` and the log screen's `e` find it).
    level = {RunState.SUCCEEDED: "info", RunState.FAILED: "error"}.get(outcome.state, "warning")
    log.write(f"run ended {summary}", level)
    log.close()
    results = [redact(r) for r in outcome.results or ctx.results]
    if log.lines_lost:
        results.append(lost_note(log.lines_lost))
    with contextlib.suppress(Exception):
        ctx.write_progress()
    reporter.finish(clock.now(), outcome, redact_value(ctx.errors), results)
    return outcome


def body(ctx: RunContext) -> Outcome:
    """The job kind's body: the command runner, a replay, or the datagen run."""
    if ctx.spec.kind == "command":
        from jobtui.engine.run.command import run_command

        return run_command(ctx)
    if ctx.spec.kind == "pipeline":
        if ctx.options.get("replay_of") is not None:
            from jobtui.engine.pipeline.replay import run_pipeline_replay

            return run_pipeline_replay(ctx)
        from jobtui.engine.pipeline.run import run_pipeline

        return run_pipeline(ctx)
    if ctx.options.get("replay_of") is not None:
        from jobtui.engine.datagen.replay import run_replay

        return run_replay(ctx)
    from jobtui.engine.datagen.run import run_datagen

    return run_datagen(ctx)


def stopped(ctx: RunContext, reason: str) -> Outcome:
    """The outcome of a body stopped by a cancel or the timeout."""
    for task in ctx.tasks:
        if task.state in ("queued", "running"):
            ctx.update_task(task, state="cancelled" if reason != "timeout" else "failed")
    if reason == "timeout":
        timeout = run_timeout(ctx.raw_spec) or 0
        message = f"timed out after {format_duration(timeout)}"
        ctx.add_error(message)
        return Outcome(RunState.FAILED, error=message)
    return Outcome(RunState.CANCELLED, error="cancelled")

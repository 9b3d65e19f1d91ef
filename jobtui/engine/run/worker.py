"""The local worker: executes one run in its own process.

    python -m jobtui.engine.run.worker --db PATH [--data-dir DIR] RUN_ID

It claims the run (or finds it claimed by the supervisor that started it), records its
pid and process group, reads the run's order from the database and executes it
(`run.context.execute`) reporting into the same database (SqliteReporter).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # Before the engine's imports (~0.2 s), so a run with threads has its helpers' server
    # booting beside them (see datagen/prestart.py).
    from jobtui.engine.datagen.prestart import prestart

    prestart(sys.argv[1:])

import os
from pathlib import Path
from typing import Any

from jobtui.engine.model.clock import Clock, SystemClock
from jobtui.engine.model.errors import InvalidInput, JobtuiError
from jobtui.engine.model.runtime import Outcome
from jobtui.engine.model.secrets import redact_stderr
from jobtui.engine.model.types import RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.run.context import execute
from jobtui.engine.run.doorbell import ring
from jobtui.engine.run.executor import GRACE, HEARTBEAT_INTERVAL
from jobtui.engine.run.logs import LogWriter
from jobtui.engine.run.order import load_order
from jobtui.engine.run.proc import create_time, is_worker
from jobtui.engine.run.reporter import SqliteReporter
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store


class RunWorker:
    def __init__(
        self,
        store: Store,
        data_dir: Path,
        run_id: int,
        *,
        heartbeat: float = HEARTBEAT_INTERVAL,
        grace: float = GRACE,
        clock: Clock | None = None,
        fork_helpers: bool = False,
    ):
        self.store = store
        self.fork_helpers = fork_helpers
        self.data_dir = Path(data_dir)
        self.run_id = run_id
        self.heartbeat = heartbeat
        self.grace = grace
        self.clock: Clock = clock or SystemClock()

    def _claim(self) -> Any:
        store = self.store
        now = self.clock.now()
        pid, pgid = os.getpid(), os.getpgid(0)
        started = create_time(pid)
        with store.transaction():
            row = run_rows.worker_state(store, self.run_id)
            if row is None:
                raise InvalidInput(f"no run with id {self.run_id}")
            if row["state"] == "queued" and lifecycle.claim(store, self.run_id, now):
                # Started by hand (a test, `jobtui worker`) on a queued run: the same claim.
                lifecycle.attach(store, self.run_id, now, pid, pgid, started)
            elif row["state"] in ("running", "cancelling"):
                if row["pid"] not in (None, pid) and is_worker(
                    row["pid"], row["worker_started_at"]
                ):
                    raise InvalidInput(
                        f"run {self.run_id} is already executed by worker {row['pid']}"
                    )
                lifecycle.attach(store, self.run_id, now, pid, pgid, started)
            else:
                raise InvalidInput(f"run {self.run_id} is {row['state']}; nothing to do")
        return run_rows.run_row(store, self.run_id)

    def run(self) -> int:
        run = self._claim()
        reporter = SqliteReporter(self.store, self.run_id)
        try:
            order = load_order(self.store, run, self.clock.now())
        except Exception as exc:
            log = LogWriter(reporter, clock=self.clock.now)
            log.error(f"cannot read the job's spec: {exc}")
            log.close()
            now = self.clock.now()
            outcome = Outcome(RunState.FAILED, error=str(exc))
            reporter.finish(now, outcome, [{"message": str(exc), "at": now}], [])
            return 1
        run_rows.set_executing(self.store, self.run_id, self.clock.now())
        if self.fork_helpers:
            self._fork_helpers(order.options, order.spec)
        try:
            outcome = execute(
                order,
                reporter,
                self.data_dir,
                heartbeat=self.heartbeat,
                grace=self.grace,
                clock=self.clock,
            )
        finally:
            if self.fork_helpers:
                from jobtui.engine.datagen.parallel import release_forked

                release_forked()
        return 0 if outcome.state == RunState.SUCCEEDED else 1

    @staticmethod
    def _fork_helpers(options: dict[str, Any], spec: dict[str, Any]) -> None:
        """A worker forked by the warm launcher forks the helpers its run will want now,
        while it has no thread (issue 18: `threads: 2` start-up; a cold worker starts a
        forkserver before its imports instead, see datagen/prestart.py)."""
        import threading

        from jobtui.engine.datagen.prestart import helpers_for

        count = helpers_for(options, spec)
        if count and threading.active_count() == 1:
            from jobtui.engine.datagen.parallel import fork_helpers

            fork_helpers(count)


def open_store(db: str) -> Store | None:
    """The database opened ahead of a run (the warm launcher's spare, run/zygote.py), or
    None when it cannot be: the run then opens it and reports why."""
    try:
        return Store(Path(db).expanduser())
    except Exception:
        return None


def main(argv: list[str] | None = None, *, store: Store | None = None, forked: bool = False) -> int:
    """`store`: the database, when opened ahead (used only when it is the one `--db` names);
    `forked`: this process was forked by the warm launcher (it may fork its helpers)."""
    from jobtui.engine.datagen.prestart import worker_arguments

    args = worker_arguments(argv)
    redact_stderr()  # the run's workers/run-N.log: no resolved secret in a traceback either
    db_path = Path(args.db).expanduser()
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else db_path.parent
    if store is not None and store.path != db_path:
        store.close()
        store = None
    try:
        store = store or Store(db_path)
    except JobtuiError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    try:
        return RunWorker(store, data_dir, args.run_id, fork_helpers=forked).run()
    except JobtuiError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
        ring(db_path)  # the daemon handles the run's end now, not at its next poll


if __name__ == "__main__":
    sys.exit(main())

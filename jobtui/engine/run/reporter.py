"""SqliteReporter: a local worker reports straight into the database (the RunReporter of
model/runtime.py). A remote executor's workers use another reporter with the same calls."""

from __future__ import annotations

import sys
import time
from typing import Any

from jobtui.engine.model.codec import dumps
from jobtui.engine.model.runtime import LogRow, Outcome, TaskState
from jobtui.engine.run import lifecycle
from jobtui.engine.store import logs as log_rows
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store

FINAL_WRITE_TRIES = 20


class SqliteReporter:
    def __init__(self, store: Store, run_id: int):
        self.store = store
        self.run_id = int(run_id)

    def log_size(self) -> int:
        return log_rows.log_size(self.store, self.run_id)

    def write_logs(self, lines: list[LogRow]) -> int:
        return log_rows.insert_lines(self.store, self.run_id, lines)

    def add_task(self, position: int, name: str, total: int | None) -> int:
        return run_rows.add_task(self.store, self.run_id, position, name, total)

    def progress(
        self, now: float, records: int, progress: float | None, tasks: list[TaskState]
    ) -> None:
        run_rows.write_progress(self.store, self.run_id, now, records, progress, tasks)

    def record_options(self, options: dict[str, Any]) -> None:
        run_rows.set_options(self.store, self.run_id, dumps(options))

    def cancel_requested(self) -> bool:
        return run_rows.cancel_requested(self.store, self.run_id)

    def finish(
        self, now: float, outcome: Outcome, errors: list[dict[str, Any]], results: list[str]
    ) -> None:
        for _ in range(FINAL_WRITE_TRIES):  # a busy database must not lose the end
            try:
                lifecycle.finish(
                    self.store,
                    self.run_id,
                    now,
                    outcome.state,
                    outcome.error,
                    errors=errors,
                    results=results,
                    by_worker=True,
                    offsets=outcome.offsets,
                )
                return
            except Exception as exc:
                print(f"worker: could not write the final state: {exc}", file=sys.stderr)
                time.sleep(0.5)

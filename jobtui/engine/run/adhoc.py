"""Ad hoc runs: a job definition that was never saved, executed now, with nothing stored.

The wizard's "Download file" runs the definition on screen into one file: no job version,
no run row, no log lines, no replay output. The body is the same as a stored run's
(`run.context.execute`), in a child process of its own (a run needs its main thread for
signals, and must not share the dashboard's GIL):

    python -m jobtui.engine.run.adhoc --data-dir DIR   < order.json

The child reports over stdout, one JSON object a line (`StreamReporter`): progress
(records), log lines worth showing (warnings and errors) and, last, the end. The parent
(`run_adhoc`) reads them, stops the child (SIGTERM, then SIGKILL after the grace period)
when asked, and removes the hidden partial files a killed child left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from jobtui.engine.model.runtime import LogRow, Outcome, RunOrder, TaskState
from jobtui.engine.model.types import RunState
from jobtui.engine.run.executor import GRACE
from jobtui.engine.sinks.partials import partials_listing, remove_partials


@dataclass
class AdhocResult:
    """How an ad hoc run ended: its state, records, error and results (what it wrote), and
    the warning and error lines of its log (nothing else of it is kept)."""

    state: RunState
    records: int = 0
    error: str | None = None
    results: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in (RunState.SUCCEEDED, RunState.PARTIALLY_SUCCEEDED)


class StreamReporter:
    """A RunReporter that keeps nothing: it writes what it is told as JSON lines."""

    def __init__(self, run_id: int, out: IO[str]):
        self.run_id = run_id
        self.out = out
        self.lock = threading.Lock()
        self.seq = 0
        self.tasks = 0
        self.stop = threading.Event()

    def _send(self, kind: str, **data: Any) -> None:
        with self.lock:
            self.out.write(json.dumps({"kind": kind, **data}, default=str) + "\n")
            self.out.flush()

    def log_size(self) -> int:
        return self.seq

    def write_logs(self, lines: list[LogRow]) -> int:
        for line in lines:
            self.seq += 1
            level, message = line[3], line[5]
            if level in ("warning", "error"):
                self._send("log", level=level, message=message)
        return self.seq

    def add_task(self, position: int, name: str, total: int | None) -> int:
        self.tasks += 1
        return self.tasks

    def progress(
        self, now: float, records: int, progress: float | None, tasks: list[TaskState]
    ) -> None:
        self._send("progress", records=records)

    def record_options(self, options: dict[str, Any]) -> None:
        return None

    def cancel_requested(self) -> bool:
        return self.stop.is_set()

    def finish(
        self, now: float, outcome: Outcome, errors: list[dict[str, Any]], results: list[str]
    ) -> None:
        self._send("end", state=outcome.state.value, error=outcome.error, results=results)


def adhoc_run_id() -> int:
    """A run id no stored run has (stored ids are positive): it names the partials listing
    and the hidden files of this run alone."""
    return -1 - secrets.randbelow(2**31)


def run_adhoc(
    order: RunOrder,
    data_dir: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    grace: float = GRACE,
) -> AdhocResult:
    """Execute `order` in a child process and wait for its end (see the module's doc)."""
    argv = [sys.executable, "-m", "jobtui.engine.run.adhoc", "--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        close_fds=True,
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stderr_tail: list[str] = []

    def drain_stderr(stream: IO[str]) -> None:
        for line in stream:
            stderr_tail.append(line.rstrip("\n"))
            del stderr_tail[:-20]

    reader = threading.Thread(target=drain_stderr, args=(proc.stderr,), daemon=True)
    reader.start()
    stopper = threading.Event()
    watcher = None
    if should_stop is not None:
        watcher = threading.Thread(
            target=_watch_stop, args=(proc, should_stop, stopper, grace), daemon=True
        )
        watcher.start()
    result = AdhocResult(RunState.FAILED)
    ended = False
    try:
        proc.stdin.write(order.to_json())
        proc.stdin.close()
        for text in proc.stdout:
            try:
                event = json.loads(text)
            except ValueError:
                continue
            kind = event.get("kind")
            if kind == "progress":
                result.records = int(event.get("records") or 0)
                if on_progress is not None:
                    on_progress(result.records)
            elif kind == "log":
                result.problems.append(str(event.get("message", "")))
            elif kind == "end":
                ended = True
                result.state = RunState(event["state"])
                result.error = event.get("error")
                result.results = [str(r) for r in event.get("results") or []]
    except BrokenPipeError:
        pass
    finally:
        proc.wait()
        stopper.set()
        reader.join(timeout=5)
        remove_partials(partials_listing(data_dir, order.run_id))
    if not ended:
        stopped = should_stop is not None and should_stop()
        result.state = RunState.CANCELLED if stopped else RunState.FAILED
        tail = "; ".join(line for line in stderr_tail if line.strip())
        result.error = "cancelled" if stopped else (tail or f"exited with code {proc.returncode}")
    return result


def _watch_stop(
    proc: subprocess.Popen[str],
    should_stop: Callable[[], bool],
    done: threading.Event,
    grace: float,
) -> None:
    """SIGTERM the child's group once `should_stop()` holds, SIGKILL after `grace`."""
    while not done.wait(0.2):
        if should_stop():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            if not done.wait(grace):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            return


def main(argv: list[str] | None = None) -> int:
    from jobtui.engine.run.context import execute

    parser = argparse.ArgumentParser(prog="python -m jobtui.engine.run.adhoc")
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args(argv)
    order = RunOrder.from_json(sys.stdin.read())
    reporter = StreamReporter(order.run_id, sys.stdout)
    outcome = execute(order, reporter, Path(args.data_dir))
    return 0 if outcome.state == RunState.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())

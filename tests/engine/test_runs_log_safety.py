"""Log lines are never lost without a word: a batch the database refuses (locked past its
busy timeout) stays queued, a bounded queue counts what it drops and the run's results
say so, a line over 64 KiB is cut with a marker (issue 16, point 2)."""

from __future__ import annotations

import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.model.runtime import LogRow, Outcome, RunOrder
from jobtui.engine.run import logs as run_logs
from jobtui.engine.run.context import execute
from jobtui.engine.run.logs import MAX_MESSAGE, LogWriter, lost_note
from jobtui.engine.run.order import load_order
from jobtui.engine.run.reporter import SqliteReporter
from jobtui.engine.run.worker import RunWorker
from jobtui.engine.store import db as store_db

from .runs_helpers import command_job, wait_until

LOCK_WAIT = 30.0  # how long a test waits for the writer to report a refused batch


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections opened from now on give up after 0.2 s (the real timeout is 10 s)."""
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 200)


class WatchedReporter(SqliteReporter):
    """A SqliteReporter that tells the test when the database refused a batch of lines."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.refused = threading.Event()

    def write_logs(self, lines: list[LogRow]) -> int:
        try:
            return super().write_logs(lines)
        except sqlite3.OperationalError:
            self.refused.set()
            raise


class WriteLock:
    """Another connection holding the database's write lock until released."""

    def __init__(self, engine: Engine) -> None:
        self.conn = sqlite3.connect(engine.db_path, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()


def release_when(event: threading.Event, lock: WriteLock) -> threading.Thread:
    def hold() -> None:
        if not event.wait(LOCK_WAIT):
            lock.release()
            raise AssertionError("the log writer never met the locked database")
        lock.release()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def restore_signals() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def claim_here(engine: Engine, run_id: int) -> RunOrder:
    """Claim the run for this process and read its order (as the worker does)."""
    row = RunWorker(engine.store, engine.data_dir, run_id)._claim()
    return load_order(engine.store, row, engine.clock.now())


def execute_here(engine: Engine, order: RunOrder, reporter: SqliteReporter) -> Outcome:
    """The worker's body in this process (as `python -m jobtui.engine.run.worker` runs it),
    so the test can watch its reporter."""
    return execute(order, reporter, engine.data_dir, heartbeat=0.2)


def output_lines(engine: Engine, run_id: int) -> list[str]:
    return [
        line.message for line in engine.read_log(run_id, limit=10_000) if line.stream == "stdout"
    ]


NUMBERED = [sys.executable, "-c", "for i in range(1, 401): print(f'line {i}', flush=True)"]


def test_a_run_printing_400_lines_under_a_held_write_lock_stores_all_400_in_order(
    engine: Engine, short_busy_timeout: None, restore_signals: None
) -> None:
    command_job(engine, "numbers", NUMBERED)
    run = engine.queue_run("numbers")
    reporter = WatchedReporter(engine.store, run.id)
    order = claim_here(engine, run.id)
    holder = release_when(reporter.refused, WriteLock(engine))
    outcome = execute_here(engine, order, reporter)
    holder.join()
    assert reporter.refused.is_set()  # the lock really outlasted the busy timeout
    assert outcome.state == RunState.SUCCEEDED
    assert output_lines(engine, run.id) == [f"line {i}" for i in range(1, 401)]
    lines = engine.read_log(run.id, limit=10_000)
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    stored = engine.get_run(run.id)
    assert stored.state == RunState.SUCCEEDED
    assert not any("log incomplete" in r for r in stored.results)


def test_a_run_whose_queue_overflowed_says_exactly_how_many_lines_were_lost(
    engine: Engine,
    short_busy_timeout: None,
    restore_signals: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(run_logs, "MAX_QUEUED", 50)
    # The command waits for the test's word (a line on stdin would do; stdin is closed,
    # so a file) until the writer has met the lock: then its 400 lines overflow the queue.
    gate = engine.data_dir / "gate"
    script = (
        "import os, sys, time\n"
        f"gate = {str(gate)!r}\n"
        "print('line 1', flush=True)\n"
        "while not os.path.exists(gate):\n"
        "    time.sleep(0.005)\n"
        "for i in range(2, 401): print(f'line {i}', flush=True)\n"
    )
    command_job(engine, "overflow", [sys.executable, "-c", script])
    run = engine.queue_run("overflow")
    reporter = WatchedReporter(engine.store, run.id)
    order = claim_here(engine, run.id)
    lock = WriteLock(engine)
    opened = threading.Event()

    def hold() -> None:
        try:
            if reporter.refused.wait(LOCK_WAIT):
                gate.write_text("go")
                # Released once the command's lines have come in (and overflowed).
                wait_until(lambda: "line 400" in reporter_seen(), LOCK_WAIT)
        finally:
            opened.set()
            lock.release()

    seen: list[str] = []

    def reporter_seen() -> list[str]:
        return seen

    original_write = LogWriter.write

    def spy(self: LogWriter, message: str, level: str = "info", stream: str = "engine") -> None:
        if stream == "stdout":
            seen.append(message)
        original_write(self, message, level, stream)

    monkeypatch.setattr(LogWriter, "write", spy)
    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    execute_here(engine, order, reporter)
    holder.join()
    assert opened.is_set() and reporter.refused.is_set()

    lines = engine.read_log(run.id, limit=10_000)
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    markers = [line for line in lines if line.message.startswith("log incomplete:")]
    assert markers and all(m.level == "warning" for m in markers)
    lost = sum(int(m.message.split()[2]) for m in markers)
    stored = output_lines(engine, run.id)
    # What was kept is in order; what is missing is exactly what the markers count (the
    # run's own engine lines written meanwhile may be among the lost ones).
    numbers = [int(text.split()[1]) for text in stored]
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert 400 - len(stored) <= lost
    assert lost >= 400 - 50
    assert engine.get_run(run.id).results[-1] == lost_note(lost)


def test_the_writer_keeps_a_refused_batch_and_counts_only_what_overflowed(
    engine: Engine, short_busy_timeout: None
) -> None:
    command_job(engine, "direct", ["true"])
    run = engine.queue_run("direct")
    reporter = WatchedReporter(engine.store, run.id)
    writer = LogWriter(reporter, max_queued=100).start()
    lock = WriteLock(engine)
    writer.write("first", stream="stdout")
    assert reporter.refused.wait(LOCK_WAIT)
    for i in range(2, 401):
        writer.write(f"line {i}", stream="stdout")
    lock.release()
    writer.close()
    assert writer.lines_lost == 300
    lines = engine.read_log(run.id, limit=1000)
    assert [line.message for line in lines[:100]] == ["first"] + [
        f"line {i}" for i in range(2, 101)
    ]
    assert lines[100].message == "log incomplete: 300 lines lost here (the database refused writes)"
    assert len(lines) == 101


def test_a_line_over_64_kib_is_cut_saying_how_much(engine: Engine) -> None:
    command_job(engine, "long", ["true"])
    run = engine.queue_run("long")
    with LogWriter(SqliteReporter(engine.store, run.id)) as writer:
        writer.info("x" * (MAX_MESSAGE + 1234))
    (line,) = engine.read_log(run.id)
    assert line.message == "x" * MAX_MESSAGE + " … [line cut: 1234 more characters]"

"""Run logs: batched writing, paging by seq, tail, grep, find, save — on a 1M-line log."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobtui.engine import Engine, InvalidInput
from jobtui.engine.run.logs import LogWriter, levels_at_least
from jobtui.engine.run.reporter import SqliteReporter
from jobtui.engine.store.logs import iter_log

from .runs_helpers import command_job

LINES = 1_000_000


@pytest.fixture
def big_log(engine: Engine) -> int:
    command_job(engine, "chatty", ["true"])
    run = engine.queue_run("chatty")
    writer = LogWriter(SqliteReporter(engine.store, run.id)).start()
    for i in range(1, LINES + 1):
        if i % 100_000 == 0:
            writer.write(f"checkpoint {i} reached", "warning", "engine")
        else:
            writer.write(f"line {i} of the output", "info", "stdout")
    writer.close()
    return run.id


def test_a_million_lines_are_written_in_batches_and_read_back(
    engine: Engine, big_log: int, tmp_path: Path
) -> None:
    run_id = big_log
    assert engine.log_size(run_id) == LINES

    tail = engine.read_log(run_id, limit=5, backwards=True)
    assert [line.seq for line in tail] == list(range(LINES - 4, LINES + 1))
    assert tail[-1].message == f"checkpoint {LINES} reached"

    started = time.perf_counter()
    page = engine.read_log(run_id, from_seq=500_001, limit=200)
    elapsed = time.perf_counter() - started
    assert [line.seq for line in page] == list(range(500_001, 500_201))
    assert page[0].message == "line 500001 of the output"
    assert elapsed < 0.05, f"a page from a seq took {elapsed * 1000:.1f} ms"

    before = engine.read_log(run_id, from_seq=500_000, limit=3, backwards=True)
    assert [line.seq for line in before] == [499_998, 499_999, 500_000]

    warnings = engine.read_log(run_id, levels=["warning"], limit=100)
    assert len(warnings) == 10 and warnings[0].seq == 100_000

    hit = engine.find_log(run_id, 100_000, levels=["warning", "error"])
    assert hit is not None and hit.seq == 200_000
    back = engine.find_log(run_id, 200_000, pattern=r"^checkpoint", backwards=True)
    assert back is not None and back.seq == 100_000

    grep = engine.read_log(run_id, grep=r"line 77777\d ", limit=50)
    assert [line.seq for line in grep] == list(range(777_770, 777_780))

    count = engine.save_log(run_id, tmp_path / "saved.log", levels=levels_at_least("warning"))
    assert count == 10
    assert (tmp_path / "saved.log").read_text().count("checkpoint") == 10

    seen = 0
    last = 0
    for line in iter_log(engine.store, run_id, from_seq=990_001):
        assert line.seq == last + 1 or last == 0
        last = line.seq
        seen += 1
    assert seen == 10_000 and last == LINES


def test_bad_filters_are_invalid_input(engine: Engine) -> None:
    command_job(engine, "quiet", ["true"])
    run = engine.queue_run("quiet")
    with pytest.raises(InvalidInput):
        engine.read_log(run.id, grep="(")
    with pytest.raises(InvalidInput):
        levels_at_least("loud")
    assert engine.read_log(run.id) == []
    assert engine.log_size(run.id) == 0


def test_writers_from_two_processes_never_clash_on_seq(engine: Engine) -> None:
    command_job(engine, "two", ["true"])
    run = engine.queue_run("two")
    first = LogWriter(SqliteReporter(engine.store, run.id))
    second = LogWriter(SqliteReporter(engine.store, run.id))  # both think the log is empty
    first.write("a")
    second.write("b")
    first.flush()
    second.flush()
    assert [(line.seq, line.message) for line in engine.read_log(run.id)] == [(1, "a"), (2, "b")]


def test_lines_are_printed_with_local_time_to_the_millisecond() -> None:
    from datetime import UTC, datetime

    from jobtui.engine.model.types import LogLine
    from jobtui.engine.run.logs import LineFormatter, format_line

    def line(seq: int, iso: str) -> LogLine:
        ts = datetime.fromisoformat(iso).replace(tzinfo=UTC)
        return LogLine(seq, 1, seq, ts, "warning", "stdout", f"message {seq}")

    # Three lines in one formatter: two in the same second, one in the next.
    lines = [
        line(1, "2027-01-15T08:00:00.123456"),
        line(2, "2027-01-15T08:00:00.999999"),
        line(3, "2027-01-15T08:00:01.000500"),
    ]
    formatted = LineFormatter()
    expected = [
        f"{x.ts.astimezone().strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]} WARNING stdout {x.message}"
        for x in lines
    ]
    assert [formatted(x) for x in lines] == expected
    assert [format_line(x) for x in lines] == expected
    assert format_line(lines[0], with_time=False) == "WARNING stdout message 1"

"""A command's output as stored: the written order (issue 16.3), levels that make errors
findable (issue 20.1), long lines cut with a marker (issue 16.2)."""

from __future__ import annotations

import sys

import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.run.command import OutputReader, output_level
from jobtui.engine.run.logs import MAX_MESSAGE, levels_at_least

from .runs_helpers import command_job, run_to_end

ALTERNATING = (
    "import sys\n"
    "for i in range(200):\n"
    "    out = sys.stdout if i % 2 == 0 else sys.stderr\n"
    "    out.write(f'line {i}\\n')\n"
    "    out.flush()\n"
)


def output(engine: Engine, run_id: int) -> list[tuple[str, str]]:
    return [
        (line.stream, line.message)
        for line in engine.read_log(run_id, limit=10_000)
        if line.stream in ("stdout", "stderr")
    ]


def test_merged_output_keeps_200_alternating_flushed_lines_in_written_order(
    engine: Engine,
) -> None:
    command_job(engine, "alternate", [sys.executable, "-c", ALTERNATING])
    spec = engine.get_job("alternate").spec
    spec["command"]["output"] = "merged"
    engine.update_job("alternate", spec)
    run = run_to_end(engine, "alternate")
    assert run.state == RunState.SUCCEEDED, run.error
    assert [message for _, message in output(engine, run.id)] == [f"line {i}" for i in range(200)]


def test_separate_output_is_read_in_one_loop_and_keeps_each_streams_order(
    engine: Engine,
) -> None:
    command_job(engine, "separate", [sys.executable, "-c", ALTERNATING])
    run = run_to_end(engine, "separate")
    lines = output(engine, run.id)
    assert [m for s, m in lines if s == "stdout"] == [f"line {i}" for i in range(0, 200, 2)]
    assert [m for s, m in lines if s == "stderr"] == [f"line {i}" for i in range(1, 200, 2)]


def test_a_failed_commands_stderr_and_failure_are_found_at_error_level(engine: Engine) -> None:
    command_job(
        engine,
        "disk",
        ["sh", "-c", "echo ok 30; echo 'ERROR: disk full' >&2; echo after 1; exit 3"],
    )
    run = run_to_end(engine, "disk")
    assert run.state == RunState.FAILED
    errors = [line.message for line in engine.read_log(run.id, levels=levels_at_least("error"))]
    assert "ERROR: disk full" in errors
    assert "run ended failed: sh exited with code 3" in errors
    assert "ok 30" not in errors and "after 1" not in errors


@pytest.mark.parametrize(
    ("line", "stream", "level"),
    [
        ("plain progress", "stdout", "info"),
        ("ERROR: disk full", "stdout", "error"),
        ("FATAL cannot continue", "stdout", "error"),
        ("Traceback (most recent call last):", "stdout", "error"),
        ("ValueError: bad", "stdout", "error"),
        ("java.lang.IllegalStateException", "stdout", "error"),
        ("panic: runtime error: index out of range", "stdout", "error"),
        ("0 errors, 3 warnings", "stdout", "info"),
        ("something went to stderr", "stderr", "error"),
        ("WARNING: low space", "stderr", "warning"),
        ("INFO:root:started", "stderr", "info"),
        ("[debug] detail", "stderr", "debug"),
    ],
)
def test_output_levels(line: str, stream: str, level: str) -> None:
    assert output_level(line, stream) == level


def test_an_output_line_over_64_kib_is_cut_saying_how_many_bytes(engine: Engine) -> None:
    script = f"import sys; sys.stdout.write('y' * {MAX_MESSAGE + 5000} + '\\nnext\\n')"
    command_job(engine, "wide", [sys.executable, "-c", script])
    run = run_to_end(engine, "wide")
    assert [m for _, m in output(engine, run.id)] == [
        "y" * MAX_MESSAGE + " … [line cut: 5000 more bytes]",
        "next",
    ]


def test_each_line_of_a_mixed_chunk_gets_its_own_level() -> None:
    import subprocess

    proc = subprocess.Popen(
        ["sh", "-c", "printf 'fine\\nERROR: x\\nfine 2\\n'; printf 'WARNING: a\\nboom\\n' >&2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen: list[tuple[str, str, str]] = []

    class Log:
        def write(self, message: str, level: str = "info", stream: str = "engine") -> None:
            seen.append((stream, level, message))

    reader = OutputReader(proc, Log())  # type: ignore[arg-type]
    proc.wait()
    reader.drain(30)
    assert [s for s in seen if s[0] == "stdout"] == [
        ("stdout", "info", "fine"),
        ("stdout", "error", "ERROR: x"),
        ("stdout", "info", "fine 2"),
    ]
    assert [s for s in seen if s[0] == "stderr"] == [
        ("stderr", "warning", "WARNING: a"),
        ("stderr", "error", "boom"),
    ]

"""A command's output as stored: the written order (issue 16.3), levels that make errors
findable (issue 20.1), long lines cut with a marker (issue 16.2)."""

from __future__ import annotations

import ctypes
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.run.command import OutputReader, output_level
from jobtui.engine.run.fence import WriteFence
from jobtui.engine.run.logs import MAX_MESSAGE, levels_at_least

from .runs_helpers import (
    STOP_GRACE,
    command_job,
    run_to_end,
    start_running,
    tick_until_final,
    wait_until,
)

ALTERNATING = (
    "import sys\n"
    "for i in range(200):\n"
    "    out = sys.stdout if i % 2 == 0 else sys.stderr\n"
    "    out.write(f'line {i}\\n')\n"
    "    out.flush()\n"
)


class Log:
    """A log that keeps what the reader wrote: (stream, level, message)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str]] = []

    def write(self, message: str, level: str = "info", stream: str = "engine") -> None:
        self.lines.append((stream, level, message))


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


def test_by_default_200_alternating_flushed_lines_keep_their_stream_and_written_order(
    engine: Engine,
) -> None:
    command_job(engine, "alternate", [sys.executable, "-c", ALTERNATING])
    run = run_to_end(engine, "alternate")
    assert run.state == RunState.SUCCEEDED, run.error
    assert output(engine, run.id) == [
        ("stdout" if i % 2 == 0 else "stderr", f"line {i}") for i in range(200)
    ]


def test_a_shell_scripts_redirected_errors_land_where_they_were_written(engine: Engine) -> None:
    # `>&2` makes fd 1 the stderr pipe for one command: the stream is told by the pipe
    # written, the order by the write fence.
    script = 'for i in $(seq 1 60); do echo ok $i; echo "ERROR: disk $i" >&2; done; echo after'
    command_job(engine, "script", [script], shell=True)
    run = run_to_end(engine, "script")
    expected = [
        s for i in range(1, 61) for s in (("stdout", f"ok {i}"), ("stderr", f"ERROR: disk {i}"))
    ]
    assert output(engine, run.id) == [*expected, ("stdout", "after")]


def test_separate_output_keeps_each_streams_order(engine: Engine) -> None:
    command_job(engine, "separate", [sys.executable, "-c", ALTERNATING], output="separate")
    run = run_to_end(engine, "separate")
    lines = output(engine, run.id)
    assert [m for s, m in lines if s == "stdout"] == [f"line {i}" for i in range(0, 200, 2)]
    assert [m for s, m in lines if s == "stderr"] == [f"line {i}" for i in range(1, 200, 2)]


def test_a_process_left_running_still_writes_after_its_run_ended(
    engine: Engine, tmp_path: Path
) -> None:
    # It keeps the write fence's filter; its writes must not fail once its worker is gone.
    go, out = tmp_path / "go", tmp_path / "out"
    waiter = f"while [ ! -e {go} ]; do sleep 0.02; done; echo still here; echo and here >&2"
    command_job(engine, "leave", [f"nohup sh -c '{waiter}' >{out} 2>&1 &"], shell=True)
    run = run_to_end(engine, "leave")
    assert run.state == RunState.SUCCEEDED, run.error
    go.touch()
    wait_until(lambda: out.exists() and "and here" in out.read_text())
    assert out.read_text().splitlines()[-2:] == ["still here", "and here"]


def test_where_the_filter_cannot_be_set_up_the_command_runs_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = ["sh", "-c", "echo out; echo err >&2"]
    with monkeypatch.context() as patch:
        patch.setattr(platform, "machine", lambda: "sparc64")
        proc, listener = WriteFence().popen(argv, stdout=subprocess.DEVNULL)
        assert listener == "no seccomp filter on sparc64"
        assert proc.wait() == 0
    fence = WriteFence()
    fence._prog = ctypes.create_string_buffer(16)  # an empty program: the kernel refuses it
    proc, listener = fence.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert listener == "Invalid argument"  # run_command logs it as a warning
    log = Log()
    reader = OutputReader(proc, log)  # type: ignore[arg-type]
    proc.wait()
    reader.drain(30)
    assert sorted((s, m) for s, _, m in log.lines) == [("stderr", "err"), ("stdout", "out")]


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_a_worker_without_privilege_fences_under_no_new_privs() -> None:
    # Without CAP_SYS_ADMIN the kernel allows the filter only under no_new_privs.
    probe = (
        "import subprocess, sys\n"
        "from jobtui.engine.run.command import OutputReader\n"
        "from jobtui.engine.run.fence import WriteFence\n"
        "seen = []\n"
        "class Log:\n"
        "    def write(self, m, level='info', stream='engine'): seen.append(stream + ' ' + m)\n"
        "fence = WriteFence()\n"
        "script = 'for i in 1 2 3; do echo o$i; echo e$i >&2; done; grep NoNewPrivs /proc/self/status'\n"
        "proc, listener = fence.popen(['sh', '-c', script], stdout=subprocess.PIPE,\n"
        "                             stderr=subprocess.PIPE)\n"
        "reader = OutputReader(proc, Log(), listener)\n"
        "while proc.poll() is None:\n"  # a fenced write waits for the reader
        "    reader.read(0.05)\n"
        "reader.drain(30)\n"
        "print(fence.no_new_privs, seen)\n"
    )
    done = subprocess.run(
        [
            "setpriv",
            "--bounding-set=-sys_admin",
            "--inh-caps=-sys_admin",
            sys.executable,
            "-c",
            probe,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    expected = ["stdout o1", "stderr e1", "stdout o2", "stderr e2", "stdout o3", "stderr e3"]
    expected.append("stdout NoNewPrivs:\t1")
    assert done.stdout.strip() == f"True {expected}"


def test_a_command_saying_goodbye_on_sigterm_is_heard_and_ends_within_the_grace(
    engine: Engine,
) -> None:
    script = "trap 'echo bye >&2; exit 0' TERM; echo ready; while :; do sleep 0.02; done"
    command_job(engine, "polite", [script], shell=True)
    run = engine.queue_run("polite")
    supervisor = start_running(engine, run.id)
    wait_until(lambda: engine.find_log(run.id, 0, pattern="ready") is not None)
    started = time.monotonic()
    engine.cancel_run(run.id)
    final = tick_until_final(supervisor, engine, run.id, timeout=2 + STOP_GRACE)
    assert final.state == RunState.CANCELLED
    assert time.monotonic() - started < STOP_GRACE
    assert ("stderr", "bye") in output(engine, run.id)


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
    proc = subprocess.Popen(
        ["sh", "-c", "printf 'fine\\nERROR: x\\nfine 2\\n'; printf 'WARNING: a\\nboom\\n' >&2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    log = Log()
    reader = OutputReader(proc, log)  # type: ignore[arg-type]
    proc.wait()
    reader.drain(30)
    seen = log.lines
    assert [s for s in seen if s[0] == "stdout"] == [
        ("stdout", "info", "fine"),
        ("stdout", "error", "ERROR: x"),
        ("stdout", "info", "fine 2"),
    ]
    assert [s for s in seen if s[0] == "stderr"] == [
        ("stderr", "warning", "WARNING: a"),
        ("stderr", "error", "boom"),
    ]


def test_the_reader_wakes_when_the_command_ends_after_closing_its_output(tmp_path: Path) -> None:
    # Each command run used to end up to one wait (50 ms) late: with both pipes closed the
    # reader's wait had nothing to wake it.
    go = tmp_path / "go"
    proc = subprocess.Popen(
        ["sh", "-c", f"exec >&- 2>&-; while [ ! -e {go} ]; do sleep 0.01; done"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    reader = OutputReader(proc, Log())  # type: ignore[arg-type]

    def closed() -> bool:
        reader.read(0)
        return not reader.open

    wait_until(closed)  # both pipes closed
    go.touch()
    started = time.monotonic()
    while proc.poll() is None:
        reader.read(120)
    assert time.monotonic() - started < 60  # woken by the end, not by the 120 s timeout
    reader.drain(1)

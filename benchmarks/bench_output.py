"""What issue 16's log safety costs, each figure beside its baseline in the same run.

python -m benchmarks output

1. A command's output read into the log: the one selector loop (`run/command.py:
   OutputReader`, levels per line) against the two reader threads it replaced (the old
   `_pump`, kept here as the baseline), 200k lines alternating stdout/stderr, into a sink
   that only counts (the database is measured in 2).
2. The LogWriter into a real SQLite database, 300k lines: without redaction (baseline),
   with `redact` and three remembered secret values (what every run now does).
3. The write fence (`output: ordered`, the default since issue 16.3) against
   `output: separate` (no fence, the baseline), whole command runs as a user waits for
   them (queued -> ended, the log in SQLite): 100k lines alternating stdout/stderr written
   block-buffered (a program's usual output to a pipe) and flushed line by line (the
   worst case: one stopped write per line); 256 MiB written in 8 KiB writes to fd 1 that
   the shell pointed at a file (stopped as well); a command's start; runs of `true`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

LINES = 200_000
LOG_LINES = 300_000
CHILD = (
    "import sys\n"
    f"for i in range({LINES}):\n"
    "    (sys.stdout if i % 2 == 0 else sys.stderr).write(f'line {i} of some output\\n')\n"
)


class Counter:
    def __init__(self) -> None:
        self.lines = 0
        self.lock = threading.Lock()

    def write(self, message: str, level: str = "info", stream: str = "engine") -> None:
        with self.lock:
            self.lines += 1


def _old_pump(stream: Any, name: str, log: Counter) -> None:
    # The reader of each pipe before issue 16.3 (two threads).
    for raw in iter(stream.readline, b""):
        log.write(raw.rstrip(b"\r\n").decode("utf-8", "replace"), "info", name)
    stream.close()


def two_threads() -> tuple[float, int]:
    log = Counter()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    pumps = [
        threading.Thread(target=_old_pump, args=(proc.stdout, "stdout", log)),
        threading.Thread(target=_old_pump, args=(proc.stderr, "stderr", log)),
    ]
    for t in pumps:
        t.start()
    proc.wait()
    for t in pumps:
        t.join()
    return time.perf_counter() - started, log.lines


def one_loop() -> tuple[float, int]:
    from jobtui.engine.run.command import OutputReader

    log = Counter()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    reader = OutputReader(proc, log)  # type: ignore[arg-type]
    while proc.poll() is None:
        reader.read(0.05)
    reader.drain(2.0)
    return time.perf_counter() - started, log.lines


def child_alone() -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", CHILD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def log_writer(redacting: bool) -> float:
    from jobtui.engine import Engine
    from jobtui.engine.model import secrets
    from jobtui.engine.run.logs import LogWriter
    from jobtui.engine.run.reporter import SqliteReporter

    secrets.forget_secrets()
    if redacting:
        for value in ("s3cret-token-value", "another-password-42", "api-key-ABCDEFGH"):
            secrets.remember_secret(value)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.open(data_dir=Path(tmp))
        engine.create_job({"name": "bench", "kind": "command", "command": {"argv": ["true"]}})
        run = engine.queue_run("bench")
        writer = LogWriter(
            SqliteReporter(engine.store, run.id), redact=secrets.redact if redacting else None
        ).start()
        started = time.perf_counter()
        for i in range(LOG_LINES):
            writer.write(f"line {i}: fetched https://example.com/items?page={i}", "info", "stdout")
        writer.close()
        elapsed = time.perf_counter() - started
        engine.close()
    secrets.forget_secrets()
    return elapsed


def main(argv: list[str]) -> None:
    alone = child_alone()
    print(f"the child alone, output to /dev/null: {alone:.2f}s ({LINES:,} lines)")
    for rnd in (1, 2):
        old, old_n = two_threads()
        new, new_n = one_loop()
        print(
            f"round {rnd}: two reader threads (before) {old:.2f}s ({old_n:,} lines, "
            f"{old_n / old:,.0f}/s) · one selector loop with levels {new:.2f}s "
            f"({new_n:,} lines, {new_n / new:,.0f}/s) · ratio {new / old:.2f}"
        )
    for rnd in (1, 2):
        plain = log_writer(False)
        redacted = log_writer(True)
        print(
            f"round {rnd}: LogWriter {LOG_LINES:,} lines into SQLite: no redaction (before) "
            f"{plain:.2f}s ({LOG_LINES / plain:,.0f}/s) · redact with 3 secrets "
            f"{redacted:.2f}s ({LOG_LINES / redacted:,.0f}/s) · ratio {redacted / plain:.2f}"
        )
    fenced_runs()


FENCED_LINES = 100_000
FENCED_CHILD = (
    "import sys\n"
    f"for i in range({FENCED_LINES}):\n"
    "    (sys.stdout if i % 2 == 0 else sys.stderr).write(f'line {i} of some output\\n')\n"
)


def _slug(case: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", case.lower())


def _spawn_once(fenced: bool) -> float:
    """Milliseconds from starting `sh -c 'echo hi'` to its output read and its end, as the
    command runner does it, with the write fence or without."""
    from jobtui.engine.run.command import OutputReader
    from jobtui.engine.run.fence import WriteFence

    started = time.perf_counter()
    argv = ["sh", "-c", "echo hi"]
    options: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "close_fds": True,
    }
    listener = None
    if fenced:
        proc, listener = WriteFence().popen(argv, **options)
        assert not isinstance(listener, str), listener
    else:
        proc = subprocess.Popen(argv, **options)
    reader = OutputReader(proc, Counter(), listener)  # type: ignore[arg-type]
    while proc.poll() is None:
        reader.read(0.05)
    reader.drain(2.0)
    return (time.perf_counter() - started) * 1000


def fenced_runs(rounds: int = 3) -> None:
    import statistics

    from jobtui.engine import Engine

    cases = {
        "block-buffered": ([sys.executable, "-c", FENCED_CHILD], {}),
        "a write per line": ([sys.executable, "-c", FENCED_CHILD], {"PYTHONUNBUFFERED": "1"}),
        # Writes to fd 1 a shell pointed elsewhere are stopped too (`pg_dump > file`).
        "256 MiB redirected to a file in 8 KiB writes": (
            ["sh", "-c", "dd if=/dev/zero bs=8k count=32768 >/dev/null 2>&1"],
            {},
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.open(data_dir=Path(tmp))
        for output in ("separate", "ordered"):
            for case, (argv, env) in cases.items():
                engine.create_job(
                    {
                        "name": f"{output}-{_slug(case)}",
                        "kind": "command",
                        "command": {"argv": argv, "env": env, "output": output},
                    }
                )
            engine.create_job(
                {
                    "name": f"{output}-true",
                    "kind": "command",
                    "command": {"argv": ["true"], "output": output},
                }
            )

        def took(name: str) -> float:
            started = time.perf_counter()
            run = engine.wait_for_run(engine.queue_run(name).id, timeout=600)
            assert run.state.value == "succeeded", run.error
            return time.perf_counter() - started

        for case in cases:
            slug = _slug(case)
            for rnd in range(1, rounds + 1):
                plain = took(f"separate-{slug}")
                fenced = took(f"ordered-{slug}")
                what = case if case.startswith("256") else f"{FENCED_LINES:,} lines {case}"
                print(
                    f"round {rnd}: {what}: separate (baseline) "
                    f"{plain:.2f}s · ordered {fenced:.2f}s · ratio {fenced / plain:.2f}"
                )
        spawn = {fenced: [_spawn_once(fenced) for _ in range(200)] for fenced in (False, True)}
        print(
            "`sh -c 'echo hi'` started and read to its end (the fence's cost per start), "
            f"p50 of 200: separate (baseline) {statistics.median(spawn[False]):.2f} ms · "
            f"ordered {statistics.median(spawn[True]):.2f} ms"
        )
        for output in ("separate", "ordered"):
            took(f"{output}-true")  # warm-up
        times = {
            output: [took(f"{output}-true") for _ in range(20)]
            for output in ("separate", "ordered")
        }
        print(
            "runs of `true`, queued -> ended, p50 of 20: "
            f"separate (baseline) {statistics.median(times['separate']) * 1000:.1f} ms · "
            f"ordered {statistics.median(times['ordered']) * 1000:.1f} ms"
        )
        engine.close()


if __name__ == "__main__":
    main(sys.argv[1:])

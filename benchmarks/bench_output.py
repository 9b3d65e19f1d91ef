"""What issue 16's log safety costs, each figure beside its baseline in the same run.

python -m benchmarks output

1. A command's output read into the log: the one selector loop (`run/command.py:
   OutputReader`, levels per line) against the two reader threads it replaced (the old
   `_pump`, kept here as the baseline), 200k lines alternating stdout/stderr, into a sink
   that only counts (the database is measured in 2).
2. The LogWriter into a real SQLite database, 300k lines: without redaction (baseline),
   with `redact` and three remembered secret values (what every run now does).
"""

from __future__ import annotations

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


if __name__ == "__main__":
    main(sys.argv[1:])

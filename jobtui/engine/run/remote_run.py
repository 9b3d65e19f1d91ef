"""A remote run's process: what the Celery task starts for each run it claimed.

    python -m jobtui.engine.run.remote_run --data-dir DIR   (the envelope on stdin)

The envelope (JSON, written by the task, never a pickle) holds the run's frozen order, the
log sequence to continue from, the broker URL (with its password resolved on this machine,
so it is not in the environment that the run's command inherits) and the host name. The
process runs in its own session (its process group is what a cancel stops) and executes
the order with the same `run.context.execute` as a local worker, reporting through a
RemoteReporter. It never opens the control host's database.

If its Celery worker dies under it (kill -9), it kills its own process group at once,
without a word: the control host ends the run `interrupted` by the heartbeat rule. On
SIGUSR2 (the worker shuts down and the grace period is over) it stops and reports
`interrupted`, so the retry policy decides what follows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from jobtui.engine.model.broker import PREFIX, events_stream
from jobtui.engine.model.runtime import RunOrder
from jobtui.engine.model.types import RunState
from jobtui.engine.run.context import execute
from jobtui.engine.run.events import EventWriter, RemoteReporter, connect
from jobtui.engine.run.executor import GRACE, HEARTBEAT_INTERVAL

EXIT_UNSENT = 3  # the end could not be sent home (Redis unreachable for too long)
FLUSH_TIMEOUT = 300.0
PARENT_POLL = 0.2


def watch_parent(parent: int) -> None:
    """Kill our whole group the moment our parent (the Celery worker) is gone."""

    def loop() -> None:
        while True:
            if os.getppid() != parent:
                with contextlib.suppress(OSError):
                    os.killpg(os.getpgid(0), signal.SIGKILL)
                os._exit(137)
            time.sleep(PARENT_POLL)

    threading.Thread(target=loop, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None, *, envelope: dict[str, Any] | None = None) -> int:
    """`envelope`: given when forked by a worker's zygote (run/launcher.py), else read
    from stdin. Its `parent` is the Celery worker when started cold; a forked run watches
    its zygote, which exits when its worker is gone."""
    parser = argparse.ArgumentParser(prog="jobtui.engine.run.remote_run")
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args(argv)
    if envelope is None:
        envelope = json.loads(sys.stdin.read())
    watch_parent(int(envelope.get("parent") or os.getppid()))
    order = RunOrder(**envelope["order"])
    client = connect(envelope["url"])
    ns = str(envelope.get("ns") or PREFIX)
    writer = EventWriter(client, order.run_id, order.attempt, stream=events_stream(ns)).start()
    reporter = RemoteReporter(writer, client, int(envelope.get("log_base") or 0), ns)
    host = str(envelope.get("host") or "")
    writer.emit("start", {"host": host, "pid": os.getpid(), "at": time.time()})

    def on_handback(signum: int, frame: Any) -> None:
        reporter.handback = f"the worker on {host} shut down before the run ended"
        os.kill(os.getpid(), signal.SIGTERM)  # execute's handler stops the body

    signal.signal(signal.SIGUSR2, on_handback)
    data_dir = Path(args.data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    outcome = execute(
        order,
        reporter,
        data_dir,
        heartbeat=float(envelope.get("heartbeat") or HEARTBEAT_INTERVAL),
        grace=float(envelope.get("grace") or GRACE),
    )
    if not writer.close(FLUSH_TIMEOUT):
        return EXIT_UNSENT
    return 0 if outcome.state == RunState.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())

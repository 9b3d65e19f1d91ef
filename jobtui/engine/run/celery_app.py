"""The Celery side of scale-out: the app (JSON only, late acknowledgement), the task that
executes a run on a worker host, and `run_worker`, which `jobtui worker` calls.

Delivery semantics: a task is acknowledged only once its run's process has ended
(`task_acks_late`), one message is reserved per free slot (`worker_prefetch_multiplier`
1), and Redis redelivers a message left unacknowledged for VISIBILITY_TIMEOUT (a worker
killed mid-run). Before executing, the task claims the run's attempt (`SET NX` on
`jobtui:claim:RUN:ATTEMPT` with the worker's identity): a second delivery of an attempt
that already started finds the claim and is acknowledged without executing anything.

The task does not run the body itself: it starts the run's process (`remote_run.main`) in
a session of its own (so a cancel stops the run's whole process group), hands it the
envelope and waits, enforcing cancel and the shutdown grace from outside. The process is
forked from the worker's zygote (run/launcher.py: the modules imported once), or started
cold as `python -m jobtui.engine.run.remote_run` with the envelope on stdin while there
is no zygote ready (or with JOBTUI_LAUNCHER=cold).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobtui.engine.model.broker import (
    PREFIX,
    TASK_NAME,
    VISIBILITY_TIMEOUT,
    cancel_key,
    check_namespace,
    claim_key,
    events_stream,
    worker_key,
)
from jobtui.engine.run.events import Event, connect, emit_once
from jobtui.engine.run.executor import GRACE
from jobtui.engine.run.launcher import REMOTE_PRELOAD, WarmChild, WarmSpawner
from jobtui.engine.run.proc import kill_leftovers, signal_group
from jobtui.engine.run.remote_run import EXIT_UNSENT
from jobtui.paths import open_private

log = logging.getLogger("jobtui.worker")

CLAIM_TTL = 7 * 24 * 3600
PRESENCE_EVERY = 2.0
PRESENCE_TTL = 10
WAIT_STEP = 0.1
# Celery's thread pool that can grow and shrink (pool_grow / pool_shrink), celery_pool.py.
POOL = "jobtui.engine.run.celery_pool:ResizableThreadPool"


def make_celery(url: str) -> Any:
    """A Celery app on `url` that speaks JSON only (no pickle, in or out)."""
    from celery import Celery

    app = Celery("jobtui", broker=url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2.0,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
    )
    return app


@dataclass
class WorkerState:
    """One `jobtui worker` process: who it is and what it runs."""

    url: str  # the Redis of events, claims and cancels (not the task broker's, if other)
    hostname: str
    data_dir: Path
    queues: list[str]
    concurrency: int
    grace: float = GRACE
    client: Any = None
    started: float = field(default_factory=time.time)
    shutdown_at: float | None = None
    active: dict[int, int] = field(default_factory=dict)  # run id -> pid of its process
    processed: int = 0
    failed: int = 0
    duplicates: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    launcher: WarmSpawner | None = None  # None: every run starts cold

    def presence(self) -> dict[str, Any]:
        with self.lock:
            return {
                "hostname": self.hostname,
                "queues": self.queues,
                "concurrency": self.concurrency,
                "active": sorted(self.active),
                "processed": self.processed,
                "failed": self.failed,
                "duplicates": self.duplicates,
                "pid": os.getpid(),
                "started": self.started,
                "heartbeat": time.time(),
                "shutting_down": self.shutdown_at is not None,
                "launcher": self.launcher_state(),
            }

    def launcher_state(self) -> str:
        """How this worker starts runs: "warm" (forked from its zygote), "starting" (cold
        until the zygote is ready) or "cold" (JOBTUI_LAUNCHER=cold)."""
        launcher = self.launcher
        if launcher is None:
            return "cold"
        return "warm" if launcher.alive() and launcher.ready.is_set() else "starting"


STATE: WorkerState | None = None


def _stderr_path(data_dir: Path, run_id: int) -> Path:
    return data_dir / "workers" / f"run-{run_id}.log"


def _tail(path: Path, limit: int = 4000) -> str:
    with contextlib.suppress(OSError):
        return path.read_bytes()[-limit:].decode(errors="replace")
    return ""


def execute_delivery(state: WorkerState, envelope: dict[str, Any]) -> str:
    """One delivery of a run's task: claim its attempt, run it, wait; what happened."""
    order = envelope["order"]
    run_id, attempt = int(order["run_id"]), int(order["attempt"])
    ns = check_namespace(str(envelope.get("ns") or PREFIX))
    client = state.client
    me = f"{state.hostname} (pid {os.getpid()})"
    if not client.set(claim_key(run_id, attempt, ns), me, nx=True, ex=CLAIM_TTL):
        holder = client.get(claim_key(run_id, attempt, ns))
        who = holder.decode() if holder else "another delivery"
        log.warning(
            "run %s attempt %s is already claimed by %s: not executed again", run_id, attempt, who
        )
        with state.lock:
            state.duplicates += 1
        return "duplicate"
    if client.exists(cancel_key(run_id, attempt, ns)):
        emit_once(
            client,
            Event(
                run_id,
                attempt,
                "task",
                1,
                "end",
                {
                    "state": "cancelled",
                    "message": f"cancelled before it started on {state.hostname}",
                    "host": state.hostname,
                },
            ),
            events_stream(ns),
        )
        return "cancelled"
    return _run_process(state, envelope, run_id, attempt, ns)


def _run_process(
    state: WorkerState, envelope: dict[str, Any], run_id: int, attempt: int, ns: str
) -> str:
    stderr_path = _stderr_path(state.data_dir, run_id)
    stderr_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = {**envelope, "url": state.url, "host": state.hostname, "grace": state.grace}
    proc = _start(state, payload, stderr_path)
    with state.lock:
        state.active[run_id] = proc.pid or 0
    try:
        code = _wait(state, proc, run_id, attempt, ns)
    finally:
        with state.lock:
            state.active.pop(run_id, None)
            state.processed += 1
    left = kill_leftovers(proc.pid)
    if code not in (0, 1, EXIT_UNSENT):
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        message = f"the run's process (pid {proc.pid} on {state.hostname}) died ({how})"
        if left:
            message += f"; {left} leftover process(es) of its group killed"
        emit_once(
            state.client,
            Event(
                run_id,
                attempt,
                "task",
                1,
                "end",
                {
                    "state": "interrupted",
                    "message": message,
                    "detail": _tail(stderr_path),
                    "host": state.hostname,
                },
            ),
            events_stream(ns),
        )
        with state.lock:
            state.failed += 1
    with contextlib.suppress(OSError):
        if stderr_path.stat().st_size == 0:
            stderr_path.unlink()
    return f"exit {code}"


def _start(
    state: WorkerState, payload: dict[str, Any], stderr_path: Path
) -> subprocess.Popen[bytes] | WarmChild:
    """The run's process: forked from the worker's zygote (a fork, not an interpreter:
    issue 19's runs per minute), or started cold when there is none ready. Either way in
    a session of its own, stdout on /dev/null, stderr appended to `stderr_path`."""
    args = ["--data-dir", str(state.data_dir)]
    if state.launcher is not None:
        state.launcher.prepare()
        child = state.launcher.spawn_remote(args, payload, stderr_path)
        if child is not None:
            child.wait_started()
            return child
    argv = [sys.executable, "-m", "jobtui.engine.run.remote_run", *args]
    with open_private(stderr_path, "ab") as err:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
            close_fds=True,
            start_new_session=True,
        )
    assert proc.stdin is not None
    with contextlib.suppress(OSError):
        proc.stdin.write(json.dumps({**payload, "parent": os.getpid()}).encode())
        proc.stdin.close()
    return proc


def _wait(
    state: WorkerState,
    proc: subprocess.Popen[bytes] | WarmChild,
    run_id: int,
    attempt: int,
    ns: str,
) -> int:
    """Wait for the run's process: SIGKILL its group when a cancel or the shutdown's
    hand-back is not obeyed within the grace period."""
    cancel_seen: float | None = None
    handback_sent: float | None = None
    last_check = 0.0
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=WAIT_STEP)
        now = time.monotonic()
        if cancel_seen is None and now - last_check >= 0.5:
            last_check = now
            with contextlib.suppress(Exception):
                if state.client.exists(cancel_key(run_id, attempt, ns)):
                    cancel_seen = now
        if cancel_seen is not None and now - cancel_seen > state.grace + 2.0:
            signal_group(proc.pid, signal.SIGKILL)
        if (
            state.shutdown_at is not None
            and handback_sent is None
            and now - state.shutdown_at >= state.grace
        ):
            log.warning("grace over: handing run %s back (interrupted)", run_id)
            with contextlib.suppress(OSError, TypeError):  # TypeError: no pid known
                os.kill(proc.pid, signal.SIGUSR2)  # type: ignore[arg-type]
            handback_sent = now
        if handback_sent is not None and now - handback_sent > state.grace + 2.0:
            signal_group(proc.pid, signal.SIGKILL)


def _presence_loop(state: WorkerState, stop: threading.Event) -> None:
    while not stop.wait(PRESENCE_EVERY):
        with contextlib.suppress(Exception):
            state.client.set(
                worker_key(state.hostname), json.dumps(state.presence()), ex=PRESENCE_TTL
            )


def run_worker(
    url: str,
    queues: list[str],
    *,
    concurrency: int = 1,
    hostname: str,
    data_dir: Path,
    grace: float = GRACE,
    loglevel: str = "INFO",
    events_url: str | None = None,
) -> int:
    """Run a Celery worker in the foreground on `queues` (a thread pool: one thread per
    slot, each waiting on its run's process; it can grow and shrink). SIGTERM: no new
    task; running runs get `grace` seconds to end, then are handed back `interrupted`;
    then it stops."""
    global STATE
    from celery import signals

    from jobtui.engine.run import celery_pool

    app = make_celery(url)
    # Set here, not with -P: Celery's -P only takes its own pool names.
    app.conf.worker_pool = POOL
    state = WorkerState(
        url=events_url or url,
        hostname=hostname,
        data_dir=Path(data_dir),
        queues=queues,
        concurrency=concurrency,
        grace=grace,
        client=connect(events_url or url),
    )
    if os.environ.get("JOBTUI_LAUNCHER") != "cold":
        # Runs forked from a zygote that imported them once (run/launcher.py), as the
        # daemon's local runs are; started cold until it is ready, or if it dies.
        state.launcher = WarmSpawner(data_dir, preload=REMOTE_PRELOAD)
        state.launcher.prepare()
    STATE = state

    @app.task(name=TASK_NAME, bind=True, acks_late=True)
    def run_task(self: Any, envelope: dict[str, Any]) -> str:
        from celery.exceptions import Reject

        try:
            return execute_delivery(state, envelope)
        except Reject:
            raise
        except OSError as exc:
            raise Reject(str(exc), requeue=True) from exc

    def on_shutdown(**_: Any) -> None:
        if state.shutdown_at is None:
            state.shutdown_at = time.monotonic()
            log.info("shutting down: running runs have %.0fs to end", grace)

    def on_ready(**_: Any) -> None:
        with contextlib.suppress(Exception):
            state.client.set(worker_key(hostname), json.dumps(state.presence()), ex=PRESENCE_TTL)

    def on_resize(size: int) -> None:
        with state.lock:
            state.concurrency = size
        on_ready()  # the presence shows the new size at once

    celery_pool.on_resize = on_resize
    signals.worker_shutting_down.connect(on_shutdown, weak=False)
    signals.worker_ready.connect(on_ready, weak=False)
    stop = threading.Event()
    threading.Thread(target=_presence_loop, args=(state, stop), daemon=True).start()
    argv = [
        "worker",
        "-Q",
        ",".join(queues),
        "-c",
        str(concurrency),
        "-n",
        f"jobtui@{hostname}",
        "--without-gossip",
        "--without-mingle",
        "-l",
        loglevel,
    ]
    try:
        app.worker_main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        stop.set()
        if state.launcher is not None:
            state.launcher.close()
        with contextlib.suppress(Exception):
            state.client.delete(worker_key(hostname))
    return 0

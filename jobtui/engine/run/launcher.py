"""The warm run launcher (issue 18): a run costs a fork, not an interpreter.

A *zygote* (`python -m jobtui.engine.run.zygote FD`, run/zygote.py) imports the worker's modules
once, then waits on its end of a socket pair. For each run the daemon sends the worker's
arguments; the zygote forks, and the child becomes exactly what `spawn_worker` starts
cold: its own session and process group, stdin and stdout on /dev/null, stderr appended
to the run's `workers/run-N.log`, the supervisor's name in its environment, a fresh
random seed, then `worker.main`. The zygote reaps its children and reports each exit
code, so the executor sees a `Popen`-like handle (`WarmChild`).

Nothing changes for the crash-safety rules: `proc.is_worker` knows the zygote's module,
so a forked worker is recognised by it (pid + process start time)
and a restarted daemon adopts it from the run rows; cancel signals the run's own group;
the zygote is in a session of its own and never in a run's group. When the daemon goes
(even kill -9) the zygote reads EOF and exits; its running workers carry on and are
reparented. When the zygote dies, `WarmSpawner` starts another one on its next use
and meanwhile starts runs cold (`spawn_worker`), the fallback.

`WarmSpawner` is given to `LocalExecutor(spawn=...)`: the Executor protocol is unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ZYGOTE_MODULE = "jobtui.engine.run.zygote"
# What a zygote imports before it says ready: the worker and both job kinds' bodies.
PRELOAD = (
    "jobtui.engine.run.worker",
    "jobtui.engine.model.spec",  # the worker validates its order; the CLI path does not
    "jobtui.engine.run.command",
    "jobtui.engine.datagen.run",
    "jobtui.engine.datagen.generate",
    "jobtui.engine.datagen.formats",
    "faker",
)
# What a `jobtui worker`'s zygote imports: a remote run's process (run/remote_run.py).
REMOTE_PRELOAD = (
    "jobtui.engine.run.remote_run",
    "jobtui.engine.model.spec",
    "jobtui.engine.run.command",
    "jobtui.engine.datagen.run",
    "jobtui.engine.datagen.generate",
    "jobtui.engine.datagen.formats",
    "faker",
    "redis",
)
REPLY_TIMEOUT = 5.0  # seconds for a zygote to answer a fork request
RESTART_BACKOFF = 5.0  # seconds between attempts to start a zygote
MESSAGE_MAX = 65536


# -- the daemon's side -----------------------------------------------------------------
class WarmChild:
    """A worker forked by the zygote, shaped like the `subprocess.Popen` the executor keeps:
    `pid` (None until the zygote's reply is read: the daemon never waits for it; the
    worker records its own pid when it attaches), `poll()`, `wait()`, `returncode`."""

    def __init__(self, spawner: WarmSpawner, seq: int):
        self.spawner = spawner
        self.seq = seq
        self.pid: int | None = None
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.spawner.exit_code(self)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            seen = self.spawner.news
            if self.poll() is not None:
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(ZYGOTE_MODULE, timeout or 0.0)
            # Woken by the zygote's report; the cap covers a zygote that is gone (its
            # child's end is then seen by pid).
            self.spawner.wait_news(seen, min(0.1, left) if left is not None else 0.1)
        assert self.returncode is not None
        return self.returncode

    def wait_started(self, timeout: float = REPLY_TIMEOUT) -> int | None:
        """The forked pid once the zygote's reply is read (None: no reply in `timeout`, or
        the fork failed; `poll()` then tells)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.spawner.news
            if self.pid is not None or self.poll() is not None:
                break
            self.spawner.wait_news(seen, min(0.1, max(0.0, deadline - time.monotonic())))
        return self.pid


class WarmSpawner:
    """Starts run workers from a zygote; `spawn_worker` (cold) when there is none ready.

    Callable like `spawn_worker`. `prepare()` starts the zygote (and restarts a dead or
    stuck one, at most every RESTART_BACKOFF seconds); the executor calls it on each
    watch. A request is one datagram; the zygote's replies (pid, exit code) are read by a
    thread, so starting a run never waits for another process."""

    def __init__(self, data_dir: str | os.PathLike[str], *, preload: tuple[str, ...] = PRELOAD):
        self.data_dir = Path(data_dir)
        self.preload = preload
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.ready = threading.Event()
        self.lost = threading.Event()
        self.starts = 0
        self.warm_spawns = 0
        self.cold_spawns = 0
        # The maps below, shared with the reading thread, and the request numbers (a
        # `jobtui worker` starts runs from several threads).
        self._lock = threading.Lock()
        self._news = threading.Condition(self._lock)  # a pid or an exit came (or the end)
        self.news = 0  # how many times: a waiter that saw n waits only while it is still n
        self._prepare_lock = threading.Lock()
        self._pids: dict[int, int] = {}  # request seq -> forked pid (-1: the fork failed)
        self._exits: dict[int, int] = {}  # pid -> exit code
        self._pending: dict[int, float] = {}  # request seq -> when it was sent
        self._last_start = -RESTART_BACKOFF
        self._seq = 0

    # -- the zygote's life --------------------------------------------------------------
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and not self.lost.is_set()

    def prepare(self) -> None:
        """Start a zygote when there is none (or the last one died or stopped answering)."""
        with self._prepare_lock:
            self._prepare()

    def _prepare(self) -> None:
        if self.alive():
            with self._lock:
                oldest = min(self._pending.values(), default=None)
            if oldest is None or time.monotonic() - oldest < REPLY_TIMEOUT:
                return
            self._stop_zygote()  # stuck: its pending runs read as gone (see exit_code)
        if time.monotonic() - self._last_start < RESTART_BACKOFF:
            return
        self._last_start = time.monotonic()
        self._stop_zygote()
        self._start_zygote()

    def _start_zygote(self) -> None:
        try:
            # One message per send: SOCK_SEQPACKET (Linux, BSDs); where there is none
            # (macOS), no zygote: every run starts cold, as before.
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except (OSError, AttributeError):
            return
        log_path = self.data_dir / "launcher.log"  # the zygote's own stderr
        handle = None
        try:
            from jobtui.paths import open_private

            handle = open_private(log_path, "ab")
            self.proc = subprocess.Popen(
                [sys.executable, "-m", ZYGOTE_MODULE, str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=handle,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                env={**os.environ, "JOBTUI_ZYGOTE_PRELOAD": ",".join(self.preload)},
            )
        except OSError:
            ours.close()
            self.proc = None
            return
        finally:
            theirs.close()
            if handle is not None:
                handle.close()
        self.sock = ours
        self.ready = threading.Event()
        self.lost = threading.Event()
        self.starts += 1
        threading.Thread(
            target=self._read,
            args=(ours, self.ready, self.lost),
            name="jobtui-launcher",
            daemon=True,
        ).start()

    def _read(self, sock: socket.socket, ready: threading.Event, lost: threading.Event) -> None:
        """The zygote's messages: ready, each fork's pid, each child's exit."""
        try:
            while True:
                data = sock.recv(MESSAGE_MAX)
                if not data:
                    break
                msg = json.loads(data)
                kind = msg.get("kind")
                if kind == "ready":
                    ready.set()
                    continue
                with self._lock:
                    if kind == "exit":
                        self._exits[int(msg["pid"])] = int(msg["code"])
                    elif kind == "started":
                        self._pids[int(msg["seq"])] = int(msg["pid"])
                        self._pending.pop(int(msg["seq"]), None)
                    self.news += 1
                    self._news.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            lost.set()
            with self._lock:
                self.news += 1
                self._news.notify_all()

    def wait_news(self, seen: int, timeout: float) -> None:
        """Block until the zygote reports a pid or an exit (or is lost) after the `seen`th
        report, at most `timeout`."""
        with self._lock:
            self._news.wait_for(lambda: self.news != seen, timeout)

    def _stop_zygote(self, wait: float = 0.0) -> None:
        """Close our end (the zygote reads EOF and exits; its workers carry on); kill it
        if it has not gone after `wait` seconds."""
        if self.sock is not None:
            with contextlib.suppress(OSError):
                # shutdown, not only close: our reading thread's recv holds the socket open
                self.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None
        self.lost.set()
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)
            if self.proc.poll() is None:
                with contextlib.suppress(OSError):
                    self.proc.kill()
                with contextlib.suppress(Exception):
                    self.proc.wait(5)
            self.proc = None

    def close(self) -> None:
        self._stop_zygote(wait=2.0)
        with contextlib.suppress(OSError):
            log_path = self.data_dir / "launcher.log"
            if log_path.stat().st_size == 0:
                log_path.unlink()

    # -- spawning -------------------------------------------------------------------------
    def __call__(
        self,
        db_path: str | os.PathLike[str],
        run_id: int,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        stderr_path: str | os.PathLike[str] | None = None,
        started_by: str | None = None,
    ) -> Any:
        child = None
        if self.alive() and self.ready.is_set():
            child = self._request(db_path, run_id, data_dir, stderr_path, started_by)
        if child is not None:
            self.warm_spawns += 1
            return child
        from jobtui.engine.run.local import spawn_worker

        self.cold_spawns += 1
        return spawn_worker(
            db_path, run_id, data_dir=data_dir, stderr_path=stderr_path, started_by=started_by
        )

    def _request(
        self,
        db_path: str | os.PathLike[str],
        run_id: int,
        data_dir: str | os.PathLike[str] | None,
        stderr_path: str | os.PathLike[str] | None,
        started_by: str | None,
    ) -> WarmChild | None:
        argv = ["--db", str(db_path)]
        if data_dir is not None:
            argv += ["--data-dir", str(data_dir)]
        argv.append(str(run_id))
        return self._send({"argv": argv, "started_by": started_by}, stderr_path)

    def spawn_remote(
        self, argv: list[str], envelope: dict[str, Any], stderr_path: str | os.PathLike[str]
    ) -> WarmChild | None:
        """A remote run's process (`remote_run.main(argv, envelope=...)`) forked from the
        zygote of a `jobtui worker`; None when there is no zygote ready or the envelope is
        too large for one message: the caller then starts it cold."""
        if not (self.alive() and self.ready.is_set()):
            return None
        child = self._send({"entry": "remote", "argv": argv, "envelope": envelope}, stderr_path)
        if child is not None:
            self.warm_spawns += 1
        return child

    def _send(
        self, request: dict[str, Any], stderr_path: str | os.PathLike[str] | None
    ) -> WarmChild | None:
        """Send one fork request: its child, or None when it could not be sent."""
        if stderr_path is not None:
            Path(stderr_path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        sock = self.sock
        if sock is None:
            return None
        with self._lock:
            self._seq += 1
            seq = self._seq
        request = {
            **request,
            "seq": seq,
            "stderr": None if stderr_path is None else str(stderr_path),
        }
        data = json.dumps(request).encode()
        if len(data) > MESSAGE_MAX:  # the zygote reads one message of at most this
            return None
        with self._lock:
            self._pending[seq] = time.monotonic()
        try:
            sock.send(data)
        except OSError:
            with self._lock:
                self._pending.pop(seq, None)
            return None
        return WarmChild(self, seq)

    def exit_code(self, child: WarmChild) -> int | None:
        """A forked worker's exit code once the zygote reaped it, else None. Without its
        zygote: None while the pid lives, 255 (unknown) once it is gone or when the fork
        was never confirmed (the run's row then decides: `_worker_gone` checks its state
        and kills what is left of its group)."""
        with self._lock:
            if child.pid is None:
                pid = self._pids.pop(child.seq, None)
                if pid is not None:
                    child.pid = pid if pid > 0 else None
                    if pid <= 0:
                        return 1  # the zygote could not fork
            if child.pid is not None:
                code = self._exits.pop(child.pid, None)
                if code is not None:
                    return code
        if not self.lost.is_set():
            return None
        if child.pid is None:
            return 255
        from jobtui.engine.run.proc import pid_alive

        return None if pid_alive(child.pid) else 255

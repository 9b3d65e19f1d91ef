"""The warm launcher's zygote (see run/launcher.py): imports the worker's modules once, then
forks one worker per request read from the daemon's socket and reports each one's pid and
exit code. Started by `WarmSpawner` as

    python -m jobtui.engine.run.zygote FD

A forked child becomes what `spawn_worker` starts cold (own session, stdio, the run's stderr
file, the supervisor's name, fresh seeds) and runs `worker.main`.

One child is forked ahead (the *spare*): it does the part of that which needs no request
(the fork itself, its own session, stdio, the database opened and checked), then waits on
a pipe. A request goes to the spare, which only has the run's own part left, and the
next spare is forked after the reply. Measured on 2 busy cores, fork -> executing was
~25 ms, ~20 of them the fork, the set-up and the first database open of a fresh child
touching (and so copying) the zygote's pages. A spare reads EOF and exits when its zygote
goes; one that never got a run is never reported to the daemon.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from jobtui.engine.model.secrets import STARTED_BY_VARIABLE
from jobtui.engine.run.launcher import MESSAGE_MAX, PRELOAD


def serve(fd: int) -> int:
    """The zygote's loop (`python -m jobtui.engine.run.zygote FD`)."""
    import importlib

    sock = socket.socket(fileno=fd)
    os.set_inheritable(fd, False)
    for name in filter(None, os.environ.pop("JOBTUI_ZYGOTE_PRELOAD", ",".join(PRELOAD)).split(",")):
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional module costs its run the import, no more
            traceback.print_exc()
    defaults: dict[int, Any] = {
        int(sig): signal.getsignal(sig) for sig in (signal.SIGCHLD, signal.SIGTERM)
    }
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the daemon's drain is not ours to obey
    # Everything imported so far is moved out of the collector's reach: a child's
    # collections then do not touch (and so copy) the zygote's pages.
    gc.collect()
    gc.freeze()
    pipe = (wake_r, wake_w)
    db: str | None = None  # the database of the last request: a spare opens it ahead
    spare = _fork_spare(sock, pipe, defaults, db)
    sock.send(json.dumps({"kind": "ready", "pid": os.getpid()}).encode())
    try:
        while True:
            readable, _, _ = select.select([sock.fileno(), wake_r], [], [], 1.0)
            if wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(wake_r, 4096)
            if not _reap(sock, spare):
                # The spare died idle (killed): another, unless it died young (a spare that
                # cannot live is not forked in a loop; the next request forks its worker).
                young = spare is not None and time.monotonic() - spare[2] < SPARE_MIN_LIFE
                spare = None if young else _fork_spare(sock, pipe, defaults, db)
            if sock.fileno() in readable:
                data = sock.recv(MESSAGE_MAX)
                if not data:
                    return 0  # the daemon is gone: so are we (our workers carry on)
                request = json.loads(data)
                pid = _hand_to_spare(spare, data)
                spare = None
                if pid is None:
                    try:
                        pid = os.fork()
                    except OSError:
                        traceback.print_exc()
                        pid = -1
                    if pid == 0:  # pragma: no cover - the child ends in os._exit
                        _child(request, sock, pipe, defaults)
                sock.send(
                    json.dumps({"kind": "started", "seq": request["seq"], "pid": pid}).encode()
                )
                db = _db_of(request) or db
                spare = _fork_spare(sock, pipe, defaults, db)
    except (OSError, ValueError):
        return 1


Spare = tuple[int, int, float]  # the spare's pid, our end of its pipe, when it was forked
SPARE_MIN_LIFE = 1.0  # seconds


def _db_of(request: dict[str, Any]) -> str | None:
    argv = request.get("argv") or []
    return str(argv[argv.index("--db") + 1]) if "--db" in argv[:-1] else None


def _fork_spare(
    sock: socket.socket, pipe: tuple[int, int], defaults: dict[int, Any], db: str | None
) -> Spare | None:
    """Fork the next run's worker ahead of its request (None when the fork fails: the
    request then forks)."""
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # pragma: no cover - the child ends in os._exit
        os.close(write_end)
        _spare(read_end, sock, pipe, defaults, db)
    os.close(read_end)
    return pid, write_end, time.monotonic()


def _hand_to_spare(spare: Spare | None, data: bytes) -> int | None:
    """Give the request to the spare: its pid, or None when there is no spare (or it died)."""
    if spare is None:
        return None
    pid, write_end, _ = spare
    try:
        view = memoryview(data)
        while view:  # a request is far below a pipe's buffer: one write, never blocking
            view = view[os.write(write_end, view) :]
        return pid
    except OSError:
        return None
    finally:
        os.close(write_end)


def _reap(sock: socket.socket, spare: Spare | None = None) -> bool:
    """Report the exit of every child that ended; False when the idle spare was one."""
    spare_alive = True
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return spare_alive
        if pid == 0:
            return spare_alive
        if spare is not None and pid == spare[0]:
            os.close(spare[1])
            spare_alive = False
            continue  # a spare that never got a run: not the daemon's business
        with contextlib.suppress(OSError):
            code = os.waitstatus_to_exitcode(status)
            sock.send(json.dumps({"kind": "exit", "pid": pid, "code": code}).encode())


def _detach(sock: socket.socket, pipe: tuple[int, int], defaults: dict[int, Any]) -> None:
    """In a forked child: a session of its own, the zygote's signal set-up undone, none of
    its descriptors, stdin and stdout on /dev/null, stderr too until a run names a file."""
    os.setsid()
    signal.set_wakeup_fd(-1)
    for sig, handler in defaults.items():
        signal.signal(sig, handler)
    sock.close()
    for fd in pipe:
        os.close(fd)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _become_run(request: dict[str, Any]) -> list[str]:
    """In a forked child, once the request is known: the run's stderr file, the
    supervisor's name, fresh seeds; the worker's arguments."""
    if request.get("stderr"):
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(err, 2)
        os.close(err)
    if request.get("started_by"):
        os.environ[STARTED_BY_VARIABLE] = request["started_by"]
    random.seed()  # each run its own randomness, not the zygote's state
    faker_generator = sys.modules.get("faker.generator")
    if faker_generator is not None:
        faker_generator.random.seed()
    return [str(a) for a in request["argv"]]


def _spare(
    read_end: int,
    sock: socket.socket,
    pipe: tuple[int, int],
    defaults: dict[int, Any],
    db: str | None,
) -> None:
    """The spare: set up, the database opened, then wait for a request (EOF: the zygote
    is gone or retired us); run it; never returns."""

    def body() -> int:
        _detach(sock, pipe, defaults)
        store = None
        if db:
            from jobtui.engine.run import worker

            store = worker.open_store(db)
        chunks = []
        while chunk := os.read(read_end, MESSAGE_MAX):
            chunks.append(chunk)
        os.close(read_end)
        if not chunks:
            return 0
        return _run(json.loads(b"".join(chunks)), store)

    _exit_after(body)


def _child(
    request: dict[str, Any],
    sock: socket.socket,
    pipe: tuple[int, int],
    defaults: dict[int, Any],
) -> None:
    """In a child forked on request (no spare): become a cold-started worker, then run
    it; never returns."""

    def body() -> int:
        _detach(sock, pipe, defaults)
        return _run(request, None)

    _exit_after(body)


def _run(request: dict[str, Any], store: Any) -> int:
    """In a forked child: the run the request names. A local run's worker (`store`: the
    database a spare opened ahead), or, from a `jobtui worker`'s zygote, a remote run's
    process with its envelope (it watches this zygote as its parent)."""
    argv = _become_run(request)
    if request.get("entry") == "remote":
        from jobtui.engine.run import remote_run

        return remote_run.main(argv, envelope=request["envelope"])
    from jobtui.engine.run import worker

    # No `prestart` here: it overlaps the helpers' forkserver boot with the cold
    # worker's imports; a forked worker forks its helpers itself (RunWorker).
    return worker.main(argv, store=store, forked=True)


def _exit_after(body: Callable[[], int]) -> NoReturn:
    """Run a forked child's body and leave with its exit code, never returning into the
    zygote's loop (a traceback is printed; output is flushed before `os._exit`)."""
    code = 1
    try:
        code = body()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        with contextlib.suppress(Exception):
            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1])))

"""The warm launcher's zygote (see run/launcher.py): imports the worker's modules once, then
forks one worker per request read from the daemon's socket and reports each one's pid and
exit code. Started by `WarmSpawner` as

    python -m jobtui.engine.run.zygote FD

A forked child becomes what `spawn_worker` starts cold (own session, stdio, the run's stderr
file, the supervisor's name, fresh seeds) and runs `worker.main`.
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
import traceback
from typing import Any

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
    sock.send(json.dumps({"kind": "ready", "pid": os.getpid()}).encode())
    try:
        while True:
            readable, _, _ = select.select([sock.fileno(), wake_r], [], [], 1.0)
            if wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(wake_r, 4096)
            _reap(sock)
            if sock.fileno() in readable:
                data = sock.recv(MESSAGE_MAX)
                if not data:
                    return 0  # the daemon is gone: so are we (our workers carry on)
                request = json.loads(data)
                try:
                    pid = os.fork()
                except OSError:
                    traceback.print_exc()
                    pid = -1
                if pid == 0:  # pragma: no cover - the child ends in os._exit
                    _child(request, sock, (wake_r, wake_w), defaults)
                sock.send(
                    json.dumps({"kind": "started", "seq": request["seq"], "pid": pid}).encode()
                )
    except (OSError, ValueError):
        return 1


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        with contextlib.suppress(OSError):
            code = os.waitstatus_to_exitcode(status)
            sock.send(json.dumps({"kind": "exit", "pid": pid, "code": code}).encode())


def _child(
    request: dict[str, Any],
    sock: socket.socket,
    pipe: tuple[int, int],
    defaults: dict[int, Any],
) -> None:
    """In the forked child: become a cold-started worker, then run it; never returns."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for sig, handler in defaults.items():
            signal.signal(sig, handler)
        sock.close()
        for fd in pipe:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        if request.get("stderr"):
            err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(err, 2)
            os.close(err)
        else:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        if request.get("started_by"):
            os.environ[STARTED_BY_VARIABLE] = request["started_by"]
        random.seed()  # each run its own randomness, not the zygote's state
        faker_generator = sys.modules.get("faker.generator")
        if faker_generator is not None:
            faker_generator.random.seed()
        argv = [str(a) for a in request["argv"]]
        from jobtui.engine.run import worker

        # No `prestart` here: it overlaps the helpers' forkserver boot with the cold
        # worker's imports, and a forked worker has none to overlap (a run with threads
        # starts the server itself, see datagen/prestart.py).
        code = worker.main(argv)
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

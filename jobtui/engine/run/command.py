"""The command runner: the body of a `command` job (argv or shell, environment with
secrets resolved and run parameters, output pumped into the log, the whole process tree
stopped on cancel)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.runtime import LogSink, Outcome, RunContext, Stopped
from jobtui.engine.model.secrets import resolve_secret
from jobtui.engine.model.types import RunState
from jobtui.engine.run.fence import Listener, WriteFence
from jobtui.engine.run.logs import MAX_MESSAGE, cut_marker
from jobtui.engine.run.proc import group_members

READ_SIZE = 65536
FENCE = "fence"  # the selector key of the write fence's listener
EXIT = "exit"  # the selector key of the command's pidfd: readable once it has ended
FENCE_READS = 64  # reads of one pipe while a write waits (4 MiB)
CLASSIFIED = 1000  # characters of a line looked at for its level
DRAIN_PATIENCE = 2.0  # seconds to read what is left once the command has ended


def _own_group_members() -> list[int]:
    me = os.getpid()
    return [p for p in group_members(os.getpgid(0)) if p != me]


def terminate_children(grace: float, pause: Callable[[float], None] = time.sleep) -> None:
    """SIGTERM every other process of our group (the command and whatever it forked), then
    SIGKILL what is still there after the grace period. The worker itself stays. `pause`
    waits between looks: the output reader's, so a command saying goodbye on its way out
    is read (and, under the write fence, not held)."""
    sent: set[int] = set()
    deadline = time.monotonic() + grace
    while True:
        members = _own_group_members()
        if not members:
            return
        if time.monotonic() >= deadline:
            break
        for pid in members:
            if pid not in sent:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
                sent.add(pid)
        _reap_children()
        pause(0.05)
    for _ in range(50):
        members = _own_group_members()
        if not members:
            return
        for pid in members:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _reap_children()
        time.sleep(0.02)


def _reap_children() -> None:
    with contextlib.suppress(ChildProcessError):
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return


# Lines of job output that count as errors wherever they were written (issue 20): the
# words programs and runtimes use for a failure.
_ERROR_LOOKING = re.compile(
    r"\b(ERROR|FATAL|CRITICAL)\b|^Traceback \(most recent call last\)|Exception\b"
    r"|^\w*Error: |^panic: "
)
# A stderr line that names its own milder level (a logging library's format) keeps it.
_OWN_LEVEL = re.compile(r"^\W{0,2}(WARNING|WARN|INFO|DEBUG|NOTICE)\b", re.IGNORECASE)


def _looks_like_error(line: str) -> bool:
    head = line[:CLASSIFIED]
    # Plain substring tests first (most lines have none of these words): the regular
    # expression only confirms.
    if not (
        "ERROR" in head
        or "FATAL" in head
        or "CRITICAL" in head
        or "Exception" in head
        or "Error: " in head
        or head.startswith(("Traceback", "panic: "))
    ):
        return False
    return _ERROR_LOOKING.search(head) is not None


def output_level(line: str, stream: str) -> str:
    """The log level of one line of the command's output: `error` for stderr (unless the
    line names a milder level itself) and for lines that look like errors."""
    if _looks_like_error(line):
        return "error"
    if stream == "stderr":
        own = _OWN_LEVEL.match(line)
        if own is None:
            return "error"
        word = own.group(1).lower()
        return "warning" if word.startswith("warn") else "debug" if word == "debug" else "info"
    return "info"


_ERROR_WORDS = (b"ERROR", b"FATAL", b"CRITICAL", b"Exception", b"Error: ", b"Traceback", b"panic: ")
_LEVEL_WORDS = (b"warn", b"info", b"debug", b"notice")


def _chunk_level(data: bytes, stream: str) -> str | None:
    """The level of every line of `data` when no line can differ from its stream's; None
    when each line must be looked at."""
    if any(word in data for word in _ERROR_WORDS):
        return None
    if stream != "stderr":
        return "info"
    lowered = data.lower()
    return None if any(word in lowered for word in _LEVEL_WORDS) else "error"


class OutputReader:
    """The command's stdout and stderr read in one selector loop, split into lines (a line
    over 64 KiB is cut, saying how many bytes), each written to the log in the order read.

    Two pipes alone cannot tell which of two writes came first when both arrived between
    two reads. With the write fence's `listener` (`output: ordered`, run/fence.py) each
    write waits until both pipes are read empty, so the order read is the order written;
    `output: merged` gives the command one pipe for both (its lines are then all
    `stdout`)."""

    def __init__(
        self, proc: subprocess.Popen[bytes], log: LogSink, listener: Listener | None = None
    ):
        self.log = log
        self.selector = selectors.DefaultSelector()
        self.listener = listener
        self._pipes: list[selectors.SelectorKey] | None = None  # while none has closed
        if listener is not None:
            self.selector.register(listener, selectors.EVENT_READ, FENCE)
        self._exit: int | None = None
        if hasattr(os, "pidfd_open"):
            # So a wait wakes when the command ends, not at its timeout, once its pipes are
            # closed (else each run ended up to one timeout late).
            with contextlib.suppress(OSError):
                self._exit = os.pidfd_open(proc.pid)
                self.selector.register(self._exit, selectors.EVENT_READ, EXIT)
        self.pending: dict[str, bytearray] = {}
        self.cut: dict[str, int] = {}
        for stream, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            if pipe is not None:
                os.set_blocking(pipe.fileno(), False)
                self.selector.register(pipe, selectors.EVENT_READ, stream)
                self.pending[stream] = bytearray()
                self.cut[stream] = 0

    @property
    def open(self) -> bool:
        return bool(self.pipes)

    def read(self, timeout: float) -> None:
        """Wait up to `timeout` for output; write the complete lines that came."""
        for key, _ in self.selector.select(timeout):
            if key.data == FENCE:
                self._fence()
            elif key.data == EXIT:
                self._exited()
            else:
                self._read_once(key)

    def _read_once(self, key: selectors.SelectorKey) -> bool:
        """One read of one pipe; False when it surely holds nothing more for now."""
        try:
            data = os.read(key.fd, READ_SIZE)
        except BlockingIOError:
            return False
        if not data:
            self._close(key.fileobj, key.data)
            return False
        self._take(key.data, data)
        return len(data) == READ_SIZE  # a pipe gives all it holds, up to the size asked

    @property
    def pipes(self) -> list[selectors.SelectorKey]:
        if self._pipes is None:
            self._pipes = [
                k for k in self.selector.get_map().values() if k.data not in (FENCE, EXIT)
            ]
        return self._pipes

    def _exited(self) -> None:
        if self._exit is not None:
            self.selector.unregister(self._exit)
            os.close(self._exit)
            self._exit = None

    def _fence(self) -> None:
        """A write of the command waits: take everything written before it, then let it
        go on."""
        assert self.listener is not None
        state = self.listener.state()
        if state == "gone":
            self.selector.unregister(self.listener)
            return
        if state != "write":
            return
        ident = self.listener.take()
        for key in self.pipes:
            # Bounded: output written past the fence (a descriptor it does not watch) must
            # not hold the waiting write forever.
            for _ in range(FENCE_READS):
                if not self._read_once(key):
                    break
        if ident is not None:
            self.listener.release(ident)

    def _take(self, stream: str, data: bytes) -> None:
        parts = data.split(b"\n")
        tail = parts.pop()  # what follows the last line end: the start of a line
        pending = self.pending[stream]
        write = self.log.write
        # One look at the whole chunk: when no line of it can change its level, every
        # line takes the stream's (the usual case; classifying line by line cost more
        # than reading).
        level = _chunk_level(data, stream)
        for part in parts:
            if pending or self.cut[stream] or len(part) > MAX_MESSAGE:
                self._keep(stream, part)
                self._emit(stream)
                continue
            line = part.decode("utf-8", "replace")
            if line.endswith("\r"):
                line = line.rstrip("\r")
            write(line, level or output_level(line, stream), stream)
        if tail:
            self._keep(stream, tail)

    def _keep(self, stream: str, chunk: bytes) -> None:
        pending = self.pending[stream]
        room = MAX_MESSAGE - len(pending)
        if len(chunk) > room:
            self.cut[stream] += len(chunk) - max(room, 0)
            chunk = chunk[: max(room, 0)]
        pending += chunk

    def _emit(self, stream: str) -> None:
        pending = self.pending[stream]
        line = bytes(pending).rstrip(b"\r").decode("utf-8", "replace")
        if self.cut[stream]:
            line += cut_marker(self.cut[stream], "bytes")
            self.cut[stream] = 0
        pending.clear()
        self.log.write(line, output_level(line, stream), stream)

    def _close(self, pipe: Any, stream: str) -> None:
        self.selector.unregister(pipe)
        self._pipes = None
        pipe.close()
        if self.pending[stream] or self.cut[stream]:
            self._emit(stream)  # a last line without its newline

    def drain(self, patience: float) -> None:
        """Read until every pipe is closed, or `patience` seconds (a child the command left
        behind may hold them open); then write what is pending."""
        deadline = time.monotonic() + patience
        while self.open:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.read(min(left, 0.05))
        self._exited()
        for key in list(self.selector.get_map().values()):
            if key.data == FENCE:
                self.selector.unregister(key.fileobj)
            else:
                self._close(key.fileobj, key.data)
        self.selector.close()
        if self.listener is not None:
            self.listener.hand_over()


# What a command sees of the environment of whoever starts the run (the daemon's, usually)
# unless the job asks for more: enough to find programs and behave as a login would, none
# of the secrets the daemon's environment may hold for other jobs.
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "SHELL", "TMPDIR")


def base_env(environ: Mapping[str, str], inherit: bool | list[str]) -> dict[str, str]:
    """The environment a command starts from: BASE_ENV and `LC_*` from `environ`, plus
    every variable (`inherit` true) or the ones named."""
    if inherit is True:
        return dict(environ)
    env = {
        name: value for name, value in environ.items() if name in BASE_ENV or name.startswith("LC_")
    }
    env.setdefault("PATH", os.defpath)
    for name in inherit or ():
        if name in environ:
            env[name] = environ[name]
    return env


def command_env(ctx: RunContext) -> dict[str, str]:
    spec = ctx.spec.command
    assert spec is not None
    env = base_env(os.environ, spec.inherit_env)
    configured = dict(spec.env)
    configured.update({k: str(v) for k, v in (ctx.options.get("env") or {}).items()})
    for name, value in configured.items():
        env[name] = resolve_secret(value, field=f"command.env.{name}")
    env["JOBTUI_RUN_ID"] = str(ctx.run_id)
    env["JOBTUI_JOB"] = ctx.job_name
    env["JOBTUI_WORKSPACE"] = ctx.workspace
    env["JOBTUI_TRIGGER"] = ctx.trigger
    env["JOBTUI_SINCE"] = (
        datetime.fromtimestamp(ctx.since, UTC).isoformat() if ctx.since is not None else ""
    )
    for name, value in ctx.parameters.items():
        key = "JOBTUI_PARAM_" + "".join(c if c.isalnum() else "_" for c in name).upper()
        env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def command_argv(ctx: RunContext) -> list[str]:
    spec = ctx.spec.command
    assert spec is not None
    argv = list(spec.argv)
    custom = ctx.options.get("args")
    if custom is not None:
        ctx.log.info(
            f"arguments: {json.dumps(list(custom))} (run override; configured: "
            f"{json.dumps(argv[1:])})"
        )
        argv = [argv[0], *[str(a) for a in custom]]
    if spec.shell:
        # The first item is the shell script; the rest become its $1, $2, ...
        return ["/bin/sh", "-c", argv[0], ctx.job_name, *argv[1:]]
    return argv


def run_command(ctx: RunContext) -> Outcome:
    spec = ctx.spec.command
    assert spec is not None
    argv = command_argv(ctx)
    env = command_env(ctx)
    cwd = os.path.expanduser(spec.cwd) if spec.cwd else None
    if cwd is not None and not os.path.isdir(cwd):
        raise InvalidInput(f"command.cwd: {cwd} is not a directory")
    ctx.log.info(
        # Quoted as a shell would need it, so the line can be pasted to try it by hand.
        f"$ {shlex.join(argv) if not spec.shell else argv[2]}" + (f"  (in {cwd})" if cwd else "")
    )
    merged = spec.output == "merged"
    fence = WriteFence() if spec.output == "ordered" else None
    options: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.STDOUT if merged else subprocess.PIPE,
        "env": env,
        "cwd": cwd,
        "close_fds": True,
    }
    listener: Listener | str | None = None
    try:
        if fence is not None:
            proc, listener = fence.popen(argv, **options)
        else:
            proc = subprocess.Popen(argv, **options)
    except OSError as exc:
        raise InvalidInput(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
    if isinstance(listener, str):
        ctx.log.warning(
            f"output: stdout and stderr are stored in the order read, not written ({listener})"
        )
        listener = None
    output = OutputReader(proc, ctx.log, listener)
    while proc.poll() is None:
        if ctx.stop.is_set():
            terminate_children(ctx.grace, output.read)
            proc.wait()
            break
        output.read(0.05)
    output.drain(DRAIN_PATIENCE)
    code = proc.returncode
    if ctx.stop.is_set():
        raise Stopped(ctx.stop_reason or "cancelled")
    if code == 0:
        ctx.results.append(f"{argv[0]} exited with code 0")
        return Outcome(RunState.SUCCEEDED, results=ctx.results)
    if code < 0:
        message = f"{argv[0]} was killed by signal {signal.Signals(-code).name}"
    else:
        message = f"{argv[0]} exited with code {code}"
    ctx.results.append(message)
    ctx.add_error(message)
    if fence is not None and fence.no_new_privs:
        ctx.log.warning(
            "this command ran with no_new_privs (keeping stdout and stderr in the order "
            "written needs it when jobtui does not run as root), so setuid programs such as sudo "
            'had no privileges; "output": "separate" lifts it'
        )
    return Outcome(RunState.FAILED, error=message, results=ctx.results)

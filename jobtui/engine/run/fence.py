"""The write fence: a command's stdout and stderr stay two streams and are still stored in
the order written (issue 16.3).

Two pipes cannot say which of two writes came first. So, on Linux, the command runs under a
seccomp filter that stops each of its writes to fd 1 or 2 (write, writev, pwritev2,
sendfile, splice, vmsplice, tee) and tells the worker, which reads everything both pipes
already hold and only then lets the write go on. Whatever a pipe holds at that moment was
written before the write being let through, so reading in that rhythm stores the written
order, to the write: exactly for a command that writes from one thread at a time.

Costs and limits, all said in the README: one round trip to the worker per write to
stdout/stderr (a block-buffered program makes few; a line-flushed one one per line); a
worker that is not root sets no_new_privs first (the kernel's condition for an unprivileged
filter), so setuid programs such as sudo do not gain privileges (use `output: separate`).
Where the filter cannot be set up (not Linux, another architecture, a kernel or sandbox
without it), the command runs without it and the run says so in its log.
"""

from __future__ import annotations

import _thread
import contextlib
import ctypes
import errno
import fcntl
import functools
import os
import platform
import select
import struct
import subprocess
import sys
import warnings
from typing import Any, Final

# From linux/seccomp.h, linux/filter.h, linux/audit.h, linux/prctl.h.
_SECCOMP_SET_MODE_FILTER: Final = 1
_SECCOMP_FILTER_FLAG_NEW_LISTENER: Final = 1 << 3
_SECCOMP_RET_USER_NOTIF: Final = 0x7FC00000
_SECCOMP_RET_ALLOW: Final = 0x7FFF0000
_SECCOMP_USER_NOTIF_FLAG_CONTINUE: Final = 1
_PR_SET_NO_NEW_PRIVS: Final = 38
_NOTIF = struct.Struct("=QIIiIQ6Q")  # struct seccomp_notif: id, pid, flags, data
_RESP = struct.Struct("=QqiI")  # struct seccomp_notif_resp: id, val, error, flags
_NOTIF_RECV: Final = 0xC0000000 | (_NOTIF.size << 16) | (ord("!") << 8) | 0
_NOTIF_SEND: Final = 0xC0000000 | (_RESP.size << 16) | (ord("!") << 8) | 1
_NOTIF_SET_FLAGS: Final = 0x40000000 | (8 << 16) | (ord("!") << 8) | 4
# Linux 6.6+: the released task runs on the worker's CPU, so a write costs about 10 µs
# here instead of 45 (no wake-up across CPUs, twice per write).
_SYNC_WAKE_UP: Final = 1

# BPF opcodes.
_LD_ABS: Final = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ: Final = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JA: Final = 0x05  # BPF_JMP | BPF_JA
_RET: Final = 0x06  # BPF_RET | BPF_K

# Per architecture: the seccomp syscall, AUDIT_ARCH_*, and the writing syscalls with the
# index of their output descriptor argument.
_ARCHES: Final[dict[str, tuple[int, int, dict[int, int]]]] = {
    "x86_64": (
        317,
        0xC000003E,
        {1: 0, 20: 0, 328: 0, 40: 0, 278: 0, 275: 2, 276: 1},
    ),
    "aarch64": (
        277,
        0xC00000B7,
        {64: 0, 66: 0, 287: 0, 71: 0, 75: 0, 76: 2, 77: 1},
    ),
}


def _program(arch: int, writers: dict[int, int]) -> bytes:
    """The filter: a write by one of `writers` to descriptor 1 or 2 goes to the listener,
    everything else is allowed."""
    code: list[tuple[int, int | str, int | str, int]] = []  # op, jt, jf, k (labels allowed)
    labels: dict[str, int] = {}

    def at(name: str) -> None:
        labels[name] = len(code)

    code.append((_LD_ABS, 0, 0, 4))  # seccomp_data.arch
    code.append((_JEQ, 0, "allow", arch))
    code.append((_LD_ABS, 0, 0, 0))  # seccomp_data.nr
    for number, arg in writers.items():
        code.append((_JEQ, f"arg{arg}", 0, number))
    code.append((_RET, 0, 0, _SECCOMP_RET_ALLOW))
    for arg in sorted(set(writers.values())):
        at(f"arg{arg}")
        code.append((_LD_ABS, 0, 0, 16 + 8 * arg))  # low half of seccomp_data.args[arg]
        code.append((_JA, 0, 0, 0))  # patched below: to "fd"
    at("fd")
    code.append((_JEQ, "notify", 0, 1))
    code.append((_JEQ, "notify", "allow", 2))
    at("notify")
    code.append((_RET, 0, 0, _SECCOMP_RET_USER_NOTIF))
    at("allow")
    code.append((_RET, 0, 0, _SECCOMP_RET_ALLOW))

    out = bytearray()
    for index, (op, jt, jf, k) in enumerate(code):
        if op == _JA:
            k = labels["fd"] - index - 1
        jump = [labels[j] - index - 1 if isinstance(j, str) else j for j in (jt, jf)]
        out += struct.pack("=HBBI", op, jump[0], jump[1], k)
    return bytes(out)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def _compiled(machine: str) -> tuple[int, Any, Any] | None:
    """The seccomp syscall's number, the filter and its `struct sock_fprog` for `machine`;
    None where there is no fence."""
    if sys.platform != "linux" or machine not in _ARCHES:
        return None
    syscall_nr, arch, writers = _ARCHES[machine]
    program = _program(arch, writers)
    instructions = ctypes.create_string_buffer(program, len(program))
    # struct sock_fprog: unsigned short len, then (aligned) the instructions' address.
    fprog = ctypes.create_string_buffer(
        struct.pack("=H6xQ", len(program) // 8, ctypes.addressof(instructions))
    )
    return syscall_nr, instructions, fprog


# Built once, in the launcher's zygote (it imports the command runner): a fenced start
# then costs a forked worker about 0.7 ms of CPU more than a plain one, not 1.7.
_compiled(platform.machine())
_libc()


class WriteFence:
    """Starts a command under the filter: `popen` installs it on a thread of its own
    (a filter binds the thread that installs it and what that thread starts, not the
    worker's other threads), which then starts the command: Popen keeps its vfork path
    (a `preexec_fn` would make it fork the whole worker: 8 ms a start, against under 1)."""

    def __init__(self) -> None:
        self.machine = platform.machine()
        self._compiled = _compiled(self.machine)
        if self._compiled is not None:
            self._syscall_nr, self._instructions, self._prog = self._compiled
        self.no_new_privs = False

    def popen(
        self, argv: list[str], **options: Any
    ) -> tuple[subprocess.Popen[bytes], Listener | str]:
        """The command started under the filter, with its listener; or, where the filter
        cannot be set up, started without it, with the reason."""
        if self._compiled is None:
            return subprocess.Popen(argv, **options), f"no seccomp filter on {self.machine}"
        outcome: dict[str, Any] = {}
        done = _thread.allocate_lock()
        done.acquire()

        def start() -> None:
            # Nothing here may write to fd 1 or 2: this thread is under the filter, and
            # nobody would answer.
            try:
                fd = self._install()
                if isinstance(fd, str):
                    outcome["reason"] = fd
                    return
                outcome["listener"] = Listener(fd)
                outcome["proc"] = subprocess.Popen(argv, **options)
            except BaseException as exc:  # handed to the caller
                outcome["error"] = exc
            finally:
                done.release()

        # A bare thread: threading.Thread's bookkeeping cost ten times as much CPU here.
        _thread.start_new_thread(start, ())
        done.acquire()
        if "error" in outcome:
            if "listener" in outcome:
                outcome["listener"].close()
            raise outcome["error"]
        if "reason" in outcome:
            return subprocess.Popen(argv, **options), outcome["reason"]
        return outcome["proc"], outcome["listener"]

    def _install(self) -> int | str:
        """On the calling thread: the filter's listener, or why there is none."""
        libc = _libc()
        fd = self._seccomp(libc)
        privileged = fd >= 0 or ctypes.get_errno() != errno.EACCES
        if not privileged:
            # The kernel allows an unprivileged filter only under no_new_privs, which binds
            # this thread and what it starts, not the worker's other threads.
            libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), *[ctypes.c_ulong(0)] * 3)
            fd = self._seccomp(libc)
        if fd < 0:
            return os.strerror(ctypes.get_errno())
        self.no_new_privs = not privileged
        return fd

    def _seccomp(self, libc: ctypes.CDLL) -> int:
        return int(
            libc.syscall(
                ctypes.c_long(self._syscall_nr),
                ctypes.c_long(_SECCOMP_SET_MODE_FILTER),
                ctypes.c_long(_SECCOMP_FILTER_FLAG_NEW_LISTENER),
                ctypes.c_void_p(ctypes.addressof(self._prog)),
            )
        )


class Listener:
    """The worker's side of the filter: one pending write at a time."""

    def __init__(self, fd: int):
        self.fd = fd
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)
        with contextlib.suppress(OSError):  # older kernels: the slower wake-up
            fcntl.ioctl(fd, _NOTIF_SET_FLAGS, _SYNC_WAKE_UP)

    def fileno(self) -> int:
        return self.fd

    def state(self, timeout: float | None = 0) -> str:
        """'write': a write waits; 'gone': the command and all it started have ended;
        '': nothing yet (after `timeout` ms; None waits for one of the others)."""
        for _, events in self._poll.poll(timeout):
            if events & select.POLLIN:
                return "write"
            if events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                return "gone"
        return ""

    def take(self) -> int | None:
        """The id of the write waiting (call when `state()` said 'write')."""
        notif = bytearray(_NOTIF.size)  # the kernel wants it zeroed
        try:
            fcntl.ioctl(self.fd, _NOTIF_RECV, notif)
        except OSError:
            return None  # its process died meanwhile
        return int(_NOTIF.unpack(notif)[0])

    def release(self, ident: int) -> None:
        """Let the write go on."""
        response = bytearray(_RESP.pack(ident, 0, 0, _SECCOMP_USER_NOTIF_FLAG_CONTINUE))
        with contextlib.suppress(OSError):  # its process died meanwhile
            fcntl.ioctl(self.fd, _NOTIF_SEND, response)

    def hand_over(self) -> None:
        """The run is over. Processes it left running (`nohup server >log &`) keep the
        filter, and closing the listener would fail their writes with ENOSYS: a small
        process of their own lets those writes through until they have all ended."""
        if self.fd < 0:
            return
        if self.state() != "gone":
            with warnings.catch_warnings():
                # Python 3.12+ warns of fork() beside threads: the child only polls and
                # answers on this descriptor, it takes no lock a thread could hold.
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the forked child
                try:
                    if os.fork() == 0:  # the grandchild: no zombie left to anyone
                        os.setsid()
                        os.chdir("/")  # pins no mount
                        self._respond_until_gone()
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
        self.close()

    def _respond_until_gone(self) -> None:  # pragma: no cover - runs in the forked child
        for name in os.listdir("/proc/self/fd"):
            if int(name) != self.fd:
                with contextlib.suppress(OSError):
                    os.close(int(name))
        while self.state(None) == "write":
            ident = self.take()
            if ident is not None:
                self.release(ident)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

"""Events home: what a remote run says back travels through one Redis Stream.

Why a stream with a consumer group, not Celery events: Celery's events are fire-and-forget
broadcasts (a fanout with no reader buffers nothing), so events sent while the daemon is
down would be lost. A stream keeps every entry until the daemon's consumer group has read
*and acknowledged* it; an entry read but not acknowledged (the daemon died before its
SQLite commit) stays pending and is read again. Each entry names its run, attempt, source
and sequence number, so the daemon applies it once (see ingest.py).

Producer side (on the worker's machine): `EventWriter` numbers events per (run, source),
buffers them (bounded) and sends them in batches from a thread; while Redis is
unreachable it keeps them and flushes them when it returns. `RemoteReporter` is the
RunReporter of a remote run: the same calls as SqliteReporter, turned into events.
"""

from __future__ import annotations

import collections
import contextlib
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from jobtui.engine.model.broker import PREFIX, cancel_key, events_stream
from jobtui.engine.model.runtime import LogRow, Outcome, TaskState

MAX_BUFFERED = 20_000  # events kept while Redis is unreachable (log batches go first)
SEND_EVERY = 0.1
BATCH = 200


def connect(url: str, timeout: float = 2.0) -> Any:
    """A redis-py client with short timeouts (a broker that went away answers quickly)."""
    import redis

    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, health_check_interval=0
    )


@dataclass(frozen=True)
class Event:
    run_id: int
    attempt: int
    source: str  # "run" (the run's process) or "task" (the Celery task around it)
    seq: int
    kind: str  # start, logs, task, progress, options, finish, end
    data: dict[str, Any]

    def fields(self) -> dict[str, str]:
        return {
            "r": str(self.run_id),
            "a": str(self.attempt),
            "s": self.source,
            "q": str(self.seq),
            "k": self.kind,
            "d": json.dumps(self.data, separators=(",", ":"), ensure_ascii=False),
        }

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> Event:
        f = {k.decode(): v.decode() for k, v in fields.items()}
        return cls(
            run_id=int(f["r"]),
            attempt=int(f["a"]),
            source=f["s"],
            seq=int(f["q"]),
            kind=f["k"],
            data=json.loads(f["d"]),
        )


class EventWriter:
    """Numbers, buffers and sends one run's events (see the module docstring)."""

    def __init__(
        self,
        client: Any,
        run_id: int,
        attempt: int,
        source: str = "run",
        *,
        stream: str = events_stream(),
        max_buffered: int = MAX_BUFFERED,
    ):
        self.client = client
        self.run_id = int(run_id)
        self.attempt = int(attempt)
        self.source = source
        self.stream = stream
        self.max_buffered = max_buffered
        self._seq = 0
        self._buffer: collections.deque[Event] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped_lines = 0
        self.unreachable_since: float | None = None

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            if kind == "logs" and len(self._buffer) >= self.max_buffered:
                self.dropped_lines += len(data.get("lines", ()))
                return
            if kind == "logs" and self.dropped_lines:
                note = f"{self.dropped_lines} log lines were dropped while Redis was unreachable"
                first = data["lines"][0] if data.get("lines") else None
                at = first[2] if first else time.time()
                data = {"lines": [[0, at, "warning", "engine", note], *data["lines"]]}
                self.dropped_lines = 0
            self._seq += 1
            self._buffer.append(
                Event(self.run_id, self.attempt, self.source, self._seq, kind, data)
            )
        self._wake.set()

    def start(self) -> EventWriter:
        self._thread = threading.Thread(target=self._loop, name="jobtui-events", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(SEND_EVERY)
            self._wake.clear()
            self.send_some()

    def send_some(self) -> bool:
        """Send what is buffered, in order; False when Redis could not be reached."""
        while True:
            with self._lock:
                batch = list(self._buffer)[:BATCH]
            if not batch:
                return True
            try:
                pipe = self.client.pipeline(transaction=False)
                for event in batch:
                    pipe.xadd(self.stream, event.fields())  # type: ignore[arg-type]
                pipe.execute()
            except Exception as exc:
                if self.unreachable_since is None:
                    self.unreachable_since = time.time()
                    print(f"events: Redis unreachable, buffering: {exc}", file=sys.stderr)
                return False
            self.unreachable_since = None
            with self._lock:
                for _ in batch:
                    self._buffer.popleft()

    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)

    def close(self, timeout: float) -> bool:
        """Stop the thread and send the rest, trying for up to `timeout` seconds; whether
        everything went out."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        deadline = time.monotonic() + timeout
        while not self.send_some():
            if time.monotonic() >= deadline:
                print(f"events: {self.pending()} events could not be sent", file=sys.stderr)
                return False
            time.sleep(0.2)
        return True


class RemoteReporter:
    """A remote run's RunReporter: every call becomes an event on the stream, except the
    cancel check, which reads the run's cancel key (set by the control host)."""

    def __init__(self, writer: EventWriter, client: Any, log_base: int = 0, ns: str = PREFIX):
        self.writer = writer
        self.ns = ns
        self.client = client
        self.run_id = writer.run_id
        self.attempt = writer.attempt
        self.log_base = log_base
        self.finished: Outcome | None = None
        self.handback: str | None = None  # set when the worker shuts down under the run

    def log_size(self) -> int:
        return self.log_base

    def write_logs(self, lines: list[LogRow]) -> int:
        self.writer.emit("logs", {"lines": [list(line[1:]) for line in lines]})
        return lines[-1][1]

    def add_task(self, position: int, name: str, total: int | None) -> int:
        self.writer.emit("task", {"position": position, "name": name, "total": total})
        return position  # the control host maps (run, position) to its task id

    def progress(
        self, now: float, records: int, progress: float | None, tasks: list[TaskState]
    ) -> None:
        data = [{k: v for k, v in asdict(t).items() if k != "dirty"} for t in tasks]
        self.writer.emit(
            "progress", {"now": now, "records": records, "progress": progress, "tasks": data}
        )

    def record_options(self, options: dict[str, Any]) -> None:
        self.writer.emit("options", {"options": options})

    def cancel_requested(self) -> bool:
        try:
            return bool(self.client.exists(cancel_key(self.run_id, self.attempt, self.ns)))
        except Exception:
            return False  # Redis unreachable: the run goes on; its events wait

    def finish(
        self, now: float, outcome: Outcome, errors: list[dict[str, Any]], results: list[str]
    ) -> None:
        state, error = outcome.state.value, outcome.error
        if self.handback is not None and state == "cancelled":
            # Stopped by its worker's shutdown, not by a user: interrupted, so the retry
            # policy decides what follows.
            state, error = "interrupted", self.handback
            errors = [*errors, {"message": error, "at": now}]
        self.finished = outcome
        self.writer.emit(
            "finish",
            {"now": now, "state": state, "error": error, "errors": errors, "results": results},
        )


def emit_once(client: Any, event: Event, stream: str) -> bool:
    """Send one event now (the Celery task's own word about its run); whether it went."""
    with contextlib.suppress(Exception):
        client.xadd(stream, event.fields())
        return True
    return False

"""CeleryExecutor: runs of every queue but `local` go to Celery workers over Redis; their
events come home through a Redis Stream and are ingested here, into the control host's
SQLite, the one record (see docs/INTERNALS.md, "Adding an executor").

On the control host, per supervisor tick (`watch`):
- ingest: read the stream with the daemon's consumer group (first what a previous daemon
  read but did not acknowledge, then new entries), apply each batch in one SQLite
  transaction (ingest.py) and acknowledge (and delete) the entries after the commit;
- cancel: a `cancelling` run gets its cancel key on Redis (the remote run polls it and
  stops its process group; its task SIGKILLs the group after the grace period); a run no
  worker took yet ends `cancelled` at once;
- the heartbeat rule: a run whose worker started it and then went silent for
  `stale_after` seconds ends `interrupted` (a worker killed with -9, a host gone);
- timeouts: a run past its job's timeout plus the grace is asked to stop, then ended.
`has_room` is False while Redis is unreachable: due runs stay `queued`, with the reason
in `runs.wait_reason`, and go out when it answers again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from jobtui.engine.model.broker import (
    EVENTS_GROUP,
    LOCAL_QUEUE,
    TASK_NAME,
    VISIBILITY_TIMEOUT,
    BrokerConfig,
    cancel_key,
    events_stream,
    worker_key,
)
from jobtui.engine.model.clock import Clock, SystemClock
from jobtui.engine.model.types import RunState
from jobtui.engine.run import lifecycle
from jobtui.engine.run.events import Event, connect
from jobtui.engine.run.executor import (
    GRACE,
    HEARTBEAT_INTERVAL,
    REMOTE,
    STALE_HEARTBEATS,
    STALE_MIN,
    run_timeout,
)
from jobtui.engine.run.ingest import apply_batch
from jobtui.engine.run.order import load_order
from jobtui.engine.store import logs as log_rows
from jobtui.engine.store import remote as remote_rows
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store

log = logging.getLogger("jobtui.daemon")

NAME = "celery"
READ_COUNT = 500
PING_EVERY = 1.0
WORKERS_COUNT_EVERY = 5.0  # seconds between two counts of live workers (a SCAN)
WORKERS_RENEW = 10.0  # the workers count is written at least this often (seconds)
CONSUMER = "daemon"
LISTEN_BLOCK_MS = 1000  # under the connection's 2 s socket timeout


def ensure_group(client: Any, stream: str) -> bool:
    """The daemon's consumer group on the events stream (created with the stream); True
    when it had to be created (first use, or Redis lost its data)."""
    try:
        client.xgroup_create(stream, EVENTS_GROUP, id="0", mkstream=True)
    except Exception as exc:
        if "BUSYGROUP" not in str(exc):
            raise
        return False
    return True


class CeleryExecutor:
    """Sends runs to Celery queues and brings their events home (module docstring)."""

    name = NAME

    def __init__(
        self,
        store: Store,
        broker: BrokerConfig,
        clock: Clock | None = None,
        *,
        grace: float = GRACE,
        stale_after: float | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
    ):
        self.store = store
        self.broker = broker
        self.clock: Clock = clock or SystemClock()
        self.grace = grace
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = (
            stale_after
            if stale_after is not None
            else max(STALE_MIN, STALE_HEARTBEATS * heartbeat_interval)
        )
        self.ns = broker.namespace
        self.stream = events_stream(self.ns)
        self._url: str | None = None
        self._client: Any = None
        self._celery: Any = None
        self._reachable: bool | None = None
        self._reason: str | None = None
        self._last_ping = 0.0
        self._group_ready = False
        self._workers_online = -1
        self._workers_written = 0.0
        self._workers_counted = -WORKERS_COUNT_EVERY
        self._read_pending = True  # first what a previous daemon read and did not ack
        self._since = self.clock.now()  # silence is counted from here at the earliest
        self._ended: list[int] = []
        self._orphans: set[int] = set()  # runs whose task the broker lost
        self._cancel_sent: set[int] = set()
        self._timeouts: dict[int, float | None] = {}
        self._timed_out: dict[int, float] = {}

    # -- connections ------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The task broker's URL (Redis or RabbitMQ)."""
        if self._url is None:
            self._url = self.broker.resolved_url()
        return self._url

    @property
    def client(self) -> Any:
        """The Redis of events, claims and cancels (the broker itself when it is Redis)."""
        if self._client is None:
            self._client = connect(self.broker.resolved_events_url())
        return self._client

    @property
    def celery(self) -> Any:
        if self._celery is None:
            from jobtui.engine.run.celery_app import make_celery

            self._celery = make_celery(self.url)
        return self._celery

    def reachable(self, force: bool = False) -> bool:
        """Whether Redis answers (asked at most once a second)."""
        now = time.monotonic()
        if force or self._reachable is None or now - self._last_ping >= PING_EVERY:
            self._last_ping = now
            try:
                self.client.ping()
                if not self._group_ready:
                    if ensure_group(self.client, self.stream):
                        # No group: first use, or Redis restarted without its data, and the
                        # tasks of runs no worker had taken yet went with it: send them again.
                        self._orphans |= {
                            int(r["id"])
                            for r in remote_rows.remote_rows(self.store, self.name)
                            if r["host"] is None and r["state"] == "running"
                        }
                    self._group_ready = True
                if self._reachable is False:
                    log.info("broker %s reachable again", self.broker.url)
                self._reachable, self._reason = True, None
                self._count_workers(now)
            except Exception as exc:
                reason = f"the broker {self.broker.url} is unreachable ({_short(exc)})"
                if self._reachable is not False:
                    log.warning("%s; remote runs wait queued", reason)
                self._reachable, self._reason = False, reason
        return bool(self._reachable)

    def _count_workers(self, now: float) -> None:
        """Keep the count of live workers (their presence keys) in the control SQLite, for
        the dashboard's header: written when it changes, and renewed so clients can tell a
        fresh count from the last one of a stopped daemon. Counted every few seconds, not
        at each ping: a SCAN walks the whole database (claims stay a week)."""
        if now - self._workers_counted < WORKERS_COUNT_EVERY:
            return
        self._workers_counted = now
        try:
            online = sum(1 for _ in self.client.scan_iter(worker_key("*"), count=1000))
        except Exception:
            return
        if online == self._workers_online and now - self._workers_written < WORKERS_RENEW:
            return
        with contextlib.suppress(Exception):
            remote_rows.set_workers_online(self.store, online, self.clock.now())
            self._workers_online, self._workers_written = online, now

    # -- the Executor protocol ---------------------------------------------------------
    def has_room(self) -> bool:
        if self.reachable():
            return True
        self._note_waiting()
        return False

    def _note_waiting(self) -> None:
        with contextlib.suppress(Exception):
            ids = remote_rows.queued_on(self.store, None, exclude=[LOCAL_QUEUE])
            remote_rows.set_wait_reason(self.store, ids, f"waiting: {self._reason}")

    def submit(self, run_id: int) -> None:
        """Send a claimed run's order to its Celery queue (JSON)."""
        row = run_rows.run_row(self.store, run_id)
        queue = remote_rows.queue_of_run(self.store, run_id)
        if row is None or queue is None:
            return
        try:
            order = load_order(self.store, row, self.clock.now())
        except Exception as exc:
            lifecycle.end_unreported(
                self.store,
                run_id,
                self.clock.now(),
                RunState.FAILED,
                f"cannot read the job's spec: {exc}",
            )
            self._ended.append(run_id)
            return
        envelope = {
            "order": asdict(order),
            "log_base": log_rows.log_size(self.store, run_id),
            "heartbeat": self.heartbeat_interval,
            "ns": self.ns,
        }
        try:
            self.celery.send_task(TASK_NAME, args=[envelope], queue=queue, retry=False)
        except Exception as exc:
            self._reachable, self._reason = (
                False,
                (f"the broker {self.broker.url} is unreachable ({_short(exc)})"),
            )
            lifecycle.requeue(self.store, run_id, f"waiting: {self._reason}")
            return
        remote_rows.set_wait_reason(
            self.store, [run_id], f"in Celery queue {queue!r}, waiting for a worker"
        )
        note = f"sent to Celery queue {queue!r}"
        timeout = run_timeout(order.spec)
        if timeout is not None and timeout > VISIBILITY_TIMEOUT:
            note += (
                f"; its timeout ({timeout:g}s) is past the broker's visibility timeout "
                f"({VISIBILITY_TIMEOUT}s): Redis may deliver its task again, and the run's "
                "claim keeps it from being executed twice"
            )
        log_rows.append_line(self.store, run_id, self.clock.now(), note)

    def cancel(self, run_id: int) -> None:
        row = remote_rows.run_ident(self.store, run_id)
        if row is None:
            return
        with contextlib.suppress(Exception):
            self.client.set(cancel_key(run_id, int(row["attempt"]), self.ns), "1", ex=7 * 24 * 3600)
            self._cancel_sent.add(run_id)

    def watch(self) -> list[int]:
        drained = self.ingest()
        if drained:
            self._watch_rows()
        ended, self._ended = self._ended, []
        return ended

    def stop_all(self, grace: float) -> None:
        """Remote runs are not this process's children: they go on (a restarted daemon
        ingests their events); nothing to stop here."""
        self.watch()

    def listen(self, wake: Callable[[], None], stop: threading.Event) -> None:
        """Call `wake` as soon as events arrive, from a thread blocked in XREAD on a
        connection of its own (it only looks: the loop's `watch` reads them with the
        group). A remote run's lines and end then come home in milliseconds, not at the
        daemon's next poll (1 s with the doorbell). Redis down: it retries every second,
        and the poll still ingests."""
        threading.Thread(
            target=self._listen, args=(wake, stop), name="jobtui-events", daemon=True
        ).start()

    def _listen(self, wake: Callable[[], None], stop: threading.Event) -> None:
        client: Any = None
        last = "$"  # what came before is the loop's first ingest's
        while not stop.is_set():
            try:
                if client is None:
                    client = connect(self.broker.resolved_events_url())
                    last = "$"
                reply = client.xread({self.stream: last}, count=READ_COUNT, block=LISTEN_BLOCK_MS)
            except Exception:
                client = None
                stop.wait(PING_EVERY)
                continue
            if reply and reply[0][1]:
                last = reply[0][1][-1][0]
                wake()

    # -- ingestion --------------------------------------------------------------------
    def ingest(self, limit: int = 20) -> bool:
        """Read and apply up to `limit` batches; True when the stream is drained."""
        if not self.reachable():
            return False
        for _ in range(limit):
            start = "0" if self._read_pending else ">"
            try:
                reply = self.client.xreadgroup(
                    EVENTS_GROUP, CONSUMER, {self.stream: start}, count=READ_COUNT
                )
            except Exception as exc:
                if "NOGROUP" in str(exc):
                    self._group_ready = False
                self._reachable = None
                log.warning("reading the events stream failed: %s", _short(exc))
                return False
            entries = reply[0][1] if reply else []
            if self._read_pending and not entries:
                self._read_pending = False
                continue
            if not entries:
                return True
            ids, events = [], []
            for entry_id, fields in entries:
                ids.append(entry_id)
                if fields:
                    with contextlib.suppress(Exception):
                        events.append(Event.from_fields(fields))
            report = apply_batch(self.store, events, self.clock.now())
            self._ended.extend(report.ended)
            for run_id in report.ended:
                self._forget(run_id)
            try:  # after the commit: acknowledged, then gone from the stream
                pipe = self.client.pipeline(transaction=False)
                pipe.xack(self.stream, EVENTS_GROUP, *ids)
                pipe.xdel(self.stream, *ids)
                pipe.execute()
            except Exception as exc:
                log.warning("acknowledging events failed (they come again): %s", _short(exc))
                self._read_pending = True
                return False
            if len(entries) < READ_COUNT and not self._read_pending:
                return True
        return False

    # -- cancel, silence, timeouts -----------------------------------------------------
    def _watch_rows(self) -> None:
        now = self.clock.now()
        for run_id in sorted(self._orphans):
            lifecycle.requeue(
                self.store,
                run_id,
                f"waiting: the broker {self.broker.url} lost its queued tasks (restarted "
                "without its data); sending it again",
            )
        self._orphans.clear()
        for row in remote_rows.remote_rows(self.store, self.name):
            run_id = int(row["id"])
            if row["state"] == "cancelling":
                if run_id not in self._cancel_sent:
                    self.cancel(run_id)
                if row["host"] is None:  # no worker took it yet: it never starts
                    self._end(run_id, RunState.CANCELLED, "cancelled before a worker took it")
                    continue
            if row["host"] is None:
                continue  # waiting in its Celery queue for a free worker
            last = max(float(row["heartbeat_at"] or 0), self._since)
            if now - last > self.stale_after:
                self._end(
                    run_id,
                    RunState.INTERRUPTED,
                    f"the worker on {row['host']} stopped reporting "
                    f"(no event for {now - last:.0f}s)",
                )
                continue
            self._enforce_timeout(row, now)

    def _enforce_timeout(self, row: Any, now: float) -> None:
        run_id = int(row["id"])
        if run_id not in self._timeouts:
            spec = run_rows.version_spec(self.store, row["job_id"], row["job_version"])
            self._timeouts[run_id] = run_timeout(spec or {})
        timeout = self._timeouts[run_id]
        if timeout is None or row["started_at"] is None:
            return
        over = now - float(row["started_at"]) - timeout
        if over < 1.0:
            return  # the run stops itself at its deadline; this is the backstop
        if run_id not in self._timed_out:
            self._timed_out[run_id] = now
            self.cancel(run_id)
        elif now - self._timed_out[run_id] >= self.grace + 5.0:
            self._end(run_id, RunState.FAILED, f"timed out after {timeout:g}s")

    def _end(self, run_id: int, state: RunState, message: str) -> None:
        if lifecycle.end_unreported(self.store, run_id, self.clock.now(), state, message):
            self._ended.append(run_id)
        self._forget(run_id)

    def _forget(self, run_id: int) -> None:
        self._cancel_sent.discard(run_id)
        self._timeouts.pop(run_id, None)
        self._timed_out.pop(run_id, None)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def celery_executors(
    store: Store, broker: BrokerConfig | None, clock: Clock | None, **options: Any
) -> dict[str, Any]:
    """The registry entry for remote queues ({} when no broker is configured)."""
    if broker is None:
        return {}
    return {REMOTE: CeleryExecutor(store, broker, clock, **options)}

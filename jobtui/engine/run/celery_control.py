"""What the Workers screen and `jobtui workers` ask Celery (issue 19), as Flower does:
the live workers (inspection plus each `jobtui worker`'s presence on Redis), the queues
(depth on the broker, unacknowledged deliveries, consumers), and the remote controls that
change a worker while it runs (add / cancel a consumer, grow / shrink its pool)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jobtui.engine.model.broker import QueueInfo, WorkerInfo, worker_key
from jobtui.engine.model.errors import InvalidInput, NotFound

CONTROL_TIMEOUT = 2.0


def node_name(host: str) -> str:
    """The Celery node name of the `jobtui worker` on `host`."""
    return host if "@" in host else f"jobtui@{host}"


@dataclass
class Inspection:
    """One round of questions to the live workers."""

    presence: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    active: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reserved: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    queues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def read_presence(client: Any) -> dict[str, dict[str, Any]]:
    """Each `jobtui worker`'s presence (host → what it last said), from the events Redis."""
    out: dict[str, dict[str, Any]] = {}
    for key in client.scan_iter(worker_key("*")):
        raw = client.get(key)
        if raw:
            data = json.loads(raw)
            out[str(data.get("hostname"))] = data
    return out


def inspect(app: Any, presence: dict[str, dict[str, Any]], timeout: float) -> Inspection:
    # Each question waits for `timeout` unless `limit` answers came: every jobtui worker
    # keeps a presence key, so their count is the answers to wait for.
    ask = app.control.inspect(timeout=timeout, limit=len(presence) or None)
    return Inspection(
        presence=presence,
        stats=ask.stats() or {},
        active=ask.active() or {},
        reserved=ask.reserved() or {},
        queues=ask.active_queues() or {},
    )


def workers(found: Inspection, now: float | None = None) -> list[WorkerInfo]:
    now = time.time() if now is None else now
    out: dict[str, WorkerInfo] = {}
    for node, st in found.stats.items():
        host = node.partition("@")[2] or node
        p = found.presence.get(host, {})
        pool = st.get("pool") or {}
        out[host] = WorkerInfo(
            host=host,
            node=node,
            online=True,
            queues=[q.get("name", "") for q in found.queues.get(node, [])] or p.get("queues", []),
            concurrency=int(pool.get("max-concurrency") or p.get("concurrency") or 0),
            active=len(found.active.get(node, [])),
            # (Celery's own total counts a task when it starts; the presence, when it ends)
            processed=int(
                p["processed"] if "processed" in p else sum((st.get("total") or {}).values())
            ),
            failed=int(p.get("failed") or 0),
            pid=st.get("pid") or p.get("pid"),
            heartbeat_age=(now - float(p["heartbeat"])) if p.get("heartbeat") else None,
            runs=list(p.get("active") or []),
        )
    for host, p in found.presence.items():
        if host not in out:  # kept its presence but did not answer the inspection
            out[host] = WorkerInfo(
                host=host,
                node=node_name(host),
                online=False,
                queues=list(p.get("queues") or []),
                concurrency=int(p.get("concurrency") or 0),
                active=len(p.get("active") or []),
                processed=int(p.get("processed") or 0),
                failed=int(p.get("failed") or 0),
                pid=p.get("pid"),
                heartbeat_age=now - float(p.get("heartbeat") or now),
                runs=list(p.get("active") or []),
            )
    return sorted(out.values(), key=lambda w: w.host)


def queues(
    app: Any, found: Inspection, known: Iterable[str], waiting: dict[str, int]
) -> list[QueueInfo]:
    """Every queue a live worker consumes or a job names: its depth on the broker, the
    deliveries not yet acknowledged (late acknowledgement: the runs executing now, and
    any reserved), and the hosts consuming it."""
    consumers: dict[str, list[str]] = {name: [] for name in known}
    for node, qs in found.queues.items():
        host = node.partition("@")[2] or node
        for q in qs:
            consumers.setdefault(str(q.get("name", "")), []).append(host)
    unacked: dict[str, int] = {}
    for requests in [*found.active.values(), *found.reserved.values()]:
        for request in requests:
            key = (request.get("delivery_info") or {}).get("routing_key")
            if key:
                unacked[key] = unacked.get(key, 0) + 1
    depths = broker_depths(app, sorted(consumers))
    return [
        QueueInfo(
            name=name,
            depth=depths.get(name),
            unacked=unacked.get(name, 0),
            consumers=sorted(hosts),
            waiting_runs=waiting.get(name, 0),
        )
        for name, hosts in sorted(consumers.items())
        if name
    ]


def broker_depths(app: Any, names: list[str]) -> dict[str, int | None]:
    """Messages waiting per queue, from a passive declare (Redis and AMQP alike); a queue
    the broker does not know holds none."""
    from kombu.exceptions import ChannelError

    out: dict[str, int | None] = {}
    if not names:
        return out
    with app.connection_for_read() as conn:
        channel = conn.channel()
        try:
            for name in names:
                try:
                    out[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
                except ChannelError:
                    out[name] = 0
                    # AMQP closes the channel on NOT_FOUND; Redis keeps it
                    if not getattr(channel, "is_open", True):
                        channel = conn.channel()
                except Exception:
                    out[name] = None
                    channel = conn.channel()
        finally:
            channel.close()
    return out


def _answer(replies: list[dict[str, Any]] | None, host: str, field: str) -> str:
    for reply in replies or []:
        for answer in reply.values():
            if "error" in answer:
                raise InvalidInput(f"{field}: {host} answered: {_clean(str(answer['error']))}")
            return str(answer.get("ok", answer))
    raise NotFound(f"no worker {host!r} answered (see jobtui workers)")


def _clean(error: str) -> str:
    # Celery reports an exception in a control command as its repr: ValueError('...')
    head, sep, rest = error.partition("('")
    return rest[:-2] if sep and rest.endswith("')") and head.isidentifier() else error


def consume(app: Any, host: str, queue: str, on: bool) -> str:
    """Make the worker on `host` start (or stop) consuming `queue`; what it answered."""
    control, node = app.control, [node_name(host)]
    if on:
        replies = control.add_consumer(queue, destination=node, reply=True, timeout=CONTROL_TIMEOUT)
    else:
        replies = control.cancel_consumer(
            queue, destination=node, reply=True, timeout=CONTROL_TIMEOUT
        )
    return _answer(replies, host, "queue")


def resize_pool(app: Any, host: str, delta: int) -> str:
    """Grow (delta > 0) or shrink (delta < 0) the pool of the worker on `host`."""
    control, node = app.control, [node_name(host)]
    if delta > 0:
        replies = control.pool_grow(delta, destination=node, reply=True, timeout=CONTROL_TIMEOUT)
    else:
        replies = control.pool_shrink(-delta, destination=node, reply=True, timeout=CONTROL_TIMEOUT)
    return _answer(replies, host, "pool")

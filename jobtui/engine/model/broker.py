"""Scale-out settings (issue 19): the broker URL, its password as a secret reference, and
the names the control host and its Celery workers share on Redis. No I/O here.

The broker is configured once (`jobtui config set broker redis://host:6379/0`, or
JOBTUI_BROKER); a password never sits in the URL: it goes in `broker_password` (or
JOBTUI_BROKER_PASSWORD) as `env:NAME` or `file:PATH`, resolved where it is used.

The task broker may also be RabbitMQ (`amqp://host:5672//`). Events, run claims, cancel
requests and worker presence always live on Redis: with an AMQP broker, `events` (or
JOBTUI_EVENTS) names that Redis, its password in `events_password` likewise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.secrets import is_secret_reference, resolve_secret

REDIS_SCHEMES = ("redis", "rediss")
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")
BROKER_SCHEMES = REDIS_SCHEMES + AMQP_SCHEMES
CONFIG_KEYS = ("broker", "broker_password", "namespace", "events", "events_password")
ENV_BROKER = "JOBTUI_BROKER"
ENV_BROKER_PASSWORD = "JOBTUI_BROKER_PASSWORD"
ENV_EVENTS = "JOBTUI_EVENTS"
ENV_EVENTS_PASSWORD = "JOBTUI_EVENTS_PASSWORD"
LOCAL_QUEUE = "local"
QUEUE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# Names on Redis. A control host's runs use its namespace (default "jobtui"; set another
# when several control hosts share one Redis database): its events stream and its runs'
# claim and cancel keys. The namespace travels in each task, so workers serve any.
PREFIX = "jobtui"
NAMESPACE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
EVENTS_GROUP = "daemon"
TASK_NAME = "jobtui.run"
# Redis redelivers a task not acknowledged within this time (late acknowledgement): it is
# longer than any job's timeout should be; a second delivery of a started attempt is
# recognised by its claim and not executed again.
VISIBILITY_TIMEOUT = 12 * 3600


def events_stream(ns: str = PREFIX) -> str:
    return f"{ns}:events"


def claim_key(run_id: int, attempt: int, ns: str = PREFIX) -> str:
    return f"{ns}:claim:{run_id}:{attempt}"


def cancel_key(run_id: int, attempt: int, ns: str = PREFIX) -> str:
    return f"{ns}:cancel:{run_id}:{attempt}"


def check_namespace(value: str, field: str = "namespace") -> str:
    if not NAMESPACE_PATTERN.match(value):
        raise InvalidInput(f"{field}: use letters, digits, '.', '_' and '-' (up to 40)")
    return value


def worker_key(hostname: str) -> str:
    return f"{PREFIX}:worker:{hostname}"


def is_redis(url: str) -> bool:
    return urlsplit(url.strip()).scheme in REDIS_SCHEMES


def check_broker_url(
    url: str, field: str = "broker", schemes: tuple[str, ...] = BROKER_SCHEMES
) -> str:
    """A broker URL as stored: redis://, rediss:// or amqp:// (`schemes`), a host, no
    password in it."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        raise InvalidInput(f"{field}: {exc}") from None
    if parts.scheme not in schemes:
        also = (
            " (or amqp:// for RabbitMQ, like amqp://127.0.0.1:5672//)"
            if AMQP_SCHEMES[0] in schemes
            else ""
        )
        raise InvalidInput(
            f"{field}: use a redis:// or rediss:// URL (like redis://127.0.0.1:6379/0){also}; "
            f"{parts.scheme or 'no scheme'}:// is not supported"
        )
    if not parts.hostname:
        raise InvalidInput(f"{field}: the URL names no host")
    if parts.password:
        raise InvalidInput(
            f"{field}: the URL carries a password; give it as a secret reference instead: "
            "jobtui config set broker_password env:NAME (or file:PATH)"
        )
    db = parts.path.strip("/")
    if parts.scheme in REDIS_SCHEMES and db and not db.isdigit():
        raise InvalidInput(f"{field}: the database must be a number (like /0), not {db!r}")
    return url


def check_password_ref(value: str, field: str = "broker_password") -> str:
    if not is_secret_reference(value):
        raise InvalidInput(f"{field}: must be a secret reference: env:NAME or file:PATH")
    return value


def check_queue(value: str, field: str = "queue") -> str:
    if not QUEUE_PATTERN.match(value):
        raise InvalidInput(f"{field}: use letters, digits, '.', '_' and '-' (up to 64)")
    return value


@dataclass(frozen=True)
class BrokerConfig:
    """The broker as configured: the URL without its password, and the password's reference."""

    url: str
    password: str | None = None
    namespace: str = PREFIX
    # The Redis of events, claims, cancels and presence when the task broker is not Redis.
    events: str | None = None
    events_password: str | None = None

    def resolved_url(self) -> str:
        """The task broker's URL with the password put in (resolved now, on the machine
        that connects)."""
        return _with_password(self.url, self.password, "broker_password")

    def resolved_events_url(self) -> str:
        """The Redis URL of events, claims, cancels and presence (the broker itself when
        it is Redis), with its password put in."""
        if self.events:
            return _with_password(self.events, self.events_password, "events_password")
        if not is_redis(self.url):
            raise InvalidInput(
                "events: the broker is not Redis; name the Redis that carries events with "
                "jobtui config set events redis://HOST:6379/0 (or JOBTUI_EVENTS)"
            )
        return self.resolved_url()

    def public(self) -> dict[str, str | None]:
        return {
            "broker": self.url,
            "broker_password": self.password,
            "namespace": self.namespace,
            "events": self.events,
            "events_password": self.events_password,
        }


def _with_password(url: str, password: str | None, field: str) -> str:
    if not password:
        return url
    secret = resolve_secret(password, field=field)
    parts = urlsplit(url)
    user = quote(parts.username or "", safe="")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:{quote(secret, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class WorkerInfo:
    """A Celery worker as `jobtui workers` lists it."""

    host: str
    node: str
    online: bool
    queues: list[str]
    concurrency: int
    active: int
    processed: int
    failed: int
    pid: int | None
    heartbeat_age: float | None  # seconds since its last presence beat
    runs: list[int]


@dataclass(frozen=True)
class QueueInfo:
    """A Celery queue as the Workers screen lists it (as Flower's broker tab does)."""

    name: str
    depth: int | None  # messages waiting on the broker (None: the broker did not say)
    unacked: int  # delivered to a worker and not yet acknowledged (late acknowledgement)
    consumers: list[str]  # hosts of the live workers consuming it
    waiting_runs: int = 0  # this control host's runs queued for it, not yet sent

"""The scale-out part of the Engine facade (issue 19): the broker configuration, the
Celery workers (`jobtui worker`, `jobtui workers`) and the daemon's remote executor."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from jobtui.engine.api.base import EngineBase
from jobtui.engine.model.broker import (
    CONFIG_KEYS,
    ENV_BROKER,
    ENV_BROKER_PASSWORD,
    ENV_EVENTS,
    ENV_EVENTS_PASSWORD,
    LOCAL_QUEUE,
    PREFIX,
    REDIS_SCHEMES,
    BrokerConfig,
    QueueInfo,
    WorkerInfo,
    check_broker_url,
    check_namespace,
    check_password_ref,
    check_queue,
    is_redis,
)
from jobtui.engine.model.errors import FieldError, InvalidInput
from jobtui.engine.store import remote as remote_rows

SETTING = "config.{}"


class ScaleAPI(EngineBase):
    # -- configuration ------------------------------------------------------------------
    def get_config(self) -> dict[str, str | None]:
        """The stored configuration (secrets stay references), and where each value comes
        from when the environment overrides it."""
        out: dict[str, str | None] = {}
        for key in CONFIG_KEYS:
            out[key] = self.store.get_setting(SETTING.format(key))
        return out

    def set_config(self, key: str, value: str | None) -> dict[str, str | None]:
        """Set (or with None, unset) one configuration key, checked first."""
        if key not in CONFIG_KEYS:
            raise InvalidInput(f"key: unknown setting {key!r}; one of {', '.join(CONFIG_KEYS)}")
        if value is None or value == "":
            self.store.delete_setting(SETTING.format(key))
            return self.get_config()
        if key == "broker":
            value = check_broker_url(value)
        elif key == "events":
            value = check_broker_url(value, "events", REDIS_SCHEMES)
        elif key in ("broker_password", "events_password"):
            value = check_password_ref(value, key)
        elif key == "namespace":
            value = check_namespace(value)
        self.store.set_setting(SETTING.format(key), value)
        return self.get_config()

    def broker_config(self, url: str | None = None) -> BrokerConfig | None:
        """The broker to use: `url`, else JOBTUI_BROKER, else the stored setting (the
        password reference likewise from JOBTUI_BROKER_PASSWORD or the setting)."""
        field = "broker"
        if url is None and os.environ.get(ENV_BROKER):
            url, field = os.environ[ENV_BROKER], ENV_BROKER
        if url is None:
            url = self.store.get_setting(SETTING.format("broker"))
        if not url:
            return None
        password = os.environ.get(ENV_BROKER_PASSWORD) or self.store.get_setting(
            SETTING.format("broker_password")
        )
        if password:
            check_password_ref(password, ENV_BROKER_PASSWORD)
        namespace = self.store.get_setting(SETTING.format("namespace")) or PREFIX
        url = check_broker_url(url, field)
        events_field = "events"
        events = os.environ.get(ENV_EVENTS)
        if events:
            events_field = ENV_EVENTS
        else:
            events = self.store.get_setting(SETTING.format("events"))
        if events:
            events = check_broker_url(events, events_field, REDIS_SCHEMES)
        elif not is_redis(url):
            raise InvalidInput(
                f"events: the broker {url} is not Redis, and events, run claims and cancels "
                "travel on Redis: jobtui config set events redis://HOST:6379/0 "
                f"(or {ENV_EVENTS})"
            )
        events_password = os.environ.get(ENV_EVENTS_PASSWORD) or self.store.get_setting(
            SETTING.format("events_password")
        )
        if events_password:
            check_password_ref(events_password, ENV_EVENTS_PASSWORD)
        return BrokerConfig(
            url, password or None, namespace, events or None, events_password or None
        )

    def queue_problem(self, queue: str) -> FieldError | None:
        """Why a job cannot use `queue` here (a Celery queue needs a broker), or None."""
        if queue == LOCAL_QUEUE:
            return None
        try:
            check_queue(queue)
        except InvalidInput as exc:
            return FieldError("queue", str(exc).partition(": ")[2])
        if self.broker_config() is None:
            return FieldError(
                "queue",
                f"{queue!r} is a Celery queue, but no broker is configured "
                "(jobtui config set broker redis://HOST:6379/0, or JOBTUI_BROKER); "
                "use 'local' to run on this host",
            )
        return None

    # -- workers --------------------------------------------------------------------------
    def run_worker(
        self,
        queues: list[str],
        *,
        concurrency: int = 1,
        broker: str | None = None,
        hostname: str | None = None,
        grace: float = 10.0,
        loglevel: str = "INFO",
    ) -> int:
        """Run a Celery worker in the foreground (`jobtui worker`); its exit code. Its runs
        write files under this engine's data directory; it never reads its database."""
        from jobtui.engine.run.celery_app import run_worker

        config = self._need_broker(broker)
        if not queues:
            raise InvalidInput("queue: give at least one --queue")
        for q in queues:
            check_queue(q, "queue")
            if q == LOCAL_QUEUE:
                raise InvalidInput("queue: 'local' runs on the daemon's host; name a Celery queue")
        if concurrency < 1:
            raise InvalidInput("concurrency: must be at least 1")
        if grace < 0:
            raise InvalidInput("grace: must not be negative")
        name = hostname or socket.gethostname()
        check_queue(name, "hostname")
        return run_worker(
            config.resolved_url(),
            queues,
            events_url=config.resolved_events_url(),
            concurrency=concurrency,
            hostname=name,
            data_dir=Path(self.data_dir),
            grace=grace,
            loglevel=loglevel,
        )

    def _need_broker(self, broker: str | None = None) -> BrokerConfig:
        config = self.broker_config(broker)
        if config is None:
            raise InvalidInput(
                "broker: none configured; give --broker redis://HOST:6379/0, set JOBTUI_BROKER, "
                "or jobtui config set broker URL"
            )
        return config

    def list_workers(self, broker: str | None = None, timeout: float = 1.0) -> list[WorkerInfo]:
        """Live Celery workers: what Celery's inspection answers within `timeout`, with the
        presence each `jobtui worker` keeps on Redis (heartbeat, counts)."""
        return self.scale_overview(broker, timeout, with_queues=False)[0]

    def scale_overview(
        self, broker: str | None = None, timeout: float = 1.0, *, with_queues: bool = True
    ) -> tuple[list[WorkerInfo], list[QueueInfo]]:
        """The live workers and (with_queues) every queue a worker consumes or a job names:
        depth on the broker, unacknowledged deliveries, consumers; one inspection round."""
        from jobtui.engine.run import celery_control
        from jobtui.engine.run.celery_app import make_celery
        from jobtui.engine.run.events import connect

        config = self._need_broker(broker)
        try:
            presence = celery_control.read_presence(connect(config.resolved_events_url()))
        except Exception as exc:
            where = config.events or config.url
            raise InvalidInput(f"broker: {where} is unreachable ({exc})") from None
        app = make_celery(config.resolved_url())
        found = celery_control.inspect(app, presence, timeout)
        workers = celery_control.workers(found)
        if not with_queues:
            return workers, []
        waiting = remote_rows.queue_depth(self.store)
        try:
            queues = celery_control.queues(app, found, remote_rows.job_queues(self.store), waiting)
        except Exception as exc:
            raise InvalidInput(f"broker: {config.url} is unreachable ({exc})") from None
        return workers, queues

    def worker_queue(
        self, host: str, queue: str, consume: bool = True, broker: str | None = None
    ) -> str:
        """Make the worker on `host` start (or stop) consuming `queue`, as Flower does
        (Celery's add_consumer / cancel_consumer); what the worker answered."""
        from jobtui.engine.run import celery_control
        from jobtui.engine.run.celery_app import make_celery

        check_queue(queue, "queue")
        if queue == LOCAL_QUEUE:
            raise InvalidInput("queue: 'local' runs on the daemon's host; name a Celery queue")
        config = self._need_broker(broker)
        return celery_control.consume(make_celery(config.resolved_url()), host, queue, consume)

    def worker_pool(self, host: str, delta: int, broker: str | None = None) -> str:
        """Grow (delta > 0) or shrink (delta < 0) the pool of the worker on `host` by
        |delta| slots (Celery's pool_grow / pool_shrink); what the worker answered. A pool
        keeps at least one slot."""
        from jobtui.engine.run import celery_control
        from jobtui.engine.run.celery_app import make_celery

        if delta == 0:
            raise InvalidInput("pool: grow or shrink by at least one slot")
        config = self._need_broker(broker)
        return celery_control.resize_pool(make_celery(config.resolved_url()), host, delta)

    def remote_executors(self, **options: Any) -> dict[str, Any]:
        """The daemon's executor of Celery queues, when a broker is configured."""
        from jobtui.engine.run.celery_exec import celery_executors

        return celery_executors(self.store, self.broker_config(), self.clock, **options)

    def serve_metrics(self, address: str) -> Any:
        """Serve Prometheus metrics on "HOST:PORT" from a thread; the server (shutdown())."""
        from jobtui.engine.run.metrics import presence_counter, serve_metrics

        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidInput(f"metrics: {address!r} is not HOST:PORT (like 127.0.0.1:9464)")
        config = self.broker_config()
        counter = presence_counter(config.resolved_events_url()) if config is not None else None
        try:
            return serve_metrics(self.store, host.strip("[]") or "127.0.0.1", int(port), counter)
        except OSError as exc:
            raise InvalidInput(f"metrics: cannot listen on {address}: {exc.strerror}") from None

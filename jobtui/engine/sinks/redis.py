"""The Redis sink: each record as a stream entry (XADD, optionally trimmed with
`MAXLEN ~`), a list element (RPUSH), a pub/sub message (PUBLISH) or a hash (HSET, one per
record, its key from a template such as `{dataset}:{id}`).

Stream entries, list elements and messages hold the record as one JSON object (in the
entry's `field`, `data` by default); a hash holds one Redis field per record field
(strings as they are, numbers and booleans as text, objects and lists as JSON, null
fields left out). Commands go `pipeline` at a time in one round trip (redis-py pipeline,
no MULTI); a record counts once its round trip has answered. A published message counts
once the server took it, whether or not anyone was subscribed.

A connection that breaks is not retried (a pipeline sent again could write its records
twice): the task fails saying why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import orjson

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.secrets import resolve_checked, url_check
from jobtui.engine.model.sinks import RedisOptions
from jobtui.engine.sinks.base import Sink, SinkContext
from jobtui.engine.sinks.messages import NameTemplate, json_body

CONNECT_TIMEOUT = 10.0
# A command the server has not answered within this long (a hung server) fails the task.
IO_TIMEOUT = 30.0


def _where(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or '?'}:{parts.port or 6379}{parts.path or '/0'}"


def _hash_fields(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in record.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, dict | list):
            out[name] = orjson.dumps(value, default=str)
        else:
            out[name] = value if isinstance(value, str | int | float | bytes) else str(value)
    return out


class RedisSink(Sink):
    type = "redis"
    takes = "records"

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = RedisOptions.model_validate(options)
        self.key = NameTemplate(self.config.key, ctx, "redis sink: key")
        self.where = ""
        self._client: Any = None

    def _connect(self) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        url = resolve_checked(
            self.config.url,
            field="redis sink: url",
            check=url_check("redis", "rediss", "unix", host=False),
            what="a redis URL",
        )
        self.where = _where(url)
        try:
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=CONNECT_TIMEOUT,
                socket_timeout=IO_TIMEOUT,
                retry=Retry(NoBackoff(), 0),
            )
            client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise InvalidInput(f"redis sink: cannot connect to {self.where}: {exc}") from None
        return client

    def open(self) -> None:
        self._client = self._connect()

    def write_records(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        import redis

        assert self._client is not None, "redis sink used before open()"
        step = self.config.pipeline
        try:
            for start in range(0, len(records), step):
                if self.ctx.cancel.is_set():
                    return
                part = records[start : start + step]
                pipe = self._client.pipeline(transaction=False)
                self._queue(pipe, part)
                pipe.execute()
                self.records += len(part)
        except redis.RedisError as exc:
            raise InvalidInput(f"redis sink: {self.where}: {exc}") from None

    def _queue(self, pipe: Any, records: Sequence[dict[str, Any]]) -> None:
        """The pipeline's commands, one per record."""
        mode = self.config.mode
        key = self.key.renderer()
        if mode == "hash":
            for record in records:
                name = key(record)
                fields = _hash_fields(record)
                if fields:
                    pipe.hset(name, mapping=fields)
            return
        if mode == "stream":
            field, maxlen = self.config.field, self.config.maxlen
            for record in records:
                pipe.xadd(key(record), {field: json_body(record)}, maxlen=maxlen, approximate=True)
        elif mode == "list":
            for record in records:
                pipe.rpush(key(record), json_body(record))
        else:
            for record in records:
                pipe.publish(key(record), json_body(record))

    def close(self) -> str:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        where = self.key.constant or f"keys {self.key.partial}"
        kind = {"stream": "stream", "list": "list", "pubsub": "channel", "hash": "hashes"}
        return f"redis {kind[self.config.mode]} {where} on {self.where}"

    def abort(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    @classmethod
    def test(cls, options: dict[str, Any], ctx: SinkContext) -> str:
        sink = cls(options, ctx)
        client = sink._connect()
        try:
            version = client.info("server").get("redis_version", "?")
        finally:
            client.close()
        return f"redis: connected to {sink.where} (server {version})"

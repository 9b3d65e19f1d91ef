"""Option schemas of each sink type. The wizard builds its form from these.

Secrets are references (`env:NAME`, `file:PATH`) resolved only at run time.
"""

from __future__ import annotations

import os
import re
import string
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jobtui.engine.model.secrets import is_secret_reference

_SECRETISH_HEADER = re.compile(r"authorization|token|secret|api[-_]?key|password|cookie", re.I)
_DSN_PASSWORD = re.compile(r"(://[^/@:]*:[^/@]+@)|(\bpassword\s*=)", re.I)
PATH_PLACEHOLDERS = ("job", "dataset", "run", "ts", "ext", "workspace", "task")


class SinkOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsoleOptions(SinkOptions):
    max_lines: int = Field(1000, ge=0, description="Lines copied into the run log (0: none)")


def render_sample_path(template: str) -> str:
    """The template with sample values, to check where it would land."""
    sample = {k: f"x{k}" for k in PATH_PLACEHOLDERS}
    try:
        return template.format(**sample)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"unknown placeholder {exc}; use {', '.join('{' + p + '}' for p in PATH_PLACEHOLDERS)}"
        ) from None


def contained_path(base_dir: str, relative: str, template: str | None = None) -> str:
    """Join and normalise; raise ValueError when the result leaves the base directory
    (naming `template`, the path as the user wrote it, when given)."""
    base = os.path.normpath(os.path.expanduser(base_dir))
    if os.path.isabs(relative):
        target = os.path.normpath(relative)
    else:
        target = os.path.normpath(os.path.join(base, relative))
    if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
        shown = relative if template is None else template
        raise ValueError(f"{shown!r} leads outside the base directory {base_dir!r}")
    return target


class FileOptions(SinkOptions):
    base_dir: str = Field("~/jobtui-out", description="Every file stays inside this directory")
    path: str = Field(
        "{job}/{dataset}-{run}.{ext}",
        description="Path template under base_dir: {job} {dataset} {run} {ts} {ext}",
    )
    compression: Literal["auto", "none", "gzip", "bz2", "xz", "zstd", "zip"] = Field(
        "auto",
        description="Compress the file (auto: by the path's extension, e.g. .csv.gz)",
    )
    compression_level: int | None = Field(
        None,
        ge=0,
        le=22,
        description="Codec level (empty: the codec's default)",
    )
    overwrite: bool = Field(False, description="Replace a file that already exists")

    @field_validator("path")
    @classmethod
    def _template(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        render_sample_path(value)
        return value

    @model_validator(mode="after")
    def _inside_base(self) -> FileOptions:
        try:
            contained_path(self.base_dir, render_sample_path(self.path), self.path)
        except ValueError as exc:
            raise ValueError(f"path: {exc}") from None
        return self


class SqliteOptions(SinkOptions):
    path: str = Field("~/jobtui-out/jobtui-data.sqlite", description="SQLite database file")
    table: str = Field("{dataset}", description="Table name template: {dataset} {job}")
    batch_size: int = Field(
        100_000, ge=1, le=10_000_000, description="Rows per transaction (committed together)"
    )
    if_exists: Literal["append", "replace"] = Field("append", description="Existing table")
    synchronous: Literal["off", "normal"] = Field(
        "off",
        description="off: fastest; a power loss or OS crash during the load may corrupt the "
        "file. normal: SQLite syncs at each commit",
    )


class HttpOptions(SinkOptions):
    url: str = Field(..., description="Endpoint that receives POSTed batches")
    method: Literal["POST", "PUT"] = Field("POST", description="HTTP method")
    format: Literal["ndjson", "json"] = Field("ndjson", description="Body of each batch")
    batch_size: int = Field(500, ge=1, le=100_000, description="Records per request")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers")
    timeout: str | int | float = Field(
        "30s", description="Per request (30s, 1m; a number: seconds)"
    )
    retries: int = Field(3, ge=0, le=20, description="Attempts after the first failure")
    backoff: str | int | float = Field("1s", description="First delay between attempts (doubles)")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if is_secret_reference(value):
            return value
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must start with http:// or https:// and name a host")
        return value

    @field_validator("headers")
    @classmethod
    def _secret_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if _SECRETISH_HEADER.search(name) and not is_secret_reference(header):
                raise ValueError(
                    f"header {name!r} holds a secret: give it as env:NAME or file:PATH"
                )
        return value

    @field_validator("timeout", "backoff", mode="before")
    @classmethod
    def _duration(cls, value: object, info: ValidationInfo) -> object:
        from jobtui.engine.model.durations import parse_duration

        if not isinstance(value, str | int | float):
            raise ValueError("must be a duration such as 30s or 1m, or a number of seconds")
        if parse_duration(value) <= 0 and info.field_name == "timeout":
            raise ValueError("must be longer than zero")
        return value


class PostgresOptions(SinkOptions):
    dsn: str = Field(
        "postgresql://127.0.0.1:5432/postgres",
        description="Connection string, or env:NAME / file:PATH holding one",
    )
    table: str = Field("{dataset}", description="Table name template: {dataset} {job}")
    db_schema: str = Field("public", alias="schema", description="Schema of the table")
    create: bool = Field(True, description="Create the table when it is missing")
    if_exists: Literal["append", "replace"] = Field("append", description="Existing table")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("dsn")
    @classmethod
    def _no_clear_password(cls, value: str) -> str:
        if is_secret_reference(value):
            return value
        if _DSN_PASSWORD.search(value):
            raise ValueError("contains a password in clear; store the DSN as env:NAME or file:PATH")
        return value


# Names a message sink's key / topic / subject template may use besides the record's fields.
NAME_PLACEHOLDERS = ("dataset", "job", "run", "workspace", "task")


def placeholders(template: str) -> list[str]:
    """The names a template uses; ValueError when it is malformed ("{", "{0}", "{a!r}")."""
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{exc} (a literal brace is written {{{{ or }}}})") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or conversion or spec:
            raise ValueError(
                f"{{{name}}} is not a placeholder: use {{field}} or one of "
                + " ".join("{" + p + "}" for p in NAME_PLACEHOLDERS)
            )
        names.append(name)
    return names


def check_template(value: str) -> str:
    """A key / topic / subject template: non-empty and well formed."""
    if not value.strip():
        raise ValueError("must not be empty")
    placeholders(value)
    return value


def check_server_url(value: str, schemes: tuple[str, ...]) -> str:
    """A server URL (`scheme://[user@]host[:port][/…]`) or a secret reference holding one
    (the only way to give a password)."""
    if is_secret_reference(value):
        return value
    scheme = value.partition("://")[0].lower()
    if "://" not in value or scheme not in schemes or not value.partition("://")[2].strip("/"):
        raise ValueError(f"must look like {schemes[0]}://host:port… (or env:NAME / file:PATH)")
    if _DSN_PASSWORD.search(value):
        raise ValueError("contains a password in clear; store the URL as env:NAME or file:PATH")
    return value


class MysqlOptions(SinkOptions):
    url: str = Field(
        "mysql://root@127.0.0.1:3306/test",
        description="mysql://user@host:port/database, or env:NAME / file:PATH holding one",
    )
    table: str = Field("{dataset}", description="Table name template: {dataset} {job} {run}")
    create: bool = Field(True, description="Create the table when it is missing")
    if_exists: Literal["append", "replace"] = Field("append", description="Existing table")
    method: Literal["auto", "load_data", "insert"] = Field(
        "auto",
        description="LOAD DATA LOCAL INFILE (faster; auto: when the server allows it) "
        "or multi-row INSERT",
    )
    batch_size: int = Field(
        20_000, ge=1, le=1_000_000, description="Rows per load (and per commit)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_server_url(value, ("mysql", "mariadb"))


class RedisOptions(SinkOptions):
    url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="redis://host:port/db (rediss:// for TLS), or env:NAME / file:PATH",
    )
    mode: Literal["stream", "list", "pubsub", "hash"] = Field(
        "stream",
        description="stream: XADD; list: RPUSH; pubsub: PUBLISH; hash: HSET per record",
    )
    key: str = Field(
        "{dataset}",
        description="Stream, list or channel name, or each hash's key (e.g. {dataset}:{id}): "
        "{dataset} {job} {run} and the record's fields",
    )
    maxlen: int | None = Field(
        None, ge=1, description="stream: keep about this many entries (MAXLEN ~); empty: all"
    )
    field: str = Field("data", description="stream: the entry's field holding the JSON record")
    pipeline: int = Field(1000, ge=1, le=100_000, description="Commands per pipelined round trip")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_server_url(value, ("redis", "rediss", "unix"))

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        return check_template(value)

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value


def check_duration(value: object) -> object:
    """A positive duration: "30s", "1m", or a number of seconds."""
    from jobtui.engine.model.durations import parse_duration

    if not isinstance(value, str | int | float):
        raise ValueError("must be a duration such as 30s or 1m, or a number of seconds")
    if parse_duration(value) <= 0:
        raise ValueError("must be longer than zero")
    return value


class RabbitmqOptions(SinkOptions):
    url: str = Field(
        "amqp://127.0.0.1:5672/%2F",
        description="amqp://user@host:port/vhost (guest without a user), or env:NAME / file:PATH",
    )
    exchange: str = Field("", description="Exchange to publish to (empty: the default exchange)")
    exchange_type: Literal["existing", "direct", "topic", "fanout", "headers"] = Field(
        "existing",
        description="existing: the exchange must exist; else declared (durable) with this type",
    )
    routing_key: str = Field(
        "{dataset}",
        description="Routing key template: {dataset} {job} {run} and the record's fields",
    )
    persistent: bool = Field(True, description="Persistent messages (delivery mode 2)")
    mandatory: bool = Field(
        True, description="Fail when a message reaches no queue (else the broker drops it)"
    )
    message: Literal["record", "batch"] = Field(
        "record", description="One JSON message per record, or JSON lines per batch"
    )
    batch_size: int = Field(500, ge=1, le=100_000, description="batch: records per message")
    window: int = Field(
        1000, ge=1, le=100_000, description="Messages awaiting the broker's confirm at once"
    )
    timeout: str | int | float = Field(
        "30s", description="Longest wait for a confirm or the connection (30s, 1m)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_server_url(value, ("amqp", "amqps"))

    @field_validator("routing_key")
    @classmethod
    def _routing_key(cls, value: str) -> str:
        if not value:
            return value
        return check_template(value)

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: object) -> object:
        return check_duration(value)

    @model_validator(mode="after")
    def _per_record_key(self) -> RabbitmqOptions:
        if self.message == "batch" and set(placeholders(self.routing_key)) - set(NAME_PLACEHOLDERS):
            raise ValueError(
                "routing_key: a batch message has one routing key: use only "
                + " ".join("{" + p + "}" for p in NAME_PLACEHOLDERS)
            )
        if not self.exchange and self.exchange_type != "existing":
            raise ValueError("exchange: name the exchange to declare")
        return self


class MqttOptions(SinkOptions):
    url: str = Field(
        "mqtt://127.0.0.1:1883",
        description="mqtt://user@host:port (mqtts:// for TLS), or env:NAME / file:PATH",
    )
    topic: str = Field(
        "{dataset}", description="Topic template: {dataset} {job} {run} and the record's fields"
    )
    qos: Literal[0, 1, 2] = Field(
        1, description="0: sent; 1: acknowledged (PUBACK); 2: exactly once (PUBCOMP)"
    )
    retain: bool = Field(False, description="The broker keeps each topic's last message")
    client_id: str = Field("", description="MQTT client id (empty: a random one)")
    protocol: Literal["5", "3.1.1"] = Field(
        "5", description="MQTT version (5 reports refusals and the broker's in-flight limit)"
    )
    window: int = Field(
        1000, ge=1, le=65_000, description="Messages awaiting the broker's acknowledgement"
    )
    timeout: str | int | float = Field(
        "30s", description="Longest wait for an acknowledgement or the connection"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_server_url(value, ("mqtt", "mqtts", "tcp"))

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        check_template(value)
        if "+" in value or "#" in value:
            raise ValueError("a topic to publish to holds no wildcard (+ or #)")
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: object) -> object:
        return check_duration(value)


class NatsOptions(SinkOptions):
    url: str = Field(
        "nats://127.0.0.1:4222",
        description="nats://user@host:port (tls:// for TLS), or env:NAME / file:PATH",
    )
    subject: str = Field(
        "{dataset}", description="Subject template: {dataset} {job} {run} and the record's fields"
    )
    jetstream: bool = Field(
        False, description="Publish to JetStream and count a record once its stream acknowledged it"
    )
    stream: str = Field("", description="JetStream: the stream expected to store the messages")
    window: int = Field(
        1000, ge=1, le=100_000, description="JetStream: publishes awaiting their acknowledgement"
    )
    timeout: str | int | float = Field(
        "30s", description="Longest wait for an acknowledgement or the connection"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_server_url(value, ("nats", "tls"))

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        check_template(value)
        if re.search(r"[\s*>]", value):
            raise ValueError("a subject to publish to holds no space nor wildcard (* or >)")
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: object) -> object:
        return check_duration(value)

    @model_validator(mode="after")
    def _stream_needs_jetstream(self) -> NatsOptions:
        if self.stream and not self.jetstream:
            raise ValueError("stream: set jetstream: true to publish to a stream")
        return self


SINK_OPTIONS: dict[str, type[SinkOptions]] = {
    "console": ConsoleOptions,
    "file": FileOptions,
    "sqlite": SqliteOptions,
    "http": HttpOptions,
    "postgres": PostgresOptions,
    "mysql": MysqlOptions,
    "redis": RedisOptions,
    "rabbitmq": RabbitmqOptions,
    "mqtt": MqttOptions,
    "nats": NatsOptions,
}

# Record sinks take records (tables, and HTTP and the message sinks, which serialise each
# record or batch as JSON themselves: a message per record is what consumers of a broker
# expect, whatever the job's file format); stream sinks take the generator's bytes.
RECORD_SINKS = frozenset({"sqlite", "postgres", "http", "mysql", "redis", "rabbitmq", "mqtt"})
STREAM_SINKS = frozenset({"console", "file"})

"""The MQTT sink: each record published as a JSON object to a topic from a template, at
QoS 0, 1 or 2, optionally retained.

A record counts as delivered once the client library reports its message done: at QoS 1
when the broker's PUBACK came, at QoS 2 its PUBCOMP, at QoS 0 once written to the socket
(MQTT gives no more). Each write waits for the acknowledgements of what it published,
keeping up to `window` messages in flight, never more than the broker's Receive Maximum.
A message the broker refuses (a failing reason code) or a lost connection fails the task
(paho's automatic reconnect is off: it would publish again what was in flight).

MQTT 5 by default: its acknowledgements carry a reason code, and its CONNACK the broker's
Receive Maximum. Over MQTT 3.1.1 neither exists, and a broker may acknowledge and drop
what exceeds its in-flight limit (Mosquitto does, above 20 by default, at QoS 2): keep
`window` at or under that limit there.

Client: paho-mqtt (Eclipse's reference Python client), its network loop in its own
thread; this sink waits on a condition the loop's callbacks signal.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from jobtui.engine.model.durations import parse_duration
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.secrets import resolve_checked, url_check
from jobtui.engine.model.sinks import MqttOptions
from jobtui.engine.sinks.base import Sink, SinkContext
from jobtui.engine.sinks.messages import NameTemplate, json_body

POLL = 0.25  # longest wait between looks at the run's cancel


class MqttSink(Sink):
    type = "mqtt"
    takes = "records"

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = MqttOptions.model_validate(options)
        self.topic = NameTemplate(self.config.topic, ctx, "mqtt sink: topic")
        self.timeout = parse_duration(self.config.timeout)
        self.where = ""
        self._client: Any = None
        self._done = threading.Condition()
        self._published = 0
        self._acked = 0
        self._connected: str | None = None  # "" once accepted, else the refusal
        self._lost: str | None = None
        self._receive_maximum = 65_535
        self.window = self.config.window

    # -- paho's callbacks (its network thread) ----------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        with self._done:
            self._connected = "" if not reason.is_failure else str(reason)
            self._receive_maximum = getattr(props, "ReceiveMaximum", None) or 65_535
            self._done.notify_all()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._done:
            if reason.is_failure:
                self._lost = self._lost or f"the broker refused a message ({reason})"
            else:
                self._acked += 1
            self._done.notify_all()

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        with self._done:
            if self._connected is None:
                self._connected = str(reason)
            self._lost = self._lost or f"connection lost ({reason})"
            self._done.notify_all()

    def _connect(self) -> Any:
        import paho.mqtt.client as mqtt

        url = resolve_checked(
            self.config.url,
            field="mqtt sink: url",
            check=url_check("mqtt", "mqtts", "tcp"),
            what="an MQTT URL",
        )
        parts = urlsplit(url)
        secure = parts.scheme.lower() == "mqtts"
        host, port = parts.hostname or "", parts.port or (8883 if secure else 1883)
        if not host:
            raise InvalidInput("mqtt sink: url: must look like mqtt://host:port")
        self.where = f"{host}:{port}"
        client_id = self.config.client_id or f"jobtui-{uuid.uuid4().hex[:12]}"
        v5 = self.config.protocol == "5"
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if v5 else True,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            reconnect_on_failure=False,
        )
        if parts.username:
            client.username_pw_set(
                unquote(parts.username), unquote(parts.password) if parts.password else None
            )
        if secure:
            client.tls_set()
        client.max_inflight_messages_set(self.config.window)
        client.connect_timeout = self.timeout
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_disconnect = self._on_disconnect
        try:
            client.connect(host, port, keepalive=60)
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"mqtt sink: cannot connect to {self.where}: {exc}") from None
        client.loop_start()
        deadline = time.monotonic() + self.timeout
        with self._done:
            while self._connected is None and time.monotonic() < deadline:
                self._done.wait(POLL)
        if self._connected != "":
            client.loop_stop()
            reason = self._connected or f"no answer within {self.timeout:g}s"
            raise InvalidInput(f"mqtt sink: cannot connect to {self.where}: {reason}")
        # paho does not apply the broker's Receive Maximum itself (nor takes a new limit
        # once connected): the writes keep within it.
        self.window = min(self.config.window, self._receive_maximum)
        return client

    def open(self) -> None:
        self._client = self._connect()

    def _wait(self, outstanding: int) -> None:
        """Until at most `outstanding` messages await their acknowledgement."""
        deadline = time.monotonic() + self.timeout
        with self._done:
            while self._published - self._acked > outstanding:
                if self._lost is not None:
                    raise InvalidInput(f"mqtt sink: {self.where}: {self._lost}")
                if self.ctx.cancel.is_set():
                    return
                if time.monotonic() > deadline:
                    waiting = self._published - self._acked
                    raise InvalidInput(
                        f"mqtt sink: {self.where}: no acknowledgement within "
                        f"{self.timeout:g}s ({waiting} message(s) waiting)"
                    )
                self._done.wait(POLL)

    def write_records(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        import paho.mqtt.client as mqtt

        client = self._client
        assert client is not None, "mqtt sink used before open()"
        qos, retain, window = self.config.qos, self.config.retain, self.window
        topic = self.topic.renderer()
        for record in records:
            if self._published - self._acked >= window:
                self._wait(window - 1)
                if self.ctx.cancel.is_set():
                    return
            with self._done:
                self._published += 1
            info = client.publish(topic(record), json_body(record), qos=qos, retain=retain)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                reason = self._lost or mqtt.error_string(info.rc)
                raise InvalidInput(f"mqtt sink: {self.where}: {reason}")
        self._wait(0)  # every record of this write acknowledged before it counts
        if not self.ctx.cancel.is_set():
            self.records += len(records)

    def close(self) -> str:
        self._disconnect()
        topic = self.topic.constant if self.topic.constant is not None else self.topic.partial
        retained = ", retained" if self.config.retain else ""
        return f"mqtt topic {topic} on {self.where} (QoS {self.config.qos}{retained})"

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.disconnect()
            with contextlib.suppress(Exception):
                client.loop_stop()

    def abort(self) -> None:
        self._disconnect()

    @classmethod
    def test(cls, options: dict[str, Any], ctx: SinkContext) -> str:
        sink = cls(options, ctx)
        sink._client = sink._connect()
        sink._disconnect()
        return f"mqtt: connected to {sink.where}"

"""The NATS sink: each record published as a JSON object to a subject from a template,
on core NATS or, with `jetstream: true`, to a JetStream stream with acknowledged publish.

Core NATS: a write counts once the server has read it (a flush, i.e. a PING answered
after the messages). JetStream: once the stream acknowledged each message (PubAck);
up to `window` publishes await their acknowledgement at once, and a refusal (no stream
captures the subject, the wrong stream, a full stream) fails the task.

nats-py is asyncio: the sink runs its own event loop in its own thread and waits on what
it submits there in steps of 0.25 s, looking at the run's cancel in between. Reconnects
are off: a lost connection fails the task (a reconnect could publish twice what was in
flight).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from jobtui.engine.model.durations import parse_duration
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.secrets import resolve_checked, url_check
from jobtui.engine.model.sinks import NatsOptions
from jobtui.engine.sinks.base import Sink, SinkContext
from jobtui.engine.sinks.messages import NameTemplate, json_body

POLL = 0.25  # longest wait between looks at the run's cancel
T = TypeVar("T")


class _Cancelled(Exception):
    """The run was cancelled while the sink waited."""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


class NatsSink(Sink):
    type = "nats"
    takes = "records"

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = NatsOptions.model_validate(options)
        self.subject = NameTemplate(self.config.subject, ctx, "nats sink: subject")
        self.timeout = parse_duration(self.config.timeout)
        self.where = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Any = None
        self._js: Any = None
        self._lost: str | None = None
        self._last_error: str | None = None

    # -- the event loop in its own thread ------------------------------------------------------
    def _start_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="nats-sink", daemon=True)
        self._thread.start()
        self._loop = loop
        return loop

    def _call(self, coro: Coroutine[Any, Any, T], what: str) -> T:
        """Run `coro` on the sink's loop; wait for it in steps, giving up on a cancel, a lost
        connection or the timeout."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return future.result(POLL)
            except concurrent.futures.TimeoutError:
                pass
            if self.ctx.cancel.is_set():
                future.cancel()
                raise _Cancelled
            nc = self._nc
            if self._lost is None and nc is not None and not nc.is_connected:
                # nats-py reports an EOF through error_cb only, without a disconnect.
                self._lost = f"connection lost ({self._last_error or 'closed'})"
            if self._lost is not None:
                future.cancel()
                raise InvalidInput(f"nats sink: {self.where}: {self._lost}")
            if time.monotonic() > deadline:
                future.cancel()
                raise InvalidInput(f"nats sink: {self.where}: no {what} within {self.timeout:g}s")

    async def _on_error(self, exc: Exception) -> None:
        self._last_error = _reason(exc)
        if self._nc is None:
            # nats-py retries a refused first connection for ever: give up at once.
            self._lost = self._last_error

    async def _on_disconnected(self) -> None:
        self._lost = self._lost or f"connection lost ({self._last_error or 'closed'})"

    async def _connect_async(self, url: str) -> Any:
        import nats

        parts = urlsplit(url)
        options: dict[str, Any] = {}
        if parts.username:
            options["user"] = unquote(parts.username)
            options["password"] = unquote(parts.password or "")
        clean = parts._replace(netloc=f"{parts.hostname}:{parts.port or 4222}").geturl()
        return await nats.connect(
            servers=[clean],
            name=f"jobtui {self.ctx.job} {self.ctx.task}".strip(),
            connect_timeout=max(1, round(self.timeout)),
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            **options,
        )

    def _connect(self) -> None:
        url = resolve_checked(
            self.config.url,
            field="nats sink: url",
            check=url_check("nats", "tls"),
            what="a NATS URL",
        )
        parts = urlsplit(url)
        self.where = f"{parts.hostname or '?'}:{parts.port or 4222}"
        self._start_loop()
        try:
            self._nc = self._call(self._connect_async(url), "connection")
        except InvalidInput as exc:
            reason = self._last_error or str(exc).rpartition(": ")[2]
            raise InvalidInput(f"nats sink: cannot connect to {self.where}: {reason}") from None
        except Exception as exc:
            reason = self._last_error or _reason(exc)
            raise InvalidInput(f"nats sink: cannot connect to {self.where}: {reason}") from None
        self._lost = None

    def open(self) -> None:
        self._connect()
        if self.config.jetstream:
            self._js = self._nc.jetstream(
                timeout=self.timeout, publish_async_max_pending=self.config.window
            )
            if self.config.stream:
                self._check_stream(self.config.stream)

    def _check_stream(self, stream: str) -> Any:
        import nats.js.errors

        try:
            return self._call(self._js.stream_info(stream), "answer about the stream")
        except nats.js.errors.NotFoundError:
            raise InvalidInput(f"nats sink: no JetStream stream named {stream!r}") from None
        except nats.errors.Error as exc:
            raise InvalidInput(f"nats sink: stream {stream!r}: {_reason(exc)}") from None

    # -- publishing -----------------------------------------------------------------------------
    async def _publish_core(self, messages: list[tuple[str, bytes]]) -> None:
        nc = self._nc
        for subject, body in messages:
            await nc.publish(subject, body)
        await nc.flush(timeout=max(1, round(self.timeout)))

    async def _publish_jetstream(self, messages: list[tuple[str, bytes]]) -> list[Any]:
        js, stream = self._js, self.config.stream or None
        # No wait_stall: it wraps every publish in a task with a timer (a third of the
        # rate); a stalled window is given up by _call's own timeout.
        futures = [
            await js.publish_async(subject, body, stream=stream) for subject, body in messages
        ]
        return await asyncio.gather(*futures, return_exceptions=True)

    def write_records(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        import nats.errors
        import nats.js.errors

        assert self._nc is not None, "nats sink used before open()"
        subject = self.subject.renderer()
        messages = [(subject(r), json_body(r)) for r in records]
        try:
            if self._js is None:
                self._call(self._publish_core(messages), "answer to a flush")
            else:
                acks = self._call(self._publish_jetstream(messages), "acknowledgement")
                self._refused(acks, messages)
        except _Cancelled:
            return
        except nats.js.errors.NoStreamResponseError:
            raise InvalidInput(self._no_stream(messages[0][0])) from None
        except nats.errors.NoRespondersError:
            raise InvalidInput(self._no_stream(messages[0][0])) from None
        except nats.errors.Error as exc:
            reason = self._lost or _reason(exc)
            raise InvalidInput(f"nats sink: {self.where}: {reason}") from None
        self.records += len(records)

    def _no_stream(self, subject: str) -> str:
        return f"nats sink: no JetStream stream stores subject {subject!r}"

    def _refused(self, acks: list[Any], messages: list[tuple[str, bytes]]) -> None:
        import nats.errors
        import nats.js.errors

        for ack, (subject, _) in zip(acks, messages, strict=True):
            if not isinstance(ack, BaseException):
                continue
            if isinstance(
                ack, nats.js.errors.NoStreamResponseError | nats.errors.NoRespondersError
            ):
                raise InvalidInput(self._no_stream(subject))
            raise InvalidInput(
                f"nats sink: JetStream refused a message on {subject!r}: {_reason(ack)}"
            )

    def close(self) -> str:
        self._shutdown()
        subject = (
            self.subject.constant if self.subject.constant is not None else self.subject.partial
        )
        if self.config.jetstream:
            into = f"JetStream stream {self.config.stream}" if self.config.stream else "JetStream"
            return f"nats subject {subject} on {self.where} ({into})"
        return f"nats subject {subject} on {self.where}"

    def _shutdown(self) -> None:
        """Close the connection (briefly: at most a second) and end the loop's thread."""
        loop, nc = self._loop, self._nc
        self._loop = self._nc = self._js = None
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close_async(nc), loop).result(1.0)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None
        if not loop.is_running():
            with contextlib.suppress(Exception):
                loop.close()

    @staticmethod
    async def _close_async(nc: Any) -> None:
        """Close the connection and end what still runs on the loop (a connect given up)."""
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 0.8)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for pending in tasks:
            pending.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def abort(self) -> None:
        self._shutdown()

    @classmethod
    def test(cls, options: dict[str, Any], ctx: SinkContext) -> str:
        sink = cls(options, ctx)
        try:
            sink._connect()
            v = sink._nc.connected_server_version
            version = f"{v.major}.{v.minor}.{v.patch}"
            jetstream = ""
            if sink.config.jetstream:
                sink._js = sink._nc.jetstream(timeout=min(sink.timeout, 10.0))
                if sink.config.stream:
                    info = sink._check_stream(sink.config.stream)
                    jetstream = f", stream {sink.config.stream}: {info.state.messages} message(s)"
                else:
                    jetstream = ", JetStream"
        finally:
            sink._shutdown()
        return f"nats: connected to {sink.where} (server {version}{jetstream})"

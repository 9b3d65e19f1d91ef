"""The HTTP sink: records POSTed in batches as NDJSON or a JSON array.

Headers and the URL may be secret references; failures are retried with exponential
backoff (connection errors, 429 and 5xx); other 4xx answers fail at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from jobtui.engine.model.durations import parse_duration
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.secrets import line_check, redact, resolve_checked, url_check
from jobtui.engine.model.sinks import HttpOptions
from jobtui.engine.sinks.base import Sink, SinkContext

CONTENT_TYPES = {"ndjson": "application/x-ndjson", "json": "application/json"}


def _redact(url: str) -> str:
    return redact(url.split("?", 1)[0])


def _resolve_url(url: str) -> str:
    return resolve_checked(
        url, field="http sink: url", check=url_check("http", "https"), what="an http(s) URL"
    )


class HttpSink(Sink):
    type = "http"
    takes = "records"

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = HttpOptions.model_validate(options)
        self._client: httpx.Client | None = None
        self._pending: list[dict[str, Any]] = []
        self.url = ""
        self.requests = 0

    def _headers(self) -> dict[str, str]:
        headers = {
            name: resolve_checked(
                value, field=f"http sink: header {name}", check=line_check, what="a header value"
            )
            for name, value in self.config.headers.items()
        }
        headers.setdefault("Content-Type", CONTENT_TYPES[self.config.format])
        headers.setdefault("User-Agent", "jobtui")
        return headers

    def open(self) -> None:
        self.url = _resolve_url(self.config.url)
        self._client = httpx.Client(
            timeout=parse_duration(self.config.timeout), headers=self._headers()
        )

    def _body(self, records: Sequence[dict[str, Any]]) -> bytes:
        if self.config.format == "json":
            return orjson.dumps(list(records), default=str)
        return b"".join(orjson.dumps(r, default=str) + b"\n" for r in records)

    def _send(self, records: Sequence[dict[str, Any]]) -> None:
        assert self._client is not None, "http sink used before open()"
        body = self._body(records)
        delay = parse_duration(self.config.backoff)
        attempts = self.config.retries + 1
        for attempt in range(1, attempts + 1):
            reason = ""
            try:
                response = self._client.request(self.config.method, self.url, content=body)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    self.requests += 1
                    self.records += len(records)
                    self.bytes += len(body)
                    return
                reason = f"HTTP {response.status_code} {response.reason_phrase}"
                if response.status_code < 500 and response.status_code != 429:
                    raise InvalidInput(f"http sink: {_redact(self.url)} answered {reason}")
            if attempt == attempts:
                raise InvalidInput(
                    f"http sink: {_redact(self.url)} failed after {attempts} attempt(s): {reason}"
                )
            self.ctx.log(
                f"http sink: attempt {attempt} failed ({reason}); retrying in {delay:g}s",
                "warning",
                "sink",
            )
            if self.ctx.cancel.wait(delay):
                raise InvalidInput("http sink: cancelled while waiting to retry")
            delay *= 2

    def write_records(self, records: Sequence[dict[str, Any]]) -> None:
        size = self.config.batch_size
        self._pending.extend(records)
        while len(self._pending) >= size:
            batch, self._pending = self._pending[:size], self._pending[size:]
            self._send(batch)

    def flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self._send(batch)

    def close(self) -> str:
        self.flush()
        if self._client is not None:
            self._client.close()
            self._client = None
        return f"{_redact(self.url)} ({self.requests} request(s))"

    def abort(self) -> None:
        self._pending = []
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    @classmethod
    def test(cls, options: dict[str, Any], ctx: SinkContext) -> str:
        sink = cls(options, ctx)
        url = _resolve_url(sink.config.url)
        try:
            with httpx.Client(
                timeout=min(parse_duration(sink.config.timeout), 10.0), headers=sink._headers()
            ) as client:
                response = client.request("HEAD", url)
        except httpx.HTTPError as exc:
            raise InvalidInput(f"http: {_redact(url)} is not reachable: {exc}") from None
        return f"http: {_redact(url)} is reachable (HEAD answered {response.status_code})"

"""Sources on a server: an SQL query (SQLite, PostgreSQL, MariaDB/MySQL), an HTTP API,
a Redis stream.

- sql: `:since` in the query is bound (never pasted) to the watermark; rows come through a
  server-side cursor (PostgreSQL: a named cursor; MySQL: an unbuffered one) `batch_size`
  at a time, never the whole result. The `watermark` column's largest value read is the
  next run's `:since`.
- http: GET with `params` rendered from `{since}`; pagination by the `Link` header, by a
  next-URL field of the body or by a cursor field sent back as a query parameter; retries
  on connection errors, 429 and 5xx with a doubling delay, as the HTTP sink does.
- redis-stream: the entries after the last ID read, up to the stream's end when the run
  started (XRANGE with an exclusive start); `--since` maps to the ID of that millisecond.
"""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from jobtui.engine.model.durations import parse_duration
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.secrets import resolve_secret
from jobtui.engine.pipeline.chunks import Blob, Chunk, Item, decode_mark, encode_mark, later
from jobtui.engine.pipeline.parse import dig, parse_blob, records_chunks
from jobtui.engine.pipeline.readers import ReaderEnv, Source

_SINCE = re.compile(r"(?<![:\w]):since\b")


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


class SqlSource(Source):
    blocking = True

    def __init__(self, options: dict[str, Any], env: ReaderEnv):
        from jobtui.engine.model.pipeline import SqlReaderOptions

        super().__init__(options, env)
        self.config = SqlReaderOptions.model_validate(options)
        self.url = resolve_secret(self.config.url, field="sql reader: url")
        self.scheme = self.url.partition("://")[0].lower()
        offset = env.offset if isinstance(env.offset, dict) else {}
        self.mark: Any = decode_mark(offset.get("since"))
        self.rows = 0
        self.count: int | None = None  # the rows to read, with the `count` option

    def describe(self) -> str:
        return f"sql {_redact(self.url)}"

    def fraction(self) -> float | None:
        if not self.count:
            return None
        return min(1.0, self.rows / self.count)

    def _count_query(self) -> str:
        """The query's rows counted by the server (its ORDER BY costs nothing there)."""
        return f"SELECT COUNT(*) FROM ({self.config.query.strip().rstrip(';')}) AS counted"

    def _counted(self, value: Any) -> None:
        self.count = int(value)
        self.env.ctx.log.info(f"{self.describe()}: {self.count:,} row(s) to read")

    def since(self) -> Any:
        """:since — --since, else the stored mark, else `initial`; a reader without a
        watermark column falls back on the last successful run's start."""
        if self.env.explicit_since is not None:
            return datetime.fromtimestamp(self.env.explicit_since, UTC)
        if self.config.watermark:
            return self.mark if self.mark is not None else self.config.initial
        start = self.env.since_datetime()
        return start if start is not None else self.config.initial

    def items(self) -> Iterator[Item]:
        since = self.since()
        self.env.ctx.log.info(f"{self.describe()}: :since = {since!r}")
        if self.scheme == "sqlite":
            rows = self._sqlite(since)
        elif self.scheme in ("postgresql", "postgres"):
            rows = self._postgres(since)
        else:
            rows = self._mysql(since)
        column = self.config.watermark
        for batch in rows:
            self.env.ctx.check()
            if column is not None:
                if batch and column not in batch[0]:
                    raise InvalidInput(f"sql reader: the query has no column {column!r}")
                top = max((r[column] for r in batch if r[column] is not None), default=None)
                self.mark = later(self.mark, top)
            start = self.rows
            self.rows += len(batch)
            yield Chunk(batch, "sql", list(range(start + 1, self.rows + 1)))

    def _bind(self, query: str) -> str:
        # psycopg and PyMySQL take %(name)s: a literal % must be doubled.
        return _SINCE.sub("%(since)s", query.replace("%", "%%"))

    def _sqlite(self, since: Any) -> Iterator[list[dict[str, Any]]]:
        path = self.url.partition("://")[2]
        if path.startswith("/") and path[1:2] == "/":
            path = path[1:]  # sqlite:////abs/path
        elif path.startswith("/"):
            path = path  # sqlite:///abs/path
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        try:
            value = since.isoformat() if isinstance(since, datetime) else since
            if self.config.count:
                self._counted(conn.execute(self._count_query(), {"since": value}).fetchone()[0])
            cur = conn.execute(self.config.query, {"since": value})
            names = [d[0] for d in cur.description or ()]
            while rows := cur.fetchmany(self.config.batch_size):
                yield [dict(zip(names, row, strict=True)) for row in rows]
        except sqlite3.Error as exc:
            raise InvalidInput(f"sql reader: {exc}") from None
        finally:
            conn.close()

    def _postgres(self, since: Any) -> Iterator[list[dict[str, Any]]]:
        import psycopg
        from psycopg.rows import dict_row

        try:
            conn = psycopg.connect(self.url, connect_timeout=10, application_name="jobtui")
        except psycopg.Error as exc:
            raise InvalidInput(f"sql reader: cannot connect: {exc}") from None
        try:
            with conn.transaction():
                if self.config.count:
                    with conn.cursor() as counter:
                        counter.execute(self._bind(self._count_query()), {"since": since})
                        self._counted(counter.fetchone()[0])  # type: ignore[index]
                cur = conn.cursor(name=f"jobtui_reader_{self.env.ctx.run_id}", row_factory=dict_row)
                cur.itersize = self.config.batch_size
                cur.execute(self._bind(self.config.query), {"since": since})
                while rows := cur.fetchmany(self.config.batch_size):
                    yield rows
                cur.close()
        except psycopg.Error as exc:
            raise InvalidInput(f"sql reader: {str(exc).strip()}") from None
        finally:
            conn.close()

    def _mysql(self, since: Any) -> Iterator[list[dict[str, Any]]]:
        import pymysql
        import pymysql.cursors

        from jobtui.engine.sinks.mysql import connect_args

        try:
            conn = pymysql.connect(
                **connect_args(self.url.replace("mariadb://", "mysql://", 1)),
                cursorclass=pymysql.cursors.SSDictCursor,
                connect_timeout=10,
                charset="utf8mb4",
            )
        except pymysql.Error as exc:
            raise InvalidInput(f"sql reader: cannot connect: {exc}") from None
        try:
            if self.config.count:
                with conn.cursor(pymysql.cursors.Cursor) as counter:
                    counter.execute(self._bind(self._count_query()), {"since": since})
                    self._counted(counter.fetchone()[0])  # type: ignore[index]
            with conn.cursor() as cur:
                cur.execute(self._bind(self.config.query), {"since": since})
                while rows := cur.fetchmany(self.config.batch_size):
                    yield list(rows)
        except pymysql.Error as exc:
            raise InvalidInput(f"sql reader: {exc}") from None
        finally:
            conn.close()

    def reached(self) -> Any:
        if not self.config.watermark:
            return None
        return {"since": encode_mark(self.mark)}


class HttpSource(Source):
    blocking = True

    def __init__(self, options: dict[str, Any], env: ReaderEnv):
        from jobtui.engine.model.pipeline import HttpReaderOptions

        super().__init__(options, env)
        self.config = HttpReaderOptions.model_validate(options)
        self.url = resolve_secret(self.config.url, field="http reader: url")
        offset = env.offset if isinstance(env.offset, dict) else {}
        self.mark: Any = decode_mark(offset.get("since"))
        self.pages = 0
        self.records = 0
        self.count: int | None = None  # what the API says it holds (`total_field`)

    def describe(self) -> str:
        return f"http {_redact(self.url)}"

    def fraction(self) -> float | None:
        if not self.count:
            return None
        return min(1.0, self.records / self.count)

    def _note_total(self, document: Any) -> None:
        """The first page's count of records, when the API gives one (`total_field`)."""
        field = self.config.total_field
        if field is None or self.count is not None or document is None:
            return
        found = dig(document, field)
        if isinstance(found, int | float | str) and not isinstance(found, bool):
            try:
                self.count = int(found)
                return
            except ValueError:
                pass
        self.env.ctx.log.warning(f"http reader: total_field {field!r} is no count: ETA unknown")
        self.count = 0

    def since_text(self) -> str:
        if self.env.explicit_since is None and self.config.watermark and self.mark is not None:
            value = self.mark
            return value.isoformat() if isinstance(value, datetime) else str(value)
        at = self.env.since_datetime()
        return at.isoformat() if at is not None else ""

    def _get(self, client: Any, url: str, params: dict[str, str] | None) -> Any:
        import httpx

        delay = parse_duration(self.config.backoff)
        attempts = self.config.retries + 1
        for attempt in range(1, attempts + 1):
            self.env.ctx.check()
            try:
                response = client.get(url, params=params)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                reason = f"HTTP {response.status_code} {response.reason_phrase}"
                if response.status_code < 500 and response.status_code != 429:
                    raise InvalidInput(f"http reader: {_redact(url)} answered {reason}")
            if attempt == attempts:
                raise InvalidInput(
                    f"http reader: {_redact(url)} failed after {attempts} attempt(s): {reason}"
                )
            self.env.ctx.log.warning(
                f"http reader: attempt {attempt} failed ({reason}); retrying in {delay:g}s"
            )
            if self.env.ctx.stop.wait(delay):
                self.env.ctx.check()
            delay *= 2
        raise AssertionError("unreachable")

    def items(self) -> Iterator[Item]:
        import httpx

        config = self.config
        since = self.since_text()
        params: dict[str, str] | None = {
            k: v.replace("{since}", since) for k, v in config.params.items()
        }
        headers = {
            k: resolve_secret(v, field=f"http reader: headers.{k}")
            for k, v in config.headers.items()
        }
        url = self.url
        paging = config.pagination
        timeout = parse_duration(config.timeout)
        with httpx.Client(headers=headers, timeout=timeout, follow_redirects=True) as client:
            while True:
                response = self._get(client, url, params)
                self.pages += 1
                where = f"{_redact(str(response.url))}"
                body = response.content
                document = None
                if config.format == "bytes":
                    yield Blob(where, lambda body=body: io.BytesIO(body), urlsplit(where).path)  # type: ignore[misc]
                elif config.format == "json":
                    try:
                        document = response.json()
                    except ValueError as exc:
                        raise InvalidInput(
                            f"http reader: {where} answered no JSON: {exc}"
                        ) from None
                    self._note_total(document)
                    found = dig(document, config.records_field)
                    yield from self._marked(
                        records_chunks(
                            found, where, self.env.on_bad, config.records_field, self.env.batch_size
                        )
                    )
                else:
                    blob = Blob(where, lambda body=body: io.BytesIO(body), "")  # type: ignore[misc]
                    yield from self._marked(
                        parse_blob(
                            blob, config.format, {}, self.env.on_bad, size=self.env.batch_size
                        )
                    )
                if self.pages >= paging.max_pages:
                    self.env.ctx.log.warning(f"http reader: stopped at max_pages ({self.pages})")
                    return
                if paging.type == "link":
                    following = response.links.get("next", {}).get("url")
                    if not following:
                        return
                    url, params = urljoin(str(response.url), following), None
                elif paging.type == "next_field":
                    following = dig(document, paging.field) if document is not None else None
                    if not following:
                        return
                    url, params = urljoin(str(response.url), str(following)), None
                elif paging.type == "cursor":
                    cursor = dig(document, paging.field) if document is not None else None
                    if cursor in (None, ""):
                        return
                    params = dict(params or {})
                    params[paging.param] = str(cursor)
                else:
                    return

    def _marked(self, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        field = self.config.watermark
        for chunk in chunks:
            self.records += chunk.size
            if field is not None:
                values: list[Any] = [
                    r.get(field) for r in chunk.records if r.get(field) is not None
                ]
                top = max(values) if values else None
                self.mark = later(self.mark, top)
            yield chunk

    def reached(self) -> Any:
        if not self.config.watermark:
            return None
        return {"since": encode_mark(self.mark)}


class RedisStreamSource(Source):
    blocking = True

    def __init__(self, options: dict[str, Any], env: ReaderEnv):
        from jobtui.engine.model.pipeline import RedisStreamReaderOptions

        super().__init__(options, env)
        self.config = RedisStreamReaderOptions.model_validate(options)
        self.url = resolve_secret(self.config.url, field="redis-stream reader: url")
        offset = env.offset if isinstance(env.offset, dict) else {}
        self.last: str | None = offset.get("id")

    def describe(self) -> str:
        return f"redis-stream {self.config.stream}"

    def start(self) -> str | None:
        if self.env.explicit_since is not None:
            return f"{int(self.env.explicit_since * 1000)}-0"
        if self.last is not None:
            return self.last
        at = self.env.ctx.since
        return None if at is None else f"{int(at * 1000)}-0"

    def items(self) -> Iterator[Item]:
        import orjson
        import redis

        client: Any = redis.Redis.from_url(self.url, socket_timeout=30, socket_connect_timeout=10)
        try:
            end = client.xrevrange(self.config.stream, "+", "-", count=1)
            if not end:
                return
            end_id = end[0][0].decode()
            start = self.start()
            field = self.config.json_field.encode() if self.config.json_field else None
            while True:
                self.env.ctx.check()
                low = f"({start}" if start else "-"
                entries = client.xrange(self.config.stream, low, end_id, count=self.config.count)
                if not entries:
                    return
                records, positions = [], []
                for raw_id, fields in entries:
                    entry_id = raw_id.decode()
                    if field is not None:
                        try:
                            record = orjson.loads(fields.get(field, b""))
                        except orjson.JSONDecodeError as exc:
                            from jobtui.engine.pipeline.chunks import Bad

                            self.env.on_bad(Bad(self.config.stream, entry_id, f"not JSON: {exc}"))
                            continue
                    else:
                        record = {
                            k.decode(): v.decode("utf-8", "replace") for k, v in fields.items()
                        }
                    records.append(record)
                    positions.append(entry_id)
                start = entries[-1][0].decode()
                self.last = start
                if records:
                    yield Chunk(records, self.config.stream, positions)
                if start == end_id:
                    return
        except redis.RedisError as exc:
            raise InvalidInput(f"redis-stream reader: {exc}") from None
        finally:
            client.close()

    def reached(self) -> Any:
        return {"id": self.last} if self.last is not None else None

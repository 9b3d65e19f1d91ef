"""A pipeline's readers: the source (file, sql, http, redis-stream, datagen) and the chain
after it (bytes readers decompress, parse readers turn bytes into records).

Every source reads from its `since`: the run's `--since` when given, else the high-water
mark it reported at the last successful run (`offset`), else the start of the last
successful run (`ctx.since`, seed 001's rule). `reached()` is what it got to, stored only
when the run succeeds.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.runtime import RunContext
from jobtui.engine.pipeline.chunks import Blob, Chunk, Item, OnBad, decompress, split_name
from jobtui.engine.pipeline.parse import parse_blob


@dataclass
class ReaderEnv:
    """What a source is given besides its options."""

    ctx: RunContext
    offset: Any  # what it reached at the last successful run (None: nothing yet)
    explicit_since: float | None  # the run's --since (epoch seconds)
    on_bad: OnBad
    batch_size: int

    @property
    def since_time(self) -> float | None:
        """--since, else the start of the last successful run."""
        return self.explicit_since if self.explicit_since is not None else self.ctx.since

    def since_datetime(self) -> datetime | None:
        at = self.since_time
        return None if at is None else datetime.fromtimestamp(at, UTC)


class Source:
    """A reader that comes first: yields blobs (bytes for the next reader) or chunks."""

    total: int | None = None  # records, when known before reading (an ETA)
    # Whether a read may block for long (a server): then the readers run in a thread of
    # their own so a cancel is seen at once. Local sources are read in the run's thread
    # (no hand-over per chunk) and check the cancel between chunks.
    blocking = False

    def __init__(self, options: dict[str, Any], env: ReaderEnv):
        self.options = options
        self.env = env

    def items(self) -> Iterator[Item]:
        raise NotImplementedError

    def reached(self) -> Any:
        """The high-water mark reached (JSON), or None to store none."""
        return None

    def fraction(self) -> float | None:
        """How far the read is (0..1) when it can be told cheaply, else None (no ETA).
        Asked from the heartbeat's thread: reads what the reading thread left, never
        waits on it."""
        return None

    def describe(self) -> str:
        return type(self).__name__

    def read_from(self) -> str | None:
        """Where this run started reading, in words (for a run that found nothing new):
        --since, the high-water mark of the last successful run, or that run's start;
        None on a first run."""
        env = self.env
        if env.explicit_since is not None:
            return f"--since {_when(env.explicit_since)}"
        mark = mark_text(env.offset)
        if mark is not None:
            return mark
        if env.ctx.since is not None:
            return f"the last successful run ({_when(env.ctx.since)})"
        return None


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def mark_text(offset: Any) -> str | None:
    """A stored high-water mark in words: a value (sql, http), a stream ID, a file time."""
    from jobtui.engine.pipeline.chunks import decode_mark

    if not isinstance(offset, dict):
        return None
    if offset.get("since") is not None:
        value = decode_mark(offset["since"])
        return str(value.isoformat() if isinstance(value, date) else value)
    if offset.get("id") is not None:
        return f"stream ID {offset['id']}"
    if isinstance(offset.get("mtime"), int | float):
        return f"files modified up to {_when(offset['mtime'])}"
    return None


# -- file -----------------------------------------------------------------------------------
class FileSource(Source):
    """Files matching a glob under a base directory, oldest first. Incremental: a file is
    read once (again when its modification time or size changes); the files read are
    remembered with their times, and the latest time is the high-water mark."""

    def __init__(self, options: dict[str, Any], env: ReaderEnv):
        from jobtui.engine.model.pipeline import FileReaderOptions

        super().__init__(options, env)
        self.config = FileReaderOptions.model_validate(options)
        self.base = Path(os.path.expanduser(self.config.base_dir)).resolve()
        offset = env.offset if isinstance(env.offset, dict) else {}
        self.seen: dict[str, list[float]] = dict(offset.get("files") or {})
        self.read: dict[str, list[float]] = {}
        self.latest: float | None = offset.get("mtime")
        # The ETA: bytes of the files to read (as stored, compressed or not) against the
        # bytes of the files done plus the position in the one being read.
        self.total_bytes = 0
        self.done_bytes = 0
        self.current: IO[bytes] | None = None

    def describe(self) -> str:
        return f"file {self.base}/{self.config.pattern}"

    def matches(self) -> list[tuple[float, str, Path, int]]:
        if not self.base.is_dir():
            raise InvalidInput(f"file reader: base_dir {self.base} is not a directory")
        found = []
        for path in self.base.glob(self.config.pattern):
            try:
                real = path.resolve()
                stat = real.stat()
            except OSError:
                continue
            if not real.is_file() or not real.is_relative_to(self.base):
                continue  # a symlink leading outside base_dir is not followed
            found.append((stat.st_mtime, str(path.relative_to(self.base)), real, stat.st_size))
        found.sort()
        return found

    def wanted(self, mtime: float, rel: str, size: int) -> bool:
        if not self.config.incremental:
            return True
        if self.env.explicit_since is not None:
            return mtime > self.env.explicit_since
        if self.seen or self.env.offset is not None:
            return self.seen.get(rel) != [mtime, size]
        since = self.env.ctx.since
        return since is None or mtime > since

    def items(self) -> Iterator[Item]:
        files = [m for m in self.matches() if self.wanted(m[0], m[1], m[3])]
        self.total_bytes = sum(m[3] for m in files)
        self.env.ctx.log.info(
            f"{self.describe()}: {len(files)} file(s) to read, {self.total_bytes:,} bytes"
        )
        for mtime, rel, real, size in files:
            self.env.ctx.check()
            blob = Blob(str(real), functools.partial(self._open, real), real.name)
            yield from self._read(blob)
            self.current = None
            self.done_bytes += size
            self.read[rel] = [mtime, size]
            self.latest = mtime if self.latest is None else max(self.latest, mtime)

    def _open(self, path: Path) -> IO[bytes]:
        self.current = path.open("rb")
        return self.current

    def fraction(self) -> float | None:
        if not self.total_bytes:
            return None  # not listed yet, or nothing to read
        at = 0
        current = self.current
        if current is not None:
            try:
                at = current.tell()
            except (ValueError, OSError):  # closed meanwhile: counted in done_bytes next
                at = 0
        return min(1.0, (self.done_bytes + at) / self.total_bytes)

    def _read(self, blob: Blob) -> Iterator[Item]:
        _, codec = split_name(blob.name)
        config = self.config
        if config.compression != "auto":
            codec = None if config.compression == "none" else config.compression
        elif config.format == "bytes":
            codec = None  # the next readers say how to decompress
        blobs = [blob] if codec is None else decompress(blob, codec)
        for inner in blobs:
            if config.format == "bytes":
                yield inner
                continue
            inner_fmt = config.format if config.format != "auto" else split_name(inner.name)[0]
            if not inner_fmt:
                raise InvalidInput(
                    f"file reader: cannot tell the format of {inner.where} from its name; "
                    "set the reader's format"
                )
            options = dict(config.format_options)
            if inner_fmt == "csv" and inner.name.lower().endswith(".tsv") and not options:
                options = {"delimiter": "\t"}
            yield from parse_blob(
                inner,
                inner_fmt,
                options,
                self.env.on_bad,
                types=self.config.types,
                size=self.env.batch_size,
            )

    def reached(self) -> Any:
        if not self.config.incremental:
            return None
        present = {m[1] for m in self.matches()}
        files = {k: v for k, v in self.seen.items() if k in present}
        files.update(self.read)
        return {"files": files, "mtime": self.latest}


# -- datagen --------------------------------------------------------------------------------
class DatagenSource(Source):
    def __init__(self, options: dict[str, Any], env: ReaderEnv):
        from jobtui.engine.model.pipeline import DatagenReaderOptions

        super().__init__(options, env)
        self.config = DatagenReaderOptions.model_validate(options)
        self.total = self.config.records

    def describe(self) -> str:
        return f"datagen {self.config.dataset}"

    def items(self) -> Iterator[Item]:
        from jobtui.engine.datagen import lookup
        from jobtui.engine.datagen.run import field_names, make_generator, records_of

        name = self.config.dataset
        every = lookup.load_datasets([name], lookup.lookup_in(self.env.ctx.order.datasets))
        counts = {d["name"]: self.config.records for d in every}
        gen = make_generator(every, self.config.seed, self.config.locale, counts)
        fields = field_names(every[0])
        done = 0
        for batch in gen.batches(name, self.config.records, self.env.batch_size):
            records = records_of(batch, fields)
            yield Chunk(records, f"datagen:{name}", list(range(done + 1, done + len(records) + 1)))
            done += len(records)

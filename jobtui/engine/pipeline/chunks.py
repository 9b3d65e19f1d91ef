"""What flows between a pipeline's readers: blobs of bytes and chunks of records, and the
bad records set aside on the way (they go to the dead-letter writer)."""

from __future__ import annotations

import bz2
import fnmatch
import gzip
import lzma
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from jobtui.engine.model.errors import InvalidInput


@dataclass
class Blob:
    """Bytes from a source: a file, an HTTP body, an archive's member."""

    where: str  # a path or URL, for messages and dead letters
    open: Callable[[], IO[bytes]]
    name: str = ""  # the file name its format and compression are guessed from


class Chunk:
    """Records read together, with where they came from and each one's position (a line
    number, a row number, a stream ID) for dead letters.

    A reader that can write the records' JSON lines cheaper than making them (plain CSV
    read as text: csv_blocks.py) hands over `jsonl` and `make` for the records: each is
    called only if something asks (a JSON lines writer; a transformer, another format)."""

    __slots__ = ("_make", "_records", "_size", "fields", "jsonl", "positions", "where")

    def __init__(
        self,
        records: list[dict[str, Any]] | None,
        where: str,
        positions: Sequence[Any] = (),
        *,
        make: Callable[[], list[dict[str, Any]]] | None = None,
        size: int = 0,
        jsonl: Callable[[], bytes] | None = None,
        fields: list[str] | None = None,
    ):
        self._records = records
        self._make = make
        self.where = where
        self.positions = positions
        # Makes the records as the JSON lines encoder writes them by default (orjson, one
        # object a line, keys in order): valid only for these very records, unchanged.
        self.jsonl = jsonl
        self.fields = fields  # every record's keys, in order, when known without them
        self._size = len(records) if records is not None else size

    @property
    def records(self) -> list[dict[str, Any]]:
        if self._records is None:
            self._records = self._make() if self._make is not None else []
            self._make = None
        return self._records

    @property
    def size(self) -> int:
        """How many records, without making them."""
        return self._size

    def keys(self) -> list[str]:
        """The first record's keys (the fields a writer's header names)."""
        return list(self.fields) if self.fields is not None else list(self.records[0])

    def position(self, i: int) -> Any:
        return self.positions[i] if i < len(self.positions) else None


@dataclass
class Bad:
    """A record that could not be read or transformed."""

    where: str
    position: Any
    error: str
    raw: Any = None
    stage: str = "reader"


Item = Blob | Chunk
OnBad = Callable[[Bad], None]


# -- compression ----------------------------------------------------------------------------
EXTENSIONS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
EXTENSIONS[".zip"] = "zip"
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".xml": "xml",
}


def split_name(name: str) -> tuple[str, str | None]:
    """A file name's format and compression by its extensions (`a.csv.gz` → csv, gzip)."""
    lower = name.lower()
    compression = None
    for ext, codec in EXTENSIONS.items():
        if lower.endswith(ext):
            compression = codec
            lower = lower[: -len(ext)]
            break
    for ext, fmt in FORMATS.items():
        if lower.endswith(ext):
            return fmt, compression
    return "", compression


def decompressed(codec: str, raw: IO[bytes]) -> IO[bytes]:
    if codec == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if codec == "bz2":
        return bz2.BZ2File(raw, "rb")  # type: ignore[return-value]
    if codec == "xz":
        return lzma.LZMAFile(raw, "rb")  # type: ignore[return-value]
    if codec == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw)  # type: ignore[return-value]
    raise InvalidInput(f"unknown compression {codec!r}")


def decompress(blob: Blob, codec: str, member: str = "*") -> Iterator[Blob]:
    """A blob's decompressed bytes (a zip archive: one blob per member matching `member`)."""
    if codec != "zip":
        inner = blob.name
        for ext, known in EXTENSIONS.items():
            if known == codec and inner.lower().endswith(ext):
                inner = inner[: -len(ext)]
        yield Blob(blob.where, lambda: decompressed(codec, blob.open()), inner)
        return
    with blob.open() as raw:
        data = raw if raw.seekable() else _spooled(raw)
        with zipfile.ZipFile(data) as archive:
            for info in archive.infolist():
                if info.is_dir() or not fnmatch.fnmatch(info.filename, member):
                    continue
                name = info.filename
                yield Blob(
                    f"{blob.where}!{name}",
                    lambda name=name: archive.open(name),  # type: ignore[misc]
                    name,
                )


def _spooled(raw: IO[bytes]) -> IO[bytes]:
    import shutil
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115
    shutil.copyfileobj(raw, spool, 1 << 20)
    spool.seek(0)
    return spool  # type: ignore[return-value]


# -- watermark values -----------------------------------------------------------------------
def encode_mark(value: Any) -> Any:
    """A high-water mark as JSON (dates keep their type)."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def decode_mark(value: Any) -> Any:
    if isinstance(value, dict):
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$decimal" in value:
            return Decimal(value["$decimal"])
    return value


def later(a: Any, b: Any) -> Any:
    """The larger of two marks (None loses; values of kinds that do not compare: b)."""
    if a is None:
        return b
    if b is None:
        return a
    try:
        return b if b > a else a
    except TypeError:
        return b

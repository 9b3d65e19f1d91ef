"""The file sink: a path template under a base directory it never leaves.

`..`, absolute paths outside the base and symlinks that lead out of it are refused
before anything is written; an existing file is kept unless `overwrite: true`.

The output is written under a hidden name beside the target (`.NAME.partial-PID-RUN`)
and renamed to it once complete: a failed or cancelled run leaves no truncated file
where readers look for output, and an overwrite replaces the previous file only with a
whole new one.

Compression (`compression`): gzip, bz2, xz, zstd, or zip as a container (one member named
like the file without `.zip`); `auto` picks it from the path's extension (`.csv.gz`), and
a codec chosen by name adds its extension when the path lacks it. Every codec writes the
same bytes for the same records (no time stamps, no file names). The replay store keeps
the uncompressed output, so a replay compresses it again into the same bytes.
"""

from __future__ import annotations

import contextlib
import os
from typing import IO, Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.sinks import FileOptions, contained_path
from jobtui.engine.sinks.base import Sink, SinkContext

WRITE_BUFFER = 1 << 20
# Each codec's file extension; the first is the one added to a path that lacks it.
EXTENSIONS = {
    "gzip": (".gz", ".gzip"),
    "bz2": (".bz2",),
    "xz": (".xz",),
    "zstd": (".zst", ".zstd"),
    "zip": (".zip",),
}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: the same bytes every run


def codec_of(options: FileOptions) -> str:
    """The compression a file sink applies: its option, or by the path's extension."""
    if options.compression != "auto":
        return options.compression
    for codec, extensions in EXTENSIONS.items():
        if options.path.lower().endswith(extensions):
            return codec
    return "none"


def resolve_target(options: FileOptions, ctx: SinkContext) -> tuple[str, str]:
    """(base directory, target path) with the template filled; raise InvalidInput when the
    target leaves the base directory, lexically or through a symlink."""
    values = ctx.template_values()
    codec = codec_of(options)
    template = options.path
    if codec != "none" and not template.lower().endswith(EXTENSIONS[codec]):
        template += EXTENSIONS[codec][0]
    try:
        relative = template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidInput(f"file sink: path template {options.path!r}: {exc}") from None
    base = os.path.normpath(os.path.expanduser(options.base_dir))
    try:
        target = contained_path(base, relative)
    except ValueError as exc:
        raise InvalidInput(f"file sink: {exc}") from None
    if target == base:
        raise InvalidInput(f"file sink: path {relative!r} names the base directory itself")
    # Symlinks: the deepest existing ancestor of the target, resolved, must stay inside the
    # resolved base; and the target itself must not be a symlink.
    # (A base directory that does not exist yet has nothing inside it to escape through.)
    real_base = os.path.realpath(base)
    probe = os.path.dirname(target)
    while not os.path.lexists(probe) and probe != base:
        probe = os.path.dirname(probe)
    real_probe = os.path.realpath(probe)
    if (
        os.path.lexists(probe)
        and real_probe != real_base
        and not real_probe.startswith(real_base.rstrip(os.sep) + os.sep)
    ):
        raise InvalidInput(
            f"file sink: {relative!r} leads outside the base directory {options.base_dir!r} "
            "through a symbolic link"
        )
    if os.path.islink(target):
        raise InvalidInput(f"file sink: {target} is a symbolic link; refusing to write through it")
    return base, target


# Default levels: each tool's own default, but xz's: its -6 wrote JSON lines at ~1% of the
# uncompressed speed (python -m benchmarks formats), -1 several times faster.
LEVELS = {"gzip": 6, "bz2": 9, "xz": 1, "zstd": 3, "zip": 6}
MAX_LEVELS = {"gzip": 9, "bz2": 9, "xz": 9, "zstd": 22, "zip": 9}


def compressed(codec: str, raw: IO[bytes], name: str, level: int | None = None) -> Any:
    """A writer compressing into `raw` (itself when `codec` is none); closing it finishes
    the compressed stream but leaves `raw` open."""
    if codec == "none":
        return raw
    if level is None:
        level = LEVELS[codec]
    elif level > MAX_LEVELS[codec] or (codec == "bz2" and level < 1):
        raise InvalidInput(
            f"file sink: compression_level {level} is out of range for {codec} "
            f"({1 if codec == 'bz2' else 0}..{MAX_LEVELS[codec]})"
        )
    if codec == "gzip":
        import gzip

        # mtime 0 and no file name: the same records give the same bytes.
        return gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=level)
    if codec == "bz2":
        import bz2

        return bz2.BZ2File(raw, "wb", compresslevel=level)
    if codec == "xz":
        import lzma

        return lzma.LZMAFile(raw, "wb", format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=level)
    if codec == "zstd":
        import zstandard

        compressor = zstandard.ZstdCompressor(level=level, write_checksum=True)
        return compressor.stream_writer(raw, closefd=False)
    return ZipMember(raw, name.removesuffix(".zip").removesuffix(".ZIP") or "data", level)


class ZipMember:
    """A zip archive of one member, written as a stream (deflated, zip64 so any size fits)."""

    def __init__(self, raw: IO[bytes], member: str, level: int):
        import zipfile

        self._zip = zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level)
        info = zipfile.ZipInfo(member, date_time=ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = level  # type: ignore[attr-defined]  # (compress_level in 3.13)
        info.external_attr = 0o644 << 16
        self._member: Any = self._zip.open(info, "w", force_zip64=True)

    def write(self, data: bytes) -> int:
        return int(self._member.write(data))

    def flush(self) -> None:
        self._member.flush()

    def close(self) -> None:
        if self._member is not None:
            self._member.close()
            self._member = None
            self._zip.close()


class FileSink(Sink):
    type = "file"
    takes = "bytes"
    inline = True
    discard_empty = True

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = FileOptions.model_validate(options)
        self.path = ""
        self.partial = ""  # where the output is written until it is complete
        self._raw: IO[bytes] | None = None
        self._out: Any = None

    def _exists(self, target: str) -> InvalidInput:
        return InvalidInput(
            f"file sink: {target} exists already (set overwrite: true to replace it)"
        )

    def open(self) -> None:
        _, target = resolve_target(self.config, self.ctx)
        if os.path.lexists(target) and not self.config.overwrite:
            raise self._exists(target)
        if os.path.isdir(target):
            raise InvalidInput(f"file sink: cannot write {target}: it is a directory")
        base = os.path.normpath(os.path.expanduser(self.config.base_dir))
        if os.path.exists(base) and not os.path.isdir(base):
            raise InvalidInput(f"file sink: base directory {base} is not a directory")
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidInput(
                f"file sink: cannot create {os.path.dirname(target)}: a part of it is a file, "
                "not a directory"
            ) from None
        except OSError as exc:
            raise InvalidInput(
                f"file sink: cannot create {os.path.dirname(target)}: {exc.strerror}"
            ) from None
        # Re-check after creating directories: a symlink swapped in meanwhile is refused too.
        resolve_target(self.config, self.ctx)
        folder, name = os.path.split(target)
        partial = os.path.join(folder, f".{name}.partial-{os.getpid()}-{self.ctx.run_id}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        self.ctx.note_partial(partial)
        try:
            fd = os.open(partial, flags, 0o644)
        except OSError as exc:
            raise InvalidInput(f"file sink: cannot write {target}: {exc.strerror}") from None
        self.path, self.partial = target, partial
        self._raw = os.fdopen(fd, "wb", buffering=WRITE_BUFFER)
        self._out = compressed(
            codec_of(self.config), self._raw, name, self.config.compression_level
        )

    def write_bytes(self, data: bytes, records: int = 0) -> None:
        assert self._out is not None, "file sink used before open()"
        self._out.write(data)
        self.bytes += len(data)
        self.records += records

    def flush(self) -> None:
        if self._out is not None:
            self._out.flush()
            if self._raw is not None and self._raw is not self._out:
                self._raw.flush()

    def _close_files(self) -> None:
        if self._out is not None and self._out is not self._raw:
            self._out.close()
        if self._raw is not None:
            self._raw.close()
        self._out = self._raw = None

    def close(self) -> str:
        self._close_files()
        partial, self.partial = self.partial, ""
        if partial:
            try:
                self._publish(partial, self.path)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(partial)  # left after a link, or when publishing failed
        return self.path

    def _publish(self, partial: str, target: str) -> None:
        """The complete output takes the target's name: replacing what is there when
        overwriting, else only if nothing has taken the name meanwhile."""
        try:
            if self.config.overwrite:
                os.replace(partial, target)
            else:
                os.link(partial, target)  # never replaces: fails if the name is taken
        except FileExistsError:
            raise self._exists(target) from None
        except OSError as exc:
            if self.config.overwrite or os.path.lexists(target):
                raise InvalidInput(f"file sink: cannot write {target}: {exc.strerror}") from None
            os.rename(partial, target)  # a file system without hard links

    def delivered(self) -> int:
        return 0 if self.partial else self.records  # an aborted file is removed whole

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._close_files()
        if self.partial:
            with contextlib.suppress(OSError):
                os.unlink(self.partial)
            self.partial = ""

    @classmethod
    def test(cls, options: dict[str, Any], ctx: SinkContext) -> str:
        config = FileOptions.model_validate(options)
        base, target = resolve_target(config, ctx)
        probe = base
        while not os.path.exists(probe) and probe != os.path.dirname(probe):
            probe = os.path.dirname(probe)
        if not os.path.isdir(probe):
            raise InvalidInput(f"file sink: {probe} is not a directory")
        if not os.access(probe, os.W_OK | os.X_OK):
            raise InvalidInput(f"file sink: {probe} is not writable")
        where = "exists" if os.path.isdir(base) else f"will be created under {probe}"
        return f"file: base directory {base} {where} and is writable; files go to e.g. {target}"

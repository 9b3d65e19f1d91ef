"""CSV read a block at a time (issue 22): the common file (no quotes, one record a line)
parsed by pyarrow's CSV parser, with the same records, types and line numbers as the
`csv` module gives (`parse.csv_chunks`), which takes over for the rest of the input at the
first block that is anything but plain.

Why: turning a row into a record costs the `csv` path a list per row before the dict;
pyarrow hands over whole columns (its parse is C++, its `to_pylist` makes the strings a
column at a time) and the records are made from them: about a third of the CPU. A block
is "plain" when nothing in it can be read two ways: no quote character, no NUL, no lone
CR, no blank line; every line must then be one row of the header's width (checked: the row
count equals the line count), else the `csv` path reads from that block on. pyarrow's
import (~0.3 s) runs in a thread while the first blocks go through the `csv` module, so a
small file never waits for it.

Read as text (`types: text`), a plain block whose cells need no JSON escaping is not
parsed into records at all (`_TextLines`): its JSON lines are made from its bytes and its
records only if asked for, and pyarrow is not imported unless a block goes the usual way.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import IO, Any

import orjson

from jobtui.engine.model.formats import CsvOptions
from jobtui.engine.pipeline.chunks import Chunk

BLOCK = 1 << 20  # bytes a block (cut at a line's end): ~17,000 rows of a 60-byte line
WAIT_FOR_ARROW = 16 << 20  # a file this big waits for pyarrow's import

# csv_chunks(stream, header, first_line, rows, lines): the `csv` module's reading of what is
# left, going on with the rows read but not yet in a chunk (raw rows to type, or records).
Fallback = Callable[
    [IO[bytes], list[str] | None, int, list[Any] | None, list[int] | None], Iterator[Chunk]
]
Typer = Callable[[list[str]], list[Any]]


class _Arrow:
    """pyarrow's CSV parser, imported once in a thread of its own."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.modules: tuple[Any, Any] | None = None
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="pipeline-pyarrow", daemon=True).start()

    def _load(self) -> None:
        try:
            import pyarrow
            import pyarrow.csv

            self.modules = (pyarrow, pyarrow.csv)
        except Exception:  # no pyarrow: the csv module reads everything
            self.modules = None
        finally:
            self.ready.set()


ARROW = _Arrow()


# What orjson escapes in a string (checked: nothing else, not even U+2028): a cell without
# these is written as JSON by putting it between quotes.
JSON_ESCAPED = frozenset(range(0x20)) | {ord('"'), ord("\\")}


class _TextLines:
    """Plain blocks read as text (`types: text`) written as JSON lines with no record made.

    Why: a dict per row and orjson's walk through it cost more than the whole CSV parse;
    when no cell needs escaping, a block's JSON lines are its cells between the keys: each
    line end becomes the end of one object and the start of the next, the block is split
    at its delimiters, and one bytes `%` (in C) puts the keys between the pieces, byte for
    byte what orjson writes for the records. The records are made only if something asks
    for them (a transformer, a writer of another format), from the same bytes."""

    def __init__(self, header: list[str], delimiter: str):
        self.header = header
        self.width = len(header)
        self.text_delimiter = delimiter
        self.delimiter = delimiter.encode()
        # The line's ends and the delimiter are cut out of the cells: any other byte that
        # JSON escapes sends the block the usual way.
        kept = set(b"\r\n" + self.delimiter)
        self.escaped = bytes(sorted(JSON_ESCAPED - kept))
        keys = [orjson.dumps(key) for key in header]
        self.head = b"{" + keys[0] + b':"'
        self.turn = b'"}\n' + self.head  # what a line's end becomes
        # After each piece but a line's last: the next key (a line's last piece holds
        # the turn to the next line, and its first cell).
        self.template = b"".join(b'%s",' + key.replace(b"%", b"%%") + b':"' for key in keys[1:])

    @staticmethod
    def make(header: list[str], delimiter: str, typed: Typer | None) -> _TextLines | None:
        if typed is not None or len(set(header)) != len(header):
            return None  # typed cells; a key twice (a dict keeps its last value)
        lines = _TextLines(header, delimiter)
        return None if lines.delimiter in lines.turn else lines

    def chunk(self, block: bytes, where: str, first: int) -> Chunk | None:
        """The plain block's rows from line `first` on, or None when a cell needs escaping
        or a line is not one row of the header's width."""
        if len(block.translate(None, self.escaped)) != len(block):
            return None
        if not block.isascii():
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                return None
        body = block.removesuffix(b"\n")
        count = body.count(b"\n") + 1
        if b"\r" in body:  # (plain: only as CRLF)
            body = body.removesuffix(b"\r")
            crlf = body.count(b"\r") == count - 1
            turned = (
                body.replace(b"\r\n", self.turn)
                if crlf
                else body.replace(b"\r\n", b"\n").replace(b"\n", self.turn)
            )
        else:
            turned = body.replace(b"\n", self.turn)
        pieces = turned.split(self.delimiter)
        per_line = self.width - 1
        if len(pieces) != count * per_line + 1:
            return None
        # Every line one row of the header's width: each line's end in the piece that
        # ends its row (one line end each, and so none anywhere else).
        ends = pieces[per_line:-1:per_line]
        if list(map(bytes.count, ends, repeat(b"\n"))).count(1) != count - 1:
            return None
        header, delimiter, template, head = (
            self.header,
            self.text_delimiter,
            self.template,
            self.head,
        )

        def jsonl() -> bytes:
            return head + (template * count) % tuple(pieces[:-1]) + pieces[-1] + b'"}\n'

        def make() -> list[dict[str, Any]]:
            rows = block.decode("utf-8").replace("\r\n", "\n").removesuffix("\n").split("\n")
            return [dict(zip(header, row.split(delimiter))) for row in rows]  # noqa: B905

        return Chunk(
            None,
            where,
            range(first, first + count),
            make=make,
            size=count,
            jsonl=jsonl,
            fields=header,
        )


def fast_path_possible(opts: CsvOptions) -> bool:
    """Options under which a plain block reads the same by both parsers."""
    return (
        opts.quoting != "none"  # \-escapes: the csv module's own reading
        and len(opts.delimiter.encode()) == 1
        and len(opts.quotechar.encode()) == 1
        and opts.delimiter not in "\r\n\0"
        and opts.delimiter != opts.quotechar
    )


class _Prefixed(io.RawIOBase):
    """`head` bytes, then the rest of `stream`: what the `csv` path reads on taking over."""

    def __init__(self, head: bytes, stream: IO[bytes]):
        self.head = memoryview(head)
        self.at = 0
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.at < len(self.head):
            n = min(len(view), len(self.head) - self.at)
            view[:n] = self.head[self.at : self.at + n]
            self.at += n
            return n
        data = self.stream.read(len(view))
        view[: len(data)] = data
        return len(data)


def _rest(head: bytes, stream: IO[bytes]) -> IO[bytes]:
    return io.BufferedReader(_Prefixed(head, stream), BLOCK)


def _plain(block: bytes, quote: bytes) -> bool:
    if quote in block or b"\0" in block or b"\n\n" in block or block.startswith((b"\n", b"\r")):
        return False
    if b"\r" not in block:  # (one memchr: the usual case)
        return True
    return b"\n\r\n" not in block and block.count(b"\r") == block.count(b"\r\n")


def _size(stream: IO[bytes]) -> int:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return 0


def _lines(block: bytes) -> int:
    return block.count(b"\n") + (0 if block.endswith(b"\n") else 1)


def csv_block_chunks(
    stream: IO[bytes],
    where: str,
    opts: CsvOptions,
    typed: Typer | None,
    size: int,
    fallback: Fallback,
) -> Iterator[Chunk]:
    """Chunks of `size` records (typed column-wise by `typed`, or text); at the first block
    that is not plain, `fallback` reads the rest (with the header and the line reached)."""
    quote = opts.quotechar.encode()
    delimiter = opts.delimiter
    data = stream.read(BLOCK)
    end = data.find(b"\n")
    first = data[: end + 1] if end >= 0 else b""
    if end <= 0 or not _plain(first, quote):
        yield from fallback(
            _rest(data, stream), None, 0, None, None
        )  # the csv module from the start
        return
    try:
        fields = first.decode("utf-8").removesuffix("\n").removesuffix("\r").split(delimiter)
    except UnicodeDecodeError:
        yield from fallback(_rest(data, stream), None, 0, None, None)
        return
    if len(fields) < 2:  # one column: a blank line would read two ways
        yield from fallback(_rest(data, stream), None, 0, None, None)
        return
    if opts.header:
        header, pending, line = fields, data[end + 1 :], 1
    else:
        header, pending, line = [f"field{i + 1}" for i in range(len(fields))], data, 0
    eof = not data
    as_text = _TextLines.make(header, delimiter, typed)
    if len(data) >= BLOCK and as_text is None:
        # More than a block: worth pyarrow's import. A big file waits for it (in a thread
        # it would share the GIL with this loop and come late); a smaller one, or a
        # stream, reads on with the csv module meanwhile.
        ARROW.start()
        if _size(stream) >= WAIT_FOR_ARROW:
            ARROW.ready.wait()
    # Rows not yet in a chunk, as columns of text: a chunk is `size` rows counted from the
    # file's start, as the csv path counts them, and typed as one (a column's type is
    # decided per chunk: "1" beside "1.5" is 1.0, alone 1).
    waiting: list[list[str]] = [[] for _ in header]
    start = line + 1  # the line of waiting's first row
    while True:
        while not eof and len(pending) < BLOCK:
            more = stream.read(BLOCK)
            eof = not more
            pending += more
        if not pending:
            break
        cut = len(pending) if eof else pending.rfind(b"\n") + 1
        if cut == 0:  # one line longer than a block: read on
            more = stream.read(BLOCK)
            eof = not more
            pending += more
            continue
        block, pending = pending[:cut], pending[cut:]
        plain = _plain(block, quote)
        fast = as_text.chunk(block, where, line + 1) if as_text is not None and plain else None
        if fast is not None:
            if waiting[0]:  # (text: a chunk's records do not depend on where it is cut)
                part = _records(header, waiting, None)
                yield Chunk(part, where, list(range(start, start + len(part))))
                waiting = [[] for _ in header]
            yield fast
            line += fast.size
            start = line + 1
            continue
        if as_text is not None and (pending or not eof):
            ARROW.start()  # a block read the usual way, more to come: pyarrow for them
        columns = _columns(block, quote, opts, len(header)) if plain else None
        if columns is None:
            carried = _records(header, waiting, None) if typed is None else _rows(waiting)
            lines = list(range(start, start + len(waiting[0])))
            yield from fallback(_rest(block + pending, stream), header, line, carried, lines)
            return
        for kept, new in zip(waiting, columns):  # noqa: B905
            kept.extend(new)
        line += len(columns[0])
        count = len(waiting[0])
        if count < size:
            continue
        full = count - count % size
        for at in range(0, full, size):
            part = _records(header, [c[at : at + size] for c in waiting], typed)
            yield Chunk(part, where, list(range(start + at, start + at + len(part))))
        waiting = [c[full:] for c in waiting]
        start += full
    if waiting[0]:
        part = _records(header, waiting, typed)
        yield Chunk(part, where, list(range(start, start + len(part))))


def _records(header: list[str], columns: list[list[str]], typed: Typer | None) -> list[Any]:
    if typed is not None:
        columns = [typed(c) for c in columns]
    return [dict(zip(header, values)) for values in zip(*columns)]  # noqa: B905


def _rows(columns: list[list[str]]) -> list[list[str]]:
    return [list(row) for row in zip(*columns)]  # noqa: B905


def _columns(block: bytes, quote: bytes, opts: CsvOptions, width: int) -> list[list[str]] | None:
    """The block's columns, or None when it does not read as one row of `width` a line."""
    expected = _lines(block)
    if ARROW.ready.is_set() and ARROW.modules is not None:
        pa, pacsv = ARROW.modules
        names = [f"c{i}" for i in range(width)]
        try:
            table = pacsv.read_csv(
                pa.py_buffer(block),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
                parse_options=pacsv.ParseOptions(
                    delimiter=opts.delimiter,
                    quote_char=opts.quotechar,
                    newlines_in_values=False,
                    ignore_empty_lines=False,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False,
                    check_utf8=True,
                ),
            )
        except Exception:  # a row of another width, bad UTF-8: the csv module's to say
            return None
        if table.num_rows != expected:
            return None
        return [column.to_pylist() for column in table.columns]
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=opts.delimiter,
        quotechar=opts.quotechar,
        strict=True,
    )
    rows = list(reader)
    if len(rows) != expected or any(len(row) != width for row in rows):
        return None
    return [list(column) for column in zip(*rows)]  # noqa: B905

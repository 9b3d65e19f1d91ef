"""Parquet (pyarrow): typed columns from the dataset's field types (dates as date32,
timestamps as timestamp[us], objects as structs, lists as lists), row groups of
`row_group_size` records, a compression codec.

Column-wise end to end: `encode_columns_at` builds Arrow arrays straight from the
generator's columns (in whichever process made the batch) and ships them as an Arrow IPC
stream; `seal`, in the writing process, appends them to the file through one
`ParquetWriter` writing into a `Drain`, so each row group's bytes leave as soon as it is
written. Row groups are cut by record count only, so the bytes do not depend on the batch
size or on the number of processes. A full row group is encoded and compressed by a writer
thread (`RowGroupWriter`: pyarrow does that work without the GIL), so the run generates the
next batches meanwhile; the footer waits for it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from jobtui.engine.datagen.formats.base import Batch, Decoder, Encoder, batched, json_default
from jobtui.engine.datagen.formats.binary import Drain
from jobtui.engine.datagen.formats.typed import (
    LIST,
    OBJECT,
    Node,
    as_text,
    from_native,
    nodes_of,
)
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.formats import ParquetOptions

if TYPE_CHECKING:
    from jobtui.engine.datagen.draws import Piece
    from jobtui.engine.datagen.formats.arrow_pieces import PieceArrays


def arrow_type(node: Node) -> Any:
    import pyarrow as pa

    # Members and items are nullable in the schema: a null object still has a slot in
    # each member's array, which holds a null.
    if node.kind == OBJECT:
        return pa.struct([arrow_field(c, nested=True) for c in node.children])
    if node.kind == LIST:
        return pa.list_(arrow_field(node.children[0], nested=True))
    return {
        "INTEGER": pa.int64(),
        "REAL": pa.float64(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "DATETIME": pa.timestamp("us"),
    }.get(node.kind, pa.string())


def arrow_field(node: Node, nested: bool = False) -> Any:
    import pyarrow as pa

    return pa.field(node.name, arrow_type(node), nullable=node.nullable or nested)


def arrow_array(values: list[Any], node: Node) -> Any:
    """An Arrow array of one field's values (as the generator gives them)."""
    import orjson
    import pyarrow as pa

    kind = node.kind
    try:
        if kind == OBJECT:
            mask = pa.array([v is None for v in values], pa.bool_())
            children = [
                arrow_array([None if v is None else v.get(c.name) for v in values], c)
                for c in node.children
            ]
            fields = [arrow_field(c, nested=True) for c in node.children]
            return pa.StructArray.from_arrays(children, fields=fields, mask=mask)
        if kind == LIST:
            offsets = [0]
            items: list[Any] = []
            for v in values:
                if v:
                    items.extend(v)
                offsets.append(len(items))
            mask = pa.array([v is None for v in values], pa.bool_())
            inner = arrow_array(items, node.children[0])
            return pa.ListArray.from_arrays(
                pa.array(offsets, pa.int32()), inner, type=arrow_type(node), mask=mask
            )
        if kind in ("DATE", "DATETIME"):
            return pa.array(values, pa.string()).cast(arrow_type(node))
        if kind == "JSON":
            dumps = orjson.dumps
            text = [None if v is None else dumps(v).decode() for v in values]
            return pa.array(text, pa.string())
        if kind == "TEXT":
            try:
                return pa.array(values, pa.string())
            except (pa.ArrowTypeError, pa.ArrowInvalid):  # a provider giving lists...
                return pa.array([None if v is None else as_text(v) for v in values])
        return pa.array(values, arrow_type(node))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise InvalidInput(f"parquet: field {node.name!r} ({kind}): {exc}") from None


class RowGroupWriter:
    """Writes tables through a ParquetWriter in its own thread, in the order given; at most
    one table waits while another is written. An error surfaces at the next `put` or at
    `close`."""

    def __init__(self, writer: Any, row_group_size: int):
        self.writer = writer
        self.size = row_group_size
        self.tables: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None  # started by the first table

    def _run(self) -> None:
        while True:
            table = self.tables.get()
            if table is None:
                return
            if self.error is None:
                try:
                    self.writer.write_table(table, row_group_size=self.size)
                except BaseException as exc:  # handed to the run's thread
                    self.error = exc

    def _check(self) -> None:
        if self.error is not None:
            raise InvalidInput(f"parquet: {self.error}") from None

    def put(self, table: Any) -> None:
        self._check()
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="parquet-writer", daemon=True)
            self.thread.start()
        self.tables.put(table)

    def close(self) -> None:
        """Wait for every table to be written; then close the file (its footer)."""
        if self.thread is not None:
            self.tables.put(None)
            self.thread.join()
        self._check()
        self.writer.close()


class ParquetEncoder(Encoder):
    columnar = True
    binary = True
    takes_pieces = True  # make_chunk hands it `column_pieces` (see encode_pieces_at)

    def __init__(self, name: str, fields: list[str], spec: Any, opts: ParquetOptions):
        import pyarrow as pa

        super().__init__(name, fields, spec)
        self.opts = opts
        self.nodes = nodes_of(spec, fields)
        self.schema = pa.schema([arrow_field(n) for n in self.nodes])
        self._drain: Drain | None = None
        self._writer: Any = None
        self._rows: RowGroupWriter | None = None
        self._pending: list[Any] = []  # record batches not yet in a row group
        self._pending_rows = 0
        self._pieces: PieceArrays | None = None

    def describe(self) -> str:
        return f"Parquet schema ({self.opts.compression}):\n{self.schema}\n"

    def _open(self) -> None:
        if self._writer is None:
            import pyarrow.parquet as pq

            self._drain = Drain()
            codec = self.opts.compression
            self._writer = pq.ParquetWriter(
                self._drain, self.schema, compression="NONE" if codec == "none" else codec
            )
            self._rows = RowGroupWriter(self._writer, self.opts.row_group_size)

    def header(self) -> bytes:
        self._open()
        assert self._drain is not None
        return self._drain.take()

    def encode_at(self, batch: Batch, start: int) -> bytes:
        return self.encode_columns_at([[r.get(f) for r in batch] for f in self.fields], start)

    def encode_columns_at(self, columns: list[list[Any]], start: int) -> bytes:
        if not columns or not columns[0]:
            return b""
        arrays = [
            arrow_array(values, node) for values, node in zip(columns, self.nodes, strict=True)
        ]
        return self._ipc(arrays)

    def encode_pieces_at(self, pieces: list[list[Piece]], start: int) -> bytes:
        """`encode_columns_at` of the generator's pieces (`column_pieces`): columns drawn
        from a pool become `pool.take(indices)`, without a Python value per record."""
        if not pieces or not any(len(p) for p in pieces[0]):
            return b""
        if self._pieces is None:
            from jobtui.engine.datagen.formats.arrow_pieces import PieceArrays

            self._pieces = PieceArrays(arrow_array, arrow_type)
        make = self._pieces.array
        return self._ipc([make(p, node) for p, node in zip(pieces, self.nodes, strict=True)])

    def _ipc(self, arrays: list[Any]) -> bytes:
        import pyarrow as pa

        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, self.schema) as writer:
            writer.write_batch(batch)
        return bytes(sink.getvalue().to_pybytes())

    def seal(self, data: bytes, n: int) -> bytes:
        import pyarrow as pa

        self.count += n
        if not data:
            return b""
        self._open()
        table = pa.ipc.open_stream(data).read_all()
        self._pending.extend(table.to_batches())
        self._pending_rows += table.num_rows
        size = self.opts.row_group_size
        if self._pending_rows >= size:
            whole = pa.Table.from_batches(self._pending, schema=self.schema)
            full = (self._pending_rows // size) * size
            assert self._rows is not None
            self._rows.put(whole.slice(0, full))
            rest = whole.slice(full)
            self._pending = rest.to_batches()
            self._pending_rows = rest.num_rows
        assert self._drain is not None
        return self._drain.take()

    def footer(self) -> bytes:
        import pyarrow as pa

        self._open()
        assert self._rows is not None and self._drain is not None
        if self._pending_rows:
            self._rows.put(pa.Table.from_batches(self._pending, schema=self.schema))
            self._pending, self._pending_rows = [], 0
        self._rows.close()
        return self._drain.take()


class ParquetDecoder(Decoder):
    """Reads row group by row group (the file must be seekable: the footer is at its end)."""

    def decode(self, stream: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        return batched(self._records(stream))

    def _records(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(stream)
        names = parquet.schema_arrow.names
        known = {n.name: n for n in nodes_of(self.spec, names)} if self.spec else {}
        for batch in parquet.iter_batches(batch_size=10_000):
            for row in batch.to_pylist():
                yield {
                    k: from_native(v, known[k]) if k in known else json_default(v)
                    for k, v in row.items()
                }

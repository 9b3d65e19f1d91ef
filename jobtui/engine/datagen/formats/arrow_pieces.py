"""Arrow arrays straight from the generator's pieces (datagen/draws.py), for Parquet.

A column that draws from a value pool gives the indices it drew; the pool becomes an Arrow
array once, and a batch is `pool.take(indices)`, so no Python string is made per record
(nor converted to Arrow). Unique e-mails are joined from their parts with an Arrow kernel,
UUIDs are laid in a string array's buffer as they are. Every array equals
`arrow_array(piece.values(), node)`: anything these fast paths do not cover (a pool whose
values do not all convert, nested fields, a provider giving lists) takes that plain path.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

from jobtui.engine.datagen.draws import Draws, FixedText, Indexed, Piece
from jobtui.engine.datagen.formats.typed import Node
from jobtui.engine.model.errors import InvalidInput

_SCALARS = {"TEXT", "DATE", "DATETIME", "INTEGER", "REAL", "BOOLEAN"}
_WORDS = {"H": 2, "I": 4, "q": 8}


def merge(pieces: list[Piece]) -> list[Piece]:
    """Consecutive pieces of one field joined where they map the same way (the blocks of a
    batch), so a batch costs one Arrow call per field, not one per block."""
    out: list[Piece] = []
    for piece in pieces:
        last = out[-1] if out else None
        if isinstance(piece, list) and isinstance(last, list):
            out[-1] = last + piece
        elif isinstance(piece, Indexed) and isinstance(last, Indexed) and _joinable(last, piece):
            nulls = None
            if last.nulls is not None or piece.nulls is not None:
                nulls = (last.nulls or [False] * len(last)) + (piece.nulls or [False] * len(piece))
            words = last.draws.words + piece.draws.words  # type: ignore[operator]
            draws = Draws(words, last.draws.how, last.draws.size, last.draws.offset)
            out[-1] = Indexed(draws, last.population, last.compose, last.first, nulls)
        elif (
            isinstance(piece, FixedText)
            and isinstance(last, FixedText)
            and last.width == piece.width
            and last.nulls is None
            and piece.nulls is None
        ):
            out[-1] = FixedText(last.data + piece.data, last.width)
        else:
            out.append(piece)
    return out


def _joinable(a: Indexed, b: Indexed) -> bool:
    da, db = a.draws, b.draws
    return (
        a.population is b.population
        and a.compose == b.compose
        and (not a.compose.startswith("numbered") or a.first + len(a) == b.first)
        and (da.how, da.size, da.offset) == (db.how, db.size, db.offset)
        and isinstance(da.words, array)
        and isinstance(db.words, array)
        and da.words.typecode == db.words.typecode
    )


def index_array(draws: Draws) -> Any:
    """The indices `draws.indices()` as an Arrow integer array, mapped by Arrow kernels."""
    import pyarrow as pa
    import pyarrow.compute as pc

    words = draws.words
    n = len(words)
    if isinstance(words, array) and _WORDS.get(words.typecode) == words.itemsize:
        kind = {"H": pa.uint16(), "I": pa.uint32(), "q": pa.int64()}[words.typecode]
        arr = pa.Array.from_buffers(kind, n, [None, pa.py_buffer(words)])
    else:  # 64-bit draws, as a list: mapped in Python (OverflowError past int64)
        return _int64(draws.indices())
    if draws.how == "mask":
        arr = pc.bit_wise_and(arr, pa.scalar(draws.size - 1, arr.type))
    elif draws.how == "scale":
        # w * size < 2**64 for 32-bit words and size < 2**32: no wrap-around.
        wide = pc.multiply(arr.cast(pa.uint64()), pa.scalar(draws.size, pa.uint64()))
        arr = pc.shift_right(wide, pa.scalar(32, pa.uint64()))
    if draws.offset:
        arr = pc.add_checked(arr.cast(pa.int64()), pa.scalar(draws.offset, pa.int64()))
    return arr


def _int64(values: list[int]) -> Any:
    import pyarrow as pa

    # From a buffer, not pa.array(list): that asks whether pandas is installed (an import).
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(array("q", values))])


class PieceArrays:
    """Turns pieces into Arrow arrays of a field's type, keeping each pool's Arrow array
    (made on first use) for the batches after. `convert(values, node)` and `type_of(node)`
    are the format's plain path (parquet.arrow_array, arrow_type): given, not imported,
    so the format can import this module."""

    def __init__(
        self, convert: Callable[[list[Any], Node], Any], type_of: Callable[[Node], Any]
    ) -> None:
        self.convert = convert
        self.type_of = type_of
        self._pools: dict[tuple[int, str], tuple[Any, Any]] = {}

    def array(self, pieces: list[Piece], node: Node) -> Any:
        """One field's values for a batch: equal to `arrow_array(values, node)`."""
        import pyarrow as pa

        arrays = [self._one(p, node) for p in merge(pieces)]
        if len(arrays) == 1:
            return arrays[0]
        return pa.concat_arrays(arrays)

    def _one(self, piece: Piece, node: Node) -> Any:
        if isinstance(piece, list):
            return self.convert(piece, node)
        import pyarrow as pa

        arr = None
        try:
            if node.kind == "TEXT" and isinstance(piece, FixedText):
                arr = _fixed_text(piece)
            elif isinstance(piece, Indexed) and node.kind in _SCALARS:
                arr = self._indexed(piece, node)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arr = None  # out of range...: the plain path says so in its own words
        if arr is None:
            return self.convert(piece.values(), node)
        if piece.nulls is not None and any(piece.nulls):
            import pyarrow.compute as pc

            mask = pa.array(piece.nulls, pa.bool_())
            arr = pc.if_else(mask, pa.scalar(None, arr.type), arr)
        return arr

    def _indexed(self, piece: Indexed, node: Node) -> Any:
        import pyarrow.compute as pc

        if piece.population is None:
            if node.kind != "INTEGER":
                return None
            return index_array(piece.draws).cast(self.type_of(node))
        if not piece.compose:
            pool = self._pool(piece.population, node)
            return None if pool is None else pool.take(index_array(piece.draws))
        if node.kind != "TEXT":
            return None
        parts = self._pairs(piece.population)
        if parts is None:
            return None
        idx = index_array(piece.draws)
        left, right = parts[0].take(idx), parts[1].take(idx)
        if piece.compose == "pairs":
            return pc.binary_join_element_wise(left, right, "")
        numbers = _int64(list(range(piece.first, piece.first + len(piece)))).cast("string")
        return pc.binary_join_element_wise(left, numbers, right, "")

    def _pool(self, population: Any, node: Node) -> Any:
        key = (id(population), node.kind)
        cached = self._pools.get(key)
        if cached is not None and cached[0] is population:
            return cached[1]
        arr = None
        # Text must be text already: the plain path turns a batch holding anything else
        # into JSON text as a whole, which a pool of its own would not match.
        textual = node.kind in ("TEXT", "DATE", "DATETIME")
        if not textual or all(v is None or isinstance(v, str) for v in population):
            try:
                arr = self.convert(list(population), node)
            except InvalidInput:
                arr = None  # a value that does not convert: the plain path reports it
        self._pools[key] = (population, arr)
        return arr

    def _pairs(self, population: Any) -> tuple[Any, Any] | None:
        import pyarrow as pa

        key = (id(population), "pairs")
        cached = self._pools.get(key)
        if cached is not None and cached[0] is population:
            return cached[1]  # type: ignore[no-any-return]
        parts = None
        if all(
            isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str)
            for p in population
        ):
            parts = (
                pa.array([a for a, _ in population], pa.string()),
                pa.array([b for _, b in population], pa.string()),
            )
        self._pools[key] = (population, parts)
        return parts


def _fixed_text(piece: FixedText) -> Any:
    import pyarrow as pa

    n = len(piece)
    offsets = array("i", range(0, n * piece.width + 1, piece.width))
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(piece.data)]
    )

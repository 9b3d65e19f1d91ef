"""Parquet made from pool indices (issue 21's speed target): columns that draw from a value
pool hand the Parquet encoder the indices they drew (`column_pieces`), and it maps them
with Arrow kernels instead of making a Python value per record. A user must not be able to
tell: the file reads back with the same values and types as the plain path's, byte for
byte, for every field type, nulls, uniqueness and batches that cut blocks."""

from __future__ import annotations

import io
from random import Random
from typing import Any

import pytest

from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
from jobtui.engine.datagen.draws import FixedText, Indexed, uniform_draws
from jobtui.engine.datagen.formats import make_encoder
from jobtui.engine.datagen.generate import DatasetGenerator, make_chunk
from jobtui.engine.datagen.pools import uniform_indices

from .test_formats_binary import TYPED
from .test_formats_fidelity import HARD, HARD_STRINGS

EVERY = {
    "name": "every",
    "fields": [
        {"name": "seq", "type": "sequence", "start": 5, "step": 3},
        {"name": "int", "type": "integer", "min": -50, "max": 50, "nullable": 20},
        {"name": "byte", "type": "integer", "min": 0, "max": 255},
        {"name": "wide", "type": "integer", "min": 0, "max": 65535},
        {"name": "huge", "type": "integer", "min": -(2**40), "max": 2**40},
        {"name": "uint", "type": "integer", "min": 10, "max": 99999, "unique": True},
        {"name": "q", "type": "integer", "quantiles": [1, 5, 9, 50, 100]},
        {"name": "f", "type": "float", "min": -1, "max": 1, "decimals": 3, "nullable": 5},
        {"name": "b", "type": "boolean", "nullable": 5},
        {"name": "u", "type": "uuid", "nullable": 10},
        {"name": "u2", "type": "faker", "provider": "uuid4"},
        {"name": "c", "type": "choice", "values": HARD_STRINGS, "nullable": 10},
        {"name": "cw", "type": "choice", "values": ["a", "b", "c"], "weights": [5, 3, 1]},
        {"name": "cn", "type": "choice", "values": [1, 2, 3, None]},
        {"name": "k", "type": "constant", "value": "same"},
        {"name": "d", "type": "date_range", "start": "1901-01-01", "end": "2099-12-31"},
        {"name": "dn", "type": "date_range", "nullable": 30},
        {"name": "dl", "type": "date_range", "format": "%d/%m/%Y"},
        {"name": "da", "type": "date_range", "after": "d"},
        {"name": "t", "type": "datetime_range", "nullable": 15},
        {"name": "p", "type": "pattern", "pattern": "??-###"},
        {"name": "w", "type": "words", "words": ["red", "green", "blue"]},
        {"name": "name", "type": "faker", "provider": "name", "nullable": 10},
        {"name": "addr", "type": "faker", "provider": "address"},
        {"name": "first", "type": "faker", "provider": "first_name"},
        {"name": "job", "type": "faker", "provider": "job"},
        {"name": "uname", "type": "faker", "provider": "name", "unique": True},
        {"name": "email", "type": "faker", "provider": "email", "unique": True},
        {"name": "email2", "type": "faker", "provider": "free_email", "nullable": 10},
        {"name": "user", "type": "faker", "provider": "user_name"},
        {"name": "age", "type": "faker", "provider": "random_int", "args": {"min": 1, "max": 9}},
        {"name": "words", "type": "faker", "provider": "words"},
        {"name": "ref", "type": "reference", "dataset": "customers", "field": "email"},
        {
            "name": "o",
            "type": "object",
            "nullable": 10,
            "fields": [
                {"name": "city", "type": "faker", "provider": "city"},
                {"name": "tags", "type": "list", "item": {"type": "choice", "values": ["x"]}},
            ],
        },
        {"name": "l", "type": "list", "item": {"type": "faker", "provider": "company"}},
    ],
}
ALL = [EVERY, TYPED, HARD, *BUILTIN_DATASETS.values()]


def parquet(spec: dict[str, Any], count: int, batch: int, pieces: bool, fill: bool) -> bytes:
    """The Parquet file of `count` records made as a run makes it (`make_chunk`), from
    pool indices or (pieces=False) from the Python values."""
    gen = DatasetGenerator(ALL, seed=11)
    gen.prepare(spec["name"], count)
    if fill:
        gen.fill_pools(spec["name"], count)
    encoder = make_encoder("parquet", {"row_group_size": 1500}, spec)
    if not pieces:
        encoder.takes_pieces = False
    out = [encoder.header()]
    for start in range(0, count, batch):
        n = min(batch, count - start)
        data, _, made, _ = make_chunk(
            gen, spec["name"], start, n, encoder, need_records=False, encodings=[]
        )
        out.append(encoder.seal(data, made))
    out += list(encoder.footer_parts())
    return b"".join(out)


CASES = [(s, True) for s in [EVERY, TYPED, HARD, *BUILTIN_DATASETS.values()]]
CASES += [(EVERY, False), (BUILTIN_DATASETS["users"], False)]  # pools filled as drawn


@pytest.mark.parametrize(
    ("spec", "fill"), CASES, ids=[f"{s['name']}-{'filled' if f else 'lazy'}" for s, f in CASES]
)
def test_the_pool_index_path_reads_back_as_the_plain_path(spec: dict[str, Any], fill: bool) -> None:
    import pyarrow.parquet as pq

    # 2,210 records in batches of 700: batches cut blocks, the last block is short.
    fast = parquet(spec, 2210, 700, pieces=True, fill=fill)
    plain = parquet(spec, 2210, 700, pieces=False, fill=fill)
    got, want = pq.read_table(io.BytesIO(fast)), pq.read_table(io.BytesIO(plain))
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()
    assert fast == plain


def test_pool_columns_take_the_index_path() -> None:
    """Otherwise the test above would prove nothing: users' text columns, date, age and id
    come as indices (or laid-out UUID text), not as Python values."""
    gen = DatasetGenerator([BUILTIN_DATASETS["users"]], seed=1)
    gen.fill_pools("users", 5000)
    pieces = gen.column_pieces("users", 0, 2000)
    kinds = {c.name: type(p[0]).__name__ for c, p in zip(gen.columns("users"), pieces, strict=True)}
    assert kinds == {
        "name": "Indexed",
        "email": "Indexed",
        "address": "Indexed",
        "phone": "Indexed",
        "company": "Indexed",
        "signup_date": "Indexed",
        "age": "Indexed",
        "id": "FixedText",
    }


def test_every_column_piece_gives_its_columns_values() -> None:
    gen = DatasetGenerator(ALL, seed=4)
    gen.prepare("every", 5000)
    gen.fill_pools("every", 5000)
    seen = set()
    for col in gen.columns("every"):
        for block, start, n in [(0, 0, 1000), (3, 3000, 17), (1, 1000, 0)]:
            piece = col.indexed(block, start, n)
            if piece is not None:
                seen.add(col.name)
                assert isinstance(piece, Indexed | FixedText)
                assert piece.values() == col.values(block, start, n), col.name
    assert {"int", "u", "c", "cw", "d", "name", "email", "email2", "age"} <= seen
    assert not {"q", "da", "uint", "uname"} & seen  # they draw their own way


@pytest.mark.parametrize("size", [1, 2, 7, 256, 1000, 65535, 65536, 65537, 2**31, 2**32 + 3])
@pytest.mark.parametrize("offset", [0, -5, 2**40])
def test_uniform_draws_are_uniform_indices(size: int, offset: int) -> None:
    from jobtui.engine.datagen.formats.arrow_pieces import index_array

    draws = uniform_draws(Random(size), 333, size, offset)
    want = list(uniform_indices(Random(size), 333, size, offset))
    assert draws.indices() == want
    assert index_array(draws).to_pylist() == want

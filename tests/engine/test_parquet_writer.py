"""Parquet's row groups are written by a writer thread: the same bytes as writing them in
the run's thread, and a failure in that thread fails the output, naming the format."""

from __future__ import annotations

import io
from typing import Any

import pytest

from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
from jobtui.engine.datagen.formats import make_encoder
from jobtui.engine.datagen.formats.parquet import RowGroupWriter
from jobtui.engine.datagen.generate import DatasetGenerator
from jobtui.engine.model.errors import InvalidInput


def write(records: int, row_group_size: int) -> bytes:
    spec = BUILTIN_DATASETS["orders"]
    gen = DatasetGenerator(list(BUILTIN_DATASETS.values()), seed=3)
    gen.prepare("orders", records)
    encoder = make_encoder("parquet", {"row_group_size": row_group_size}, spec)
    out = encoder.header()
    for start in range(0, records, 2500):
        n = min(2500, records - start)
        out += encoder.seal(
            encoder.encode_columns_at(gen.column_values("orders", start, n), start), n
        )
    return out + b"".join(encoder.footer_parts())


def test_row_groups_from_the_writer_thread_read_back_in_order() -> None:
    import pyarrow.parquet as pq

    data = write(12_000, 5_000)
    parquet = pq.ParquetFile(io.BytesIO(data))
    assert [parquet.metadata.row_group(i).num_rows for i in range(3)] == [5000, 5000, 2000]
    assert parquet.read(columns=["id"]).column("id").to_pylist() == list(
        range(100001, 100001 + 12_000)
    )
    assert write(12_000, 5_000) == data  # same seed, same bytes


class Failing:
    def __init__(self) -> None:
        self.closed = False

    def write_table(self, table: Any, row_group_size: int) -> None:
        raise OSError("disk full")

    def close(self) -> None:
        self.closed = True


def test_a_failed_row_group_fails_the_output() -> None:
    writer = RowGroupWriter(Failing(), 1000)
    writer.put("a table")
    with pytest.raises(InvalidInput, match="parquet: disk full"):
        writer.close()

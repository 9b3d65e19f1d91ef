"""The parse readers on their own: records with their line numbers, bad lines set aside."""

from __future__ import annotations

import io

from jobtui.engine.model.formats import CsvOptions
from jobtui.engine.pipeline.chunks import Bad
from jobtui.engine.pipeline.parse import csv_chunks


def read_csv(text: str, types: str = "text", size: int = 2, **options: object) -> tuple[list, list]:
    bad: list[Bad] = []
    chunks = list(
        csv_chunks(
            io.BytesIO(text.encode()), "f.csv", CsvOptions(**options), bad.append, types, size
        )
    )
    rows = [(p, r) for c in chunks for p, r in zip(c.positions, c.records, strict=True)]
    return rows, [(b.position, b.error, b.raw) for b in bad]


def test_csv_rows_keep_their_line_and_bad_rows_go_aside() -> None:
    rows, bad = read_csv('a,b\n1,x\n\n2,"multi\nline"\n3\n4,y,z\n5,w\n')
    assert rows == [
        (2, {"a": "1", "b": "x"}),
        (5, {"a": "2", "b": "multi\nline"}),
        (8, {"a": "5", "b": "w"}),
    ]
    assert bad == [
        (6, "1 field(s) where the header has 2", "3"),
        (7, "3 field(s) where the header has 2", "4,y,z"),
    ]


def test_csv_types_are_inferred_a_column_at_a_time() -> None:
    rows, _ = read_csv("n,f,t,m\n1,1.5,x,1\n,2,true,y\n-3,,false,2\n", types="infer", size=10)
    assert [r for _, r in rows] == [
        {"n": 1, "f": 1.5, "t": "x", "m": 1},
        {"n": None, "f": 2.0, "t": True, "m": "y"},
        {"n": -3, "f": None, "t": False, "m": 2},
    ]


def test_csv_without_a_header_names_its_fields() -> None:
    rows, _ = read_csv("1;a\n2;b\n3;c\n", header=False, delimiter=";")
    assert [r for _, r in rows] == [
        {"field1": "1", "field2": "a"},
        {"field1": "2", "field2": "b"},
        {"field1": "3", "field2": "c"},
    ]

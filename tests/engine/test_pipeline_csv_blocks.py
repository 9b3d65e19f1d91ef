"""The block reader of CSV (issue 22) reads every input exactly as the `csv` module's path
does: the same records, types, line numbers and bad rows, whether a block goes through
pyarrow or the csv module, and when it hands over to the csv path part way."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest

from jobtui.engine.model.formats import CsvOptions
from jobtui.engine.pipeline import csv_blocks
from jobtui.engine.pipeline.chunks import Bad, Blob
from jobtui.engine.pipeline.parse import csv_chunks, parse_blob


def by_csv_module(data: bytes, types: str, size: int, **options: Any) -> tuple[list, list]:
    bad: list[Bad] = []
    chunks = csv_chunks(io.BytesIO(data), "f.csv", CsvOptions(**options), bad.append, types, size)
    rows = [(p, exact(r)) for c in chunks for p, r in zip(c.positions, c.records, strict=True)]
    return rows, [(b.position, b.error, b.raw) for b in bad]


def exact(record: dict[str, Any]) -> str:
    """A record as JSON: 1 and 1.0 (equal in Python) differ here, as in a writer's output."""
    return json.dumps(record)


def by_blocks(data: bytes, types: str, size: int, **options: Any) -> tuple[list, list]:
    bad: list[Bad] = []
    blob = Blob("f.csv", lambda: io.BytesIO(data), "f.csv")
    chunks = parse_blob(blob, "csv", options, bad.append, types=types, size=size)
    rows = [(p, exact(r)) for c in chunks for p, r in zip(c.positions, c.records, strict=True)]
    return rows, [(b.position, b.error, b.raw) for b in bad]


@pytest.fixture(params=["pyarrow", "csv module"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(csv_blocks, "BLOCK", 64)  # many blocks from a small input
    arrow = csv_blocks._Arrow()
    if request.param == "pyarrow":
        arrow.start()
        assert arrow.ready.wait(60)
        assert arrow.modules is not None
    else:
        arrow.start = lambda: None  # type: ignore[method-assign]
    monkeypatch.setattr(csv_blocks, "ARROW", arrow)
    return str(request.param)


PLAIN_ROWS = [
    "1,2.5,true,x,",
    "-7,0,false,ünïcode text,",
    ",1e3,,  spaced ,x",
    "007,-0.0,TRUE,[1],{}",
    "12345678901234567890123,3.25,false,name 4,z",
]


def sample(rng: random.Random, n: int) -> bytes:
    lines = ["a,b,c,d,e"]
    for _ in range(n):
        lines.append(rng.choice(PLAIN_ROWS))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("types", ["text", "infer"])
def test_plain_csv_reads_the_same_by_blocks(parser: str, types: str) -> None:
    rng = random.Random(22)
    for n in (0, 1, 3, 40, 200):
        data = sample(rng, n)
        for size in (1, 7, 5000):
            assert by_blocks(data, types, size) == by_csv_module(data, types, size)


TROUBLE = [
    b'9,"quoted, with comma",x,y,z\n',
    b'9,"multi\nline",x,y,z\n',
    b"\n",
    b"1,2,3\n",
    b"1,2,3,4,5,6\n",
    b"1,2\r3,4,5\n",
    b"1,2,3,4,\x005\n",
    b"1,\xff\xfe,3,4,5\n",
    b'1,a"b,3,4,5\n',
]


@pytest.mark.parametrize("types", ["text", "infer"])
@pytest.mark.parametrize("trouble", TROUBLE)
def test_any_unplain_line_hands_over_with_the_same_lines_and_bad_rows(
    parser: str, types: str, trouble: bytes
) -> None:
    rng = random.Random(16)
    for at in (0, 5, 30):
        head = sample(rng, at)
        tail = sample(rng, 30).split(b"\n", 1)[1]
        data = head + trouble + tail
        got, expected = by_blocks(data, types, 4), by_csv_module(data, types, 4)
        if trouble.startswith(b"1,\xff"):
            # Undecodable bytes end the file's reading in both; the csv path loses the rows
            # its decoder's buffer held before them (and names that buffer's first line),
            # the block path only those in the bad line's block.
            assert got[0][: len(expected[0])] == expected[0]
            assert [p for p, _ in got[0]] == list(range(2, 2 + len(got[0])))
            assert len(got[0]) <= at
            assert got[1][0][1].startswith("not UTF-8 text")
            assert len(got[1]) == len(expected[1]) == 1
        else:
            assert got == expected


def test_crlf_no_header_other_delimiters_and_no_final_newline(parser: str) -> None:
    rng = random.Random(7)
    body = sample(rng, 60)
    crlf = body.replace(b"\n", b"\r\n")
    for data, options in (
        (crlf, {}),
        (body[:-1], {}),
        (body.replace(b",", b";"), {"delimiter": ";"}),
        (body, {"header": False}),
        (body.replace(b",", b"\t"), {"delimiter": "\t", "header": False}),
        (body, {"quotechar": "'"}),
        (b"only\n1\n\n2\n", {}),
        (b"", {}),
        (b"a,b", {}),
    ):
        for types in ("text", "infer"):
            assert by_blocks(data, types, 5, **options) == by_csv_module(
                data, types, 5, **options
            ), (data[:40], options, types)

"""Plain CSV read as text goes to JSON lines without a record per row (issue 22's
benchmark: a CSV → JSONL pipeline at least as fast as a plain `csv` + `orjson` loop), and
what a user gets is byte for byte what that loop writes: every cell that JSON escapes,
odd keys, line ends, ragged rows (dead letters with their line numbers), transformers."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.model.formats import CsvOptions
from jobtui.engine.pipeline import csv_blocks
from jobtui.engine.pipeline.chunks import Bad, Blob
from jobtui.engine.pipeline.parse import csv_chunks, parse_blob


def loop_jsonl(data: bytes, delimiter: str = ",") -> bytes:
    """The benchmark's plain loop: csv.reader, a dict per row, orjson."""
    out = bytearray()
    reader = csv.reader(io.StringIO(data.decode(), newline=""), delimiter=delimiter)
    header = next(reader)
    for row in reader:
        if len(row) == len(header):
            out += orjson.dumps(
                dict(zip(header, row, strict=True)), option=orjson.OPT_APPEND_NEWLINE
            )
    return bytes(out)


def chunks_of(data: bytes, **options: Any) -> tuple[list[Any], list[Bad]]:
    bad: list[Bad] = []
    blob = Blob("f.csv", lambda: io.BytesIO(data), "f.csv")
    return list(parse_blob(blob, "csv", options, bad.append, types="text", size=7)), bad


def written(chunks: list[Any]) -> bytes:
    """What the JSON lines writer sends: the reader's own lines where it made them."""
    from jobtui.engine.datagen.formats import make_encoder
    from jobtui.engine.pipeline.run import encoded

    encoder = make_encoder("jsonl", {}, "records", chunks[0].keys())
    return b"".join(encoded(encoder, chunk) for chunk in chunks)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_blocks, "BLOCK", 64)  # many blocks from a small input


ROWS = [
    "1,plain,x",
    "2,back\\slash,x",
    "3,tab\there,x",
    "4,ünïcode €,x",
    "5,per%cent %s,x",
    "6,bell\x07 and \x1f,x",
    "7,,",
    "8,line\u2028sep,x",
]
# Each odd row among plain ones: blocks that go either way, one after the other.
MIXED = [row for odd in ROWS for row in (odd, *(f"{i},plain {i},y" for i in range(12)))]


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_text_csv_to_jsonl_is_byte_for_byte_the_plain_loops(end: str) -> None:
    for header in ("id,name,x", "id,%s 100%,back\\key"):
        data = (end.join([header, *MIXED * 3]) + end).encode()
        chunks, bad = chunks_of(data)
        assert not bad
        assert any(c.jsonl is not None for c in chunks)
        assert any(c.jsonl is None for c in chunks)
        assert written(chunks) == loop_jsonl(data)


def test_plain_text_blocks_are_written_without_records() -> None:
    data = (
        "\n".join(["a,b,c"] + [f"{i},name {i},user{i}@example.com" for i in range(300)]) + "\n"
    ).encode()
    chunks, _ = chunks_of(data)
    fast = [c for c in chunks if c.jsonl is not None]
    assert sum(c.size for c in fast) == 300  # every row, no record made for the writer
    assert written(chunks) == loop_jsonl(data)
    assert all(c._records is None for c in fast)
    # Asked for (a transformer, another format), the records are the csv module's.
    bad: list[Bad] = []
    expected = csv_chunks(io.BytesIO(data), "f.csv", CsvOptions(), bad.append, "text", 7)
    assert [r for c in chunks for r in c.records] == [r for c in expected for r in c.records]
    assert [p for c in chunks for p in c.positions] == list(range(2, 302))


def test_ragged_rows_odd_line_ends_and_tabs_keep_the_csv_modules_reading() -> None:
    lines = ["a,b,c"] + [f"{i},n{i},z" for i in range(40)]
    lines[25] = "24,too,many,fields"
    data = ("\n".join(lines[:30]) + "\r\n" + "\n".join(lines[30:])).encode()  # no final end
    chunks, bad = chunks_of(data)
    assert [(b.position, b.error) for b in bad] == [(26, "4 field(s) where the header has 3")]
    assert written(chunks) == loop_jsonl(data)
    tabbed = ("\n".join(["a\tb", *(f"{i}\tx,y" for i in range(50))]) + "\n").encode()
    chunks, bad = chunks_of(tabbed, delimiter="\t")
    assert not bad and written(chunks) == loop_jsonl(tabbed, "\t")
    colons = ("\n".join(["a:b", *(f"{i}:x" for i in range(50))]) + "\n").encode()
    chunks, bad = chunks_of(colons, delimiter=":")  # ':' is in the JSON between cells
    assert not bad and written(chunks) == loop_jsonl(colons, ":")
    twice = ("\n".join(["a,a,b", *(f"{i},x,y" for i in range(50))]) + "\n").encode()
    chunks, _ = chunks_of(twice)  # a key twice: a dict keeps the last value
    assert written(chunks) == loop_jsonl(twice)


def test_a_pipeline_run_writes_the_loops_bytes_with_and_without_transformers(
    engine: Engine, tmp_path: Path
) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    plain = [f"{i},name {i},user{i}@example.com" for i in range(120_000)]  # blocks of 1 MB
    data = ("\r\n".join(["id,name,x", *plain, *ROWS, *plain[:60_000]]) + "\r\n").encode()
    (inbox / "a.csv").write_bytes(data)
    reader = {
        "type": "file",
        "options": {"base_dir": str(inbox), "pattern": "*.csv", "types": "text"},
    }
    for name, transformers in (
        ("same", []),
        ("renamed", [{"type": "rename", "options": {"fields": {"x": "y"}}}]),
    ):
        engine.create_job(
            {
                "name": name,
                "kind": "pipeline",
                "pipeline": {
                    "readers": [reader],
                    "transformers": transformers,
                    "writers": [
                        {"type": "file", "options": {"base_dir": str(out), "path": "{job}.{ext}"}}
                    ],
                },
            }
        )
        done = engine.wait_for_run(engine.queue_run(name).id, timeout=120)
        assert done.state == RunState.SUCCEEDED, done.error
    expected = loop_jsonl(data)
    assert (out / "same.jsonl").read_bytes() == expected
    assert (out / "renamed.jsonl").read_bytes() == expected.replace(b'"x":', b'"y":')

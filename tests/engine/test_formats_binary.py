"""Parquet, Avro, Excel and templates (issue 21 points 7-10): each file read back by its own
ecosystem's reader (pyarrow, fastavro, openpyxl) value for value against the JSON lines of
the same seed, same bytes whatever the batches, and the template's exact text."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
from jobtui.engine.datagen.formats import make_decoder, make_encoder
from jobtui.engine.datagen.generate import DatasetGenerator
from jobtui.engine.model.errors import InvalidInput, SpecError

from .test_formats_fidelity import HARD

TYPED = {
    "name": "typed",
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "big", "type": "integer", "min": -(2**62), "max": 2**62, "nullable": 10},
        {"name": "x", "type": "float", "min": -5, "max": 5, "decimals": 3},
        {"name": "ok", "type": "boolean", "nullable": 20},
        {"name": "day", "type": "date_range", "start": "1901-01-01", "end": "2099-12-31"},
        {"name": "at", "type": "datetime_range", "nullable": 15},
        {"name": "label", "type": "date_range", "format": "%d/%m/%Y"},
        {
            "name": "o",
            "type": "object",
            "nullable": 10,
            "fields": [
                {"name": "when", "type": "date_range"},
                {"name": "tags", "type": "list", "item": {"type": "pattern", "pattern": "??#"}},
            ],
        },
        {"name": "l", "type": "list", "item": {"type": "float", "min": 0, "max": 1}},
        {"name": "cust", "type": "reference", "dataset": "customers", "field": "id"},
    ],
}
DATASETS = [TYPED, HARD, BUILTIN_DATASETS["customers"], BUILTIN_DATASETS["orders"]]
ALL = [TYPED, HARD, *BUILTIN_DATASETS.values()]


def records(spec: dict[str, Any], n: int = 700, seed: int = 5) -> list[dict[str, Any]]:
    gen = DatasetGenerator(ALL, seed=seed)
    return [r for batch in gen.batches(spec["name"], n, 300) for r in batch]


def encode(fmt: str, options: dict[str, Any], spec: dict[str, Any], rows: list[Any]) -> bytes:
    encoder = make_encoder(fmt, options, spec)
    parts = [encoder.header()]
    parts += [encoder.encode(rows[i : i + 250]) for i in range(0, len(rows), 250)]
    parts += list(encoder.footer_parts())
    return b"".join(parts)


def jsonl(spec: dict[str, Any], rows: list[Any]) -> list[dict[str, Any]]:
    """The same records as the JSON lines format gives them."""
    return [json.loads(line) for line in encode("jsonl", {}, spec, rows).splitlines()]


def iso(value: Any) -> Any:
    """A reader's value in JSON's terms (dates as ISO text), for comparing."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [iso(v) for v in value]
    return value


def from_json_text(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    """Nested values of unknown shape are JSON text in the typed formats: parse them."""
    for e, g in zip(expected, got, strict=True):
        for key, value in g.items():
            if isinstance(value, str) and not isinstance(e[key], str) and e[key] is not None:
                g[key] = json.loads(value)


@pytest.mark.parametrize("spec", DATASETS, ids=lambda s: s["name"])
@pytest.mark.parametrize("options", [{}, {"compression": "zstd", "row_group_size": 1000}])
def test_pyarrow_reads_parquet_value_for_value(
    spec: dict[str, Any], options: dict[str, Any]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = records(spec)
    data = encode("parquet", options, spec, rows)
    table = pq.read_table(io.BytesIO(data))
    got = [iso(r) for r in table.to_pylist()]
    from_json_text(jsonl(spec, rows), got)
    assert got == jsonl(spec, rows)
    assert make_decoder_records("parquet", options, spec, data) == rows
    if spec is TYPED:
        schema = table.schema
        assert schema.field("big").type == pa.int64() and schema.field("day").type == pa.date32()
        assert schema.field("at").type == pa.timestamp("us")
        assert pa.types.is_struct(schema.field("o").type)
        assert pa.types.is_list(schema.field("l").type)
        assert schema.field("label").type == pa.string()  # a formatted date is text
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        size = options.get("row_group_size", 100_000)
        assert meta.num_row_groups == -(-len(rows) // size)


@pytest.mark.parametrize("spec", DATASETS, ids=lambda s: s["name"])
@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_fastavro_reads_avro_value_for_value(spec: dict[str, Any], codec: str) -> None:
    import fastavro

    rows = records(spec)
    data = encode("avro", {"codec": codec}, spec, rows)
    reader = fastavro.reader(io.BytesIO(data))
    got = [iso(r) for r in reader]
    from_json_text(jsonl(spec, rows), got)
    assert got == jsonl(spec, rows)
    assert reader.metadata["avro.codec"] == codec
    assert make_decoder_records("avro", {"codec": codec}, spec, data) == rows
    if spec is TYPED:
        fields = {f["name"]: f["type"] for f in reader.writer_schema["fields"]}
        assert fields["big"] == ["null", "long"] and fields["id"] == "long"
        assert fields["day"] == {"type": "int", "logicalType": "date"}


def _openpyxl_rows(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


@pytest.mark.parametrize("spec", DATASETS, ids=lambda s: s["name"])
def test_openpyxl_reads_excel_value_for_value(spec: dict[str, Any]) -> None:
    from jobtui.engine.datagen.formats.excel import unescape
    from jobtui.engine.datagen.formats.typed import nodes_of

    rows = records(spec, 400)
    data = encode("excel", {}, spec, rows)
    sheets = _openpyxl_rows(data)
    assert list(sheets) == [spec["name"]]
    header, *body = sheets[spec["name"]]
    names = [f["name"] for f in spec["fields"]]
    assert list(header) == names
    nodes = {n.name: n for n in nodes_of(spec, names)}
    expected = jsonl(spec, rows)
    got = []
    for row in body:
        record = {}
        for name, cell in zip(names, row, strict=True):
            kind = nodes[name].kind
            if isinstance(cell, str):
                cell = unescape(cell)  # OOXML's _xHHHH_ escapes, which Excel undoes too
            if kind == "DATE" and isinstance(cell, datetime):
                cell = cell.date()
            elif kind == "REAL" and isinstance(cell, int):
                cell = float(cell)
            elif kind == "INTEGER" and isinstance(cell, str | float):
                cell = int(cell)  # beyond 2^53: text
            record[name] = iso(cell)
        got.append(record)
    from_json_text(expected, got)
    assert got == expected
    assert make_decoder_records("excel", {}, spec, data) == rows


def make_decoder_records(fmt: str, options: dict[str, Any], spec: Any, data: bytes) -> list[Any]:
    decoder = make_decoder(fmt, options, spec)
    return [r for batch in decoder.decode(io.BytesIO(data)) for r in batch]


def test_excel_goes_on_to_a_new_sheet_past_the_row_limit() -> None:
    spec = BUILTIN_DATASETS["orders"]
    rows = records(spec, 25)
    options = {"rows_per_sheet": 10}
    data = encode("excel", options, spec, rows)
    sheets = _openpyxl_rows(data)
    assert list(sheets) == ["orders", "orders (2)", "orders (3)"]
    assert [len(body) for body in sheets.values()] == [11, 11, 6]  # each with its header
    assert make_decoder_records("excel", options, spec, data) == rows


def test_excel_refuses_a_cell_longer_than_excel_holds() -> None:
    spec = {"name": "t", "fields": [{"name": "s", "type": "constant", "value": "x" * 40_000}]}
    with pytest.raises(InvalidInput, match="field 's' has a value of 40000 characters"):
        encode("excel", {}, spec, [{"s": "x" * 40_000}])


@pytest.mark.parametrize("fmt", ["parquet", "avro", "excel", "template"])
def test_same_bytes_whatever_the_batches_and_where_they_are_made(fmt: str) -> None:
    """`encode_at` in any process (here: out of order), `seal` in order, gives the bytes of
    one `encode` per batch. Parquet row groups and Excel rows do not depend on the batch
    size either; Avro writes a block per batch (runs cut batches by record count only, so
    the bytes never depend on the number of processes)."""
    options = (
        {"record": "{{ index }} {{ email }} {{ address | json }}"} if fmt == "template" else {}
    )
    spec = BUILTIN_DATASETS["customers"]
    rows = records(spec, 900)
    serial = make_encoder(fmt, options, spec)
    whole = serial.header() + b"".join(serial.encode(rows[i : i + 300]) for i in (0, 300, 600))
    whole += b"".join(serial.footer_parts())
    assert whole == encode(fmt, options, spec, rows) or fmt == "avro"  # a block per batch
    encoder = make_encoder(fmt, options, spec)
    parts = {start: encoder.encode_at(rows[start : start + 300], start) for start in (600, 0, 300)}
    out = [encoder.header()]
    out += [encoder.seal(parts[start], 300) for start in (0, 300, 600)]
    out += list(encoder.footer_parts())
    assert b"".join(out) == whole


USERS_FIXED = {
    "name": "people",
    "fields": [
        {"name": "id", "type": "sequence", "start": 7},
        {"name": "name", "type": "choice", "values": ["Zoë Faure"]},
        {"name": "city", "type": "constant", "value": "Paris"},
        {"name": "phone", "type": "constant", "value": None},
    ],
}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"record": "{{ id | fixed(4, 'right') }}{{ name | fixed(6) }}{{ city | fixed(3) }}|"},
            "   7Zoë FaPar|\n   8Zoë FaPar|\n",
        ),
        (
            {
                "record": "dn: uid={{ id }},dc=example\n{{ name | ldif('cn') }}\n"
                "{{ city | ldif('l') }}\n",
                "line_end": "\n",
            },
            "dn: uid=7,dc=example\ncn:: Wm/DqyBGYXVyZQ==\nl: Paris\n\n"
            "dn: uid=8,dc=example\ncn:: Wm/DqyBGYXVyZQ==\nl: Paris\n\n",
        ),
        (
            {
                "header": "{{ dataset }}:\n",
                "record": "  - id: {{ id }}\n    name: {{ name | json }}\n    phone: {{ phone | json }}",
                "footer": "# {{ count }} records\n",
            },
            'people:\n  - id: 7\n    name: "Zoë Faure"\n    phone: null\n'
            '  - id: 8\n    name: "Zoë Faure"\n    phone: null\n# 2 records\n',
        ),
        (
            {"record": "{{ index }} INFO [{{ city }}] user={{ id }} phone={{ phone }}"},
            "0 INFO [Paris] user=7 phone=\n1 INFO [Paris] user=8 phone=\n",
        ),
    ],
    ids=["fixed-width", "ldif", "yaml", "log"],
)
def test_templates_write_exactly_the_expected_text(options: dict[str, Any], expected: str) -> None:
    rows = DatasetGenerator([USERS_FIXED], seed=1).sample("people", 2)
    assert encode("template", options, USERS_FIXED, rows).decode() == expected


def test_template_errors_name_the_field_and_the_line(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        make_encoder("template", {"record": "ok\n{{ name "}, USERS_FIXED)
    assert [str(e) for e in info.value.errors] == [
        "generator.options.record: template error on line 2: unexpected end of template, "
        "expected 'end of print statement'."
    ]
    with pytest.raises(InvalidInput, match="'nmae' is undefined"):
        encode("template", {"record": "{{ nmae }}"}, USERS_FIXED, [{"name": "x"}])
    with pytest.raises(InvalidInput) as bad:
        engine.create_job(
            {
                "name": "bad",
                "datagen": {
                    "datasets": ["users"],
                    "generator": {"format": "parquet", "options": {"compression": "lzo"}},
                    "sinks": [{"type": "file", "options": {"base_dir": str(tmp_path)}}],
                },
            }
        )
    assert "datagen.generator.options.compression" in str(bad.value)


def test_template_sandbox_refuses_unsafe_attributes() -> None:
    with pytest.raises(InvalidInput, match="unsafe"):
        encode(
            "template",
            {"record": "{{ name.__class__.__mro__[1].__subclasses__() }}"},
            USERS_FIXED,
            [{"name": "x"}],
        )


def _job(
    engine: Engine, name: str, out: Path, fmt: str, options: dict[str, Any], **extra: Any
) -> None:
    datagen: dict[str, Any] = {
        "datasets": ["customers"],
        "max_records": 300,
        "seed": 3,
        "generator": {"format": fmt, "options": options},
        "replay": {"enabled": True, "keep": 2},
        "sinks": [{"type": "file", "options": {"base_dir": str(out), "path": "{job}.{ext}"}}],
    }
    datagen.update(extra)
    engine.create_job({"name": name, "datagen": datagen})


def test_preview_shows_the_avro_schema_and_the_records(engine: Engine, tmp_path: Path) -> None:
    _job(engine, "av", tmp_path, "avro", {"codec": "deflate"})
    text = engine.preview("av", n=3)
    assert text.startswith("Avro schema (codec deflate):\n{")
    assert '"logicalType"' not in text or '"type": "record"' in text
    assert '"name": "address"' in text
    assert len([line for line in text.splitlines() if line.startswith('{"id"')]) == 3


def test_replaying_a_template_run_into_a_table_sink_says_why_not(
    engine: Engine, tmp_path: Path
) -> None:
    _job(
        engine, "tpl", tmp_path, "template", {"record": "{{ id }};{{ email }}", "extension": "csv"}
    )
    first = engine.wait_for_run(engine.queue_run("tpl").id, timeout=60)
    assert first.state == RunState.SUCCEEDED, first.errors
    text = (tmp_path / "tpl.csv").read_text()
    assert len(text.splitlines()) == 300
    engine.update_job(
        "tpl",
        {
            "name": "tpl",
            "datagen": {
                "datasets": ["customers"],
                "generator": {"format": "template", "options": {"record": "{{ id }}"}},
                "sinks": [
                    {"type": "sqlite", "options": {"path": str(tmp_path / "t.db")}},
                    {"type": "file", "options": {"base_dir": str(tmp_path), "path": "again.txt"}},
                ],
            },
        },
    )
    replay = engine.wait_for_run(engine.replay_run(first.id).id, timeout=60)
    assert replay.state == RunState.PARTIALLY_SUCCEEDED
    failed = [t for t in replay.tasks if t.state == "failed"]
    assert len(failed) == 1 and "cannot be read back into records" in (failed[0].error or "")
    assert (tmp_path / "again.txt").read_text() == text

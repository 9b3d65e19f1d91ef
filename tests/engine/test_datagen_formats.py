"""Each format's output parses back (csv, json, sqlite3 running the SQL, ElementTree), and
the decoders give the records back for replay into table sinks."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
from jobtui.engine.datagen.formats import (
    column_types,
    encode_all,
    make_decoder,
    make_encoder,
    quote_identifier,
    sql_literal,
)
from jobtui.engine.datagen.generate import DatasetGenerator
from jobtui.engine.model.errors import SpecError

NASTY = {
    "name": "nasty",
    "fields": [
        {"name": "id", "type": "sequence"},
        {
            "name": "text",
            "type": "choice",
            "values": [
                "O'Brien",
                'say "hi"',
                "a,b;c",
                "line\nbreak",
                "back\\slash",
                "<&>",
                "ünï©ødé",
                "tab\tend",
                "semi;\n'quote",
                "\x01ctl",
            ],
        },
        {"name": "n", "type": "integer", "min": -5, "max": 5, "nullable": 30},
        {"name": "x", "type": "float", "min": 0, "max": 1, "decimals": 3},
        {"name": "ok", "type": "boolean"},
        {
            "name": "o",
            "type": "object",
            "fields": [{"name": "k", "type": "pattern", "pattern": "??#"}],
        },
        {
            "name": "l",
            "type": "list",
            "item": {"type": "integer", "min": 1, "max": 9},
            "max_items": 3,
        },
    ],
}


def sample(spec: dict[str, Any], n: int = 300) -> list[dict[str, Any]]:
    return DatasetGenerator([spec], seed=2).sample(spec["name"], n)


def roundtrip(fmt: str, options: dict[str, Any], spec: dict[str, Any], rows: list[Any]) -> Any:
    data = encode_all(fmt, options, spec, rows)
    decoder = make_decoder(fmt, options, spec)
    return data, [r for batch in decoder.decode(io.BytesIO(data)) for r in batch]


def test_jsonl_and_json_parse_back() -> None:
    rows = sample(NASTY)
    data, back = roundtrip("jsonl", {}, NASTY, rows)
    assert [json.loads(line) for line in data.splitlines()] == rows == back
    for options in ({}, {"indent": 2}, {"ensure_ascii": True}):
        data, back = roundtrip("json", options, NASTY, rows)
        assert json.loads(data) == rows == back
    assert json.loads(encode_all("json", {}, NASTY, [])) == []


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"delimiter": ";", "quoting": "all", "line_terminator": "\r\n"},
        {"delimiter": "\t", "quoting": "nonnumeric", "header": False},
        {"quotechar": "'", "quoting": "minimal"},
    ],
)
def test_csv_parses_back(options: dict[str, Any]) -> None:
    rows = sample(NASTY)
    data, back = roundtrip("csv", options, NASTY, rows)
    reader = csv.reader(
        io.StringIO(data.decode(), newline=""),
        delimiter=options.get("delimiter", ","),
        quotechar=options.get("quotechar", '"'),
    )
    parsed = list(reader)
    if options.get("header", True):
        assert parsed[0] == [f["name"] for f in NASTY["fields"]]
        parsed = parsed[1:]
    assert len(parsed) == len(rows)
    assert [p[1] for p in parsed] == [r["text"] for r in rows]
    assert back == rows


def test_csv_without_quoting_escapes() -> None:
    rows = [{"id": 1, "text": 'a,b"c'}]
    spec = {
        "name": "t",
        "fields": [
            {"name": "id", "type": "sequence"},
            {"name": "text", "type": "constant", "value": ""},
        ],
    }
    data, back = roundtrip("csv", {"quoting": "none"}, spec, rows)
    assert data.decode().splitlines()[1] == '1,a\\,b\\"c'
    assert back == rows


@pytest.mark.parametrize(
    "options",
    [{}, {"create_table": True, "rows_per_statement": 7}, {"table": "T1", "create_table": True}],
)
def test_sqlite_runs_the_sql(options: dict[str, Any]) -> None:
    rows = sample(NASTY)
    data, back = roundtrip("sql", {"dialect": "sqlite", **options}, NASTY, rows)
    db = sqlite3.connect(":memory:")
    if not options.get("create_table"):
        db.execute("CREATE TABLE nasty (id, text, n, x, ok, o, l)")
    db.executescript(data.decode())
    table = options.get("table", "nasty")
    got = db.execute(f'SELECT id, text, n, x, ok, o, l FROM "{table}" ORDER BY id').fetchall()
    assert [g[1] for g in got] == [r["text"] for r in rows]
    assert [g[2] for g in got] == [r["n"] for r in rows]
    assert [g[4] for g in got] == [int(r["ok"]) for r in rows]
    assert [json.loads(g[5]) for g in got] == [r["o"] for r in rows]
    assert back == rows
    if options.get("rows_per_statement") == 7:
        assert data.count(b"INSERT INTO") == (len(rows) + 6) // 7


def test_sql_dialects_quote_and_escape() -> None:
    assert quote_identifier('we"ird', "postgresql") == '"we""ird"'
    assert quote_identifier("we`ird", "mysql") == "`we``ird`"
    assert sql_literal("O'Brien\\", "postgresql") == "'O''Brien\\'"
    assert sql_literal("O'Brien\\\n", "mysql") == "'O''Brien\\\\\\n'"
    assert sql_literal(True, "postgresql") == "TRUE" and sql_literal(True, "sqlite") == "1"
    assert sql_literal(None, "mysql") == "NULL" and sql_literal(float("nan"), "sqlite") == "NULL"
    rows = sample(NASTY, 50)
    for dialect in ("postgresql", "mysql"):
        data, back = roundtrip("sql", {"dialect": dialect, "create_table": True}, NASTY, rows)
        assert back == rows
        head = data.decode().split(";\n")[0]
        assert ("BIGINT" in head) and ("JSONB" in head if dialect == "postgresql" else True)


def test_xml_parses_back() -> None:
    rows = sample(NASTY)
    for options in ({}, {"indent": False, "root": "data", "item": "row"}):
        data, back = roundtrip("xml", options, NASTY, rows)
        root = ET.fromstring(data)
        assert root.tag == options.get("root", "records")
        assert len(root) == len(rows)
        texts = [el.findtext("text") for el in root]
        # XML 1.0 cannot hold \x01: it is replaced visibly, and counted.
        assert texts == [r["text"].replace("\x01", "\ufffd") for r in rows]
        expected = [{**r, "text": r["text"].replace("\x01", "\ufffd")} for r in rows]
        assert back == expected


def test_builtins_in_every_format_and_column_types() -> None:
    gen = DatasetGenerator(list(BUILTIN_DATASETS.values()), seed=1)
    for name, spec in BUILTIN_DATASETS.items():
        rows = gen.sample(name, 20)
        for fmt in ("jsonl", "json", "csv", "sql", "xml"):
            _, back = roundtrip(fmt, {}, spec, rows)
            assert len(back) == 20, (name, fmt)
            # Every format gives the same records back (an address's postcode "01234"
            # stays text in XML too).
            assert back == rows, (name, fmt)
    types = column_types(BUILTIN_DATASETS["orders"])
    assert types["id"] == "INTEGER" and types["customer_id"] == "INTEGER"
    assert types["total"] == "REAL" and types["ordered_at"] == "DATETIME"
    assert types["status"] == "TEXT"
    assert column_types(BUILTIN_DATASETS["customers"])["address"] == "JSON"


def test_parallel_encoding_equals_serial() -> None:
    rows = sample(NASTY, 90)
    for fmt in ("jsonl", "json", "csv", "sql", "xml"):
        serial = make_encoder(fmt, {}, NASTY)
        whole = (
            serial.header() + serial.encode(rows[:40]) + serial.encode(rows[40:]) + serial.footer()
        )
        other = make_encoder(fmt, {}, NASTY)
        parts = other.encode_at(rows[:40], 0) + other.encode_at(rows[40:], 40)
        other.advance(90)
        assert other.header() + parts + other.footer() == whole, fmt


def test_bad_options_are_named() -> None:
    with pytest.raises(SpecError) as info:
        make_encoder("csv", {"delimiter": ";;", "bogus": 1}, NASTY)
    messages = [str(e) for e in info.value.errors]
    assert "generator.options.delimiter: must be exactly one character" in messages
    assert "generator.options.bogus: unknown key" in messages

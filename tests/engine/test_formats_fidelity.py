"""Output every reader reads back exactly (issue 17, points 8-11): 2,000 records full of
hard strings in every format, read by Python's own parsers, by the `sqlite3` and `psql`
command-line clients, and replayed into SQLite and PostgreSQL table sinks."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, RunState
from jobtui.engine.datagen.formats import make_decoder, make_encoder
from jobtui.engine.datagen.generate import DatasetGenerator

from .test_sinks_tables import pg_dsn

HARD_STRINGS = [
    "",
    "plain",
    'say "hi"',
    "O'Brien",
    "a\rb",
    "a\nb",
    "a\r\nb",
    "\r",
    "\n",
    "\r\n",
    "tab\tend",
    "\x01ctl",
    "]]>",
    "<&>",
    "emoji 😀🎉",
    "comma,semi;",
    "back\\slash",
    " spaced ",
    "\ufffd already",
    "true",
    "123",
    "NULL",
    "\\N",
]
HARD = {
    "name": "hard",
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "text", "type": "choice", "values": HARD_STRINGS, "nullable": 10},
        {"name": "other", "type": "choice", "values": HARD_STRINGS},
        {
            "name": "big",
            "type": "integer",
            "min": -(2**63),
            "max": 2**63 - 1,
            "nullable": 5,
        },
        {"name": "x", "type": "float", "min": -1000, "max": 1000, "decimals": 4},
        {"name": "ok", "type": "boolean", "nullable": 10},
        {
            "name": "o",
            "type": "object",
            "fields": [{"name": "k", "type": "choice", "values": HARD_STRINGS, "nullable": 10}],
        },
        {
            "name": "l",
            "type": "list",
            "item": {"type": "choice", "values": HARD_STRINGS},
            "max_items": 3,
        },
    ],
}
COUNT = 2000
SEED = 7
NAMES = [f["name"] for f in HARD["fields"]]


def records() -> list[dict[str, Any]]:
    gen = DatasetGenerator([HARD], seed=SEED)
    return [r for batch in gen.batches("hard", COUNT, 500) for r in batch]


def encode(fmt: str, options: dict[str, Any], rows: list[dict[str, Any]]) -> tuple[bytes, Any]:
    encoder = make_encoder(fmt, options, HARD)
    parts = [encoder.header()]
    parts += [encoder.encode(rows[i : i + 300]) for i in range(0, len(rows), 300)]
    parts.append(encoder.footer())
    return b"".join(parts), encoder


def decode(fmt: str, options: dict[str, Any], data: bytes) -> list[dict[str, Any]]:
    decoder = make_decoder(fmt, options, HARD)
    return [r for batch in decoder.decode(io.BytesIO(data)) for r in batch]


def csv_text(value: Any) -> str:
    """What a plain CSV reader gives for a value this format wrote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def xml_safe(value: Any) -> Any:
    """A value as XML gives it back: \\x01 (which XML 1.0 cannot hold) replaced."""
    if isinstance(value, str):
        return value.replace("\x01", "\ufffd")
    if isinstance(value, dict):
        return {k: xml_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [xml_safe(v) for v in value]
    return value


def without_crlf(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\r\n", "\n\r")
    if isinstance(value, dict):
        return {k: without_crlf(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_crlf(v) for v in value]
    return value


def test_the_dataset_is_hard_enough() -> None:
    rows = records()
    texts = [r["text"] for r in rows]
    assert all(s in texts for s in HARD_STRINGS)
    assert None in texts and any(r["big"] and abs(r["big"]) > 2**53 for r in rows)
    assert any(r["l"] == [""] or "" in r["l"] for r in rows)


def test_json_formats_read_back_exactly() -> None:
    rows = records()
    data, _ = encode("jsonl", {}, rows)
    assert [json.loads(line) for line in data.split(b"\n") if line] == rows
    assert decode("jsonl", {}, data) == rows
    for options in ({}, {"indent": 2}, {"ensure_ascii": True}):
        data, _ = encode("json", options, rows)
        assert json.loads(data) == rows
        assert decode("json", options, data) == rows


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"line_terminator": "\r\n"},
        {"delimiter": ";", "quoting": "all"},
        {"delimiter": "\t", "quoting": "nonnumeric", "header": False},
        {"quotechar": "'"},
    ],
)
def test_csv_reads_back_exactly(options: dict[str, Any]) -> None:
    """A lone \\r is quoted whatever the line terminator (one row per record for Python's
    reader), and the decoder tells empty strings from nulls (inside lists too)."""
    rows = records()
    data, _ = encode("csv", options, rows)
    parsed = list(
        csv.reader(
            io.StringIO(data.decode(), newline=""),
            delimiter=options.get("delimiter", ","),
            quotechar=options.get("quotechar", '"'),
        )
    )
    if options.get("header", True):
        assert parsed.pop(0) == NAMES
    assert len(parsed) == COUNT
    assert parsed == [[csv_text(r[n]) for n in NAMES] for r in rows]
    assert decode("csv", options, data) == rows


def test_csv_without_quoting_escapes_line_breaks() -> None:
    """`quoting: none` escapes \\r and \\n; with no quotes, an empty string reads back as
    null (the one thing that mode cannot tell apart)."""
    rows = records()
    data, _ = encode("csv", {"quoting": "none"}, rows)
    parsed = list(
        csv.reader(
            io.StringIO(data.decode(), newline=""),
            quoting=csv.QUOTE_NONE,
            escapechar="\\",
        )
    )[1:]
    assert parsed == [[csv_text(r[n]) for n in NAMES] for r in rows]
    expected = [{k: (None if v == "" else v) for k, v in r.items()} for r in rows]
    assert decode("csv", {"quoting": "none"}, data) == expected


@pytest.mark.parametrize("options", [{}, {"indent": False}])
def test_xml_escapes_and_counts_what_it_must_replace(options: dict[str, Any]) -> None:
    rows = records()
    data, encoder = encode("xml", options, rows)
    assert b"&#13;" in data and b"\r" not in data
    root = ET.fromstring(data)
    assert len(root) == COUNT
    texts = [el.find("text") for el in root]
    assert [None if t.get("null") else (t.text or "") for t in texts] == [
        None if r["text"] is None else xml_safe(r["text"]) for r in rows
    ]
    back = decode("xml", options, data)
    assert back == [xml_safe(r) for r in rows]
    replaced = json.dumps(rows).count("\\u0001")
    assert replaced > 100
    assert encoder.notes() == [
        f"{replaced} character(s) that XML 1.0 cannot hold (control characters) written as U+FFFD"
    ]


def _sqlite_rows(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    cur = conn.execute(f'SELECT * FROM "{table}" ORDER BY id')
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _as_sqlite(record: dict[str, Any]) -> dict[str, Any]:
    """A record as a table holds it: booleans 0/1, objects and lists JSON text (parsed
    again on both sides, so the comparison is by value)."""
    out = {}
    for k, v in record.items():
        if isinstance(v, bool):
            v = int(v)
        out[k] = v
    return out


def _loaded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        for key in ("o", "l"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
        if isinstance(row["ok"], bool):
            row["ok"] = int(row["ok"])
    return rows


def test_sql_runs_in_python_sqlite3() -> None:
    rows = records()
    data, _ = encode("sql", {"dialect": "sqlite", "create_table": True}, rows)
    conn = sqlite3.connect(":memory:")
    conn.executescript(data.decode())
    assert _loaded(_sqlite_rows(conn, "hard")) == [_as_sqlite(r) for r in rows]
    assert decode("sql", {"dialect": "sqlite"}, data) == rows


def _cli(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"the {name} command-line client is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (.ci/run installs it)")
        pytest.skip(message)
    return path


def test_the_sqlite3_cli_loads_the_sql_and_the_csv(tmp_path: Path) -> None:
    sqlite3_cli = _cli("sqlite3")
    rows = records()
    db = tmp_path / "t.db"
    data, _ = encode("sql", {"dialect": "sqlite", "create_table": True}, rows)
    (tmp_path / "t.sql").write_bytes(data)
    subprocess.run(
        [sqlite3_cli, "-bail", str(db), f".read {tmp_path / 't.sql'}"], check=True, timeout=60
    )
    with sqlite3.connect(db) as conn:
        assert _loaded(_sqlite_rows(conn, "hard")) == [_as_sqlite(r) for r in rows]
    # The CLI's CSV import (which reads every field as text, nulls as '').
    data, _ = encode("csv", {}, rows)
    (tmp_path / "t.csv").write_bytes(data)
    subprocess.run(
        [sqlite3_cli, "-bail", str(db), ".mode csv", f".import {tmp_path / 't.csv'} c"],
        check=True,
        timeout=60,
    )
    with sqlite3.connect(db) as conn:
        got = conn.execute("SELECT * FROM c").fetchall()
    assert [list(g) for g in got] == [[csv_text(r[n]) for n in NAMES] for r in rows]


def _psql(dsn: str, *args: str) -> None:
    psql = _cli("psql")
    subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, *args],
        check=True,
        timeout=120,
        capture_output=True,
    )


def _pg_rows(dsn: str, table: str) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return list(conn.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall())


def _drop(dsn: str, *tables: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in tables:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')


@pytest.mark.server
@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_psql_loads_the_sql(tmp_path: Path, dialect: str) -> None:
    """The sqlite dialect types 64-bit integers BIGINT, so its file loads into
    PostgreSQL too (INTEGER there is 32-bit). Except a CR LF in a string: the sqlite
    dialect writes it `'...'||char(13)||'\n...'` (the sqlite3 shell drops the CR of a CR
    LF it reads), which PostgreSQL has no char() for."""
    dsn = pg_dsn()
    table = f"jobtui_fid_{dialect}_{uuid.uuid4().hex[:8]}"
    rows = records()
    if dialect == "sqlite":
        rows = [without_crlf(r) for r in rows]
    data, _ = encode("sql", {"dialect": dialect, "create_table": True, "table": table}, rows)
    (tmp_path / "t.sql").write_bytes(data)
    try:
        _psql(dsn, "-f", str(tmp_path / "t.sql"))
        got = _pg_rows(dsn, table)
    finally:
        _drop(dsn, table)
    if dialect == "sqlite":
        got = _loaded(got)
        expected = [_as_sqlite(r) for r in rows]
    else:
        expected = rows  # BOOLEAN and JSONB come back as Python values
    assert got == expected


@pytest.mark.server
def test_psql_copy_reads_empty_strings_and_nulls_from_the_csv(tmp_path: Path) -> None:
    """PostgreSQL's CSV reader honours quoting: `""` is an empty string, an empty unquoted
    field is NULL, exactly the values of the run."""
    dsn = pg_dsn()
    table = f"jobtui_fid_csv_{uuid.uuid4().hex[:8]}"
    rows = records()
    data, _ = encode("csv", {}, rows)
    (tmp_path / "t.csv").write_bytes(data)
    create = (
        f'CREATE TABLE "{table}" (id BIGINT, text TEXT, other TEXT, big BIGINT, '
        "x DOUBLE PRECISION, ok BOOLEAN, o JSONB, l JSONB)"
    )
    try:
        _psql(dsn, "-c", create)
        _psql(
            dsn,
            "-c",
            f"\\copy \"{table}\" FROM '{tmp_path / 't.csv'}' WITH (FORMAT csv, HEADER true)",
        )
        got = _pg_rows(dsn, table)
    finally:
        _drop(dsn, table)
    assert got == rows


@pytest.mark.server
@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "sql", "xml", "parquet", "avro", "excel"])
def test_replay_into_sqlite_and_postgres_gives_back_the_runs_values(
    engine: Engine, tmp_path: Path, fmt: str
) -> None:
    dsn = pg_dsn()
    table = f"jobtui_replay_{fmt}_{uuid.uuid4().hex[:8]}"
    engine.save_dataset(HARD)
    out = tmp_path / "out"
    spec: dict[str, Any] = {
        "datasets": ["hard"],
        "max_records": COUNT,
        "seed": SEED,
        "generator": {"format": fmt},
        "replay": {"enabled": True, "keep": 2},
        "sinks": [{"type": "file", "options": {"base_dir": str(out), "path": "hard.{ext}"}}],
    }
    engine.create_job({"name": "hard", "datagen": spec})
    first = engine.wait_for_run(engine.queue_run("hard").id, timeout=120)
    assert first.state == RunState.SUCCEEDED, first.errors
    spec["sinks"] = [
        {"type": "sqlite", "options": {"path": str(out / "replay.db"), "table": "hard"}},
        {"type": "postgres", "options": {"dsn": dsn, "table": table}},
    ]
    engine.update_job("hard", {"name": "hard", "datagen": spec})
    try:
        replay = engine.wait_for_run(engine.replay_run(first.id).id, timeout=120)
        assert replay.state == RunState.SUCCEEDED, replay.errors
        assert [t.records for t in replay.tasks] == [COUNT, COUNT]
        pg = _pg_rows(dsn, table)
    finally:
        _drop(dsn, table)
    expected = [xml_safe(r) if fmt == "xml" else r for r in records()]
    with sqlite3.connect(out / "replay.db") as conn:
        assert _loaded(_sqlite_rows(conn, "hard")) == [_as_sqlite(r) for r in expected]
    assert _loaded(pg) == [_as_sqlite(r) for r in expected]
    if fmt == "xml":
        replaced = json.dumps(records()).count("\\u0001")
        assert any(f"{replaced} character(s) that XML 1.0 cannot hold" in r for r in first.results)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"quoting": "all"},
        {"quoting": "nonnumeric", "line_terminator": "\r\n"},
        {"quoting": "none"},
        {"quotechar": "'", "delimiter": ";"},
    ],
)
def test_column_wise_csv_is_the_cell_by_cell_rules(options: dict[str, Any]) -> None:
    """The fast column-wise encoder (issue 18) writes what the cell rules say, for hard
    strings and for built-in datasets (nested objects, nulls, commas, line breaks)."""
    from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
    from jobtui.engine.datagen.formats.csv_format import cell_writer
    from jobtui.engine.model.formats import CsvOptions

    opts = CsvOptions.model_validate(options)
    cell = cell_writer(opts)
    specs = [HARD, BUILTIN_DATASETS["customers"], BUILTIN_DATASETS["users"]]
    gen = DatasetGenerator(specs, seed=SEED)
    for spec in specs:
        names = [f["name"] for f in spec["fields"]]
        rows = gen.sample(spec["name"], 700)
        expected = "".join(
            opts.delimiter.join(cell(r[n]) for n in names) + opts.line_terminator for r in rows
        )
        encoder = make_encoder("csv", options, spec)
        columns = [[r[n] for r in rows] for n in names]
        assert encoder.encode_columns_at(columns, 0).decode() == expected, spec["name"]

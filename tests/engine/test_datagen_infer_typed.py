"""`datasets infer` on typed files (Parquet, Avro, Excel): types from the file's own schema.

Round trips: a built-in dataset generated in the format, inferred back, has the same
column types (and the same nesting); files written by the ecosystems' own writers keep
their schema's types even where the values alone would say otherwise."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jobtui.cli import cli
from jobtui.engine import Engine
from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
from jobtui.engine.datagen.fields import validate_dataset
from jobtui.engine.datagen.formats import column_types, encode_all
from jobtui.engine.datagen.formats.typed import nodes_of
from jobtui.engine.datagen.generate import DatasetGenerator
from jobtui.engine.datagen.infer import infer_spec
from jobtui.engine.model.errors import InvalidInput

EXTENSIONS = {"parquet": "parquet", "avro": "avro", "excel": "xlsx"}
ROUND_TRIP = ["users", "customers", "orders", "products", "iot_readings", "app_logs"]


def shape(spec: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    names = [f["name"] for f in spec["fields"]]
    return [(n.name, n.kind, [c.kind for c in n.children]) for n in nodes_of(spec, names)]


def by_name(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in spec["fields"]}


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
@pytest.mark.parametrize("dataset", ROUND_TRIP)
def test_round_trip_keeps_types(tmp_path: Path, fmt: str, dataset: str) -> None:
    spec = BUILTIN_DATASETS[dataset]
    gen = DatasetGenerator(list(BUILTIN_DATASETS.values()), seed=7, locale="en_US")
    records = gen.sample(dataset, 300)
    path = tmp_path / f"{dataset}.{EXTENSIONS[fmt]}"
    path.write_bytes(encode_all(fmt, {}, spec, records))
    inferred = validate_dataset(infer_spec(path, f"{dataset}_back"))
    assert column_types(inferred) == column_types(spec)
    assert shape(inferred) == shape(spec)
    # The inferred dataset generates, and its output has the same types again.
    again = DatasetGenerator([inferred], seed=1, locale="en_US").sample(f"{dataset}_back", 50)
    back = tmp_path / f"again.{EXTENSIONS[fmt]}"
    back.write_bytes(encode_all(fmt, {}, inferred, again))
    assert column_types(infer_spec(back, "again")) == column_types(spec)


def test_parquet_schema_decides_over_values(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 60
    schema = pa.schema(
        [
            pa.field("day", pa.date32(), nullable=False),
            pa.field("day_text", pa.string()),
            pa.field("at", pa.timestamp("ms", tz="UTC")),
            pa.field("price", pa.decimal128(8, 2)),
            pa.field("flag", pa.bool_()),
            pa.field("level", pa.int16()),
            pa.field("point", pa.struct([("x", pa.float64()), ("label", pa.string())])),
            pa.field("scores", pa.list_(pa.int32())),
        ]
    )
    days = [date(2024, 1, 1), date(2024, 3, 5), date(2024, 6, 30)]
    table = pa.table(
        {
            "day": [days[i % 3] for i in range(n)],
            "day_text": [days[i % 3].isoformat() for i in range(n)],
            "at": [datetime(2024, 1, 1 + i % 28, 8, i % 60, tzinfo=UTC) for i in range(n)],
            "price": [Decimal(f"{i}.25") for i in range(n)],
            "flag": [None if i % 4 == 0 else i % 2 == 0 for i in range(n)],
            "level": [i % 3 for i in range(n)],
            "point": [{"x": i / 2, "label": f"p{i % 2}"} for i in range(n)],
            "scores": [[i, i + 1] for i in range(n)],
        },
        schema=schema,
    )
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    found = infer_spec(path, "typed", explain=True)
    fields = by_name(found["dataset"])
    # Three distinct dates would be a choice of texts from the values alone.
    assert fields["day"]["type"] == "date_range"
    assert (fields["day"]["start"], fields["day"]["end"]) == ("2024-01-01", "2024-06-30")
    assert "nullable" not in fields["day"]  # not nullable in the schema
    # ISO dates in a string column stay text.
    assert column_types(found["dataset"])["day_text"] == "TEXT"
    assert fields["at"]["type"] == "datetime_range"
    assert column_types(found["dataset"])["price"] == "REAL"
    assert fields["flag"]["type"] == "boolean" and fields["flag"]["nullable"] == 25.0
    assert fields["level"] == {
        "name": "level",
        "type": "choice",
        "values": [0, 1, 2],
        "weights": [20, 20, 20],
    }
    assert fields["point"]["type"] == "object"
    assert [f["name"] for f in fields["point"]["fields"]] == ["x", "label"]
    assert fields["scores"]["type"] == "list" and fields["scores"]["item"]["type"] == "integer"
    why = {c["column"]: c["why"] for c in found["columns"]}
    assert "the schema says date" in why["day"]


def test_avro_unions_enums_and_logical_types(tmp_path: Path) -> None:
    import fastavro

    schema = {
        "type": "record",
        "name": "Event",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["a", "b"]}},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "note", "type": ["null", "string"]},
            {
                "name": "origin",
                "type": {
                    "type": "record",
                    "name": "Place",
                    "fields": [{"name": "city", "type": "string"}],
                },
            },
            {"name": "target", "type": ["null", "Place"]},
        ],
    }
    rows = [
        {
            "id": i,
            "kind": "ab"[i % 2],
            "at": datetime(2024, 5, 1 + i % 20, tzinfo=UTC),
            "note": None if i % 2 else f"note {i}",
            "origin": {"city": "Lyon"},
            "target": None if i % 3 else {"city": "Oslo"},
        }
        for i in range(1, 41)
    ]
    path = tmp_path / "events.avro"
    with path.open("wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(schema), rows)
    spec = infer_spec(path, "events")
    fields = by_name(spec)
    assert fields["id"]["type"] == "sequence"
    assert fields["kind"]["type"] == "choice" and sorted(fields["kind"]["values"]) == ["a", "b"]
    assert fields["at"]["type"] == "datetime_range"
    assert fields["note"]["nullable"] == 50.0
    assert fields["target"]["type"] == "object" and fields["target"]["nullable"] > 0
    assert "nullable" not in fields["origin"]
    validate_dataset(spec)


def test_excel_sheets_dates_and_table_option(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    first.title = "notes"
    first.append(["text"])
    first.append(["hello"])
    sheet = book.create_sheet("people")
    sheet.append(["name", "born", "seen", "visits", "vip"])
    for i in range(30):
        sheet.append(
            [f"P{i}", datetime(1990, 1, 1 + i % 28), datetime(2024, 1, 1, 8, i), i * 3, i % 2 == 0]
        )
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].number_format = "yyyy-mm-dd"
    path = tmp_path / "book.xlsx"
    book.save(path)
    found = infer_spec(path, "people", explain=True, table="people")
    fields = by_name(found["dataset"])
    assert fields["born"]["type"] == "date_range"
    assert fields["seen"]["type"] == "datetime_range"
    assert column_types(found["dataset"])["visits"] == "INTEGER"
    assert fields["vip"]["type"] == "boolean"
    default = infer_spec(path, "first", explain=True)
    assert [f["name"] for f in default["dataset"]["fields"]] == ["text"]
    assert "choose another with --table" in default["warnings"][0]
    with pytest.raises(InvalidInput, match="no sheet 'nope' \\(sheets: notes, people\\)"):
        infer_spec(path, "x", table="nope")


def test_damaged_file_is_refused_with_its_kind(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 20)
    with pytest.raises(InvalidInput, match="cannot read it as parquet"):
        infer_spec(path, "broken")


def test_cli_infers_a_parquet_file_and_saves_it(tmp_path: Path, engine: Engine) -> None:
    spec = BUILTIN_DATASETS["orders"]
    records = DatasetGenerator(list(BUILTIN_DATASETS.values()), seed=2).sample("orders", 100)
    path = tmp_path / "orders.parquet"
    path.write_bytes(encode_all("parquet", {}, spec, records))
    env = {"JOBTUI_DATA_DIR": str(engine.data_dir), "JOBTUI_DB": None}
    runner = CliRunner()
    shown = runner.invoke(cli, ["datasets", "infer", str(path), "--name", "o2", "--save"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["name"] == "o2"
    assert column_types(engine.get_dataset("o2").to_spec()) == column_types(spec)
    bad = runner.invoke(
        cli, ["datasets", "infer", str(path), "--name", "o3", "--table", "x"], env=env
    )
    assert bad.exit_code == 2 and "table: orders.parquet is a parquet file" in bad.output

"""`datasets infer` from schemas without samples: JSON Schema documents and SQL CREATE TABLE
(types, NOT NULL, CHECK ranges, foreign keys as references; INSERTs read as a sample).
Each inferred dataset is generated and its records are checked against the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jobtui.cli import cli
from jobtui.engine import Engine
from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
from jobtui.engine.datagen.fields import validate_dataset
from jobtui.engine.datagen.formats import column_types, encode_all
from jobtui.engine.datagen.generate import DatasetGenerator
from jobtui.engine.datagen.infer import infer_spec
from jobtui.engine.model.errors import InvalidInput

PERSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Person",
    "type": "object",
    "required": ["id", "email"],
    "properties": {
        "id": {"type": "integer", "minimum": 1, "maximum": 99999},
        "email": {"type": "string", "format": "email"},
        "first_name": {"type": "string"},
        "sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"},
        "age": {"type": ["integer", "null"], "exclusiveMinimum": 17, "maximum": 99},
        "score": {"type": "number", "minimum": 0, "exclusiveMaximum": 10},
        "born": {"type": "string", "format": "date"},
        "status": {"enum": ["active", "banned", None]},
        "kind": {"const": "person"},
        "address": {"$ref": "#/$defs/address"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        "uid": {"type": "string", "format": "uuid"},
        "pet": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "properties": {"name": {"type": "string"}}},
            ]
        },
    },
    "$defs": {
        "address": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "zip": {"type": "string", "pattern": "^\\d{5}$"},
            },
        }
    },
}

SHOP_SQL = """-- a shop
CREATE TABLE shop_customers (
  id SERIAL PRIMARY KEY,
  email VARCHAR(255) NOT NULL UNIQUE,
  country CHAR(2),
  born DATE CHECK (born >= '1940-01-01' AND born < '2010-01-01'),
  score INT CHECK (score BETWEEN 1 AND 5),
  vip BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE shop_orders (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id INT NOT NULL,
  total NUMERIC(8,2) NOT NULL CHECK (total > 0),
  status VARCHAR(10) NOT NULL CHECK (status IN ('new', 'paid', 'sent')),
  placed_at TIMESTAMP WITH TIME ZONE NOT NULL,
  tags TEXT[],
  meta JSONB,
  CONSTRAINT fk_c FOREIGN KEY (customer_id) REFERENCES shop_customers (id),
  CHECK (total <= 5000)
);
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def fields_of(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in spec["fields"]}


def generate(specs: list[dict[str, Any]], name: str, n: int = 300) -> list[dict[str, Any]]:
    return DatasetGenerator(specs, seed=5, locale="en_US").sample(name, n)


# -- JSON Schema ------------------------------------------------------------------------------
def test_json_schema_fields_follow_the_schema(tmp_path: Path) -> None:
    path = write(tmp_path, "person.schema.json", json.dumps(PERSON_SCHEMA, indent=2))
    found = infer_spec(path, "person", explain=True)
    spec = validate_dataset(found["dataset"])
    fields = fields_of(spec)
    assert fields["email"]["provider"] == "email"
    assert fields["first_name"]["provider"] == "first_name"  # by its name
    assert fields["uid"]["type"] == "uuid"
    assert fields["kind"] == {"name": "kind", "type": "constant", "value": "person"}
    assert fields["address"]["type"] == "object"
    assert fields["pet"]["type"] == "object" and fields["pet"]["nullable"] > 0
    assert "nullable" not in fields["id"]
    why = {c["column"]: c["why"] for c in found["columns"]}
    assert "null allowed" in why["age"] and "string matching" in why["sku"]
    for record in generate([spec], "person"):
        assert 1 <= record["id"] <= 99999
        assert record["age"] is None or 18 <= record["age"] <= 99
        assert 0 <= record["score"] < 10
        assert re.fullmatch(r"[A-Z]{3}-\d{4}", record["sku"])
        assert re.fullmatch(r"\d{5}", record["address"]["zip"])
        assert record["status"] in ("active", "banned", None)
        assert 1 <= len(record["tags"]) <= 3
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["born"])


def test_json_schema_array_root_and_draft4_bounds(tmp_path: Path) -> None:
    doc = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "n": {"type": "integer", "minimum": 5, "maximum": 9, "exclusiveMaximum": True},
                "price": {"type": "number", "nullable": True},
            },
        },
    }
    path = write(tmp_path, "list.json", json.dumps(doc))
    fields = fields_of(infer_spec(path, "rows"))
    assert (fields["n"]["min"], fields["n"]["max"]) == (5, 8)
    assert fields["price"]["type"] == "float" and fields["price"]["nullable"] == 10.0


def test_json_schema_refs_that_cannot_be_followed(tmp_path: Path) -> None:
    loop = {"$schema": "x", "type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}}
    loop["$defs"] = {"a": {"$ref": "#/$defs/a"}}
    with pytest.raises(InvalidInput, match="references loop"):
        infer_spec(write(tmp_path, "loop.json", json.dumps(loop)), "x")
    remote = {"$schema": "x", "properties": {"a": {"$ref": "other.json#/a"}}, "type": "object"}
    with pytest.raises(InvalidInput, match="only references inside the document"):
        infer_spec(write(tmp_path, "remote.json", json.dumps(remote)), "x")


def test_a_json_record_is_still_a_sample(tmp_path: Path) -> None:
    lines = "\n".join(json.dumps({"type": "object", "n": i}) for i in range(20))
    fields = fields_of(infer_spec(write(tmp_path, "r.jsonl", lines), "r"))
    assert set(fields) == {"type", "n"}


# -- SQL CREATE TABLE -------------------------------------------------------------------------
def test_sql_types_constraints_and_references(tmp_path: Path) -> None:
    path = write(tmp_path, "shop.sql", SHOP_SQL)
    customers = validate_dataset(infer_spec(path, "shop_customers"))
    found = infer_spec(path, "shop_orders", explain=True)
    orders = validate_dataset(found["dataset"])
    c, o = fields_of(customers), fields_of(orders)
    assert c["id"]["type"] == "sequence" and o["id"]["type"] == "sequence"
    assert c["email"] == {"name": "email", "type": "faker", "provider": "email", "unique": True}
    assert c["country"]["provider"] == "country_code" and c["country"]["nullable"] == 10.0
    assert (c["born"]["start"], c["born"]["end"]) == ("1940-01-01", "2009-12-31")
    assert (c["score"]["min"], c["score"]["max"]) == (1, 5)
    assert c["vip"] == {"name": "vip", "type": "boolean"}  # NOT NULL: never null
    assert o["customer_id"] == {
        "name": "customer_id",
        "type": "reference",
        "dataset": "shop_customers",
        "field": "id",
    }
    assert (o["total"]["min"], o["total"]["max"], o["total"]["decimals"]) == (0.01, 5000.0, 2)
    assert o["status"]["values"] == ["new", "paid", "sent"]
    assert o["tags"]["type"] == "list"
    assert column_types(orders)["meta"] == "JSON"
    assert any("infer and save it first" in w for w in found["warnings"])
    why = {col["column"]: col["why"] for col in found["columns"]}
    assert why["tags"].endswith("no NOT NULL: 10% null (a guess)")
    records = generate([customers, orders], "shop_orders")
    ids = {r["id"] for r in generate([customers, orders], "shop_customers", 300)}
    for record in records:
        assert 0 < record["total"] <= 5000 and record["status"] in ("new", "paid", "sent")
        assert record["customer_id"] in ids and record["placed_at"] is not None


def test_sql_file_with_several_tables_needs_a_choice(tmp_path: Path) -> None:
    path = write(tmp_path, "shop.sql", SHOP_SQL)
    with pytest.raises(InvalidInput, match="creates 2 tables \\(shop_customers, shop_orders\\)"):
        infer_spec(path, "other")
    with pytest.raises(InvalidInput, match="has no table 'nope'"):
        infer_spec(path, "other", table="nope")
    assert infer_spec(path, "other", table="shop_orders")["name"] == "other"


def test_sql_dialects(tmp_path: Path) -> None:
    mysql = """CREATE TABLE `items` (
      `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      `state` ENUM('on','off') NOT NULL,
      `active` TINYINT(1) NOT NULL,
      `price` DECIMAL(6,2) UNSIGNED CHECK (`price` >= 1),
      `made` DATETIME NOT NULL,
      PRIMARY KEY (`id`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"""
    fields = fields_of(validate_dataset(infer_spec(write(tmp_path, "m.sql", mysql), "items")))
    assert fields["id"]["type"] == "sequence"
    assert fields["state"]["values"] == ["on", "off"]
    assert fields["active"]["type"] == "boolean"
    assert (fields["price"]["min"], fields["price"]["max"]) == (1.0, 1001.0)
    assert fields["made"]["type"] == "datetime_range"
    tsql = """CREATE TABLE dbo.people (
      id INT IDENTITY(1,1) PRIMARY KEY,
      name NVARCHAR(100) NOT NULL,
      uid UNIQUEIDENTIFIER NOT NULL,
      seen DATETIME2,
      ok BIT NOT NULL
    )"""
    fields = fields_of(validate_dataset(infer_spec(write(tmp_path, "t.sql", tsql), "people")))
    assert fields["id"]["type"] == "sequence" and fields["name"]["provider"] == "name"
    assert fields["uid"]["type"] == "uuid" and fields["ok"]["type"] == "boolean"
    assert fields["seen"]["type"] == "datetime_range"


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_sql_round_trip_with_inserts(tmp_path: Path, dialect: str) -> None:
    """The SQL format's own output (CREATE TABLE and INSERTs): the types come back, and
    the inserted values shape the fields."""
    gen = DatasetGenerator(list(BUILTIN_DATASETS.values()), seed=4, locale="en_US")
    for name in ("orders", "users", "iot_readings"):
        spec = BUILTIN_DATASETS[name]
        options = {"dialect": dialect, "create_table": True}
        data = encode_all("sql", options, spec, gen.sample(name, 300))
        path = write(tmp_path, f"{name}.sql", data.decode())
        inferred = validate_dataset(infer_spec(path, f"{name}_back"))
        assert column_types(inferred) == column_types(spec), name
    again = infer_spec(tmp_path / "orders.sql", "o")
    assert "300 inserted rows" in again["description"]
    orders = fields_of(again)
    assert orders["status"]["type"] == "choice"  # from the values: TEXT in the CREATE TABLE
    assert orders["items"]["type"] == "choice" and set(orders["items"]["values"]) <= set(
        range(1, 13)
    )
    assert orders["order_number"]["type"] == "pattern"


def test_cli_infers_sql_tables_in_order_and_saves(tmp_path: Path, engine: Engine) -> None:
    path = write(tmp_path, "shop.sql", SHOP_SQL)
    env = {"JOBTUI_DATA_DIR": str(engine.data_dir), "JOBTUI_DB": None}
    runner = CliRunner()

    def infer(*args: str) -> Any:
        return runner.invoke(cli, ["datasets", "infer", str(path), *args], env=env)

    early = infer("--name", "shop_orders", "--save")
    assert early.exit_code == 2 and "shop_customers" in early.output  # its target is missing
    assert infer("--name", "shop_customers", "--save").exit_code == 0
    saved = infer("--name", "shop_orders", "--save", "--explain")
    assert saved.exit_code == 0, saved.output
    assert "customer_id: reference" in saved.stderr
    records = engine.sample_dataset("shop_orders", n=20, seed=1)
    assert all(r["customer_id"] is not None for r in records)
    bad = infer("--name", "x")
    assert bad.exit_code == 2 and "--table" in bad.output

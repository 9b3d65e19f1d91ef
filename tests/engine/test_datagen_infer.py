"""Inferring a dataset from sample files (CSV, JSON array, JSON lines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobtui.engine import Engine
from jobtui.engine.datagen.infer import infer_spec
from jobtui.engine.model.errors import InvalidInput


def kinds(spec: dict) -> dict[str, str]:
    return {f["name"]: f.get("provider") or f["type"] for f in spec["fields"]}


def test_csv_sample(tmp_path: Path) -> None:
    lines = [
        "Customer ID,Full Name,E-mail,Phone,City,Country,Signup Date,Last Login,"
        "Amount,Status,Zip,SKU,Website,IP,Company,Token,Active,Note"
    ]
    for i in range(1, 41):
        lines.append(
            f"{i},Jane Doe{i},jane{i}@example.com,+1 555-010-{1000 + i},Paris,France,"
            f"2024-01-{i % 28 + 1:02d},2024-02-01T10:{i % 60:02d}:00,{i * 3.25:.2f},"
            f"{['new', 'active', 'closed'][i % 3]},{75000 + i},AB-{1000 + i},"
            f"https://example.com/{i},10.0.0.{i},Acme {i} Inc,"
            f"6f1c2a4e-1b2c-4d5e-8f90-{i:012d},{'true' if i % 4 else 'false'},"
            + ("" if i % 5 == 0 else "something noted here")
        )
    path = tmp_path / "sample.csv"
    path.write_text("\n".join(lines) + "\n")
    spec = infer_spec(path, "people")
    k = kinds(spec)
    assert k["customer_id"] == "sequence"
    assert k["full_name"] == "name"
    assert k["e_mail"] == "email"
    assert k["phone"] == "phone_number"
    assert k["city"] == "city" and k["country"] == "country"
    assert k["signup_date"] == "date_range" and k["last_login"] == "datetime_range"
    assert k["amount"] == "float" and k["status"] == "choice"
    assert k["zip"] == "postcode" and k["sku"] == "pattern"
    assert k["website"] == "url" and k["ip"] == "ipv4" and k["company"] == "company"
    assert k["token"] == "uuid" and k["active"] == "boolean"
    note = next(f for f in spec["fields"] if f["name"] == "note")
    assert note["nullable"] == 20.0
    assert spec["fields"][0] == {
        "name": "customer_id",
        "type": "sequence",
        "start": 1,
        "step": 1,
        "unique": True,
    }


def test_json_and_jsonl_samples_with_nesting(tmp_path: Path, engine: Engine) -> None:
    records = [
        {
            "id": f"u{i}",
            "first_name": "Ann",
            "last_name": "Lee",
            "score": i * 1.5,
            "address": {"street": "1 Main St", "postcode": "12345"},
            "tags": ["a", "b"][: i % 3],
        }
        for i in range(12)
    ]
    (tmp_path / "s.json").write_text(json.dumps(records))
    (tmp_path / "s.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    for name in ("s.json", "s.jsonl"):
        spec = engine.infer_dataset(tmp_path / name, "people")
        k = kinds(spec)
        assert k["first_name"] == "first_name" and k["last_name"] == "last_name"
        assert k["address"] == "object" and k["tags"] == "list" and k["score"] == "float"
        address = next(f for f in spec["fields"] if f["name"] == "address")
        assert {f["name"]: f.get("provider") for f in address["fields"]} == {
            "street": "street_address",
            "postcode": "postcode",
        }
        # The inferred spec is valid and makes records.
        assert len(engine.sample_dataset(spec, n=3)) == 3


def test_unreadable_samples(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        (tmp_path / "e.csv").write_text("")
        infer_spec(tmp_path / "e.csv", "x")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        (tmp_path / "b.json").write_text("[{")
        infer_spec(tmp_path / "b.json", "x")
    with pytest.raises(InvalidInput):
        infer_spec(tmp_path / "missing.csv", "x")

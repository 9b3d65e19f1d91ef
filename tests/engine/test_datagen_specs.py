"""Dataset specs: built-ins are valid and realistic; mistakes are named with their path."""

from __future__ import annotations

from typing import Any

import pytest

from jobtui.engine.datagen.builtins import BUILTIN_DATASETS
from jobtui.engine.datagen.fields import validate_dataset
from jobtui.engine.model.errors import SpecError


def errors_of(spec: dict[str, Any], lookup: Any = None) -> list[str]:
    with pytest.raises(SpecError) as info:
        validate_dataset(spec, lookup=lookup)
    return [str(e) for e in info.value.errors]


def test_builtins_are_valid_and_at_least_eight() -> None:
    assert len(BUILTIN_DATASETS) >= 8
    for spec in BUILTIN_DATASETS.values():
        validate_dataset(spec, lookup=BUILTIN_DATASETS.get)
    assert {"users", "customers", "orders", "products", "payments", "clickstream"} <= set(
        BUILTIN_DATASETS
    )
    assert {"iot_readings", "app_logs"} <= set(BUILTIN_DATASETS)


def test_users_has_the_eight_benchmark_fields() -> None:
    fields = BUILTIN_DATASETS["users"]["fields"]
    assert len(fields) == 8
    kinds = {f.get("provider") or f["type"] for f in fields}
    assert {"name", "email", "address", "phone_number", "company"} <= kinds
    assert {"date_range", "integer", "uuid"} <= kinds


def test_every_mistake_is_named_with_its_path() -> None:
    spec = {
        "name": "bad",
        "fields": [
            {"name": "a", "type": "choice", "values": [1, 2], "weights": [1]},
            {"name": "a", "type": "zzz"},
            {"name": "c", "type": "faker", "provider": "nope"},
            {"name": "d", "type": "integer", "min": 5, "max": 1},
            {"name": "e", "type": "pattern", "pattern": ""},
            {"name": "f", "type": "boolean", "unique": True},
            {"name": "g", "type": "object", "fields": [{"name": "x", "type": "float", "max": -1}]},
            {"name": "h", "type": "list", "item": {"type": "sequence", "step": 0}},
            {"name": "i", "type": "integer", "nullable": 120},
            {"name": "j", "type": "faker", "provider": "name", "args": {"bogus": 1}},
        ],
    }
    errors = errors_of(spec)
    assert "fields[0].weights: must have as many items as values" in errors
    assert any(e.startswith("fields[1].type: unknown field type 'zzz'") for e in errors)
    assert "fields[1].name: 'a' is used twice" in errors
    assert "fields[2].provider: no Faker provider named 'nope'" in errors
    assert "fields[3].max: must be at least min" in errors
    assert any(e.startswith("fields[4].pattern") for e in errors)
    assert "fields[5].unique: a boolean field cannot be unique" in errors
    assert "fields[6].fields[0].max: must be at least min" in errors
    assert "fields[7].item.step: must not be 0" in errors
    assert "fields[8].nullable: must be at most 100" in errors
    assert any(e.startswith("fields[9].args:") for e in errors)


def test_top_level_and_reference_mistakes() -> None:
    assert "fields: needs at least 1 field" in errors_of({"name": "x", "fields": []})
    assert any(
        e.startswith("name:")
        for e in errors_of({"name": "bad name!", "fields": [{"name": "a", "type": "uuid"}]})
    )
    assert "extra: unknown key" in errors_of(
        {"name": "x", "extra": 1, "fields": [{"name": "a", "type": "uuid"}]}
    )
    lookup = BUILTIN_DATASETS.get
    ref = {
        "name": "r",
        "fields": [{"name": "c", "type": "reference", "dataset": "customers", "field": "nope"}],
    }
    assert errors_of(ref, lookup) == ["fields[0].field: dataset 'customers' has no field 'nope'"]
    ref["fields"][0].update(dataset="ghost", field="id")
    assert errors_of(ref, lookup) == ["fields[0].dataset: no dataset named 'ghost'"]


def test_locale_and_dates_are_checked() -> None:
    errors = errors_of(
        {
            "name": "x",
            "fields": [
                {"name": "a", "type": "faker", "provider": "name", "locale": "xx_XX"},
                {"name": "b", "type": "date_range", "start": "2024-02-30"},
                {"name": "c", "type": "date_range", "start": "2024-05-01", "end": "2024-01-01"},
            ],
        }
    )
    assert any(e.startswith("fields[0].locale: unknown locale 'xx_XX'") for e in errors)
    assert any(e.startswith("fields[1].start:") for e in errors)
    assert "fields[2].end: must not be before start" in errors

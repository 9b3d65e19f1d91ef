"""The datasets part of the Engine facade."""

from __future__ import annotations

from typing import Any

import pytest

from jobtui.engine import Engine
from jobtui.engine.model.errors import Conflict, InvalidInput, NotFound, SpecError

CUSTOM: dict[str, Any] = {
    "name": "tickets",
    "description": "Support tickets",
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "customer", "type": "reference", "dataset": "customers", "field": "id"},
        {"name": "subject", "type": "faker", "provider": "sentence", "args": {"nb_words": 5}},
        {"name": "priority", "type": "choice", "values": ["low", "high"], "weights": [4, 1]},
    ],
}


def test_list_get_save_replace_delete(engine: Engine) -> None:
    names = [d.name for d in engine.list_datasets()]
    assert names[:3] == ["users", "customers", "orders"] and len(names) >= 8
    assert engine.get_dataset("users").builtin
    saved = engine.save_dataset(CUSTOM)
    assert not saved.builtin and saved.fields == CUSTOM["fields"]
    assert engine.get_dataset("tickets").to_spec() == {
        "name": "tickets",
        "description": "Support tickets",
        "fields": CUSTOM["fields"],
    }
    assert "tickets" in [d.name for d in engine.list_datasets()]
    with pytest.raises(Conflict, match="exists already"):
        engine.save_dataset(CUSTOM)
    engine.save_dataset({**CUSTOM, "description": "v2"}, replace=True)
    assert engine.get_dataset("tickets").description == "v2"
    with pytest.raises(Conflict, match="built-in"):
        engine.save_dataset({**CUSTOM, "name": "users"})
    with pytest.raises(InvalidInput, match="built-in"):
        engine.delete_dataset("users")
    engine.create_job(
        {"name": "t-job", "datagen": {"datasets": ["tickets"], "sinks": [{"type": "console"}]}}
    )
    with pytest.raises(Conflict, match="default/t-job"):
        engine.delete_dataset("tickets")
    engine.delete_job("t-job", purge=True)
    engine.delete_dataset("tickets")
    with pytest.raises(NotFound):
        engine.get_dataset("tickets")


def test_invalid_specs_store_nothing(engine: Engine) -> None:
    bad = {
        **CUSTOM,
        "fields": [{"name": "c", "type": "reference", "dataset": "ghost", "field": "id"}],
    }
    with pytest.raises(SpecError) as info:
        engine.save_dataset(bad)
    assert str(info.value.errors[0]) == "fields[0].dataset: no dataset named 'ghost'"
    assert "tickets" not in engine.known_dataset_names()


def test_samples(engine: Engine) -> None:
    a = engine.sample_dataset("orders", n=5, seed=3)
    assert a == engine.sample_dataset("orders", n=5, seed=3)
    assert a != engine.sample_dataset("orders", n=5, seed=4)
    assert len(a) == 5 and all(1 <= r["customer_id"] <= 5 for r in a)
    engine.save_dataset(CUSTOM)
    rows = engine.sample_dataset("tickets", n=4, seed=1)
    assert len(rows) == 4 and all(r["priority"] in ("low", "high") for r in rows)
    spec_rows = engine.sample_dataset(
        {"name": "tmp", "fields": [{"name": "who", "type": "faker", "provider": "name"}]},
        n=2,
        seed=1,
        locale="de_DE",
    )
    assert len(spec_rows) == 2
    with pytest.raises(NotFound):
        engine.sample_dataset("ghost")
    with pytest.raises(InvalidInput, match="locale"):
        engine.sample_dataset("users", locale="xx_XX")


def test_field_types(engine: Engine) -> None:
    types = engine.field_types()
    names = {(t.kind, t.name) for t in types}
    assert ("builtin", "pattern") in names and ("builtin", "reference") in names
    assert ("faker", "email") in names and ("faker", "phone_number") in names
    email = next(t for t in types if t.name == "email")
    assert "@" in email.example and email.template == {"type": "faker", "provider": "email"}
    assert len(types) > 100

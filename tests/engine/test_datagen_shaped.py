"""Field options that follow a sample: quantiles, weighted patterns, words, ordered dates."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from jobtui.engine.datagen.fields import validate_dataset
from jobtui.engine.datagen.generate import DatasetGenerator
from jobtui.engine.model.errors import SpecError


def records(fields: list[dict[str, Any]], n: int = 2000, seed: int = 3) -> list[dict[str, Any]]:
    spec = {"name": "t", "fields": fields}
    gen = DatasetGenerator([spec], seed=seed)
    return [r for batch in gen.batches("t", n) for r in batch]


def errors(fields: list[dict[str, Any]]) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        validate_dataset({"name": "t", "fields": fields})
    return {e.path: e.message for e in info.value.errors}


def test_quantiles_keep_a_skewed_spread() -> None:
    # Half of the values between 0 and 1, half up to 1000: an even spread would put 0.1% there.
    rows = records(
        [
            {"name": "i", "type": "integer", "min": 0, "max": 1000, "quantiles": [0, 1, 1000]},
            {"name": "f", "type": "float", "min": 0, "max": 1000, "quantiles": [0, 1, 1000]},
        ]
    )
    for key in ("i", "f"):
        low = sum(1 for r in rows if r[key] <= 1) / len(rows)
        assert 0.45 < low < 0.56, key
        assert all(0 <= r[key] <= 1000 for r in rows)


def test_weighted_patterns_follow_their_shapes_and_weights() -> None:
    rows = records(
        [
            {
                "name": "code",
                "type": "pattern",
                "pattern": "???",
                "alternatives": ["##?"],
                "weights": [9, 1],
            }
        ]
    )
    letters = sum(1 for r in rows if re.fullmatch(r"[A-Z]{3}", r["code"]))
    digits = sum(1 for r in rows if re.fullmatch(r"\d\d[A-Z]", r["code"]))
    assert letters + digits == len(rows)
    assert 0.86 < letters / len(rows) < 0.94


def test_words_come_from_the_vocabulary_in_the_counts_given() -> None:
    field = {
        "name": "w",
        "type": "words",
        "words": ["Meadow", "Lake", "Municipal"],
        "min_words": 1,
        "max_words": 3,
        "count_weights": [0, 1, 0],
    }
    rows = records([field])
    assert all(len(r["w"].split()) == 2 for r in rows)
    assert {w for r in rows for w in r["w"].split()} == {"Meadow", "Lake", "Municipal"}


@pytest.mark.parametrize("gaps", [None, [1, 30, 400]])
def test_a_date_after_another_never_precedes_it(gaps: list[int] | None) -> None:
    later: dict[str, Any] = {
        "name": "released",
        "type": "date_range",
        "start": "2020-01-01",
        "end": "2020-12-31",
        "format": "%b %-d %Y",
        "after": "created",
    }
    if gaps:
        later["gaps"] = gaps
    fields = [
        {"name": "created", "type": "date_range", "start": "2020-01-01", "end": "2020-12-31"},
        later,
        {"name": "t0", "type": "datetime_range", "nullable": 10},
        {"name": "t1", "type": "datetime_range", "after": "t0"},
    ]
    validate_dataset({"name": "t", "fields": fields})
    rows = records(fields)
    for r in rows:
        released = datetime.strptime(r["released"], "%b %d %Y")
        assert released >= datetime.fromisoformat(r["created"])
        if gaps:
            assert 1 <= (released - datetime.fromisoformat(r["created"])).days <= 400
        if r["t0"] is not None:
            assert r["t1"] >= r["t0"]
    # Without `after` the same ranges are drawn independently and the order breaks.
    plain = [{k: v for k, v in f.items() if k not in ("after", "gaps")} for f in fields]
    broken = [
        r
        for r in records(plain)
        if datetime.strptime(r["released"], "%b %d %Y") < datetime.fromisoformat(r["created"])
    ]
    assert len(broken) > 500


def test_same_seed_same_values_and_a_sample_is_the_start_of_the_run() -> None:
    fields = [
        {"name": "q", "type": "float", "min": 0, "max": 9, "quantiles": [0, 1, 9]},
        {"name": "p", "type": "pattern", "pattern": "?#", "alternatives": ["#?"]},
        {"name": "w", "type": "words", "words": ["a", "b", "c"], "weights": [1, 2, 3]},
        {"name": "a", "type": "date_range"},
        {"name": "b", "type": "date_range", "after": "a", "gaps": [0, 10]},
    ]
    first = records(fields, 1500, seed=9)
    assert first == records(fields, 1500, seed=9)
    assert first != records(fields, 1500, seed=10)
    gen = DatasetGenerator([{"name": "t", "fields": fields}], seed=9)
    assert gen.sample("t", 5) == first[:5]


def test_mistakes_are_named() -> None:
    date = {"type": "date_range"}
    found = errors(
        [
            {"name": "i", "type": "integer", "min": 0, "max": 10, "quantiles": [5, 1]},
            {"name": "f", "type": "float", "min": 0, "max": 10, "quantiles": [0, 20]},
            {"name": "p", "type": "pattern", "pattern": "?", "alternatives": ["#"], "weights": [1]},
            {"name": "w", "type": "words", "words": ["a"], "min_words": 3, "max_words": 2},
            {"name": "a", **date, "after": "nope"},
            {"name": "b", **date, "after": "i"},
            {"name": "c", **date, "after": "d"},
            {"name": "d", **date, "after": "c"},
            {"name": "e", **date, "gaps": [1, 2]},
            {"name": "g", **date, "after": "c", "unique": True},
        ]
    )
    assert found == {
        "fields[0].quantiles": "must be in ascending order",
        "fields[1].quantiles": "must lie between min (0.0) and max (10.0)",
        "fields[2].weights": "must have as many items as patterns (2)",
        "fields[3].max_words": "must be at least min_words",
        "fields[4].after": "no field named 'nope' in this dataset",
        "fields[5].after": "'i' is not a date_range field",
        "fields[6].after": "the `after` fields form a loop",
        "fields[7].after": "the `after` fields form a loop",
        "fields[8].gaps": "only with `after`",
        "fields[9].after": "an ordered date field cannot be unique",
    }
    nested = errors(
        [{"name": "o", "type": "object", "fields": [{"name": "x", **date, "after": "y"}]}]
    )
    assert nested == {"fields[0].fields[0].after": "only top-level date fields can be ordered"}

"""The pipeline job kind's spec: readers, transformers and writers checked at create, every
mistake named by its path, nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, SpecError


def pipeline_spec(tmp_path: Path, **pipeline: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "readers": [{"type": "file", "options": {"base_dir": str(tmp_path), "pattern": "*.csv"}}],
        "writers": [{"type": "file", "options": {"base_dir": str(tmp_path / "out")}}],
    }
    section.update(pipeline)
    return {"name": "p", "kind": "pipeline", "pipeline": section}


def errors_of(engine: Engine, spec: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        engine.create_job(spec)
    assert engine.count_jobs() == 0
    return {e.path: e.message for e in caught.value.errors}


def test_a_pipeline_job_is_created_and_exported_as_written(engine: Engine, tmp_path: Path) -> None:
    spec = pipeline_spec(
        tmp_path,
        transformers=[
            {"type": "rename", "options": {"fields": {"qty": "quantity"}}},
            {"type": "filter", "options": {"expr": "quantity > 0"}},
            {"type": "set", "options": {"fields": {"total": "quantity * price"}}},
        ],
    )
    job = engine.create_job(spec)
    assert job.kind.value == "pipeline"
    assert engine.get_job("p").spec == spec


def test_bad_readers_transformers_and_writers_are_named_by_path(
    engine: Engine, tmp_path: Path
) -> None:
    spec = pipeline_spec(
        tmp_path,
        readers=[
            {"type": "sql", "options": {"url": "sqlite:///x.db", "query": "DELETE FROM t"}},
            {"type": "csv", "options": {"delimiter": ";"}},
        ],
        transformers=[
            {"type": "filter", "options": {"expr": "a >"}},
            {"type": "set", "options": {"fields": {"b": "(("}}},
            {"type": "uppercase"},
        ],
        writers=[{"type": "file", "options": {"base_dir": "/tmp", "bogus": 1}}],
        max_errors="lots",
    )
    errors = errors_of(engine, spec)
    assert errors["pipeline.readers[0].options.query"].startswith("must be a SELECT")
    assert "takes bytes" in errors["pipeline.readers[1].type"]
    assert errors["pipeline.transformers[0].options.expr"].startswith("not an expression")
    assert errors["pipeline.transformers[1].options.fields.b"].startswith("not an expression")
    assert errors["pipeline.transformers[2].type"].startswith("must be one of")
    assert errors["pipeline.writers[0].options.bogus"] == "unknown key"
    assert "percentage" in errors["pipeline.max_errors"]


def test_a_file_pattern_must_stay_under_its_base_dir(engine: Engine, tmp_path: Path) -> None:
    spec = pipeline_spec(
        tmp_path, readers=[{"type": "file", "options": {"base_dir": "/srv", "pattern": "../*"}}]
    )
    assert (
        "must stay under base_dir" in errors_of(engine, spec)["pipeline.readers[0].options.pattern"]
    )


def test_a_pipeline_section_needs_the_pipeline_kind(engine: Engine, tmp_path: Path) -> None:
    spec = pipeline_spec(tmp_path)
    del spec["kind"]
    errors = errors_of(engine, spec)
    assert errors["pipeline"] == 'only a pipeline job has pipeline (add "kind": "pipeline")'
    assert errors_of(engine, {"name": "p", "kind": "pipeline"}) == {
        "pipeline": "is required for a pipeline job"
    }

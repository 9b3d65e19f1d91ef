"""Engine.download: an unsaved definition run now into one file, with nothing stored
(issue 20, point 3: the wizard's "Download file" saved and scheduled the job)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, RunState, SpecError


def spec(max_records: int = 50, **extra: Any) -> dict[str, Any]:
    return {
        "name": "unsaved",
        "schedule": {"type": "cron", "cron": "* * * * *"},
        "datagen": {
            "datasets": ["users"],
            "max_records": max_records,
            "generator": {"format": "csv"},
            "replay": {"enabled": True, "keep": 3},
            "sinks": [{"type": "console"}],
            **extra,
        },
    }


def stored(engine: Engine) -> tuple[int, int, int]:
    logs = engine.store.query("SELECT count(*) AS n FROM run_logs")[0]["n"]
    return engine.count_jobs(include_system=True), engine.count_runs(), logs


def test_download_writes_the_file_and_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    before = stored(engine)
    target = tmp_path / "users.csv"
    seen: list[int] = []
    result = engine.download(spec(), str(target), on_progress=seen.append)
    assert result.ok and result.state == RunState.SUCCEEDED
    assert result.records == 50 and seen and seen[-1] == 50
    assert str(target) in result.results[0]
    assert target.read_text().splitlines()[0].startswith("name,email")
    assert stored(engine) == before
    assert not (engine.data_dir / "replay").exists()  # replay on in the spec: nothing kept
    workers = engine.data_dir / "workers"  # no partials listing left behind
    assert not workers.exists() or not any(workers.iterdir())


def test_a_missing_directory_is_named_or_created(engine: Engine, tmp_path: Path) -> None:
    target = tmp_path / "not" / "yet" / "users.csv"
    with pytest.raises(SpecError) as caught:
        engine.download(spec(), str(target))
    assert [e.path for e in caught.value.errors] == ["options.to_file"]
    assert "does not exist" in str(caught.value)
    assert not (tmp_path / "not").exists()
    result = engine.download(spec(), str(target), create_dirs=True)
    assert result.ok and target.exists()


def test_a_bad_definition_is_refused_before_anything_runs(engine: Engine, tmp_path: Path) -> None:
    bad = spec()
    bad["datagen"]["max_records"] = 0
    with pytest.raises(SpecError) as caught:
        engine.download(bad, str(tmp_path / "x.csv"))
    assert caught.value.errors[0].path == "datagen.max_records"
    assert not (tmp_path / "x.csv").exists()


def test_should_stop_cancels_and_leaves_no_partial_file(engine: Engine, tmp_path: Path) -> None:
    target = tmp_path / "big.csv"
    started = threading.Event()

    def progressed(records: int) -> None:
        if records:
            started.set()

    result = engine.download(
        spec(max_records=50_000_000),
        str(target),
        on_progress=progressed,
        should_stop=started.is_set,
    )
    assert result.state == RunState.CANCELLED
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []
    assert stored(engine)[1:] == (0, 0)

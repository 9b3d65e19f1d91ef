"""The wizard, driven by keys alone from a tiny host app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine

from .wizard_helpers import (
    WizardApp,
    choose,
    next_step,
    pick,
    settle,
    type_in,
)

SIZE = (120, 36)


async def test_cron_csv_file_job_by_keys(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = WizardApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_in(pilot, "name", "orders-5m")
        await choose(pilot, "schedule.type", "cron")
        await type_in(pilot, "schedule.cron", "*/5 * * * *")
        await next_step(pilot, "datasets")
        await pick(pilot, "datagen.datasets", "orders")
        await next_step(pilot, "generator")
        await choose(pilot, "datagen.generator.format", "csv")
        await next_step(pilot, "sinks")
        await type_in(pilot, "datagen.sinks[0].options.base_dir", "out")
        await next_step(pilot, "last")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "default/orders-5m"
    expected: dict[str, Any] = {
        "name": "orders-5m",
        "schedule": {"type": "cron", "cron": "*/5 * * * *"},
        "datagen": {
            "datasets": ["orders"],
            "generator": {"format": "csv"},
            "sinks": [{"type": "file", "options": {"base_dir": "out"}}],
        },
    }
    assert engine.get_job("default/orders-5m").spec == expected

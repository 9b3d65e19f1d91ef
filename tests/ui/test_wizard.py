"""The wizard, driven by keys alone from a tiny host app."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from jobtui.engine import Engine, InvalidInput
from jobtui.screens.confirm import ConfirmScreen
from jobtui.widgets.forms import FieldRow, field_id
from tests.ui.helpers import notes

from .wizard_helpers import (
    NOT_DONE,
    WizardApp,
    choose,
    control,
    focus,
    next_step,
    pick,
    settle,
    type_in,
    wizard,
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


SCHEDULE_CASES: list[tuple[str, list[tuple[str, str, str]], dict[str, Any]]] = [
    (
        "once",
        [("input", "schedule.at", "2030-01-02T08:00"), ("input", "schedule.expires", "30m")],
        {"type": "once", "at": "2030-01-02T08:00", "expires": "30m"},
    ),
    (
        "interval",
        [("input", "schedule.every", "10m"), ("input", "schedule.max_runs", "5")],
        {"type": "interval", "every": "10m", "max_runs": 5},
    ),
    (
        "random",
        [("input", "schedule.min_delay", "10m"), ("input", "schedule.max_delay", "1h")],
        {"type": "random", "min_delay": "10m", "max_delay": "1h"},
    ),
    (
        "window",
        [
            ("input", "schedule.from_time", "08:00"),
            ("input", "schedule.to_time", "18:00"),
            ("pick", "schedule.weekdays", "sat,sun"),
            ("input", "schedule.timezone", "UTC"),
        ],
        {
            "type": "window",
            "from_time": "08:00",
            "to_time": "18:00",
            "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "timezone": "UTC",
        },
    ),
]


async def test_each_schedule_kind_by_keys(engine: Engine) -> None:
    app = WizardApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        for kind, steps, expected_schedule in SCHEDULE_CASES:
            if app.result is not NOT_DONE:
                app.open_wizard()
            await settle(pilot)
            await type_in(pilot, "name", f"job-{kind}")
            await choose(pilot, "schedule.type", kind)
            for what, path, value in steps:
                if what == "input":
                    await type_in(pilot, path, value)
                else:
                    await pick(pilot, path, *value.split(","))
            await next_step(pilot, "datasets")
            await pick(pilot, "datagen.datasets", "users")
            await next_step(pilot, "generator")
            await next_step(pilot, "sinks")
            await next_step(pilot, "last")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.result == f"default/job-{kind}", [str(e) for e in wizard(pilot).errors]
            expected = {
                "name": f"job-{kind}",
                "schedule": expected_schedule,
                "datagen": {"datasets": ["users"], "sinks": [{"type": "file"}]},
            }
            assert engine.get_job(f"job-{kind}").spec == expected
            # The same document through `jobs import` is stored the same way.
            engine.import_jobs([{**expected, "name": f"imported-{kind}"}])
            imported = engine.get_job(f"imported-{kind}").spec
            assert {**imported, "name": f"job-{kind}"} == engine.get_job(f"job-{kind}").spec


async def test_each_sink_type_by_keys(engine: Engine) -> None:
    app = WizardApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_in(pilot, "name", "all-sinks")
        await next_step(pilot, "datasets")
        await pick(pilot, "datagen.datasets", "users")
        await next_step(pilot, "generator")
        await next_step(pilot, "sinks")
        await type_in(pilot, "datagen.sinks[0].options.path", "{job}.{ext}")
        for i, sink_type in enumerate(["console", "sqlite", "http", "postgres"], start=1):
            await focus(pilot, wizard(pilot).query_one("#sink-add"))
            await pilot.press("enter")
            await settle(pilot)
            assert wizard(pilot).sink_index == i
            await choose(pilot, f"datagen.sinks[{i}].type", sink_type)
            if sink_type == "sqlite":
                await type_in(pilot, f"datagen.sinks[{i}].options.table", "people")
            if sink_type == "http":
                await type_in(pilot, f"datagen.sinks[{i}].options.url", "http://127.0.0.1:9/in")
                await type_in(
                    pilot, f"datagen.sinks[{i}].options.headers", "Authorization=env:TOKEN"
                )
            if sink_type == "postgres":
                await type_in(pilot, f"datagen.sinks[{i}].options.dsn", "env:PG_DSN")
        await next_step(pilot, "last")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "default/all-sinks", [str(e) for e in wizard(pilot).errors]
    assert engine.get_job("all-sinks").spec == {
        "name": "all-sinks",
        "datagen": {
            "datasets": ["users"],
            "sinks": [
                {"type": "file", "options": {"path": "{job}.{ext}"}},
                {"type": "console"},
                {"type": "sqlite", "options": {"table": "people"}},
                {
                    "type": "http",
                    "options": {
                        "url": "http://127.0.0.1:9/in",
                        "headers": {"Authorization": "env:TOKEN"},
                    },
                },
                {"type": "postgres", "options": {"dsn": "env:PG_DSN"}},
            ],
        },
    }


def _error(pilot: Any, path: str) -> str:
    row = wizard(pilot).query_one(f"#{field_id(path)}-row", FieldRow)
    return row.error


async def test_engine_reasons_shown_inline_before_saving(engine: Engine) -> None:
    app = WizardApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_in(pilot, "name", "bad")
        await choose(pilot, "schedule.type", "cron")
        await type_in(pilot, "schedule.cron", "61 * * * *")
        _, errors = engine.validate_spec(
            {"name": "bad", "schedule": {"type": "cron", "cron": "61 * * * *"}}
        )
        reason = next(e.message for e in errors if e.path == "schedule.cron")
        assert _error(pilot, "schedule.cron") == reason
        await next_step(pilot, "settings")  # refused: the step has an invalid field
        await type_in(pilot, "schedule.cron", "0 * * * *")
        assert _error(pilot, "schedule.cron") == ""
        await next_step(pilot, "datasets")
        await pick(pilot, "datagen.datasets", "users")
        await next_step(pilot, "generator")
        await next_step(pilot, "sinks")
        await type_in(pilot, "datagen.sinks[0].options.path", "../../x")
        assert "outside the base directory" in _error(pilot, "datagen.sinks[0].options.path")
        await next_step(pilot, "sinks")
        await choose(pilot, "datagen.sinks[0].type", "postgres")
        dsn = "postgresql://127.0.0.1:1/postgres"
        await type_in(pilot, "datagen.sinks[0].options.dsn", dsn)
        await pilot.press("ctrl+t")
        await settle(pilot)
        with pytest.raises(InvalidInput) as caught:
            engine.test_sink({"type": "postgres", "options": {"dsn": dsn}})
        result = str(wizard(pilot).query_one("#sink-test-result", Static).content)
        assert result == f"✖ {caught.value}"
        assert str(caught.value).partition(": ")[2] in _error(pilot, "datagen.sinks[0].type")
        assert app.result is NOT_DONE
    assert engine.list_jobs() == []


async def test_edit_makes_a_new_version_with_its_note(engine: Engine) -> None:
    spec = {"name": "daily", "datagen": {"datasets": ["users"], "sinks": [{"type": "console"}]}}
    engine.create_job(spec)
    app = WizardApp(engine, "default/daily")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_in(pilot, "description", "more")
        for step in ("datasets", "generator", "sinks", "last"):
            await next_step(pilot, step)
        await type_in(pilot, "note", "describe it")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "default/daily"
        assert [(n.title, n.message) for n in notes(app)] == [("Job saved", "Saved default/daily")]
    versions = engine.list_versions("daily")
    assert [(v.version, v.note) for v in versions] == [(2, "describe it"), (1, "created")]
    assert engine.get_job("daily").spec == {**spec, "description": "more"}


async def test_duplicate_makes_a_fresh_job_without_history(engine: Engine) -> None:
    spec = {"name": "daily", "datagen": {"datasets": ["users"], "sinks": [{"type": "console"}]}}
    original = engine.create_job(spec)
    engine.update_job(original.id, {**spec, "description": "v2"}, "second")
    app = WizardApp(engine, "default/daily", duplicate=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert control(pilot, "name").value == "daily-copy"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "default/daily-copy"
    copy = engine.get_job("daily-copy")
    assert copy.id != original.id
    assert copy.spec == {**spec, "description": "v2", "name": "daily-copy"}
    assert [v.version for v in engine.list_versions("daily-copy")] == [1]
    assert len(engine.list_versions("daily")) == 2


async def test_download_file_runs_the_job_into_the_chosen_path(
    engine: Engine, tmp_path: Path
) -> None:
    spec = {
        "name": "dl",
        "datagen": {
            "datasets": ["users"],
            "max_records": 20,
            "generator": {"format": "csv"},
            "sinks": [{"type": "console"}],
        },
    }
    engine.create_job(spec)
    target = tmp_path / "users.csv"
    app = WizardApp(engine, "default/dl")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for step in ("datasets", "generator", "sinks", "last"):
            await next_step(pilot, step)
        # A mistyped directory: asked about, and refused, it is named and nothing is made.
        await type_in(pilot, "download", str(tmp_path / "typo" / "users.csv"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(pilot)
        result = str(wizard(pilot).query_one("#download-result", Static).content)
        assert result == f"✖ options.to_file: directory {tmp_path / 'typo'} does not exist"
        assert engine.count_runs("dl") == 0 and not (tmp_path / "typo").exists()
        # The progress bar does not go on pulsing as if something still ran.
        assert not wizard(pilot).query_one("#download-progress").display
        await type_in(pilot, "download", str(target))
        await pilot.press("enter")
        await settle(pilot)
        result = str(wizard(pilot).query_one("#download-result", Static).content)
        assert result.startswith("✔ 20 records written"), result
        assert str(target) in result
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0][:2] == ["name", "email"]
    assert len(rows) == 21
    # Run ad hoc: no run, no new version.
    assert engine.count_runs("dl") == 0 and len(engine.list_versions("dl")) == 1


async def test_download_saves_nothing_and_offers_to_create_the_directory(
    engine: Engine, tmp_path: Path
) -> None:
    """A new job with a cron: Download runs the unsaved definition; no job is stored,
    nothing is scheduled; a missing directory is created when the user says so."""
    target = tmp_path / "new" / "dir" / "users.jsonl"
    app = WizardApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_in(pilot, "name", "every-minute")
        await choose(pilot, "schedule.type", "cron")
        await type_in(pilot, "schedule.cron", "* * * * *")
        await next_step(pilot, "datasets")
        await pick(pilot, "datagen.datasets", "users")
        for step in ("generator", "sinks", "last"):
            await next_step(pilot, step)
        await type_in(pilot, "download", str(target))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert str(target.parent) in str(app.screen.query_one(".dialog-title", Static).content)
        await pilot.press("y")
        await settle(pilot)
        result = str(wizard(pilot).query_one("#download-result", Static).content)
        assert result.startswith("✔ 1000 records written"), result
        assert engine.count_jobs() == 0 and engine.count_runs() == 0
        await pilot.press("escape")  # leave, discarding the unsaved job
        await settle(pilot)
        if isinstance(app.screen, ConfirmScreen):
            await pilot.press("y")
            await settle(pilot)
        assert app.result is None
    assert len(target.read_text().splitlines()) == 1000
    assert engine.count_jobs() == 0 and engine.count_runs() == 0


async def test_misfire_in_its_word_form_is_read_and_kept(engine: Engine) -> None:
    spec = {
        "name": "nightly",
        "schedule": {"type": "cron", "cron": "30 3 * * *"},
        "policies": {"misfire": "all", "overlap": {"policy": "allow"}},
        "datagen": {"datasets": ["users"], "sinks": [{"type": "console"}]},
    }
    engine.create_job(spec)
    app = WizardApp(engine, "default/nightly")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert control(pilot, "policies.misfire.policy").value == "all"  # type: ignore[attr-defined]
        row = wizard(pilot).query_one(f"#{field_id('policies.overlap.max')}-row", FieldRow)
        assert "no limit" in str(row.query_one(".field-hint", Static).content)
        await type_in(pilot, "description", "kept")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "default/nightly"
    saved = engine.get_job("nightly").spec
    assert saved["policies"] == {"overlap": {"policy": "allow"}, "misfire": "all"}

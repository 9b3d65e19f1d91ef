"""What the wizard offers fits the job (issue 20, point 4): a command job has no data
generation, download or output; Save says whether it schedules; replay's keep only counts
with replay on; presets saved while the wizard is open are offered."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button, Select

from jobtui.engine import Engine

from .wizard_helpers import WizardApp, control, next_step, settle, toggle, wizard

SIZE = (120, 36)
COMMAND = {"name": "backup", "kind": "command", "command": {"argv": ["backup.sh"]}}


def shown(pilot: Any, selector: str) -> bool:
    widget = wizard(pilot).query_one(selector)
    return all(w.display for w in [widget, *widget.ancestors_with_self] if hasattr(w, "display"))


async def test_a_command_job_has_no_datagen_download_or_schedule_word(engine: Engine) -> None:
    engine.create_job(COMMAND)
    app = WizardApp(engine, "default/backup")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not wizard(pilot).query_one("#fold-datagen").display
        await next_step(pilot, "command")
        await next_step(pilot, "last")
        assert str(wizard(pilot).query_one("#save", Button).label) == "Save (ctrl+s)"
        for part in ("#show-output", "#download-bar", "#output-panel"):
            assert not wizard(pilot).query_one(part).display, part
        assert wizard(pilot).check_action("show_output", ()) is None


async def test_save_says_schedule_only_with_a_schedule(engine: Engine) -> None:
    engine.create_job(
        {
            "name": "nightly",
            "schedule": {"type": "cron", "cron": "30 3 * * *"},
            "datagen": {"datasets": ["users"], "sinks": [{"type": "console"}]},
        }
    )
    app = WizardApp(engine, "default/nightly")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert wizard(pilot).query_one("#fold-datagen").display
        for step in ("datasets", "generator", "sinks", "last"):
            await next_step(pilot, step)
        assert str(wizard(pilot).query_one("#save", Button).label) == "Save and schedule (ctrl+s)"
        assert wizard(pilot).query_one("#download-bar").display


async def test_replay_keep_is_editable_only_with_replay_on(engine: Engine) -> None:
    engine.create_job(
        {"name": "d", "datagen": {"datasets": ["users"], "sinks": [{"type": "console"}]}}
    )
    app = WizardApp(engine, "default/d")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keep = control(pilot, "datagen.replay.keep")
        assert keep.disabled
        await toggle(pilot, "datagen.replay.enabled")
        assert not keep.disabled


async def test_a_preset_saved_meanwhile_is_offered(engine: Engine, tmp_path: Any) -> None:
    engine.create_job(
        {"name": "d", "datagen": {"datasets": ["users"], "sinks": [{"type": "console"}]}}
    )
    app = WizardApp(engine, "default/d")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for step in ("datasets", "generator", "sinks"):
            await next_step(pilot, step)
        prefill = wizard(pilot).query_one("#sink-prefill", Select)
        assert prefill.disabled
        engine.save_preset(
            {"name": "out-dir", "type": "file", "options": {"base_dir": str(tmp_path)}}
        )
        await pilot.press("ctrl+b")
        await settle(pilot)
        await next_step(pilot, "sinks")
        assert not prefill.disabled
        assert [v for _, v in prefill._options if isinstance(v, str)] == ["out-dir"]


async def test_an_untouched_inherit_env_is_not_saved_as_text(engine: Engine) -> None:
    """The box shows the default `False` as text; saving without touching it must not store
    the string "False" (it read as the default only because the engine parses it)."""
    engine.create_job(COMMAND)
    app = WizardApp(engine, "default/backup")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot, "command")
        assert "inherit_env" not in wizard(pilot).collect_spec()["command"]

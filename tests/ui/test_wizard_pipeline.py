"""A pipeline job in the wizard (issue 22, point 7): readers, transformers and writers edited
without hand-written JSON, run as made, edited back unchanged, bad options refused by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Select, Static

from jobtui.engine import Engine, RunState
from jobtui.widgets.forms import FieldRow, field_id
from tests.ui.helpers import notes

from .wizard_helpers import WizardApp, choose, focus, next_step, settle, type_in, wizard

SIZE = (120, 36)


async def press_button(pilot: Pilot[Any], selector: str) -> None:
    button = wizard(pilot).query_one(selector, Button)
    await focus(pilot, button)
    await pilot.press("enter")
    await settle(pilot)


def row_error(pilot: Pilot[Any], path: str) -> str:
    return wizard(pilot).query_one(f"#{field_id(path)}-row", FieldRow).error


def records(out: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for f in sorted(out.rglob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]


async def test_a_file_filter_file_pipeline_is_made_in_the_wizard_and_runs(
    engine: Engine, tmp_path: Path
) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text("".join(json.dumps({"n": n}) + "\n" for n in range(1, 6)))
    app = WizardApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_in(pilot, "name", "pipe")
        await choose(pilot, "kind", "pipeline")
        assert wizard(pilot).steps == ("settings", "readers", "transformers", "writers", "last")
        await next_step(pilot, "readers")
        type_select = wizard(pilot).query_one(f"#{field_id('pipeline.readers[0].type')}", Select)
        assert type_select.value == "file"
        await next_step(pilot, "readers")  # no base_dir yet: refused, and no preview
        assert "must name a directory" in row_error(pilot, "pipeline.readers[0].options.base_dir")
        preview = str(wizard(pilot).query_one("#readers-preview", Static).content)
        assert preview == "The preview shows once the readers are complete and valid."
        await type_in(pilot, "pipeline.readers[0].options.base_dir", str(inbox))
        await type_in(pilot, "pipeline.readers[0].options.pattern", "*.jsonl")
        await next_step(pilot, "transformers")
        await press_button(pilot, "#transformers-add")
        await type_in(pilot, "pipeline.transformers[0].options.expr", "n > 2")
        preview = str(wizard(pilot).query_one("#transformers-preview", Static).content)
        assert [json.loads(line)["n"] for line in preview.splitlines()] == [3, 4, 5]
        await next_step(pilot, "writers")
        await type_in(pilot, "pipeline.writers[0].options.base_dir", str(out))
        await next_step(pilot, "last")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "default/pipe", [n.message for n in notes(app)]
    job = engine.get_job("default/pipe")
    assert job.spec["pipeline"] == {
        "readers": [{"type": "file", "options": {"base_dir": str(inbox), "pattern": "*.jsonl"}}],
        "transformers": [{"type": "filter", "options": {"expr": "n > 2"}}],
        "writers": [{"type": "file", "options": {"base_dir": str(out)}}],
    }
    run = engine.wait_for_run(engine.queue_run("default/pipe").id, timeout=60)
    assert run.state == RunState.SUCCEEDED, run.errors
    assert records(out) == [{"n": 3}, {"n": 4}, {"n": 5}]


# Options of every shape a form holds: numbers in text fields, mappings typed as JSON (an
# expression with a comma), nested pagination, a writer's own format, pipeline settings.
PIPELINE: dict[str, Any] = {
    "readers": [
        {
            "type": "http",
            "name": "api",
            "options": {
                "url": "https://api.example.com/orders",
                "params": {"updated_after": "{since}", "fields": "id,qty"},
                "records_field": "data",
                "pagination": {"type": "cursor", "field": "meta.next", "param": "after"},
                "timeout": 30,
                "retries": 2,
            },
        },
    ],
    "transformers": [
        {"type": "rename", "options": {"fields": {"qty": "quantity"}}},
        {"type": "filter", "options": {"expr": "quantity > 0"}},
        {"type": "set", "options": {"fields": {"total": "round(quantity * price, 2)"}}},
        {"type": "constant", "options": {"fields": {"source": "api", "version": 2}}},
        {"type": "select", "options": {"fields": ["id", "quantity", "total"]}},
    ],
    "writers": [
        {
            "type": "file",
            "name": "out",
            "format": {"format": "csv", "options": {"delimiter": ";"}},
            "options": {"base_dir": "/tmp/out", "path": "{job}-{run}.{ext}"},
        }
    ],
    "batch_size": 500,
    "max_errors": 10,
}


async def test_editing_a_pipeline_job_round_trips_its_spec(engine: Engine) -> None:
    engine.create_job({"name": "p", "kind": "pipeline", "pipeline": PIPELINE})
    before = engine.get_job("default/p")
    app = WizardApp(engine, "default/p")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot, "readers")
        await next_step(pilot, "transformers")
        for i in range(len(PIPELINE["transformers"])):  # each one's form shown and read back
            await choose(pilot, wizard(pilot).query_one("#transformers-pick", Select), i)
            assert wizard(pilot).collect_spec() == before.spec
        await next_step(pilot, "writers")
        await next_step(pilot, "last")
        assert wizard(pilot).collect_spec() == before.spec
        assert not wizard(pilot).dirty
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "default/p"
    assert engine.get_job("default/p").spec == before.spec


async def test_a_bad_option_is_refused_naming_its_field(engine: Engine, tmp_path: Path) -> None:
    engine.create_job(
        {
            "name": "p",
            "kind": "pipeline",
            "pipeline": {
                "readers": [{"type": "file", "options": {"base_dir": str(tmp_path)}}],
                "transformers": [{"type": "set", "options": {"fields": {"a": "1"}}}],
                "writers": [{"type": "console"}],
            },
        }
    )
    app = WizardApp(engine, "default/p")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot, "readers")
        await type_in(pilot, "pipeline.readers[0].options.pattern", "../*.csv")
        await next_step(pilot, "readers")  # refused: stays
        assert "must stay under base_dir" in row_error(pilot, "pipeline.readers[0].options.pattern")
        warning = notes(app)[-1]
        assert "pipeline.readers[0].options.pattern" in warning.message, warning
        await type_in(pilot, "pipeline.readers[0].options.pattern", "*.csv")
        await next_step(pilot, "transformers")
        await type_in(pilot, "pipeline.transformers[0].options.fields", '{"b": "x +"}')
        await next_step(pilot, "transformers")
        assert "not an expression" in row_error(pilot, "pipeline.transformers[0].options.fields")
        assert "pipeline.transformers[0].options.fields" in notes(app)[-1].message


async def test_transformers_are_added_moved_and_removed(engine: Engine) -> None:
    engine.create_job({"name": "p", "kind": "pipeline", "pipeline": PIPELINE})
    app = WizardApp(engine, "default/p")

    def kinds() -> list[str]:
        return [t["type"] for t in wizard(pilot).collect_spec()["pipeline"]["transformers"]]

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await next_step(pilot, "readers")
        await next_step(pilot, "transformers")
        await press_button(pilot, "#transformers-down")
        assert kinds() == ["filter", "rename", "set", "constant", "select"]
        await press_button(pilot, "#transformers-add")  # after the one shown, the 2nd
        await choose(pilot, "pipeline.transformers[2].type", "drop")
        await type_in(pilot, "pipeline.transformers[2].options.fields", "price, tax")
        assert kinds() == ["filter", "rename", "drop", "set", "constant", "select"]
        assert wizard(pilot).collect_spec()["pipeline"]["transformers"][2] == {
            "type": "drop",
            "options": {"fields": ["price", "tax"]},
        }
        await press_button(pilot, "#transformers-up")
        assert kinds() == ["filter", "drop", "rename", "set", "constant", "select"]
        await press_button(pilot, "#transformers-remove")  # the one shown: drop
        assert kinds() == ["filter", "rename", "set", "constant", "select"]

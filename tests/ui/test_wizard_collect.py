"""The wizard's spec from its forms (screens/wizard/collect.py), without Textual.

Plain pytest: what the user left alone stays as it was, what they chose is written, a
form's defaults are not. The UI tests (test_wizard.py) drive the same function by keys.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from jobtui.screens.wizard.collect import (
    FormValues,
    Section,
    collect_spec,
    keep_types,
    misfire_form,
    misfire_value,
    overlap_value,
    step_of,
    steps_for,
    summary,
)

JOB_KEYS = ("workspace", "name", "description", "kind", "active", "queue", "tags")


def test_collect_imports_no_textual() -> None:
    code = (
        "import sys, jobtui.screens.wizard.collect;"
        "print(','.join(m for m in ('textual', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_new_job_from_its_forms() -> None:
    form = FormValues(
        job=Section({"name": "orders-5m"}, JOB_KEYS),
        schedule_type="cron",
        schedule={"cron": "*/5 * * * *"},
        datasets=["orders"],
        generator_format="csv",
        sinks=[{"type": "file", "options": {"base_dir": "out"}}],
    )
    assert collect_spec({}, form) == {
        "name": "orders-5m",
        "schedule": {"type": "cron", "cron": "*/5 * * * *"},
        "datagen": {
            "datasets": ["orders"],
            "generator": {"format": "csv"},
            "sinks": [{"type": "file", "options": {"base_dir": "out"}}],
        },
    }


def test_what_the_forms_never_showed_is_kept_in_its_order() -> None:
    original: dict[str, Any] = {
        "name": "daily",
        "parameters": {"region": {"type": "string", "default": "eu"}},
        "datagen": {
            "datasets": ["users"],
            "seed": 42,
            "generator": {"format": "jsonl", "options": {"indent": 2}},
            "sinks": [{"preset": "pg"}],
        },
    }
    # Only the datasets and sinks are known (the other steps were never built).
    form = FormValues(datasets=["users", "orders"], sinks=[{"preset": "pg"}])
    spec = collect_spec(original, form)
    assert spec["parameters"] == original["parameters"]
    assert spec["datagen"] == {
        "datasets": ["users", "orders"],
        "seed": 42,
        "generator": {"format": "jsonl", "options": {"indent": 2}},
        "sinks": [{"preset": "pg"}],
    }
    assert list(spec) == ["name", "parameters", "datagen"]


def test_a_form_drops_the_keys_it_shows_and_leaves_out() -> None:
    original = {"name": "x", "description": "old", "datagen": {"datasets": ["users"]}}
    form = FormValues(job=Section({"name": "x"}, JOB_KEYS), datasets=["users"])
    assert "description" not in collect_spec(original, form)


def test_manual_schedule_and_defaults_write_nothing() -> None:
    original = {"name": "x", "schedule": {"type": "interval", "every": "5m"}}
    form = FormValues(
        job=Section({"name": "x"}, JOB_KEYS),
        policies=Section({}, ("retry", "timeout", "misfire")),
        overlap=("skip", ""),
        alerts={},
        datagen=Section({}, ("max_records", "seed")),
        generator_format="jsonl",
        datasets=["users"],
        sinks=[{"type": "console"}],
    )
    spec = collect_spec(original, form)
    assert "schedule" not in spec and "policies" not in spec and "alerts" not in spec
    assert spec["datagen"] == {"datasets": ["users"], "sinks": [{"type": "console"}]}


def test_overlap_keeps_the_shape_it_had() -> None:
    assert overlap_value(None, "skip", "") is None
    assert overlap_value(None, "queue", "") == "queue"
    assert overlap_value({"policy": "skip"}, "queue", "") == {"policy": "queue"}
    assert overlap_value("skip", "allow", "3") == {"policy": "allow", "max": 3}
    assert overlap_value("skip", "allow", "three") == {"policy": "allow", "max": "three"}


def test_misfire_keeps_the_word_form_unless_a_cap_is_set() -> None:
    assert misfire_form({"misfire": "all"}) == {"misfire": {"policy": "all"}}
    assert misfire_value("all", {"policy": "all"}) == "all"
    assert misfire_value("all", {"policy": "skip"}) == "skip"
    assert misfire_value("all", {"policy": "all", "cap": 5}) == {"policy": "all", "cap": 5}
    assert misfire_value(None, {"policy": "all"}) == {"policy": "all"}


def test_a_command_job_loses_its_datagen_and_keeps_an_explicit_null() -> None:
    original = {"name": "b", "datagen": {"datasets": ["users"]}, "command": None}
    command = FormValues(
        job=Section({"name": "b", "kind": "command"}, JOB_KEYS),
        command={"argv": ["backup.sh", "--full"]},
    )
    assert collect_spec(original, command) == {
        "name": "b",
        "kind": "command",
        "command": {"argv": ["backup.sh", "--full"]},
    }
    datagen = FormValues(job=Section({"name": "b"}, JOB_KEYS), datasets=["users"])
    assert collect_spec(original, datagen)["command"] is None


def test_errors_belong_to_steps_and_kinds_to_their_steps() -> None:
    assert step_of("datagen.sinks[1].options.dsn") == "sinks"
    assert step_of("datagen.generator.options.delimiter") == "generator"
    assert step_of("datagen.max_records") == "settings"
    assert step_of("command.argv") == "command"
    assert steps_for("command") == ("settings", "command", "last")
    assert steps_for("datagen")[1:4] == ("datasets", "generator", "sinks")


def test_summary_names_what_goes_where() -> None:
    spec = {
        "name": "orders",
        "datagen": {
            "datasets": ["orders"],
            "generator": {"format": "csv"},
            "sinks": [{"preset": "pg"}, {"type": "file", "options": {"path": "x"}}],
        },
    }
    text = summary(spec, "Every 5 minutes", ["Mon 2027-01-18 08:05"], {"csv": "CSV"})
    lines = text.splitlines()
    assert lines[:3] == [
        "default/orders  ·  datagen",
        "Schedule: Every 5 minutes",
        "Next fire: Mon 2027-01-18 08:05",
    ]
    assert "Format: CSV" in lines
    assert "Sink 1: preset pg" in lines and 'Sink 2: file {"path": "x"}' in lines


def test_a_pipeline_job_keeps_what_its_steps_did_not_change() -> None:
    pipeline = {"readers": [{"type": "file", "options": {"base_dir": "/in"}}], "writers": []}
    original = {"name": "p", "kind": "pipeline", "pipeline": pipeline}
    form = FormValues(job=Section({"name": "p", "kind": "pipeline", "description": "d"}, JOB_KEYS))
    assert collect_spec(original, form) == {
        "name": "p",
        "description": "d",
        "kind": "pipeline",
        "pipeline": pipeline,
    }
    assert steps_for("pipeline") == ("settings", "readers", "transformers", "writers", "last")
    assert step_of("pipeline.transformers[2].options.expr") == "transformers"
    assert step_of("pipeline.max_errors") == "settings"
    back = FormValues(job=Section({"name": "p"}, JOB_KEYS), datasets=["users"])
    assert "pipeline" not in collect_spec(original, back)


def test_a_pipeline_is_collected_from_its_steps_keeping_numbers_typed_as_text() -> None:
    reader = {"type": "sql", "options": {"url": "sqlite:///x.db", "query": "SELECT 1"}}
    original = {"name": "p", "kind": "pipeline", "pipeline": {"max_errors": 10}}
    form = FormValues(
        job=Section({"name": "p", "kind": "pipeline"}, JOB_KEYS),
        pipeline=Section({"max_errors": keep_types(10, "10")}, ("max_errors", "batch_size")),
        readers=[reader],
        transformers=[],
        writers=[{"type": "console"}],
    )
    assert collect_spec(original, form)["pipeline"] == {
        "max_errors": 10,
        "readers": [reader],
        "writers": [{"type": "console"}],
    }
    assert keep_types({"initial": 5, "t": "30s"}, {"initial": "5", "t": "1m"}) == {
        "initial": 5,
        "t": "1m",
    }
    assert keep_types(5, "6") == "6"

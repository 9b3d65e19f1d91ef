"""The wizard offers every sink and format of issue 21 with its options, presets and a
connection test: MySQL/MariaDB, Redis, RabbitMQ, MQTT, NATS sinks; Parquet, Avro, Excel and
template formats; the file sink's compression.

SVG snapshots (120×36) pin each one's form; the behaviour tests drive the wizard by keys:
a connection test against each real server, presets of each new type offered and copied,
a template typed over several lines."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, TextArea

from jobtui.engine import Engine
from tests.conftest import require_server

from .wizard_helpers import WizardApp, choose, focus, next_step, settle, wizard

SIZE = (120, 36)
SINKS: dict[str, dict[str, Any]] = {
    "mysql": {"url": "mysql://root@127.0.0.1:3306/test", "table": "{dataset}_{run}"},
    "redis": {"url": "redis://127.0.0.1:6379/8", "mode": "stream", "maxlen": 10000},
    "rabbitmq": {"url": "amqp://127.0.0.1:5672/", "exchange": "", "message": "batch"},
    "mqtt": {"url": "mqtt://127.0.0.1:1883", "topic": "jobtui/{dataset}", "qos": 1},
    "nats": {"url": "nats://127.0.0.1:4222", "subject": "jobtui.{dataset}"},
}
SERVERS = {
    "mysql": 3306,
    "redis": 6379,
    "rabbitmq": 5672,
    "mqtt": 1883,
    "nats": 4222,
}
FORMATS: dict[str, dict[str, Any]] = {
    "parquet": {"compression": "zstd", "row_group_size": 50000},
    "avro": {"codec": "deflate"},
    "excel": {"rows_per_sheet": 1000},
    "template": {"header": "# {{ dataset }}\n", "record": "{{ id }};{{ email }}"},
}


def keys(text: str) -> list[str]:
    return ["space" if ch == " " else ch for ch in text]


def job(name: str, generator: dict[str, Any], sinks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "datagen": {
            "datasets": ["users"],
            "max_records": 100,
            "seed": 42,
            "generator": generator,
            "sinks": sinks,
        },
    }


async def at_step(pilot: Pilot[Any], step: str) -> None:
    await settle(pilot)
    while wizard(pilot).step != step:
        await next_step(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # a blinking cursor makes snapshots flaky
    for area in pilot.app.screen.query(TextArea):
        area.cursor_blink = False
    await pilot.pause()


# -- snapshots -------------------------------------------------------------------------------
@pytest.mark.parametrize("sink_type", sorted(SINKS))
def test_sink_form_snapshot(snap_compare: Any, clocked_engine: Engine, sink_type: str) -> None:
    sink = {"type": sink_type, "options": SINKS[sink_type]}
    clocked_engine.create_job(job("to-broker", {"format": "jsonl"}, [sink]))
    app = WizardApp(clocked_engine, "default/to-broker")

    async def run_before(pilot: Pilot[Any]) -> None:
        await at_step(pilot, "sinks")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_format_form_snapshot(snap_compare: Any, clocked_engine: Engine, fmt: str) -> None:
    generator = {"format": fmt, "options": FORMATS[fmt]}
    clocked_engine.create_job(job("typed", generator, [{"type": "console"}]))
    app = WizardApp(clocked_engine, "default/typed")

    async def run_before(pilot: Pilot[Any]) -> None:
        await at_step(pilot, "generator")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_file_compression_snapshot(snap_compare: Any, clocked_engine: Engine) -> None:
    sink = {"type": "file", "options": {"base_dir": "out", "compression": "zstd"}}
    clocked_engine.create_job(job("packed", {"format": "csv"}, [sink]))
    app = WizardApp(clocked_engine, "default/packed")

    async def run_before(pilot: Pilot[Any]) -> None:
        await at_step(pilot, "sinks")
        await focus(pilot, "datagen.sinks[0].options.compression")
        await pilot.press("enter")  # the codecs, listed
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


# -- behaviour -------------------------------------------------------------------------------
async def test_each_new_sink_tests_its_connection(engine: Engine) -> None:
    """ctrl+t on each new sink reaches its real server and says so beside the form."""
    for sink_type, port in SERVERS.items():
        require_server(sink_type, "127.0.0.1", port)
    sinks = [{"type": t, "options": o} for t, o in SINKS.items()]
    engine.create_job(job("brokers", {"format": "jsonl"}, sinks))
    app = WizardApp(engine, "default/brokers")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, "sinks")
        for index, sink_type in enumerate(SINKS):
            if index:
                await choose(pilot, wizard(pilot).query_one("#sink-pick", Select), index)
            await pilot.press("ctrl+t")
            await settle(pilot)
            result = str(wizard(pilot).query_one("#sink-test-result", Static).render())
            assert result.startswith(f"✔ {sink_type}: connected"), (sink_type, result)


async def test_a_refused_connection_is_shown_beside_the_url(engine: Engine) -> None:
    sink = {"type": "redis", "options": {"url": "redis://127.0.0.1:9/0"}}
    engine.create_job(job("nowhere", {"format": "jsonl"}, [sink]))
    app = WizardApp(engine, "default/nowhere")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, "sinks")
        await pilot.press("ctrl+t")
        await settle(pilot)
        result = str(wizard(pilot).query_one("#sink-test-result", Static).render())
        assert result.startswith("✖"), result


async def test_presets_of_each_new_type_are_offered_and_copied(engine: Engine) -> None:
    for sink_type, options in SINKS.items():
        engine.save_preset({"name": f"my-{sink_type}", "type": sink_type, "options": options})
    engine.create_job(job("via-presets", {"format": "jsonl"}, [{"type": "console"}]))
    app = WizardApp(engine, "default/via-presets")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, "sinks")
        type_select = wizard(pilot).query_one("#f-datagen-sinks-0-type", Select)
        offered = {value for _, value in type_select._options}
        assert set(SINKS) <= offered  # each new type, by itself
        assert {f"preset:my-{t}" for t in SINKS} <= {str(v) for v in offered}
        prefill = wizard(pilot).query_one("#sink-prefill", Select)
        values = [v for _, v in prefill._options]
        await focus(pilot, prefill)
        await pilot.press("enter", *["down"] * values.index("my-mqtt"), "enter")
        await settle(pilot)  # copied, and the prefill list is cleared again
        await next_step(pilot, "last")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "default/via-presets", [str(e) for e in wizard(pilot).errors]
    assert engine.get_job("via-presets").spec["datagen"]["sinks"] == [
        {"type": "mqtt", "options": SINKS["mqtt"]}
    ]


async def test_template_starts_with_an_example_and_takes_lines(engine: Engine) -> None:
    engine.create_job(job("ldif", {"format": "jsonl"}, [{"type": "console"}]))
    app = WizardApp(engine, "default/ldif")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, "generator")
        await choose(pilot, "datagen.generator.format", "template")
        area = wizard(pilot).query_one("#f-datagen-generator-options-record", TextArea)
        assert area.text == "{{ record | json }}"  # a working template: the preview shows
        preview = str(wizard(pilot).query_one("#format-preview", Static).render())
        assert preview.startswith('{"name":') and '"email":' in preview
        await focus(pilot, area)
        area.clear()
        await pilot.press(*keys("dn: uid={{ id }}"), "enter", *keys("mail: {{ email }}"))
        await settle(pilot)
        await next_step(pilot, "sinks")
        await next_step(pilot, "last")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.result == "default/ldif", [str(e) for e in wizard(pilot).errors]
    generator = engine.get_job("ldif").spec["datagen"]["generator"]
    assert generator == {
        "format": "template",
        "options": {"record": "dn: uid={{ id }}\nmail: {{ email }}"},
    }

"""What the message sinks share: name templates and JSON bodies; and that a run which
does not use a broker never loads its client library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jobtui.engine import InvalidInput
from jobtui.engine.sinks.base import SinkContext
from jobtui.engine.sinks.messages import NameTemplate, json_body, ndjson_body


def ctx() -> SinkContext:
    return SinkContext(job="shop", dataset="orders", run_id=7, fields=["id", "status", "tags"])


def test_a_template_of_run_names_is_rendered_once_and_fields_per_record() -> None:
    constant = NameTemplate("{job}.{dataset}.{run}", ctx(), "topic")
    assert constant.constant == "shop.orders.7"
    per_record = NameTemplate("{dataset}/{status}/{id}", ctx(), "topic")
    assert per_record.constant is None
    render = per_record.renderer()
    assert render({"id": 3, "status": "paid"}) == "orders/paid/3"
    assert render({"id": 4, "status": None}) == "orders/null/4"
    assert render({"id": True, "status": ["a", 1]}) == 'orders/["a",1]/true'


def test_a_template_naming_an_unknown_field_is_refused_at_open() -> None:
    with pytest.raises(InvalidInput, match=r"^subject: \{price\} is neither a field of orders"):
        NameTemplate("{dataset}.{price}", ctx(), "subject")


def test_bodies_are_compact_json() -> None:
    records = [{"id": 1, "at": "2024-01-01T00:00:00", "tags": {"a": [1]}}, {"id": 2}]
    assert json_body(records[0]) == b'{"id":1,"at":"2024-01-01T00:00:00","tags":{"a":[1]}}'
    assert [json.loads(line) for line in ndjson_body(records).splitlines()] == records


def test_importing_the_sinks_loads_no_client_library() -> None:
    code = (
        "import sys\n"
        "import jobtui.engine.sinks.base\n"
        "for name in ('mysql', 'redis', 'rabbitmq', 'mqtt', 'nats', 'file', 'sqlite'):\n"
        "    __import__('jobtui.engine.sinks.' + name)\n"
        "loaded = [m for m in ('pymysql', 'redis', 'amqp', 'paho', 'nats', 'psycopg', 'httpx')"
        " if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""

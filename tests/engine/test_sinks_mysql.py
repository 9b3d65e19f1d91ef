"""The MySQL / MariaDB sink against the real server (127.0.0.1:3306, root, no password),
judged by the `mysql` command-line client. Each test works in a database of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine, InvalidInput, RunState, SpecError
from jobtui.engine.sinks.base import SinkContext, make_sink
from tests.conftest import require_server

from .sinks_helpers import file_sink, lines_of, run_job, shell, suffix, task

HOST, PORT = "127.0.0.1", 3306
pytestmark = pytest.mark.server


def mysql(database: str, query: str) -> list[list[str]]:
    """Rows as the `mysql` client prints them (tab-separated, no header)."""
    out = shell("mysql", "-h", HOST, "-P", str(PORT), "-uroot", "-N", "-B", database, "-e", query)
    return [line.split("\t") for line in out.splitlines()]


@pytest.fixture
def database() -> Iterator[str]:
    require_server("MariaDB", HOST, PORT)
    name = f"jobtui_{suffix()}"
    mysql("test", f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        mysql("test", f"DROP DATABASE IF EXISTS {name}")


def url(database: str) -> str:
    return f"mysql://root@{HOST}:{PORT}/{database}"


RECORDS = [
    {
        "id": i,
        "name": f"user {i}",
        "score": i / 2,
        "active": i % 2 == 0,
        "tags": {"k": ["a", i]},
        "born": "2001-02-03",
        "seen": "2024-01-21T05:07:30",
    }
    for i in range(1, 1001)
]
TYPES = {
    "id": "INTEGER",
    "name": "TEXT",
    "score": "REAL",
    "active": "BOOLEAN",
    "tags": "JSON",
    "born": "DATE",
    "seen": "DATETIME",
}
AWKWARD = [
    {"id": 1, "name": "tab\there", "score": None, "active": True, "tags": {"k": ["\\n"]}},
    {"id": 2, "name": "line\nbreak\r\\back\\slash", "score": 1e20, "active": False, "tags": None},
    {"id": 3, "name": "", "score": -0.5, "active": None, "tags": ["é", "\t", "'"]},
    {"id": 4, "name": None, "score": 2.0, "active": True, "tags": []},
]


def ctx(**kw: Any) -> SinkContext:
    base: dict[str, Any] = {"job": "j", "dataset": "users", "run_id": 1, "fields": list(TYPES)}
    base.update(kw)
    return SinkContext(**base)


@pytest.mark.parametrize("method", ["load_data", "insert"])
def test_a_table_typed_from_the_dataset_gets_every_record(database: str, method: str) -> None:
    options = {"url": url(database), "table": "{dataset}_t", "method": method, "batch_size": 300}
    sink = make_sink("mysql", options, ctx(column_types=TYPES))
    sink.open()
    sink.write_records(RECORDS[:500])
    sink.write_records(RECORDS[500:])
    assert sink.close() == f"mysql table {database}.users_t"
    assert mysql(database, "SELECT count(*), sum(id), sum(active) FROM users_t") == [
        ["1000", "500500", "500"]
    ]
    columns = mysql(
        database,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{database}' AND table_name = 'users_t' ORDER BY ordinal_position",
    )
    assert columns == [
        ["id", "bigint"],
        ["name", "text"],
        ["score", "double"],
        ["active", "tinyint"],
        ["tags", "longtext"],  # MariaDB's JSON: longtext with a json_valid check
        ["born", "date"],
        ["seen", "datetime"],
    ]
    assert mysql(
        database, "SELECT born, seen, JSON_EXTRACT(tags, '$.k[1]') FROM users_t WHERE id = 7"
    ) == [["2001-02-03", "2024-01-21 05:07:30", "7"]]


@pytest.mark.parametrize("method", ["load_data", "insert"])
def test_awkward_values_round_trip(database: str, method: str) -> None:
    import pymysql

    fields = ["id", "name", "score", "active", "tags"]
    sink = make_sink("mysql", {"url": url(database), "method": method}, ctx(fields=fields))
    sink.open()
    sink.write_records(AWKWARD)
    sink.close()
    conn = pymysql.connect(host=HOST, port=PORT, user="root", database=database)
    with conn.cursor() as cur:
        cur.execute("SELECT id, name, score, active, tags FROM users ORDER BY id")
        rows = cur.fetchall()
    conn.close()
    assert [r[1] for r in rows] == [r["name"] for r in AWKWARD]
    assert [r[2] for r in rows] == [r["score"] for r in AWKWARD]
    assert [None if r[3] is None else bool(r[3]) for r in rows] == [r["active"] for r in AWKWARD]
    assert [None if r[4] is None else json.loads(r[4]) for r in rows] == [
        r["tags"] for r in AWKWARD
    ]


def test_a_value_the_server_would_change_fails_the_load(database: str) -> None:
    """LOAD DATA LOCAL turns bad values into warnings: the sink refuses them."""
    sink = make_sink(
        "mysql",
        {"url": url(database), "method": "load_data"},
        ctx(fields=["id", "born"], column_types={"id": "INTEGER", "born": "DATE"}),
    )
    sink.open()
    with pytest.raises(InvalidInput, match=r"changed or dropped values.*born"):
        sink.write_records([{"id": 1, "born": "not a date"}])
        sink.flush()
    sink.abort()
    assert mysql(database, "SELECT count(*) FROM users") == [["0"]]


def test_a_run_of_customers_and_orders_lands_every_record_and_references_hold(
    engine: Engine, database: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    sinks = [{"type": "mysql", "options": {"url": url(database)}}, file_sink(out)]
    run = run_job(engine, "to-mysql", sinks, max_records=3000, threads=2)
    assert run.state == RunState.SUCCEEDED, run.errors
    assert mysql(database, "SELECT count(*) FROM customers") == [["3000"]]
    assert mysql(database, "SELECT count(*) FROM orders") == [["3000"]]
    # Every order's customer is there: an inner join keeps every order.
    joined = mysql(
        database,
        "SELECT count(*), count(DISTINCT c.id) FROM orders o JOIN customers c "
        "ON c.id = o.customer_id",
    )
    assert joined[0][0] == "3000" and int(joined[0][1]) > 1000
    # Value for value what the file sink got (dates as DATETIME, objects as JSON).
    expected = [json.loads(line) for line in lines_of(out, "to-mysql", "orders", run.id)]
    rows = mysql(
        database,
        "SELECT id, customer_id, order_number, DATE_FORMAT(ordered_at, '%Y-%m-%dT%H:%i:%s'), "
        "total FROM orders ORDER BY id",
    )
    assert [(*r[:4], float(r[4])) for r in rows] == [
        (str(e["id"]), str(e["customer_id"]), e["order_number"], e["ordered_at"], e["total"])
        for e in sorted(expected, key=lambda e: e["id"])
    ]
    city = mysql(database, "SELECT JSON_VALUE(address, '$.city') FROM customers WHERE id = 1")
    first = json.loads(lines_of(out, "to-mysql", "customers", run.id)[0])
    assert city == [[first["address"]["city"]]]


def test_a_connection_killed_mid_run_fails_that_task_only(
    engine: Engine, database: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    killed: list[str] = []

    def kill_the_sinks_connection(run: Any) -> None:
        if killed:
            return
        ids = mysql(
            "test",
            "SELECT id FROM information_schema.processlist "
            f"WHERE db = '{database}' AND id <> CONNECTION_ID()",
        )
        if ids and mysql(database, "SHOW TABLES LIKE 'customers'"):
            killed.append(ids[0][0])
            mysql("test", f"KILL CONNECTION {ids[0][0]}")

    sinks = [
        {"type": "mysql", "options": {"url": url(database), "batch_size": 2000}},
        file_sink(out),
    ]
    run = run_job(
        engine,
        "mysql-killed",
        sinks,
        datasets=("customers",),
        max_records=50_000,
        on_poll=kill_the_sinks_connection,
        timeout=120,
    )
    assert killed, "the sink's connection was never seen"
    assert run.state == RunState.PARTIALLY_SUCCEEDED, run.errors
    failed = task(run, "customers", "mysql")
    assert failed.state == RunState.FAILED, failed
    assert failed.error is not None and failed.error.startswith(
        f"mysql sink: {HOST}:{PORT}/{database}: "
    ), failed.error
    assert "Lost connection" in failed.error or "gone away" in failed.error, failed.error
    assert task(run, "customers", "file").state == RunState.SUCCEEDED
    assert len(lines_of(out, "mysql-killed", "customers", run.id)) == 50_000


def test_test_connection_and_options_checked_with_their_paths(
    engine: Engine, database: str
) -> None:
    message = engine.test_sink({"type": "mysql", "options": {"url": url(database)}})
    assert message.startswith(f"mysql: connected to {database} as root@")
    with pytest.raises(InvalidInput, match="cannot connect to 127.0.0.1:9"):
        engine.test_sink({"type": "mysql", "options": {"url": "mysql://root@127.0.0.1:9/x"}})
    with pytest.raises(SpecError) as caught:
        engine.create_job(
            {
                "name": "clear-password",
                "datagen": {
                    "datasets": ["users"],
                    "sinks": [{"type": "mysql", "options": {"url": "mysql://u:pw@h/db"}}],
                },
            }
        )
    assert "datagen.sinks[0].options.url: contains a password in clear" in str(caught.value)
    preset = engine.save_preset(
        {"name": "my-maria", "type": "mysql", "options": {"url": "env:JOBTUI_MYSQL_URL"}}
    )
    assert preset.options["url"] == "env:JOBTUI_MYSQL_URL"

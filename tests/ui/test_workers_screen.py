"""The Workers screen (issue 19): against a real `jobtui worker` on the real Redis
(database 13), grow and shrink its pool and add and cancel a queue consumer by keys, each
confirmed; the queues table; snapshots at 80x24 and 140x40 from fixed data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input

from jobtui.engine import Engine
from jobtui.engine.model.broker import QueueInfo, WorkerInfo
from jobtui.screens.confirm import ConfirmScreen, PromptScreen
from jobtui.screens.workers import WorkersScreen
from tests.engine.celery_helpers import Cluster, open_cluster

from .helpers import build, settle, until

DB = 13


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Cluster]:
    with open_cluster(tmp_path, DB) as cluster:
        yield cluster


def cells(screen: WorkersScreen, table: str, first: str) -> list[str]:
    """The row of `table` whose first cell is `first` (other tests' workers and queues
    may share the database)."""
    t = screen.query_one(table, DataTable)
    rows = [[str(v) for v in t.get_row_at(i)] for i in range(t.row_count)]
    (row,) = [r for r in rows if r[0] == first]
    return row


def slots(c: Cluster, host: str) -> int:
    return {w.host: w.concurrency for w in c.engine.list_workers()}[host]


async def to_row(pilot: Any, screen: WorkersScreen, host: str) -> None:
    table = screen.query_one("#workers-table", DataTable)
    table.move_cursor(row=table.get_row_index(host))
    await settle(pilot)


async def confirm(pilot: Any, expect: str) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the confirmation")
    assert expect in pilot.app.screen.title_text
    await pilot.press("y")
    await settle(pilot)


@pytest.mark.server
@pytest.mark.slow
async def test_grow_shrink_and_consumers_from_the_screen_reach_a_real_worker(
    c: Cluster,
) -> None:
    c.engine.create_job(
        {"name": "on-a", "kind": "command", "queue": c.queue("a"), "command": {"argv": ["true"]}}
    )
    c.start_worker("wa", ["a"])
    host, qa, qb = c.host("wa"), c.queue("a"), c.queue("b")
    app = build(c.engine)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        screen = WorkersScreen(c.engine, refresh=0)
        app.push_screen(screen)
        await settle(pilot)
        await to_row(pilot, screen, host)
        assert cells(screen, "#workers-table", host)[:4] == [host, "online", qa, "1"]
        assert cells(screen, "#queues-table", qa)[1:4] == ["0", "0", f"1 ({host})"]

        await pilot.press("plus")  # grow, confirmed
        await confirm(pilot, f"Grow the pool of {host} to 2 slot(s)?")
        assert cells(screen, "#workers-table", host)[3] == "2"
        assert slots(c, host) == 2

        await pilot.press("a")  # consume queue b too, confirmed
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the queue prompt")
        app.screen.query_one(Input).value = qb
        await pilot.press("enter")
        await confirm(pilot, f"Make {host} consume queue {qb}?")
        assert cells(screen, "#workers-table", host)[2] == f"{qa},{qb}"
        assert cells(screen, "#queues-table", qb)[3] == f"1 ({host})"

        await pilot.press("x")  # stop consuming b, confirmed
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the queue prompt")
        app.screen.query_one(Input).value = qb
        await pilot.press("enter")
        await confirm(pilot, f"Make {host} stop consuming queue {qb}?")
        assert cells(screen, "#workers-table", host)[2] == qa

        await pilot.press("minus")  # shrink back, confirmed
        await confirm(pilot, f"Shrink the pool of {host} to 1 slot(s)?")
        assert cells(screen, "#workers-table", host)[3] == "1"
        await pilot.press("minus")  # one slot: refused here, nothing sent
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert slots(c, host) == 1


def fixed() -> tuple[list[WorkerInfo], list[QueueInfo]]:
    workers = [
        WorkerInfo(
            "build-01",
            "jobtui@build-01",
            True,
            ["etl", "reports"],
            4,
            2,
            118,
            3,
            4242,
            1.2,
            [41, 42],
        ),
        WorkerInfo("build-02", "jobtui@build-02", True, ["etl"], 2, 0, 57, 0, 4343, 0.4, []),
        WorkerInfo("gpu-box", "jobtui@gpu-box", False, ["train"], 1, 1, 9, 1, 777, 14.0, [40]),
    ]
    queues = [
        QueueInfo("etl", 12, 2, ["build-01", "build-02"], 3),
        QueueInfo("reports", 0, 0, ["build-01"], 0),
        QueueInfo("train", 5, 1, [], 0),
    ]
    return workers, queues


@pytest.mark.parametrize("size", [(80, 24), (140, 40)])
def test_workers_screen_snapshot(snap_compare: Any, engine: Engine, size: tuple[int, int]) -> None:
    async def before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.push_screen(WorkersScreen(engine, refresh=0, source=fixed))
        await settle(pilot)

    assert snap_compare(build(engine), terminal_size=size, run_before=before)

"""Finding what went wrong in a failed run: `e`/`E` and the errors/results dialog (issue 20,
points 1 and 2), on a real command run that fails the way backups do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobtui.engine import Engine, RunState
from jobtui.screens.confirm import TextScreen
from jobtui.screens.history import HistoryScreen
from jobtui.screens.logs import LogsScreen
from jobtui.screens.run_details import details
from jobtui.widgets.logview import LogView
from tests.ui.helpers import build, press, settle
from tests.ui.seed import NOW, add_run, add_task

SIZE = (120, 36)
SCRIPT = "echo starting; echo 'ERROR: disk full' >&2; echo 'wrote 0 of 3 files' >&2; exit 3"


@pytest.fixture
def failed_run(tmp_path: Path) -> Iterator[tuple[Engine, int]]:
    engine = Engine.open(data_dir=tmp_path / "data")
    job = engine.create_job(
        {"name": "backup", "kind": "command", "command": {"argv": ["bash", "-c", SCRIPT]}}
    )
    run = engine.wait_for_run(engine.queue_run(job.id).id, timeout=60)
    assert run.state == RunState.FAILED
    yield engine, run.id
    engine.close()


def _text(app) -> str:
    return str(app.screen.query_one("#text-content").render())


async def test_e_lands_on_the_stderr_error_of_a_failed_command(failed_run):
    engine, run_id = failed_run
    lines = {line.message: line.seq for line in engine.read_log(run_id)}
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(LogsScreen(engine, run_id))
        await settle(pilot)
        view = app.screen.query_one(LogView)
        await press(pilot, "E")
        assert view.cursor_seq == lines["ERROR: disk full"]
        await press(pilot, "e")
        assert view.cursor_seq == lines["wrote 0 of 3 files"]  # stderr counts as an error
        await press(pilot, "e")  # the line saying the run failed
        assert view.cursor_seq == max(lines.values())
        assert "failed" in engine.read_log(run_id, from_seq=view.cursor_seq, limit=1)[0].message


async def test_errors_dialog_reads_messages_and_the_last_stderr_lines(failed_run):
    engine, _ = failed_run
    app = build(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(HistoryScreen(engine, None))
        await settle(pilot)
        await press(pilot, "x")
        assert isinstance(app.screen, TextScreen)
        text = _text(app)
    assert "ERROR: disk full" in text and "wrote 0 of 3 files" in text
    assert "stderr" in text
    assert '{"message"' not in text and "'at'" not in text  # no raw JSON
    assert text.count("bash exited with code 3") == 1  # not repeated under Results


def test_a_cancelled_run_lists_what_it_delivered(seeded):
    engine, ids = seeded
    run_id = add_run(engine, ids["users-demo"], "cancelled", NOW - 60, NOW - 10, records=200)
    add_task(engine, run_id, 0, "users → file", "succeeded", 100, 100)
    add_task(engine, run_id, 1, "orders → file", "succeeded", 100, 100)
    add_task(engine, run_id, 2, "items → file", "cancelled", 0, 100)
    engine.store.execute(
        "UPDATE run_tasks SET result = 'wrote /out/' || name WHERE run_id = ? AND records = 100",
        (run_id,),
    )
    engine.store.execute(
        "UPDATE runs SET errors = ? WHERE id = ?",
        (f'[{{"message": "cancelled by the user", "at": {NOW - 10}}}]', run_id),
    )
    text = details(engine.get_run(run_id), utc=False).plain
    assert "Delivered before the cancel" in text
    assert "wrote /out/users → file" in text and "wrote /out/orders → file" in text
    assert "items → file: wrote" not in text
    assert "2027-01-15 08:59:50 CET  cancelled by the user" in text  # local time, no JSON

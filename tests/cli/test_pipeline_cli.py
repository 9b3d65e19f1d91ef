"""Pipeline jobs through the real command line: a bad spec exits 2 naming the field,
`run --set path=value` overrides one run, `preview` shows the next records, `jobs show` and
`jobs reset-offset` show and clear the high-water mark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jobtui.cli import cli


def jobtui(data_dir: Path, *args: str) -> Result:
    runner = CliRunner()
    return runner.invoke(cli, list(args), env={"JOBTUI_DATA_DIR": str(data_dir), "JOBTUI_DB": None})


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("id,qty\n1,5\n2,0\n3,7\n")
    return folder


def spec(tmp_path: Path, inbox: Path, **pipeline: object) -> Path:
    section = {
        "readers": [{"type": "file", "options": {"base_dir": str(inbox), "pattern": "*.csv"}}],
        "transformers": [{"type": "filter", "options": {"expr": "qty > 0"}}],
        "writers": [
            {"type": "file", "options": {"base_dir": str(tmp_path / "out"), "path": "{run}.{ext}"}}
        ],
        **pipeline,
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"name": "csv-in", "kind": "pipeline", "pipeline": section}))
    return path


def test_a_bad_pipeline_exits_2_naming_the_field(tmp_path: Path, inbox: Path) -> None:
    data = tmp_path / "data"
    bad = spec(tmp_path, inbox, transformers=[{"type": "filter", "options": {"expr": "qty >"}}])
    result = jobtui(data, "jobs", "create", str(bad))
    assert result.exit_code == 2
    assert "pipeline.transformers[0].options.expr" in result.output
    assert "Traceback" not in result.output
    assert jobtui(data, "jobs", "list").output.count("csv-in") == 0


def test_run_set_preview_show_and_reset(tmp_path: Path, inbox: Path) -> None:
    data = tmp_path / "data"
    assert jobtui(data, "jobs", "create", str(spec(tmp_path, inbox))).exit_code == 0

    preview = jobtui(data, "preview", "csv-in")
    assert preview.exit_code == 0, preview.output
    assert [json.loads(line)["id"] for line in preview.stdout.splitlines() if line] == [1, 3]

    refused = jobtui(data, "run", "csv-in", "--set", "transformers[0].options.expr=qty >")
    assert refused.exit_code == 2
    assert "set.transformers[0].options.expr" in refused.output

    done = jobtui(data, "run", "csv-in", "--wait", "--set", "transformers[0].options.expr=qty > 5")
    assert done.exit_code == 0, done.output
    written = sorted((tmp_path / "out").glob("*.jsonl"))
    assert [json.loads(x)["id"] for x in written[-1].read_text().splitlines()] == [3]

    shown = jobtui(data, "jobs", "show", "csv-in")
    assert '"a.csv"' in shown.output and "high-water mark" in shown.output
    nothing_new = jobtui(data, "preview", "csv-in")
    assert "no records" in nothing_new.output

    assert jobtui(data, "jobs", "reset-offset", "csv-in").exit_code == 0
    assert "high-water mark: — (none yet)" in jobtui(data, "jobs", "show", "csv-in").output
    assert (
        '"id": 1' in jobtui(data, "preview", "csv-in").output
        or '"id":1' in jobtui(data, "preview", "csv-in").output
    )

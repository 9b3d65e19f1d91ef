"""`jobtui datasets ...` run through the real command tree (click's CliRunner)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from jobtui.cli import cli


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"JOBTUI_DATA_DIR": str(tmp_path / "data"), "JOBTUI_DB": None}

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_list_show_and_sample(run: Any) -> None:
    result = run("datasets", "list")
    assert result.exit_code == 0
    assert "users" in result.stdout and "built-in" in result.stdout
    listed = json.loads(run("datasets", "list", "--json").stdout)
    assert {d["name"] for d in listed} >= {"users", "orders", "app_logs"}
    shown = run("datasets", "show", "orders")
    assert "customer_id" in shown.stdout and "→ customers.id" in shown.stdout
    spec = json.loads(run("datasets", "show", "users", "--json").stdout)
    assert len(spec["fields"]) == 8
    a = run("datasets", "sample", "users", "-n", "3", "--seed", "7")
    assert a.exit_code == 0 and len(a.stdout.splitlines()) == 3
    assert a.stdout == run("datasets", "sample", "users", "-n", "3", "--seed", "7").stdout
    rows = [json.loads(line) for line in a.stdout.splitlines()]
    assert all("@" in r["email"] for r in rows)
    as_csv = run("datasets", "sample", "orders", "-n", "4", "--format", "csv", "--seed", "1")
    table = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert table[0][:2] == ["id", "customer_id"] and len(table) == 5
    as_json = run("datasets", "sample", "products", "-n", "2", "--json", "--locale", "fr_FR")
    assert len(json.loads(as_json.stdout)) == 2


def test_import_export_roundtrip_and_errors(run: Any, tmp_path: Path) -> None:
    spec = {
        "name": "devices",
        "description": "Lab devices",
        "fields": [
            {"name": "serial", "type": "pattern", "pattern": "DV-####", "unique": True},
            {"name": "owner", "type": "reference", "dataset": "users", "field": "email"},
        ],
    }
    result = run("datasets", "import", write(tmp_path, "d.json", spec))
    assert result.exit_code == 0, result.stderr
    assert "saved dataset devices" in result.stderr
    exported = run("datasets", "export", "devices")
    assert json.loads(exported.stdout) == spec
    again = run("datasets", "import", write(tmp_path, "d.json", spec))
    assert again.exit_code == 2 and "exists already" in again.stderr
    assert run("datasets", "import", "--replace", write(tmp_path, "d.json", spec)).exit_code == 0
    bad = {
        "name": "bad",
        "fields": [
            {"name": "a", "type": "choice", "values": [1, 2], "weights": [1]},
            {"name": "b"},
        ],
    }
    refused = run("datasets", "import", write(tmp_path, "bad.json", bad))
    assert refused.exit_code == 2
    assert "error: fields[0].weights: must have as many items as values" in refused.stderr
    assert "error: fields[1].type: is required" in refused.stderr
    assert "Traceback" not in refused.stderr
    missing = run("datasets", "show", "nope")
    assert missing.exit_code == 3 and missing.stderr.strip() == "error: no dataset named 'nope'"
    assert run("datasets", "delete", "devices", "--yes").exit_code == 0
    assert run("datasets", "export", "devices").exit_code == 3


def test_infer_shows_then_saves(run: Any, tmp_path: Path) -> None:
    sample = "id,email,city,amount\n" + "\n".join(
        f"{i},user{i}@example.org,Lyon,{i}.50" for i in range(1, 11)
    )
    path = write(tmp_path, "s.csv", sample)
    shown = run("datasets", "infer", path, "--name", "shop")
    assert shown.exit_code == 0
    spec = json.loads(shown.stdout)
    assert [f["name"] for f in spec["fields"]] == ["id", "email", "city", "amount"]
    assert "--save" in shown.stderr
    assert run("datasets", "show", "shop").exit_code == 3
    saved = run("datasets", "infer", path, "--name", "shop", "--save")
    assert saved.exit_code == 0 and "saved dataset shop" in saved.stderr
    assert len(run("datasets", "sample", "shop", "-n", "2").stdout.splitlines()) == 2


def test_types_search(run: Any) -> None:
    result = run("datasets", "types", "-q", "email")
    assert result.exit_code == 0 and "free_email" in result.stdout
    items = json.loads(run("datasets", "types", "--json").stdout)
    assert any(t["name"] == "sequence" and t["kind"] == "builtin" for t in items)


def test_infer_explain_and_header_warning(run: Any, tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{['USA', 'USA', 'USA', 'Palau'][i % 4]},{i * 1.5}" for i in range(40))
    path = write(
        tmp_path, "m.csv", "Report generated 2024-05-01 by ops\nid,country,amount\n" + rows
    )
    shown = run("datasets", "infer", path, "--name", "m", "--explain")
    assert shown.exit_code == 0
    spec = json.loads(shown.stdout)  # stdout stays a spec, whatever is explained
    assert [f["name"] for f in spec["fields"]] == ["id", "country", "amount"]
    assert "warning: the first line looks like metadata" in shown.stderr
    assert "country: choice of 2" in shown.stderr
    assert "only 2 distinct values in 40 rows" in shown.stderr
    plain = run("datasets", "infer", path, "--name", "m")
    assert "warning: the first line" in plain.stderr and "country: choice" not in plain.stderr

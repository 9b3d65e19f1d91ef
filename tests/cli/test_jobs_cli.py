"""The headless CLI, run for real: exit codes, stdout data, stderr diagnostics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def jobtui(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "JOBTUI_DATA_DIR": str(tmp_path / "data")}
    env.pop("JOBTUI_DB", None)

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobtui", *args],
            capture_output=True,
            text=True,
            env=env,
            input=stdin,
            timeout=60,
        )

    return run


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def good_spec(tmp_path: Path, name: str = "users-out") -> dict[str, Any]:
    return {
        "name": name,
        "tags": ["t"],
        "datagen": {
            "datasets": ["users"],
            "max_records": 5,
            "sinks": [{"type": "file", "options": {"base_dir": str(tmp_path / "out")}}],
        },
    }


def test_bad_spec_exits_2_naming_every_mistake_and_stores_nothing(jobtui, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = write(
        tmp_path,
        "bad.json",
        {
            "name": "",
            "kind": "datagen",
            "schedule": {"type": "cron", "cron": "61 * * * *"},
            "datagen": {
                "datasets": ["no-such-dataset"],
                "max_records": -5,
                "generator": {"format": "csv"},
                "sinks": [{"type": "file", "options": {"path": "../../etc/x"}}],
            },
            "surprise": 1,
        },
    )
    result = jobtui("jobs", "create", bad)
    assert result.returncode == 2
    for fragment in [
        "name: must not be empty",
        "schedule.cron: minute 61 is out of range 0-59",
        "datagen.max_records: must be at least 1",
        "surprise: unknown key",
        "datagen.datasets[0]",
        "datagen.sinks[0].options.path",
    ]:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    listed = jobtui("jobs", "list", "--all", "--json")
    assert json.loads(listed.stdout) == []


def test_create_list_show_and_json(jobtui, tmp_path) -> None:  # type: ignore[no-untyped-def]
    created = jobtui("jobs", "create", write(tmp_path, "s.json", good_spec(tmp_path)))
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "default/users-out"
    listed = json.loads(jobtui("jobs", "list", "--json").stdout)
    assert [(j["name"], j["status"]) for j in listed] == [("users-out", "never_run")]
    table = jobtui("jobs", "list").stdout
    assert "users-out" in table and "never_run" in table and "Manual" in table
    shown = json.loads(jobtui("jobs", "show", "users-out", "--json").stdout)
    assert shown["spec"] == good_spec(tmp_path)
    assert jobtui("jobs", "list", "--status", "failed", "--json").stdout.strip() == "[]"
    assert json.loads(jobtui("jobs", "list", "--search", "users", "--json").stdout)


def test_not_found_exits_3(jobtui) -> None:  # type: ignore[no-untyped-def]
    result = jobtui("jobs", "show", "ghost")
    assert result.returncode == 3
    assert result.stderr.strip() == "error: no job named 'ghost'"


def test_bad_json_file_exits_2(jobtui, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "broken.json"
    path.write_text("{nope")
    result = jobtui("jobs", "create", str(path))
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr
    assert jobtui("jobs", "create", str(tmp_path / "missing.json")).returncode == 2


def test_import_then_export_all_gives_back_the_same_specs(jobtui, tmp_path) -> None:  # type: ignore[no-untyped-def]
    specs = [
        good_spec(tmp_path, "a"),
        {
            "name": "b",
            "kind": "command",
            "schedule": {"type": "cron", "cron": "0 30 3 * * ?", "timezone": "Europe/Helsinki"},
            "policies": {"retry": {"attempts": 2, "delay": "30s"}, "overlap": "queue"},
            "command": {"argv": ["echo", "b"]},
        },
        {
            "name": "c",
            "workspace": "ops",
            "description": "window",
            "datagen": {
                "datasets": ["orders"],
                "generator": {
                    "format": "sql",
                    "options": {"dialect": "postgresql", "table": "orders"},
                },
                "sinks": [{"type": "console"}],
            },
            "schedule": {
                "type": "window",
                "from_time": "08:00",
                "to_time": "18:00",
                "weekdays": ["mon", "fri"],
            },
        },
    ]
    result = jobtui("jobs", "import", write(tmp_path, "all.json", specs))
    assert result.returncode == 0, result.stderr
    exported = json.loads(jobtui("jobs", "export", "--all").stdout)
    assert sorted(exported, key=lambda s: s["name"]) == specs
    # And the export imports again into a fresh database unchanged.
    out = tmp_path / "export.json"
    assert jobtui("jobs", "export", "--all", "-o", str(out)).returncode == 0
    assert json.loads(out.read_text()) == exported
    assert jobtui("jobs", "export", "b").stdout.strip() == json.dumps(specs[1], indent=2)


def test_versions_rollback_diff_star(jobtui, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = good_spec(tmp_path, "v")
    jobtui("jobs", "create", write(tmp_path, "v1.json", spec))
    spec["datagen"]["max_records"] = 99
    applied = jobtui("jobs", "apply", write(tmp_path, "v2.json", spec), "--note", "bigger")
    assert applied.returncode == 0 and "updated default/v v2" in applied.stderr
    versions = json.loads(jobtui("jobs", "versions", "v", "--json").stdout)
    assert [(v["version"], v["note"]) for v in versions] == [(2, "bigger"), (1, "created")]
    diff = jobtui("jobs", "diff", "v", "1", "2").stdout
    assert diff.startswith("--- v1\n+++ v2\n") and '+    "max_records": 99' in diff
    assert jobtui("jobs", "rollback", "v", "1").returncode == 0
    assert json.loads(jobtui("jobs", "export", "v").stdout)["datagen"]["max_records"] == 5
    assert jobtui("jobs", "star", "v", "2").returncode == 0
    assert json.loads(jobtui("jobs", "versions", "v", "--json").stdout)[1]["starred"] is True
    assert jobtui("jobs", "rollback", "v", "42").returncode == 3


def test_delete_asks_then_trash_and_restore(jobtui, tmp_path) -> None:  # type: ignore[no-untyped-def]
    jobtui("jobs", "create", write(tmp_path, "d.json", good_spec(tmp_path, "d")))
    refused = jobtui("jobs", "delete", "d", stdin="n\n")
    # Nobody can answer on a pipe: bad input (2), not "a run failed" (1), and why.
    assert refused.returncode == 2
    assert "refusing to delete without --yes when not on a terminal" in refused.stderr
    assert json.loads(jobtui("jobs", "list", "--json").stdout)
    assert jobtui("jobs", "delete", "d", "--yes").returncode == 0
    assert json.loads(jobtui("jobs", "list", "--json").stdout) == []
    assert "d" in jobtui("jobs", "trash").stdout
    assert jobtui("jobs", "restore", "d").returncode == 0
    assert jobtui("jobs", "delete", "d", "--purge", "--yes").returncode == 0
    assert jobtui("jobs", "restore", "d").returncode == 3


def test_duplicate_pause_resume(jobtui, tmp_path) -> None:  # type: ignore[no-untyped-def]
    jobtui("jobs", "create", write(tmp_path, "o.json", good_spec(tmp_path, "orig")))
    assert jobtui("jobs", "duplicate", "orig", "copy").stdout.strip() == "default/copy"
    assert jobtui("jobs", "pause", "copy").returncode == 0
    jobs = {j["name"]: j["status"] for j in json.loads(jobtui("jobs", "list", "--json").stdout)}
    assert jobs == {"orig": "never_run", "copy": "paused"}
    assert jobtui("jobs", "resume", "copy").returncode == 0


def test_sink_presets_and_workspaces(jobtui, tmp_path) -> None:  # type: ignore[no-untyped-def]
    preset = {"name": "pg", "type": "postgres", "options": {"dsn": "env:PG_DSN"}}
    assert jobtui("sinks", "add", write(tmp_path, "p.json", preset)).returncode == 0
    shown = jobtui("sinks", "show", "pg").stdout
    assert "env:PG_DSN" in shown
    clear = {"name": "clear", "type": "postgres", "options": {"dsn": "postgresql://u:hunter2@h/db"}}
    refused = jobtui("sinks", "add", write(tmp_path, "c.json", clear))
    assert refused.returncode == 2 and "hunter2" not in refused.stderr
    assert [p["name"] for p in json.loads(jobtui("sinks", "list", "--json").stdout)] == ["pg"]
    assert jobtui("sinks", "delete", "pg", "--yes").returncode == 0
    assert jobtui("workspaces", "create", "team").returncode == 0
    names = [w["name"] for w in json.loads(jobtui("workspaces", "list", "--json").stdout)]
    assert names == ["default", "team"]
    assert jobtui("workspaces", "create", "team").returncode == 2


@pytest.mark.parametrize("args", [["jobs", "list"], ["jobs", "list", "--json"], ["--help"]])
def test_a_reader_gone_away_ends_the_command_quietly(tmp_path: Path, args: list[str]) -> None:
    """`jobtui … | head` where head has exited: no 'internal error', no traceback, exit
    status 1 (what click gives for --help)."""
    env = {**os.environ, "JOBTUI_DATA_DIR": str(tmp_path / "data")}
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the command's first write fails (EPIPE)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "jobtui", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 1

"""`jobtui daemon ...` and `jobtui schedule preview`, run for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobtui.engine import Engine


@pytest.fixture
def jobtui(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "JOBTUI_DATA_DIR": str(tmp_path / "data")}
    env.pop("JOBTUI_DB", None)
    for key in list(env):
        if key.startswith("JOBTUI_SMTP_"):
            env.pop(key)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobtui", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    return run


def test_preview_cron_in_words_with_dst_flags(jobtui) -> None:  # type: ignore[no-untyped-def]
    out = jobtui(
        "schedule", "preview", "--cron", "30 3 * * *", "--tz", "Europe/Helsinki", "-n", "400"
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("At 03:30") and "(Europe/Helsinki)" in lines[0]
    assert any("DST: skipped" in line for line in lines)
    assert any("DST: repeated hour" in line for line in lines)
    assert len(lines) == 1 + 1 + 400


def test_preview_json_spec_file_and_job_name(jobtui, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "name": "office",
        "kind": "command",
        "command": {"argv": ["true"]},
        "schedule": {"type": "cron", "cron": "0 */15 9-17 * * MON-FRI", "timezone": "UTC"},
    }
    path = tmp_path / "office.json"
    path.write_text(json.dumps(spec))
    out = jobtui("schedule", "preview", "--spec", str(path), "-n", "3", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["timezone"] == "UTC" and len(data["fires"]) == 3
    assert "15 minutes" in data["description"]
    assert jobtui("jobs", "create", str(path)).returncode == 0
    named = jobtui("schedule", "preview", "office", "-n", "2")
    assert named.returncode == 0 and len(named.stdout.splitlines()) == 4


def test_preview_bad_input_exits_2_and_unknown_job_3(jobtui) -> None:  # type: ignore[no-untyped-def]
    bad = jobtui("schedule", "preview", "--cron", "61 * * * *")
    assert bad.returncode == 2 and "minute" in bad.stderr
    assert jobtui("schedule", "preview").returncode == 2
    assert jobtui("schedule", "preview", "nope").returncode == 3


def test_status_pause_resume_without_a_daemon(jobtui) -> None:  # type: ignore[no-untyped-def]
    status = jobtui("daemon", "status")
    assert status.returncode == 1
    assert status.stdout.startswith("daemon: stopped")
    assert jobtui("daemon", "pause").returncode == 0
    data = json.loads(jobtui("daemon", "status", "--json").stdout)
    assert data["paused"] is True and data["state"] == "stopped"
    assert jobtui("daemon", "resume").returncode == 0
    assert json.loads(jobtui("daemon", "status", "--json").stdout)["paused"] is False
    assert "no jobtui daemon is running" in jobtui("daemon", "stop").stdout


def test_smtp_settings_refuse_clear_passwords(jobtui) -> None:  # type: ignore[no-untyped-def]
    bad = jobtui("daemon", "smtp", "--host", "mail.example.com", "--password", "hunter2")
    assert bad.returncode == 2 and "secret reference" in bad.stderr
    ok = jobtui(
        "daemon",
        "smtp",
        "--host",
        "mail.example.com",
        "--port",
        "587",
        "--starttls",
        "--password",
        "env:SMTP_PW",
        "--json",
    )
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["host"] == "mail.example.com" and data["password"] == "env:SMTP_PW"
    assert "hunter2" not in jobtui("daemon", "smtp").stdout


def test_system_jobs_hidden_unless_all_and_maintenance(tmp_path: Path, jobtui) -> None:  # type: ignore[no-untyped-def]
    engine = Engine.open(data_dir=tmp_path / "data")
    try:
        created = engine.ensure_system_jobs()
        assert len(created) == 4
        assert engine.ensure_system_jobs() == []  # idempotent
    finally:
        engine.close()
    plain = jobtui("jobs", "list")
    assert "jobtui.history-retention" not in plain.stdout
    everything = jobtui("jobs", "list", "--all")
    for name in ("history-retention", "replay-prune", "trash-purge", "db-optimize"):
        assert f"jobtui.{name}" in everything.stdout
    for task in ("retention", "replays", "optimize", "trash"):
        out = jobtui("daemon", "maintenance", task)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(task if task != "optimize" else "checkpoint")


def test_preview_after_any_instant_the_issue_example(jobtui) -> None:  # type: ignore[no-untyped-def]
    out = jobtui(
        "schedule", "preview", "--cron", "0 0 12 ? * 6L",
        "--after", "2023-06-01T00:00:00", "--tz", "UTC", "-n", "1", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [f["at"] for f in json.loads(out.stdout)["fires"]] == ["2023-06-30T12:00:00+00:00"]


def test_preview_after_reads_a_time_without_offset_in_the_zone(jobtui) -> None:  # type: ignore[no-untyped-def]
    # Athens skips 03:00-04:00 on 2023-03-26: each 03:xx fire moves one hour on.
    out = jobtui(
        "schedule", "preview", "--cron", "*/20 3 * * *", "--tz", "Europe/Athens",
        "--after", "2023-03-26T00:00:00", "-n", "4", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    fires = json.loads(out.stdout)["fires"]
    assert [f["at"] for f in fires] == [
        "2023-03-26T04:00:00+03:00",
        "2023-03-26T04:20:00+03:00",
        "2023-03-26T04:40:00+03:00",
        "2023-03-27T03:00:00+03:00",
    ]
    assert [f["note"].split(" (")[0] for f in fires] == ["DST: skipped hour"] * 3 + [""]


def test_preview_after_with_an_offset_picks_the_pass_of_the_repeated_hour(jobtui) -> None:  # type: ignore[no-untyped-def]
    # 01:30 EDT is the first pass; the next half hours are 01:00 and 01:30 EST.
    out = jobtui(
        "schedule", "preview", "--cron", "*/30 * * * *", "--tz", "America/New_York",
        "--after", "2024-11-03T01:30:00-04:00", "-n", "3", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [f["at"] for f in json.loads(out.stdout)["fires"]] == [
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T01:30:00-05:00",
        "2024-11-03T02:00:00-05:00",
    ]
    text = jobtui(
        "schedule", "preview", "--cron", "*/30 * * * *", "--tz", "America/New_York",
        "--after", "2024-11-03T01:30:00-04:00", "-n", "1",
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "ago" in text.stdout.splitlines()[2]
    assert "DST: repeated hour, second pass" in text.stdout


def test_preview_bad_after_exits_2_naming_it(jobtui) -> None:  # type: ignore[no-untyped-def]
    out = jobtui("schedule", "preview", "--cron", "* * * * *", "--after", "next tuesday")
    assert out.returncode == 2
    assert "after: 'next tuesday' is not an ISO time" in out.stderr
    assert "Traceback" not in out.stderr
    steps = jobtui("schedule", "preview", "--cron", "0/120 * * * * *")
    assert steps.returncode == 2
    assert "second step 120 is larger than the field's range 0-59" in steps.stderr
    digits = jobtui("schedule", "preview", "--cron", "² * * * *")
    assert digits.returncode == 2 and "minute '²'" in digits.stderr
    assert "Traceback" not in digits.stderr

"""`jobtui jobs import-crontab` (issue 20, point 21): shows what it will create, creates
only with a yes, and refuses what it cannot translate, line by line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CRONTAB = """\
SHELL=/bin/sh
GREETING=hello
*/5 * * * * /usr/local/bin/sync.sh --quiet
CRON_TZ=Europe/Paris
@hourly echo $GREETING
@reboot /usr/bin/start-thing
"""


@pytest.fixture
def jobtui(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "JOBTUI_DATA_DIR": str(tmp_path / "data")}
    env.pop("JOBTUI_DB", None)

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobtui", *args],
            capture_output=True,
            text=True,
            env=env,
            input=stdin,
            timeout=60,
        )

    return run


def names(jobtui) -> list[str]:  # type: ignore[no-untyped-def]
    listed = jobtui("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return sorted(j["name"] for j in json.loads(listed.stdout))


def test_shows_the_plan_and_refuses_without_yes_off_a_terminal(jobtui, tmp_path: Path):
    crontab = tmp_path / "crontab"
    crontab.write_text(CRONTAB)
    done = jobtui("jobs", "import-crontab", str(crontab))
    assert done.returncode == 2
    assert "cron-3-sync.sh" in done.stdout and "Every 5 minutes" in done.stdout
    assert "cron-5-echo" in done.stdout and "Europe/Paris" in done.stdout
    assert "line 6: not imported: @reboot" in done.stderr
    assert "refusing to create 2 jobs without --yes when not on a terminal" in done.stderr
    assert names(jobtui) == []


def test_yes_creates_command_jobs_with_the_same_schedule(jobtui, tmp_path: Path):
    done = jobtui("jobs", "import-crontab", "-", "--yes", stdin=CRONTAB)
    assert done.returncode == 0, done.stderr
    assert names(jobtui) == ["cron-3-sync.sh", "cron-5-echo"]
    exported = json.loads(jobtui("jobs", "export", "cron-5-echo").stdout)
    assert exported["schedule"]["cron"] == "@hourly"
    assert exported["schedule"]["timezone"] == "Europe/Paris"
    assert exported["command"]["env"] == {"GREETING": "hello"}
    assert exported["command"]["shell"] is True
    listed = jobtui("jobs", "list")
    assert "(daemon not running)" in listed.stdout  # the next fire, computed here


def test_a_file_with_nothing_translatable_is_bad_input(jobtui, tmp_path: Path):
    done = jobtui("jobs", "import-crontab", "-", "--yes", stdin="@reboot x\n")
    assert done.returncode == 2
    assert "line 1: not imported: @reboot" in done.stderr
    missing = jobtui("jobs", "import-crontab", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr

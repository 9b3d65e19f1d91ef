"""Coming from cron (issue 20, point 21): a crontab read as command jobs, and the next fire
of each job shown even while no daemon runs."""

from __future__ import annotations

from datetime import UTC, datetime

from jobtui.engine import Engine

CRONTAB = """\
# m h dom mon dow command
PATH=/usr/local/bin:/usr/bin:/bin
BACKUP_DIR="/srv/backups"
*/5 * * * * /usr/local/bin/sync.sh --quiet
30 3 * * 1-5 tar czf $BACKUP_DIR/home.tgz /home
@daily find /tmp -mtime +7 -delete
@reboot /usr/bin/start-thing
MAILTO=ops@example.com
CRON_TZ=America/New_York
0 9 * * * echo "good morning"
0 12 * * * date +\\%F >> /tmp/dates
0 12 * * * date +%F >> /tmp/dates
61 * * * * broken minute
CRON_TZ=Mars/Olympus
0 1 * * * echo mars
"""


def test_each_entry_becomes_a_command_job_with_its_schedule_zone_and_env(engine: Engine):
    plan = engine.crontab_plan(CRONTAB)
    by_line = {e.line_no: e.spec for e in plan.entries}
    assert sorted(by_line) == [4, 5, 6, 10, 11]
    sync = by_line[4]
    assert sync["kind"] == "command"
    assert sync["schedule"] == {"type": "cron", "cron": "*/5 * * * *"}
    assert sync["command"] == {
        "argv": ["/usr/local/bin/sync.sh --quiet"],
        "env": {"PATH": "/usr/local/bin:/usr/bin:/bin", "BACKUP_DIR": "/srv/backups"},
        "shell": True,
    }
    assert by_line[6]["schedule"]["cron"] == "@daily"
    assert by_line[10]["schedule"] == {
        "type": "cron",
        "cron": "0 9 * * *",
        "timezone": "America/New_York",
    }
    assert by_line[11]["command"]["argv"] == ["date +%F >> /tmp/dates"]  # \% is a plain %
    assert len({spec["name"] for spec in by_line.values()}) == 5


def test_what_cannot_be_translated_is_refused_line_by_line(engine: Engine):
    plan = engine.crontab_plan(CRONTAB)
    reasons = {r.line_no: r.reason for r in plan.refused}
    assert sorted(reasons) == [7, 8, 12, 13, 14, 15]
    assert reasons[7].startswith("@reboot")
    assert reasons[8].startswith("MAILTO")
    assert "'%'" in reasons[12]
    assert "minute 61" in reasons[13]
    assert "not a time zone" in reasons[14] and "line 14" in reasons[15]


def test_an_existing_job_name_is_refused_not_overwritten(engine: Engine):
    plan = engine.crontab_plan(CRONTAB)
    engine.create_job(plan.entries[0].spec)
    again = engine.crontab_plan(CRONTAB)
    assert plan.entries[0].line_no not in [e.line_no for e in again.entries]
    assert any("exists already" in r.reason for r in again.refused)


def test_next_fire_is_computed_here_while_no_daemon_runs(clocked_engine: Engine):
    engine = clocked_engine  # now: 2027-01-15 08:00:00 UTC
    engine.create_job(
        {
            "name": "nightly",
            "kind": "command",
            "command": {"argv": ["true"]},
            "schedule": {"type": "cron", "cron": "30 3 * * *", "timezone": "UTC"},
        }
    )
    engine.create_job({"name": "manual", "kind": "command", "command": {"argv": ["true"]}})
    jobs = {j.name: j for j in engine.list_jobs()}
    assert jobs["nightly"].next_fire_at == datetime(2027, 1, 16, 3, 30, tzinfo=UTC)
    assert jobs["nightly"].next_fire_local
    assert jobs["manual"].next_fire_at is None and not jobs["manual"].next_fire_local

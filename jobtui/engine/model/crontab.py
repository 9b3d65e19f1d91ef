"""A user's crontab read as jobtui command jobs (`jobtui jobs import-crontab`): no I/O.

Each entry becomes a `command` job run by the shell, with the same 5-field schedule (or
`@daily`-style shortcut), the time zone `CRON_TZ` (or `TZ`) set above it, and the
environment lines above it as its `command.env`. What cron does and jobtui cannot is
refused, line by line, with the reason: `@reboot`, a `%` in the command (cron turns it into
a newline and feeds the rest on stdin), a `SHELL` other than a POSIX shell's path, `MAILTO`
(cron mails any output; jobtui alerts mail on failure and need SMTP settings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobtui.engine.model.cron import CronError, parse_cron

SHORTCUTS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_UNESCAPED_PERCENT = re.compile(r"(?<!\\)%")
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
# cron itself sets these; a line giving one changes how the shell runs (kept in env).
_TZ_NAMES = ("CRON_TZ", "TZ")


@dataclass(frozen=True)
class CrontabEntry:
    line_no: int
    line: str
    spec: dict[str, Any]  # the job spec to create


@dataclass(frozen=True)
class CrontabRefusal:
    line_no: int
    line: str
    reason: str


@dataclass
class CrontabPlan:
    entries: list[CrontabEntry] = field(default_factory=list)
    refused: list[CrontabRefusal] = field(default_factory=list)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _job_name(command: str, line_no: int, prefix: str) -> str:
    words = command.split()
    program = words[0].rsplit("/", 1)[-1] if words else "command"
    slug = _SLUG.sub("-", program).strip("-._")[:40] or "command"
    return f"{prefix}-{line_no}-{slug}"


def parse_crontab(
    text: str, *, workspace: str = "default", prefix: str = "cron", source: str = "crontab"
) -> CrontabPlan:
    """Every entry of `text` as a job spec, or the reason it cannot be one."""
    plan = CrontabPlan()
    env: dict[str, str] = {}
    zone: str | None = None
    zone_problem = ""  # a CRON_TZ that is no time zone: the entries under it are refused
    shell = ""  # SHELL=/bin/bash: run the entries with it instead of /bin/sh
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue

        def refuse(reason: str, line_no: int = line_no, raw: str = raw) -> None:
            plan.refused.append(CrontabRefusal(line_no, raw, reason))

        env_match = _ENV_LINE.match(line)
        if env_match:
            name, value = env_match.group(1), _unquote(env_match.group(2))
            if name in _TZ_NAMES:
                try:
                    ZoneInfo(value)
                    zone, zone_problem = value, ""
                except (ZoneInfoNotFoundError, ValueError):
                    zone_problem = f"{name}={value} (line {line_no}) is not a time zone"
                    refuse(f"{name}: {value!r} is not a time zone name (like Europe/Paris)")
            elif name == "MAILTO":
                if value:
                    refuse(
                        "MAILTO: cron mails any output; jobtui mails alerts when a run "
                        "fails (set alerts.emails on the jobs and the SMTP settings)"
                    )
            elif name == "SHELL":
                if value in ("/bin/sh", "/usr/bin/sh"):
                    shell = ""
                elif re.fullmatch(r"/[\w./-]+", value):
                    shell = value
                else:
                    refuse(f"SHELL: {value!r} is not a path to a shell")
            else:
                env[name] = value
            continue
        fields = line.split(None, 1 if line.startswith("@") else 5)
        if line.startswith("@"):
            if fields[0] == "@reboot":
                refuse("@reboot: runs when the machine starts; jobtui has no start-up trigger")
                continue
            if fields[0] not in SHORTCUTS:
                refuse(f"{fields[0]}: not a cron shortcut ({', '.join(sorted(SHORTCUTS))})")
                continue
            cron, command = fields[0], fields[1] if len(fields) > 1 else ""
        else:
            if len(fields) < 6:
                refuse("not an entry: five schedule fields and a command expected")
                continue
            cron, command = " ".join(fields[:5]), fields[5]
            try:
                parse_cron(cron)
            except CronError as exc:
                refuse(f"schedule {cron!r}: {exc}")
                continue
        command = command.strip()
        if not command:
            refuse("no command after the schedule")
            continue
        if _UNESCAPED_PERCENT.search(command):
            refuse(
                "'%' in the command: cron turns it into a newline and feeds the rest on "
                "stdin; escape it as '\\%' or move the command into a script"
            )
            continue
        if zone_problem:
            refuse(f"its time zone is unknown: {zone_problem}")
            continue
        command = command.replace("\\%", "%")
        schedule: dict[str, Any] = {"type": "cron", "cron": cron}
        if zone:
            schedule["timezone"] = zone
        argv = [shell, "-c", command] if shell else [command]
        spec: dict[str, Any] = {
            "name": _job_name(command, line_no, prefix),
            "description": f"{source} line {line_no}: {raw.strip()}"[:500],
            "workspace": workspace,
            "kind": "command",
            "tags": ["crontab"],
            "schedule": schedule,
            "command": {"argv": argv, "env": dict(env), "shell": not shell},
        }
        plan.entries.append(CrontabEntry(line_no, raw, spec))
    return plan

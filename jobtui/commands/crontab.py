"""`jobtui jobs import-crontab`: a crontab's entries as command jobs, shown before created."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jobtui.cli import Context, echo, pass_context, print_json, print_table
from jobtui.commands.jobs import jobs
from jobtui.engine import CrontabPlan, InvalidInput, JobtuiError, describe_schedule

if TYPE_CHECKING:
    from jobtui.engine import Engine


def _read(engine: Engine, file: str | None) -> tuple[str, str]:
    if file is None:
        return engine.user_crontab(), "crontab -l"
    if file == "-":
        return sys.stdin.read(), "stdin"
    path = Path(file).expanduser()
    try:
        return path.read_text(encoding="utf-8", errors="replace"), str(path)
    except OSError as exc:
        raise InvalidInput(f"FILE: {file}: {exc.strerror}") from None


def _show(plan: CrontabPlan) -> None:
    rows = []
    for entry in plan.entries:
        spec = entry.spec
        schedule = spec["schedule"]
        command = spec["command"]["argv"][-1]
        rows.append(
            [
                entry.line_no,
                spec["name"],
                describe_schedule(schedule),
                schedule.get("timezone", "local"),
                len(spec["command"]["env"]),
                command if len(command) <= 60 else command[:59] + "…",
            ]
        )
    if rows:
        print_table(["line", "job", "schedule", "zone", "env", "command"], rows)
    for refusal in plan.refused:
        echo(f"line {refusal.line_no}: not imported: {refusal.reason}", err=True)
        echo(f"    {refusal.line.strip()}", err=True)


@jobs.command("import-crontab")
@click.argument("file", required=False)
@click.option("--workspace", "-w", default="default", show_default=True, help="Put the jobs here.")
@click.option("--yes", "-y", is_flag=True, help="Create the jobs without asking.")
@click.option("--dry-run", is_flag=True, help="Only show what would be created.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan (or the jobs made) as JSON.")
@pass_context
def import_crontab(
    obj: Context, file: str | None, workspace: str, yes: bool, dry_run: bool, as_json: bool
) -> None:
    """Turn each crontab entry into a command job with the same schedule.

    FILE is a crontab file (`-`: stdin); without it, your own (`crontab -l`). Environment
    lines become the jobs' environment, CRON_TZ their time zone. What cannot be translated
    is listed with its line number and the reason, and left out. The list of jobs is shown
    first; they are created after a yes (or with --yes).
    """
    engine = obj.engine
    text, source = _read(engine, file)
    plan = engine.crontab_plan(text, workspace=workspace)
    if as_json and (dry_run or not yes):
        print_json(plan)
    else:
        _show(plan)
    if not plan.entries:
        what = "no entry to import" if not plan.refused else "no entry could be imported"
        echo(f"{source}: {what}", err=True)
        sys.exit(2 if plan.refused else 0)
    count = len(plan.entries)
    plural = "" if count == 1 else "s"
    if dry_run:
        echo(f"dry run: {count} job{plural} would be created", err=True)
        return
    if not yes:
        if not sys.stdin.isatty():
            echo(
                f"refusing to create {count} job{plural} without --yes when not on a terminal",
                err=True,
            )
            sys.exit(2)
        if not click.confirm(f"Create {count} job{plural} in workspace {workspace}?", err=True):
            echo("nothing created", err=True)
            return
    made, failed = [], 0
    for entry in plan.entries:
        try:
            made.append(engine.create_job(entry.spec, f"imported from {source}"))
        except JobtuiError as exc:
            failed += 1
            echo(f"line {entry.line_no}: not imported: {exc}", err=True)
    if as_json:
        print_json(made)
    for job in made:
        echo(f"created {job.qualified_name}", err=True)
    if failed:
        sys.exit(2)


commands: list[click.Command] = []  # `import-crontab` hangs under `jobs`

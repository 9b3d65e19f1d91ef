"""`jobtui jobs`: define, list, version and delete jobs."""

from __future__ import annotations

import sys
from typing import Any

import click

from jobtui.cli import (
    Context,
    echo,
    format_when,
    json_text,
    pass_context,
    print_json,
    print_table,
    read_json_file,
)
from jobtui.engine import InvalidInput, JobStatus, JobSummary, format_duration
from jobtui.textsafe import inert

STATUS_CHOICES = click.Choice([s.value for s in JobStatus])


def _row(job: JobSummary) -> list[Any]:
    last = job.last_run
    return [
        job.name,
        job.workspace,
        job.status.value,
        job.schedule_text,
        format_when(job.next_fire_at) + (" (daemon not running)" if job.next_fire_local else ""),
        f"{last.state.value} {format_when(last.started_at)}" if last else "—",
        format_duration(last.duration) if last else "—",
        last.records if last and last.records is not None and job.counts_records else "—",
    ]


@click.group()
def jobs() -> None:
    """Job definitions: create, list, export, version, delete."""


@jobs.command("list")
@click.option("--search", "-q", help="Match name, description or tags.")
@click.option(
    "--status",
    "-s",
    "statuses",
    multiple=True,
    type=STATUS_CHOICES,
    help="Only jobs in this status (repeatable).",
)
@click.option("--workspace", "-w", help="Only jobs of this workspace.")
@click.option("--all", "include_system", is_flag=True, help="Include system jobs.")
@click.option("--sort", default="name", show_default=True, help="Sort column.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def list_jobs(
    obj: Context,
    search: str | None,
    statuses: tuple[str, ...],
    workspace: str | None,
    include_system: bool,
    sort: str,
    as_json: bool,
) -> None:
    """List jobs with their status, schedule and last run."""
    items = obj.engine.list_jobs(
        search=search,
        statuses=statuses,
        workspace=workspace,
        include_system=include_system,
        sort=sort,
    )
    if as_json:
        print_json(items)
    else:
        print_table(
            [
                "name",
                "workspace",
                "status",
                "schedule",
                "next run",
                "last run",
                "duration",
                "records",
            ],
            [_row(j) for j in items],
        )


@jobs.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def show_job(obj: Context, name: str, as_json: bool) -> None:
    """Show one job: status, last run and its spec."""
    job = obj.engine.get_job(name)
    if as_json:
        print_json(job)
        return
    echo(f"{job.qualified_name}  v{job.version}  {job.status.value}")
    if job.description:
        echo(job.description)
    echo(f"schedule: {job.schedule_text}" + (f" ({job.timezone})" if job.timezone else ""))
    echo(f"next run: {format_when(job.next_fire_at)}")
    if job.last_run:
        echo(
            f"last run: #{job.last_run.id} {job.last_run.state.value} "
            f"{format_when(job.last_run.started_at)}"
        )
    if job.kind.value == "pipeline":
        echo(f"since: {format_when(job.watermark) if job.watermark else '— (from the start)'}")
        marks = job.offsets.get("0")
        echo(f"high-water mark: {json_text(marks) if marks else '— (none yet)'}")
    echo(json_text(job.spec))


def _specs_from(path: str) -> list[dict[str, Any]]:
    data = read_json_file(path)
    if isinstance(data, dict) and isinstance(data.get("jobs"), list):
        data = data["jobs"]
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise InvalidInput(f"{path}: expected a job spec object or a list of them")


@jobs.command("create")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option("--note", default="created", help="Release note of the first version.")
@pass_context
def create_job(obj: Context, file: str, note: str) -> None:
    """Create a job from a JSON spec file (refused whole when anything is wrong)."""
    data = read_json_file(file)
    if not isinstance(data, dict):
        raise InvalidInput(f"{file}: expected one job spec object")
    job = obj.engine.create_job(data, note)
    echo(job.qualified_name)
    echo(f"created {job.qualified_name} v{job.version}", err=True)


@jobs.command("apply")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option("--note", default="", help="Release note of the new version.")
@pass_context
def apply_job(obj: Context, file: str, note: str) -> None:
    """Create the job, or store the file's spec as its new version."""
    data = read_json_file(file)
    if not isinstance(data, dict):
        raise InvalidInput(f"{file}: expected one job spec object")
    job, what = obj.engine.apply_job(data, note)
    echo(job.qualified_name)
    echo(f"{what} {job.qualified_name} v{job.version}", err=True)


@jobs.command("import")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option("--note", default="imported", help="Release note of the versions.")
@pass_context
def import_jobs(obj: Context, file: str, note: str) -> None:
    """Import one spec or a list of specs (as written by `jobs export`): all or none."""
    done = obj.engine.import_jobs(_specs_from(file), note)
    for job in done:
        echo(job.qualified_name)
    echo(f"imported {len(done)} job(s)", err=True)


@jobs.command("export")
@click.argument("name", required=False)
@click.option("--all", "export_all", is_flag=True, help="Every job (a JSON list).")
@click.option("--workspace", "-w", help="With --all: only this workspace.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to a file.")
@pass_context
def export_jobs(
    obj: Context, name: str | None, export_all: bool, workspace: str | None, output: str | None
) -> None:
    """Print a job's spec, or every job's with --all."""
    if export_all == bool(name):
        raise InvalidInput("give a job NAME or --all")
    data: Any = (
        obj.engine.export_jobs(workspace) if export_all else obj.engine.export_job(name or "")
    )
    text = json_text(data)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        echo(f"wrote {output}", err=True)
    else:
        echo(text)


@jobs.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask.")
@click.option("--purge", is_flag=True, help="Remove at once instead of moving to the trash.")
@pass_context
def delete_job(obj: Context, name: str, yes: bool, purge: bool) -> None:
    """Move a job and its history to the trash for 7 days (or --purge)."""
    job = obj.engine.get_job(name, include_deleted=purge)
    if not yes and not sys.stdin.isatty():
        # Exit 1 means "a run failed"; a question nobody can answer is bad input (2).
        raise InvalidInput("refusing to delete without --yes when not on a terminal")
    if not yes:
        what = "Remove for good" if purge else "Move to the trash"
        click.confirm(inert(f"{what} {job.qualified_name} and its history?"), abort=True, err=True)
    obj.engine.delete_job(job.id, purge=purge)
    echo(
        f"{'purged' if purge else 'moved to the trash'}: {job.qualified_name}"
        + ("" if purge else " (jobtui jobs restore brings it back)"),
        err=True,
    )


@jobs.command("restore")
@click.argument("name")
@pass_context
def restore_job(obj: Context, name: str) -> None:
    """Bring a job back from the trash, with its history."""
    job = obj.engine.restore_job(name)
    echo(f"restored {job.qualified_name}", err=True)


@jobs.command("trash")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def trash(obj: Context, as_json: bool) -> None:
    """List jobs in the trash."""
    items = obj.engine.list_trash()
    if as_json:
        print_json(items)
    else:
        print_table(
            ["name", "workspace", "version"], [[j.name, j.workspace, j.version] for j in items]
        )


@jobs.command("duplicate")
@click.argument("name")
@click.argument("new_name")
@click.option("--workspace", "-w", help="Put the copy in this workspace.")
@pass_context
def duplicate_job(obj: Context, name: str, new_name: str, workspace: str | None) -> None:
    """Copy a job under a new name (no shared history)."""
    job = obj.engine.duplicate_job(name, new_name, workspace)
    echo(job.qualified_name)


@jobs.command("pause")
@click.argument("name")
@pass_context
def pause_job(obj: Context, name: str) -> None:
    """Stop a job's schedule from firing (state: no new version)."""
    job = obj.engine.pause_job(name)
    echo(f"paused {job.qualified_name}", err=True)


@jobs.command("resume")
@click.argument("name")
@pass_context
def resume_job(obj: Context, name: str) -> None:
    """Let a paused job's schedule fire again."""
    job = obj.engine.resume_job(name)
    echo(f"resumed {job.qualified_name}", err=True)


@jobs.command("versions")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def versions(obj: Context, name: str, as_json: bool) -> None:
    """List a job's versions, newest first."""
    items = obj.engine.list_versions(name)
    if as_json:
        print_json(items)
    else:
        print_table(
            ["version", "star", "when", "author", "note"],
            [
                [v.version, "★" if v.starred else "", format_when(v.created_at), v.author, v.note]
                for v in items
            ],
        )


@jobs.command("rollback")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--note", default="", help="Release note.")
@pass_context
def rollback(obj: Context, name: str, version: int, note: str) -> None:
    """Make a new version equal to VERSION."""
    job = obj.engine.rollback_job(name, version, note)
    paused = "" if job.active else "; still paused (a rollback keeps the state)"
    echo(f"{job.qualified_name} is now v{job.version} (= v{version}){paused}", err=True)


@jobs.command("star")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--unstar", is_flag=True, help="Remove the star.")
@pass_context
def star(obj: Context, name: str, version: int, unstar: bool) -> None:
    """Star a version as major."""
    obj.engine.star_version(name, version, not unstar)
    echo(f"{'unstarred' if unstar else 'starred'} v{version}", err=True)


@jobs.command("diff")
@click.argument("name")
@click.argument("v1", type=int)
@click.argument("v2", type=int)
@pass_context
def diff(obj: Context, name: str, v1: int, v2: int) -> None:
    """Unified diff of two versions' specs."""
    echo(obj.engine.diff_versions(name, v1, v2), nl=False)


commands = [jobs]

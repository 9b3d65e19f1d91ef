"""`jobtui workspaces`."""

from __future__ import annotations

import click

from jobtui.cli import Context, echo, pass_context, print_json, print_table


@click.group()
def workspaces() -> None:
    """Named groups of jobs, datasets and sink presets."""


@workspaces.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def list_workspaces(obj: Context, as_json: bool) -> None:
    """List workspaces with their job counts."""
    items = obj.engine.list_workspaces()
    if as_json:
        print_json(items)
    else:
        print_table(["name", "jobs"], [[w.name, w.job_count] for w in items])


@workspaces.command("create")
@click.argument("name")
@pass_context
def create_workspace(obj: Context, name: str) -> None:
    """Create a workspace."""
    obj.engine.create_workspace(name)
    echo(f"created workspace {name}", err=True)


@workspaces.command("rename")
@click.argument("old")
@click.argument("new")
@pass_context
def rename_workspace(obj: Context, old: str, new: str) -> None:
    """Rename a workspace."""
    obj.engine.rename_workspace(old, new)
    echo(f"renamed workspace {old} to {new}", err=True)


commands = [workspaces]

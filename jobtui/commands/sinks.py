"""`jobtui sinks`: sink presets (global sinks)."""

from __future__ import annotations

import json

import click

from jobtui.cli import (
    Context,
    echo,
    json_text,
    pass_context,
    print_json,
    print_table,
    read_json_file,
)
from jobtui.engine import mask_secrets
from jobtui.textsafe import inert


@click.group()
def sinks() -> None:
    """Sink presets: named sink configurations jobs can use by name."""


@sinks.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def list_presets(obj: Context, as_json: bool) -> None:
    """List sink presets (secrets masked)."""
    items = [obj.engine.get_preset(p.name) for p in obj.engine.list_presets()]
    if as_json:
        print_json(items)
    else:
        print_table(
            ["name", "type", "workspace", "options"],
            [[p.name, p.type, p.workspace, json.dumps(p.options)] for p in items],
        )


@sinks.command("add")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option("--replace", is_flag=True, help="Replace a preset of the same name.")
@pass_context
def add_preset(obj: Context, file: str, replace: bool) -> None:
    """Add a preset from a JSON file: {"name", "type", "options"}."""
    preset = obj.engine.save_preset(read_json_file(file), replace=replace)
    echo(f"saved sink preset {preset.name} ({preset.type})", err=True)


@sinks.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def show_preset(obj: Context, name: str, as_json: bool) -> None:
    """Show one preset; secrets show as their reference, never in clear."""
    preset = obj.engine.get_preset(name)
    if as_json:
        print_json(preset)
        return
    echo(f"name:      {preset.name}\ntype:      {preset.type}\nworkspace: {preset.workspace}")
    echo("options:   " + json_text(mask_secrets(preset.options)))


@sinks.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
@pass_context
def delete_preset(obj: Context, name: str, yes: bool) -> None:
    """Delete a preset (refused while a job uses it)."""
    obj.engine.get_preset(name)
    if not yes:
        click.confirm(inert(f"Delete sink preset {name}?"), abort=True, err=True)
    obj.engine.delete_preset(name)
    echo(f"deleted sink preset {name}", err=True)


commands = [sinks]

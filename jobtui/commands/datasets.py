"""`jobtui datasets`: built-in and custom datasets, samples, import/export, inference."""

from __future__ import annotations

from typing import Any

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
from jobtui.textsafe import inert

FORMATS = click.Choice(["jsonl", "json", "csv"])


def _field_summary(field: dict[str, Any]) -> str:
    kind = field.get("type", "?")
    if kind == "faker":
        kind = f"faker.{field.get('provider')}"
    elif kind == "reference":
        kind = f"→ {field.get('dataset')}.{field.get('field')}"
    elif kind == "list":
        kind = f"list of {_field_summary(field.get('item') or {})}"
    extras = []
    if field.get("unique"):
        extras.append("unique")
    if field.get("nullable"):
        extras.append(f"{field['nullable']}% null")
    return kind + (f" ({', '.join(extras)})" if extras else "")


@click.group()
def datasets() -> None:
    """Datasets: the record schemas jobs generate."""


@datasets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def list_datasets(obj: Context, as_json: bool) -> None:
    """List built-in and custom datasets."""
    items = obj.engine.list_datasets()
    if as_json:
        print_json(items)
        return
    print_table(
        ["name", "kind", "fields", "description"],
        [
            [d.name, "built-in" if d.builtin else "custom", len(d.fields), d.description]
            for d in items
        ],
    )


@datasets.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the dataset spec as JSON.")
@pass_context
def show_dataset(obj: Context, name: str, as_json: bool) -> None:
    """Show a dataset's fields."""
    dataset = obj.engine.get_dataset(name)
    if as_json:
        print_json(dataset.to_spec())
        return
    echo(f"name:        {dataset.name} ({'built-in' if dataset.builtin else 'custom'})")
    echo(f"description: {dataset.description}")
    echo("fields:")
    print_table(
        ["  name", "type"],
        [[f"  {f.get('name')}", _field_summary(f)] for f in dataset.fields],
    )


@datasets.command("sample")
@click.argument("name")
@click.option("-n", "count", default=5, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", type=int, help="Seed (same seed, same records).")
@click.option("--locale", default="en_US", show_default=True, help="Faker locale.")
@click.option(
    "--format", "fmt", type=FORMATS, default="jsonl", show_default=True, help="Output format."
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@pass_context
def sample_dataset(
    obj: Context, name: str, count: int, seed: int | None, locale: str, fmt: str, as_json: bool
) -> None:
    """Print sample records of a dataset."""
    records = obj.engine.sample_dataset(name, n=count, seed=seed, locale=locale)
    if as_json:
        fmt = "json"
    options: dict[str, Any] = {"indent": 2} if fmt == "json" else {}
    data = obj.engine.encode_records(fmt, options, name, records)
    echo(data.decode("utf-8"), nl=False)


@datasets.command("import")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option("--replace", is_flag=True, help="Replace a custom dataset of the same name.")
@pass_context
def import_dataset(obj: Context, file: str, replace: bool) -> None:
    """Add a custom dataset from a JSON spec (or a list of specs)."""
    data = read_json_file(file)
    specs = data if isinstance(data, list) else [data]
    for spec in specs:
        dataset = obj.engine.save_dataset(spec, replace=replace)
        echo(f"saved dataset {dataset.name} ({len(dataset.fields)} fields)", err=True)


@datasets.command("export")
@click.argument("name")
@pass_context
def export_dataset(obj: Context, name: str) -> None:
    """Print a dataset's spec as JSON (import reads it back)."""
    echo(json_text(obj.engine.get_dataset(name).to_spec()))


@datasets.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
@pass_context
def delete_dataset(obj: Context, name: str, yes: bool) -> None:
    """Delete a custom dataset (refused while a job uses it)."""
    obj.engine.get_dataset(name)
    if not yes:
        click.confirm(inert(f"Delete dataset {name}?"), abort=True, err=True)
    obj.engine.delete_dataset(name)
    echo(f"deleted dataset {name}", err=True)


@datasets.command("infer")
@click.argument("sample_file", type=click.Path(dir_okay=False))
@click.option("--name", "-n", "name", required=True, help="Name of the new dataset.")
@click.option("--save", is_flag=True, help="Store the inferred dataset after showing it.")
@click.option("--replace", is_flag=True, help="With --save: replace a dataset of that name.")
@click.option(
    "--explain", is_flag=True, help="Say per column what was inferred and why (on stderr)."
)
@click.option("--table", help="The sheet of an Excel workbook, or the table of an SQL file.")
@pass_context
def infer_dataset(
    obj: Context,
    sample_file: str,
    name: str,
    save: bool,
    replace: bool,
    explain: bool,
    table: str | None,
) -> None:
    """Infer a dataset from a sample file and show it for review.

    Samples: CSV, JSON array, JSON lines, Parquet, Avro, Excel (xlsx; the types come from
    the file's own schema). Schemas: a JSON Schema document, SQL CREATE TABLE statements
    (types, NOT NULL, CHECK ranges, foreign keys become references; INSERTs after them are
    read as a sample). The spec goes to stdout; warnings about the file (a first line that
    is metadata, not a header...) and, with --explain, the reasons go to stderr."""
    found = obj.engine.infer_dataset(sample_file, name, explain=True, table=table)
    spec = found["dataset"]
    for warning in found["warnings"]:
        echo(f"warning: {warning}", err=True)
    echo(json_text(spec))
    if explain:
        for column in found["columns"]:
            renamed = f" (field {column['field']})" if column["field"] != column["column"] else ""
            echo(f"{column['column']}{renamed}: {column['type']}", err=True)
            echo(f"    {column['why']}", err=True)
    if save:
        dataset = obj.engine.save_dataset(spec, replace=replace)
        echo(f"saved dataset {dataset.name} ({len(dataset.fields)} fields)", err=True)
    else:
        echo(
            "review the spec above; save it with --save, or edit it and `datasets import`",
            err=True,
        )


@datasets.command("types")
@click.option("--search", "-q", help="Only types whose name or description matches.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def field_types(obj: Context, search: str | None, as_json: bool) -> None:
    """List field types: built-in kinds and Faker providers, with an example each."""
    items = obj.engine.field_types()
    if search:
        items = [t for t in items if search.lower() in t.search_text]
    if as_json:
        print_json(items)
        return
    print_table(
        ["name", "kind", "example", "description"],
        [[t.name, t.kind, t.example.replace("\n", " "), t.description[:70]] for t in items],
    )


commands = [datasets]

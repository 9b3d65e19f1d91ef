"""Finding a run's datasets: the built-ins that ship, then custom ones, and every dataset
they reference (transitively: a custom dataset may reference another custom one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jobtui.engine.model.errors import NotFound

# A dataset's spec ({name, description, fields}) by name; raises NotFound.
Lookup = Callable[[str], dict[str, Any]]


def builtin_spec(name: str) -> dict[str, Any] | None:
    from jobtui.engine.datagen.builtins import BUILTIN_DATASETS

    builtin = BUILTIN_DATASETS.get(name)
    if builtin is None:
        return None
    return {
        "name": name,
        "description": builtin.get("description", ""),
        "fields": list(builtin["fields"]),
    }


def lookup_in(custom: Mapping[str, dict[str, Any]]) -> Lookup:
    """Built-ins first, then `custom` (a run order's datasets)."""

    def lookup(name: str) -> dict[str, Any]:
        spec = builtin_spec(name)
        if spec is not None:
            return spec
        if name in custom:
            return dict(custom[name])
        raise NotFound(f"no dataset named {name!r}")

    return lookup


def closure(specs: list[dict[str, Any]], lookup: Lookup) -> list[dict[str, Any]]:
    """The specs plus every dataset they reference (transitively), for a generator."""
    from jobtui.engine.datagen.fields import references

    out = {s["name"]: s for s in specs}
    todo = list(specs)
    while todo:
        spec = todo.pop()
        for _, ds, _ in references(spec.get("fields", [])):
            if ds not in out:
                target = lookup(ds)
                out[ds] = target
                todo.append(target)
    return list(out.values())


def load_datasets(names: list[str], lookup: Lookup) -> list[dict[str, Any]]:
    """The job's datasets (in the job's order), then every dataset they reference."""
    specs = [lookup(name) for name in names]
    wanted = set(names)
    return specs + [d for d in closure(specs, lookup) if d["name"] not in wanted]

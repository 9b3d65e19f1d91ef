"""No import cycle between the modules of jobtui (issue 15): computed with grimp, the graph
builder import-linter uses. A deferred import is still an arrow."""

from __future__ import annotations

import grimp
import pytest


def find_cycle(graph: grimp.ImportGraph, prefix: str) -> list[str] | None:
    """One import cycle among the modules under `prefix`, as a path, or None."""
    modules = sorted(m for m in graph.modules if m == prefix or m.startswith(prefix + "."))
    inside = set(modules)
    edges = {
        m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in inside)
        for m in modules
    }
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in edges[module]:
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return None

    for module in modules:
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("jobtui")


def test_the_engine_has_no_import_cycle(graph: grimp.ImportGraph) -> None:
    cycle = find_cycle(graph, "jobtui.engine")
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_jobtui_has_no_import_cycle(graph: grimp.ImportGraph) -> None:
    cycle = find_cycle(graph, "jobtui")
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_found_and_reported_as_a_path() -> None:
    g = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        g.add_module(name)
    g.add_import(importer="pkg.a", imported="pkg.b")
    g.add_import(importer="pkg.b", imported="pkg.c")
    g.add_import(importer="pkg.c", imported="pkg.a")
    assert find_cycle(g, "pkg") == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]

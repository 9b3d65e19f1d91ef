"""House rule 1: the engine never loads textual (nor rich itself: httpx may bring rich in,
which is not ours); nothing opens at import.

`jobtui.engine` loads its names lazily, so importing the package alone proves nothing:
every module under jobtui/engine is imported, in a fresh interpreter, one after another;
the first whose import brings textual in is named."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import jobtui.engine


def engine_modules() -> list[str]:
    found = pkgutil.walk_packages(jobtui.engine.__path__, "jobtui.engine.")
    return ["jobtui.engine", *sorted(m.name for m in found)]


PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "textual" in sys.modules:
        print(name)
        break
"""


def test_no_engine_module_loads_textual() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *engine_modules()], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"importing {out.stdout.strip()} loads textual"


def test_every_engine_module_is_probed() -> None:
    modules = engine_modules()
    assert "jobtui.engine.schedule.daemon" in modules
    assert "jobtui.engine.run.worker" in modules
    assert len(modules) > 40


def test_importing_the_package_opens_no_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = "import jobtui.engine, jobtui.cli, jobtui.app"
    env = {"JOBTUI_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert not (tmp_path / "data").exists()


READERS = """
import runpy, sys
for argv in (["runs", "list"], ["logs", sys.argv[2], "--tail", "20"], ["runs", "show", sys.argv[2]]):
    sys.argv = ["jobtui", "--data-dir", sys.argv[1], *argv]
    try:
        runpy.run_module("jobtui", run_name="__main__")
    except SystemExit as exc:
        assert not exc.code, (argv, exc.code)
    sys.argv = [sys.argv[0], sys.argv[2], sys.argv[3]]
print("loaded:" + ",".join(m for m in ("pydantic", "jobtui.engine.model.spec") if m in sys.modules))
"""


def test_reading_runs_and_logs_loads_no_spec_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Issue 18: `jobtui logs RUN --tail 20` and `runs list` cost the interpreter and the
    # store, not pydantic and the spec models (those load where a spec is validated).
    from jobtui.engine import Engine

    data_dir = tmp_path / "data"
    engine = Engine.open(data_dir=data_dir)
    engine.create_job({"name": "hello", "kind": "command", "command": {"argv": ["true"]}})
    run = engine.queue_run("hello")
    engine.close()
    out = subprocess.run(
        [sys.executable, "-c", READERS, str(data_dir), str(run.id)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "loaded:", out.stdout

"""House rule 1: the engine never loads textual or rich; nothing opens at import."""

from __future__ import annotations

import subprocess
import sys


def test_engine_import_loads_neither_textual_nor_rich() -> None:
    code = (
        "import sys, jobtui.engine, jobtui.cli;"
        "print(','.join(m for m in ('textual', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_importing_the_package_opens_no_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = "import jobtui.engine, jobtui.cli, jobtui.app"
    env = {"JOBTUI_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert not (tmp_path / "data").exists()

"""Secret references (`env:NAME`, `file:PATH`): resolved only at run time, never stored."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from jobtui.engine.model.errors import InvalidInput

_REFERENCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$")
MASK = "••••••"
# Set by the supervisor in a worker's environment: who started it ("the daemon (pid 12)").
STARTED_BY_VARIABLE = "JOBTUI_STARTED_BY"


def is_secret_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(_REFERENCE.match(value))


def resolve_secret(value: str, *, field: str = "secret") -> str:
    """The clear value behind a reference; a non-reference is returned unchanged."""
    if not is_secret_reference(value):
        return value
    kind, _, name = value.partition(":")
    if kind == "env":
        if name not in os.environ:
            # A worker's environment is its supervisor's: say whose, since a variable set
            # in the shell that typed `jobtui run` does not reach a run the daemon starts.
            whose = os.environ.get(STARTED_BY_VARIABLE)
            where = f" in the environment of {whose}, which started this run" if whose else ""
            raise InvalidInput(f"{field}: environment variable {name} is not set{where}")
        return os.environ[name]
    path = Path(name).expanduser()
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise InvalidInput(f"{field}: cannot read {path}: {exc.strerror}") from None


def mask_secrets(value: Any) -> Any:
    """A copy with every reference shown as the reference and every clear secret masked."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, str) and _looks_secret_key(key) and not is_secret_reference(item):
                out[key] = MASK
            else:
                out[key] = mask_secrets(item)
        return out
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def _looks_secret_key(key: str) -> bool:
    return bool(re.search(r"password|secret|token|authorization|api[-_]?key|cookie", key, re.I))

"""The one JSON spelling of what the engine stores (compact, key order kept, UTF-8)."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=False, ensure_ascii=False)

"""A pipeline's `python` transformer for test_secret_logs: it writes the run's secret to
the worker's stderr as careless code does (a print, a library's log line)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any


def shout(record: dict[str, Any]) -> dict[str, Any]:
    token = os.environ["JOBTUI_TEST_TOKEN"]
    print(f"debug: calling with token {token}", file=sys.stderr, flush=True)
    logging.getLogger("some.library").warning("retrying with %s", token)
    return record

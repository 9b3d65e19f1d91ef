"""Helpers for the sink tests that run real jobs into real servers."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobtui.engine import Engine, Run, RunTask


def suffix() -> str:
    """A random suffix for our own database, table, queue, stream and topic names, so that
    parallel test runs (other engineers', xdist's) never share one."""
    return uuid.uuid4().hex[:10]


def run_job(
    engine: Engine,
    name: str,
    sinks: list[dict[str, Any]],
    *,
    datasets: tuple[str, ...] = ("customers", "orders"),
    max_records: int = 2000,
    timeout: float = 60.0,
    on_poll: Callable[[Run], None] | None = None,
    **datagen: Any,
) -> Run:
    """Create a datagen job and run it to its end (its worker supervised here)."""
    spec = {
        "datasets": list(datasets),
        "max_records": max_records,
        "seed": 7,
        "sinks": sinks,
        **datagen,
    }
    engine.create_job({"name": name, "datagen": spec})
    run = engine.queue_run(name)
    return engine.wait_for_run(run.id, timeout=timeout, poll=0.05, on_poll=on_poll)


def task(run: Run, dataset: str, sink: str) -> RunTask:
    """The run's task delivering `dataset` into the sink named `sink`."""
    for item in run.tasks:
        if item.name == f"{dataset} → {sink}":
            return item
    raise AssertionError(f"no task {dataset} → {sink} in {[t.name for t in run.tasks]}")


def file_sink(out: Path) -> dict[str, Any]:
    return {"type": "file", "name": "file", "options": {"base_dir": str(out)}}


def lines_of(out: Path, job: str, dataset: str, run_id: int) -> list[bytes]:
    return (out / job / f"{dataset}-{run_id}.jsonl").read_bytes().splitlines()


def shell(*argv: str, timeout: float = 30.0) -> str:
    """An independent client's answer (mysql, redis-cli…): its stdout, failing loudly."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout

"""Reading a run's order from the control host's database (the local worker's first step,
and what a remote executor sends along with the run)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from jobtui.engine.datagen.lookup import builtin_spec
from jobtui.engine.model.errors import JobtuiError
from jobtui.engine.model.runtime import RunOrder
from jobtui.engine.store import datasets as dataset_rows
from jobtui.engine.store import presets as preset_rows
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.db import Store


def needed_datasets(store: Store, names: list[str]) -> dict[str, dict[str, Any]]:
    """The custom datasets among `names` and every custom one they reference."""
    from jobtui.engine.datagen.fields import references

    out: dict[str, dict[str, Any]] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in out or builtin_spec(name) is not None:
            continue
        spec = dataset_rows.dataset_spec(store, name)
        if spec is None:
            continue  # the run fails naming it, when it looks the dataset up
        out[name] = spec
        todo += [ds for _, ds, _ in references(spec["fields"])]
    return out


def load_order(store: Store, run: sqlite3.Row, now: float) -> RunOrder:
    """The order of a claimed run (`run` is its row with job name and workspace). Raises
    when the job version's spec cannot be read."""
    raw = run_rows.version_spec(store, run["job_id"], run["job_version"])
    if raw is None:
        raise JobtuiError(f"job {run['job_id']} version {run['job_version']} is gone")
    from jobtui.engine.model.spec import JobSpec  # pydantic loads only when a run starts

    spec = JobSpec.model_validate(raw)
    sinks: list[dict[str, Any]] = []
    datasets: dict[str, dict[str, Any]] = {}
    if spec.datagen is not None:
        for sink in spec.datagen.sinks:
            try:
                sinks.append(preset_rows.resolve_sink(store, sink.model_dump(exclude_none=True)))
            except JobtuiError as exc:
                sinks.append({"error": str(exc)})
        datasets = needed_datasets(store, list(spec.datagen.datasets))
    offsets: dict[str, Any] = {}
    if spec.pipeline is not None:
        for writer in spec.pipeline.writers:
            try:
                resolved = preset_rows.resolve_sink(store, writer)
            except JobtuiError as exc:
                sinks.append({"error": str(exc)})
                continue
            if writer.get("format"):
                resolved["format"] = writer["format"]
            sinks.append(resolved)
        source = spec.pipeline.readers[0]
        if source.type == "datagen" and isinstance(source.options.get("dataset"), str):
            datasets = needed_datasets(store, [source.options["dataset"]])
        offsets = run_rows.job_offsets(store, int(run["job_id"]))
    return RunOrder(
        run_id=int(run["id"]),
        attempt=int(run["attempt"]),
        job_id=int(run["job_id"]),
        job_name=str(run["job_name"]),
        workspace=str(run["workspace"]),
        job_version=int(run["job_version"]),
        trigger=str(run["trigger"]),
        title=str(run["title"]),
        parameters=json.loads(run["parameters"] or "{}"),
        options=json.loads(run["options"] or "{}"),
        since=run["since"],
        started_at=run["started_at"] or now,
        spec=raw,
        sinks=sinks,
        datasets=datasets,
        offsets=offsets,
    )

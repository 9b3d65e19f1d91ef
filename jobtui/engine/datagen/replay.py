"""Replay: deliver the stored output of an earlier run to the job's current sinks (a new
run, not a re-run): stream sinks get the bytes, table sinks the records decoded from them."""

from __future__ import annotations

import functools

from jobtui.engine.datagen import run as delivery
from jobtui.engine.datagen.replay_store import READ_CHUNK, replay_files
from jobtui.engine.datagen.settings import effective_settings
from jobtui.engine.model.errors import InvalidInput, NotFound
from jobtui.engine.model.runtime import Outcome, RunContext


def run_replay(ctx: RunContext) -> Outcome:
    original = int(ctx.options["replay_of"])
    directory = ctx.data_dir / "replay" / str(original)
    manifest = replay_files(directory)
    if manifest is None:
        raise NotFound(f"run {original} has no stored output to replay (pruned?)")
    ctx.log.info(f"replaying the stored output of run {original} ({manifest['format']})")
    entries = manifest["datasets"]
    sinks = delivery.run_sinks(ctx, len(entries) > 1)
    settings = effective_settings(ctx.spec, {**ctx.options, "seed": 0})
    settings.format = manifest["format"]
    settings.format_options = manifest.get("options") or {}
    ctx.total = sum(int(e["records"]) for e in entries)
    tasks = {
        e["name"]: [
            ctx.add_task(f"{e['name']} → {s.get('name') or s['type']}", int(e["records"]))
            for s in sinks
        ]
        for e in entries
    }
    results: list[str] = []
    every = [e["dataset"] for e in entries if e.get("dataset")]
    for entry in entries:
        ctx.check()
        dataset = entry.get("dataset") or {"name": entry["name"], "fields": []}
        sink_ctx = functools.partial(delivery.sink_context, ctx, dataset, settings, every=every)
        deliveries = [
            delivery.open_delivery(ctx, spec, sink_ctx(task.name), task, False)
            for spec, task in zip(sinks, tasks[entry["name"]], strict=True)
        ]
        path = directory / entry["file"]
        records = int(entry["records"])
        streams = [d for d in deliveries if d.alive and d.sink.takes == "bytes"]
        tables = [d for d in deliveries if d.alive and d.sink.takes == "records"]
        try:
            if streams:
                with open(path, "rb") as fh:
                    while chunk := fh.read(READ_CHUNK):
                        ctx.check()
                        for d in streams:
                            d.put(chunk, None, 0)
                for d in streams:
                    d.records = d.generated = records
                    d.sink.records = records
            decoder = None
            if tables:
                try:
                    decoder = delivery.make_decoder(
                        settings.format, settings.format_options, dataset
                    )
                except InvalidInput as exc:  # a format without a decoder (template)
                    for d in tables:
                        d.fail(exc)
            if decoder is not None:
                with open(path, "rb") as fh:
                    for batch in decoder.decode(fh):
                        ctx.check()
                        rows = delivery.records_of(batch, delivery.field_names(dataset))
                        for d in tables:
                            d.put(b"", rows, len(rows))
            ctx.add_records(records)
            for d in deliveries:
                if d.alive:
                    try:
                        d.sink.flush()
                    except Exception as exc:
                        d.fail(exc)
        except BaseException:
            for d in deliveries:
                if d.alive:
                    d.sink.abort()
            raise
        results += delivery.settle(ctx, deliveries)
    state, error = delivery.final_state(ctx)
    return Outcome(state, error=error, results=results)

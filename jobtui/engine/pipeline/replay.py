"""Replaying a pipeline run: the records it wrote (kept in the replay store, in the
pipeline's format) delivered again to the job's current writers, each in its own format.
A new run, not a re-run: no reader is read and no mark moves."""

from __future__ import annotations

from jobtui.engine.datagen.formats import make_decoder
from jobtui.engine.datagen.replay_store import replay_files
from jobtui.engine.datagen.run import final_state, open_delivery, settle
from jobtui.engine.model.errors import NotFound
from jobtui.engine.model.runtime import Outcome, RunContext
from jobtui.engine.pipeline.chunks import Chunk
from jobtui.engine.pipeline.run import (
    Writer,
    flush_alive,
    pipeline_of,
    sink_context,
    writers_of,
)


def run_pipeline_replay(ctx: RunContext) -> Outcome:
    original = int(ctx.options["replay_of"])
    directory = ctx.data_dir / "replay" / str(original)
    manifest = replay_files(directory)
    if manifest is None:
        raise NotFound(f"run {original} has no stored output to replay (pruned?)")
    (entry,) = manifest["datasets"]
    ctx.log.info(f"replaying the stored output of run {original} ({manifest['format']})")
    spec = pipeline_of(ctx)
    ctx.total = int(entry["records"])
    writers: list[Writer] = []
    for writer in writers_of(ctx, spec):
        fmt_spec = writer.get("format") or spec.format.model_dump()
        fmt, fmt_options = fmt_spec.get("format", "jsonl"), fmt_spec.get("options") or {}
        task = ctx.add_task(f"replay → {writer.get('name') or writer['type']}", ctx.total)
        sink = {k: v for k, v in writer.items() if k != "format"}
        sink_ctx = sink_context(ctx, task.name, fmt, fmt_options)
        writers.append(Writer(open_delivery(ctx, sink, sink_ctx, task, False), fmt, fmt_options))
    fields = list(entry["dataset"].get("fields") or [])
    decoder = make_decoder(manifest["format"], manifest.get("options") or {}, None, fields)
    try:
        with open(directory / entry["file"], "rb") as fh:
            for batch in decoder.decode(fh):
                ctx.check()
                chunk = Chunk(list(batch), "replay")
                for w in writers:
                    w.send(chunk)
                ctx.add_records(len(batch))
        for w in writers:
            w.end()
    except BaseException:
        for w in writers:
            if w.delivery.alive:
                w.delivery.sink.abort()
        raise
    finally:
        for w in writers:
            w.delivery.finish()
    flush_alive(writers)
    results = settle(ctx, [w.delivery for w in writers])
    state, error = final_state(ctx)
    return Outcome(state, error=error, results=results)

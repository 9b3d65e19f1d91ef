"""The pipeline run: the readers in a thread of their own, then the transformers, then one
task per writer, delivered through the datagen run's `Delivery` (so a writer fails alone,
a slow network writer sits behind a bounded queue, and a cancel stops within a second).

Bad records (a line that is not JSON, a row with too many fields, a transformer's error)
go to the dead-letter file with the reader's position and the reason, and are counted; past
`max_errors` (a count, or a percentage of the records read, checked at the end) the run
fails. The source's high-water mark goes in the outcome; the store keeps it only when the
run succeeds.
"""

from __future__ import annotations

import functools
import json
import queue
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from jobtui.engine.datagen.run import Delivery, final_state, open_delivery, settle
from jobtui.engine.model.errors import InvalidInput, NotFound
from jobtui.engine.model.formats import format_extension
from jobtui.engine.model.pipeline import PipelineSpec, parse_max_errors
from jobtui.engine.model.runtime import Outcome, RunContext
from jobtui.engine.model.sinks import contained_path
from jobtui.engine.model.types import RunState
from jobtui.engine.pipeline.chain import chain, make_source
from jobtui.engine.pipeline.chunks import Bad, Chunk
from jobtui.engine.pipeline.readers import ReaderEnv, Source
from jobtui.engine.pipeline.transform import make_transformers, transform
from jobtui.engine.sinks.base import SinkContext
from jobtui.engine.sinks.partials import note_partial, partials_listing
from jobtui.paths import write_private_text

POLL = 0.25  # how often the run looks at the cancel while waiting for the readers
AHEAD = 4  # chunks the readers may read ahead of the writers
_END = object()


class TooManyErrors(InvalidInput):
    pass


class DeadLetters:
    """Bad records as JSON lines, in a file opened at the first one (thread-safe)."""

    def __init__(self, path: Path, limit: int | None):
        self.path = path
        self.limit = limit
        self.count = 0
        self.lock = threading.Lock()
        self.fh: Any = None

    def add(self, bad: Bad) -> None:
        entry = {
            "where": bad.where,
            "position": bad.position,
            "stage": bad.stage,
            "error": bad.error,
        }
        if bad.raw is not None:
            entry["record" if isinstance(bad.raw, dict) else "raw"] = bad.raw
        line = orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE)
        with self.lock:
            if self.fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.fh = open(self.path, "ab")  # noqa: SIM115
            self.fh.write(line)
            self.count += 1
            count = self.count
        if self.limit is not None and count > self.limit:
            raise TooManyErrors(
                f"max_errors: more than {self.limit} bad record(s); see {self.path}"
            )

    def close(self) -> None:
        with self.lock:
            if self.fh is not None:
                self.fh.close()
                self.fh = None


def pipeline_of(ctx: RunContext) -> PipelineSpec:
    """The pipeline as this run sees it: the job's, with the run's `--set` overrides."""
    overrides = ctx.options.get("set")
    if not overrides:
        assert ctx.spec.pipeline is not None
        return ctx.spec.pipeline
    from jobtui.engine.model.run_options import apply_overrides

    raw = apply_overrides(ctx.raw_spec.get("pipeline") or {}, overrides)
    return PipelineSpec.model_validate(raw)


def dead_letter_path(ctx: RunContext, spec: PipelineSpec) -> Path:
    base = spec.dead_letter.base_dir or str(ctx.data_dir / "dead-letter")
    relative = spec.dead_letter.path.format(job=ctx.job_name, run=ctx.run_id)
    return Path(contained_path(base, relative))


def writers_of(ctx: RunContext, spec: PipelineSpec) -> list[dict[str, Any]]:
    """The writers: presets as resolved when the run was ordered, inline ones as this run's
    pipeline has them (`--set writers[0].options.path=…` changes them)."""
    writers = []
    for i, writer in enumerate(spec.writers):
        resolved = ctx.order.sinks[i] if i < len(ctx.order.sinks) else {}
        if writer.get("preset") is None:
            resolved = {
                "type": writer["type"],
                "options": writer.get("options") or {},
                "name": writer.get("name") or writer["type"],
            }
            if writer.get("format"):
                resolved["format"] = writer["format"]
        elif "error" in resolved:
            raise NotFound(resolved["error"])
        writers.append(resolved)
    return writers


def encoded(encoder: Any, chunk: Chunk) -> bytes:
    """The chunk's bytes in the encoder's format: the reader's own JSON lines when it made
    them and they are what this encoder would write (issue 22: a CSV → JSONL pipeline
    then never makes a dict per record), else the encoder's."""
    from jobtui.engine.datagen.formats.jsonl import JsonLinesEncoder

    if chunk.jsonl is not None and type(encoder) is JsonLinesEncoder and not encoder.ascii:
        return encoder.seal(chunk.jsonl(), chunk.size)
    return encoder.encode(chunk.records)  # type: ignore[no-any-return]


class Writer:
    """A delivery and the format its bytes are in (made at the first records: the CSV
    header needs their fields)."""

    def __init__(self, delivery: Delivery, fmt: str, options: dict[str, Any]):
        self.delivery = delivery
        self.fmt = fmt
        self.options = options
        self.encoder: Any = None

    def send(self, chunk: Chunk) -> None:
        d = self.delivery
        if not d.alive:
            return
        n = chunk.size
        if d.sink.takes != "bytes":
            d.put(b"", chunk.records, n)
            return
        if self.encoder is None:
            try:
                from jobtui.engine.datagen.formats import make_encoder

                self.encoder = make_encoder(self.fmt, self.options, "records", chunk.keys())
            except Exception as exc:
                d.fail(exc)
                return
            d.put(self.encoder.header(), None, 0)
        d.put(encoded(self.encoder, chunk), None, n)

    def end(self) -> None:
        if self.encoder is not None and self.delivery.alive:
            from jobtui.engine.datagen.run import footer_parts

            for part in footer_parts(self.encoder):
                self.delivery.put(part, None, 0)


class Keeper:
    """The replay store's copy of what was written, in the pipeline's format."""

    def __init__(self, ctx: RunContext, spec: PipelineSpec):
        from jobtui.engine.datagen.replay_store import ReplayWriter

        self.ctx = ctx
        self.spec = spec
        self.fmt = spec.format.format
        self.options = dict(spec.format.options)
        self.directory = ctx.data_dir / "replay" / str(ctx.run_id)
        self.filename = f"{ctx.job_name}.{format_extension(self.fmt, self.options)}"
        self.store = ReplayWriter(self.directory, self.filename)
        self.encoder: Any = None
        self.fields: list[str] = []
        self.records = 0

    def send(self, chunk: Chunk) -> None:
        if self.encoder is None:
            from jobtui.engine.datagen.formats import make_encoder

            self.fields = chunk.keys()
            self.encoder = make_encoder(self.fmt, self.options, "records", self.fields)
            self.store.write(self.encoder.header())
        self.store.write(encoded(self.encoder, chunk))
        self.records += chunk.size

    def end(self, keep: bool) -> None:
        from jobtui.engine.datagen.replay_store import prune_job_replays
        from jobtui.engine.datagen.run import footer_parts

        if self.encoder is not None:
            for part in footer_parts(self.encoder):
                self.store.write(part)
        self.store.close()
        if not keep:
            shutil.rmtree(self.directory, ignore_errors=True)
            return
        manifest = {
            "run": self.ctx.run_id,
            "job": self.ctx.job_id,
            "format": self.fmt,
            "options": self.options,
            "datasets": [
                {
                    "name": self.ctx.job_name,
                    "file": self.filename,
                    "records": self.records,
                    "dataset": {"name": self.ctx.job_name, "fields": self.fields},
                }
            ],
        }
        write_private_text(self.directory / "manifest.json", json.dumps(manifest, default=str))
        pruned = prune_job_replays(
            self.ctx.data_dir, self.ctx.job_id, self.spec.replay.keep, self.ctx.run_id
        )
        if pruned:
            self.ctx.log.info(f"replay store: pruned the output of {pruned} older run(s)")


def flush_alive(writers: list[Writer]) -> None:
    """Flush every writer still alive; a flush that fails fails that writer only."""
    for w in writers:
        if w.delivery.alive:
            try:
                w.delivery.sink.flush()
            except Exception as exc:
                w.delivery.fail(exc)


def sink_context(ctx: RunContext, task: str, fmt: str, options: dict[str, Any]) -> SinkContext:
    return SinkContext(
        job=ctx.job_name,
        workspace=ctx.workspace,
        run_id=ctx.run_id,
        dataset=ctx.job_name,
        fields=[],
        format=fmt,
        ext=format_extension(fmt, options),
        started_at=ctx.started_at,
        task=task,
        log=ctx.log.write,
        cancel=ctx.stop,
        note_partial=functools.partial(note_partial, partials_listing(ctx.data_dir, ctx.run_id)),
    )


def discard_empty(
    ctx: RunContext, source: Source, read: int, deliveries: list[Delivery]
) -> list[str]:
    """A writer handed no record (nothing new since the watermark, or nothing passed the
    transformers) leaves nothing when its sink says so (a file sink: no empty file); its
    task succeeds and says why there is no output."""
    results = []
    for d in deliveries:
        if not d.alive or d.generated or not d.sink.discard_empty or d.task is None:
            continue
        d.sink.abort()
        d.discarded = True
        since = source.read_from()
        if read:
            why = f"none of the {read} record(s) read passed the transformers"
        else:
            why = f"nothing new since {since}" if since else "nothing to read"
        result = f"{why}: no output written"
        ctx.update_task(d.task, state="succeeded", result=result, records=0, generated=0)
        ctx.log.info(f"{d.task.name}: {result}")
        results.append(f"{d.task.name}: {result}")
    return results


def run_pipeline(ctx: RunContext) -> Outcome:
    spec = pipeline_of(ctx)
    limit, percent = parse_max_errors(spec.max_errors)
    dead = DeadLetters(dead_letter_path(ctx, spec), limit)
    offsets = ctx.order.offsets or {}
    explicit = ctx.options.get("since")
    first = spec.readers[0]
    env = ReaderEnv(
        ctx=ctx,
        offset=offsets.get("0"),
        explicit_since=float(explicit) if explicit is not None else None,
        on_bad=dead.add,
        batch_size=spec.batch_size,
    )
    source = make_source(first.type, dict(first.options), env)
    ctx.total = source.total
    ctx.fraction = source.fraction
    transformers = make_transformers([t.model_dump() for t in spec.transformers])
    label = first.name or first.type
    writers: list[Writer] = []
    for writer in writers_of(ctx, spec):
        fmt_spec = writer.get("format") or spec.format.model_dump()
        fmt, fmt_options = fmt_spec.get("format", "jsonl"), fmt_spec.get("options") or {}
        task = ctx.add_task(f"{label} → {writer.get('name') or writer['type']}", source.total)
        sink = {k: v for k, v in writer.items() if k != "format"}
        delivery = open_delivery(
            ctx, sink, sink_context(ctx, task.name, fmt, fmt_options), task, False
        )
        if delivery.alive and not delivery.sink.inline:
            delivery.start_buffered(AHEAD)
        writers.append(Writer(delivery, fmt, fmt_options))
    ctx.log.info(f"reading: {source.describe()}")
    deliveries = [w.delivery for w in writers]
    keeper = Keeper(ctx, spec) if spec.replay.enabled else None
    try:
        read = _pump(
            ctx, source, spec, transformers, [*writers, *([keeper] if keeper else [])], dead
        )
    except BaseException:
        for d in deliveries:
            if d.alive:
                d.sink.abort()
        if keeper is not None:
            keeper.end(keep=False)
        raise
    finally:
        dead.close()
    if keeper is not None:
        keeper.end(keep=True)
    results = [f"read {read} record(s) from {source.describe()}"]
    results += discard_empty(ctx, source, read, deliveries)
    results += settle(ctx, [d for d in deliveries if not d.discarded])
    state, error = final_state(ctx)
    if dead.count:
        results.append(f"dead letters: {dead.count} → {dead.path}")
        ctx.log.warning(f"{dead.count} bad record(s) went to {dead.path}")
        total = read + dead.count
        if percent is not None and total and dead.count * 100 / total > percent:
            error = (
                f"max_errors: {dead.count} bad record(s) of {total} "
                f"({dead.count * 100 / total:.1f}%) exceeds {percent:g}%; see {dead.path}"
            )
            ctx.add_error(error)
            state = RunState.FAILED
    outcome = Outcome(state, error=error, results=results)
    if state == RunState.SUCCEEDED:
        reached = source.reached()
        if reached is not None:
            outcome.offsets = {"0": reached}
            ctx.log.info(f"high-water mark reached: {json.dumps(reached, default=str)[:300]}")
    return outcome


def _pump(
    ctx: RunContext,
    source: Source,
    spec: PipelineSpec,
    transformers: list[Any],
    outputs: list[Any],
    dead: DeadLetters,
) -> int:
    """Read (in a thread of its own for a source that may block), transform and write to
    the writers (and the replay store's keeper); the records read."""
    writers = [w for w in outputs if isinstance(w, Writer)]
    chunks: queue.Queue[Any] = queue.Queue(maxsize=AHEAD)
    readers = [r.model_dump() for r in spec.readers[1:]]
    halt = threading.Event()  # the run's thread stopped taking chunks

    def hand(item: Any) -> bool:
        while not (ctx.stop.is_set() or halt.is_set()):
            try:
                chunks.put(item, timeout=POLL)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chain(source, readers, dead.add, spec.batch_size):
                if not hand(chunk):
                    return
            hand(_END)
        except BaseException as exc:  # handed to the run's thread
            hand(exc)

    def threaded() -> Iterator[Chunk]:
        thread = threading.Thread(target=produce, name="pipeline-readers", daemon=True)
        thread.start()
        while True:
            try:
                item = chunks.get(timeout=POLL)
            except queue.Empty:
                ctx.check()
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    source_chunks = (
        threaded() if source.blocking else chain(source, readers, dead.add, spec.batch_size)
    )
    read = 0
    try:
        for item in source_chunks:
            ctx.check()
            read += item.size
            ctx.add_records(item.size)
            out = transform(item, transformers, dead.add) if transformers else item
            if out.size:
                for w in outputs:
                    w.send(out)
            if writers and not any(w.delivery.alive for w in writers):
                ctx.log.warning("every writer failed; reading stopped")
                break
        for w in writers:
            w.end()
    finally:
        halt.set()
        for w in writers:
            w.delivery.finish()
    flush_alive(writers)
    return read

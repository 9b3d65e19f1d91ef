"""The data-generation run: one task per dataset × sink, buffering, parallel generation
(batches.py), the run's settings (settings.py), the replay store (replay_store.py); a replay
(replay.py) and a preview (preview.py) deliver through the same pieces.

Records are made once per dataset and fanned out: stream sinks (console, file) get the
bytes of the job's format, table sinks (sqlite, postgres, http) get the records. A sink
that fails fails its own task only; the run ends `partially_succeeded` when others did
their work.

Buffering (DESIGN.md §2, seed 000):
- `flush_each_record`: one record at a time, written and flushed before the next is made;
- `use_buffer` + `buffer_size`: a bounded queue per sink between generation and delivery,
  so a slow sink slows generation and memory stays flat; sinks marked `inline` (file,
  console, sqlite: cheap or GIL-bound work) are written in the generating thread instead,
  which is just as bounded and avoids GIL hand-overs;
- neither: generation and delivery alternate in one thread, a batch at a time;
- `threads` > 1: batches are made (and encoded) by that many processes, in order.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobtui.engine.datagen import lookup
from jobtui.engine.datagen.batches import (
    BATCH_SIZE,
    can_split,
    parallel_batches,
    serial_batches,
    serial_chunks,
    warm,
)
from jobtui.engine.datagen.replay_store import ReplayWriter, prune_job_replays
from jobtui.engine.datagen.settings import Settings, effective_settings, record_counts
from jobtui.engine.model.errors import InvalidInput, NotFound
from jobtui.engine.model.formats import format_extension
from jobtui.engine.model.runtime import Outcome, RunContext, TaskState
from jobtui.engine.model.types import RunState
from jobtui.engine.sinks.base import Sink, SinkContext, make_sink
from jobtui.engine.sinks.partials import note_partial, partials_listing
from jobtui.paths import write_private_text

if TYPE_CHECKING:
    from jobtui.engine.datagen.generate import Chunk

PUT_POLL = 0.2


# -- adapters onto the generator and the formats (engine/datagen) ------------------------
def make_generator(
    datasets: list[dict[str, Any]],
    seed: int | None,
    locale: str,
    counts: dict[str, int] | None = None,
) -> Any:
    """The run's generator; `counts` (every dataset's record count in this run) keeps
    references in range whatever the order of the datasets and with randomize_records."""
    from jobtui.engine.datagen.generate import DatasetGenerator

    return DatasetGenerator(datasets, seed=seed, locale=locale, counts=counts)


def make_encoder(fmt: str, options: dict[str, Any], dataset: dict[str, Any]) -> Any:
    """The format's encoder; given the dataset's spec so column types are known (typed SQL
    CREATE TABLE, CSV booleans)."""
    from jobtui.engine.datagen.formats import make_encoder as encoder_of

    return encoder_of(fmt, options, dataset, field_names(dataset))


def make_decoder(fmt: str, options: dict[str, Any], dataset: dict[str, Any]) -> Any:
    """The format's decoder for replay into table sinks, typed by the dataset's spec."""
    from jobtui.engine.datagen import formats

    return formats.make_decoder(fmt, options, dataset, field_names(dataset))


def footer_parts(encoder: Any) -> Iterator[bytes]:
    """The encoder's footer, in pieces when it has them (Excel's whole workbook comes at
    the end, a megabyte at a time)."""
    parts = getattr(encoder, "footer_parts", None)
    if parts is None:
        yield encoder.footer()
    else:
        yield from parts()


def field_names(dataset: dict[str, Any]) -> list[str]:
    return [f["name"] if isinstance(f, dict) else str(f) for f in dataset.get("fields", [])]


def records_of(batch: Any, fields: list[str]) -> list[dict[str, Any]]:
    """A generator batch as a list of dicts (batches may be column-wise with `.rows()`)."""
    if isinstance(batch, list):
        return batch
    rows = batch.rows() if hasattr(batch, "rows") else list(batch)
    rows = list(rows)
    if rows and not isinstance(rows[0], dict):
        return [dict(zip(fields, row, strict=False)) for row in rows]
    return rows


def to_file_sink(path: str, several: bool) -> dict[str, Any]:
    base, name = os.path.split(os.path.abspath(path))
    template = name.replace("{", "{{").replace("}", "}}")
    if several:
        stem, dot, ext = template.partition(".")
        template = f"{stem}-{{dataset}}{dot}{ext}"
    return {
        "type": "file",
        "name": "file",
        "options": {
            "base_dir": base,
            "path": template,
            "overwrite": True,
            "compression": "auto",  # by the extension: .gz, .bz2, .xz, .zst, .zip
        },
    }


def run_sinks(ctx: RunContext, several_datasets: bool) -> list[dict[str, Any]]:
    if ctx.options.get("to_file"):
        return [to_file_sink(ctx.options["to_file"], several_datasets)]
    sinks = []
    for sink in ctx.order.sinks:  # presets resolved when the run was ordered
        if "error" in sink:
            raise NotFound(sink["error"])
        sinks.append(sink)
    return sinks


def load_datasets(ctx: RunContext, names: list[str]) -> list[dict[str, Any]]:
    """The job's datasets (in the job's order), then every dataset they reference,
    transitively (a custom dataset may reference another custom one)."""
    return lookup.load_datasets(names, lookup.lookup_in(ctx.order.datasets))


# -- delivering ---------------------------------------------------------------------------
_DONE = object()


class Delivery:
    """One task: a dataset into one sink, optionally behind a bounded queue and a thread."""

    def __init__(
        self, ctx: RunContext, task: TaskState | None, sink: Sink, label: str, flush_each: bool
    ):
        self.ctx = ctx
        self.task = task
        self.sink = sink
        self.label = label
        self.flush_each = flush_each
        self.failed: str | None = None
        self.queue: queue.Queue[Any] | None = None
        self.thread: threading.Thread | None = None
        self.records = 0  # written to the sink (delivered once it closes)
        self.generated = 0  # made for this task and handed to it
        self.discarded = False  # aborted for want of records (see pipeline.run.discard_empty)

    @property
    def alive(self) -> bool:
        return self.failed is None

    def start_buffered(self, slots: int) -> None:
        self.queue = queue.Queue(maxsize=max(1, slots))
        self.thread = threading.Thread(target=self._consume, name=f"sink-{self.label}", daemon=True)
        self.thread.start()

    def _consume(self) -> None:
        assert self.queue is not None
        while True:
            item = self.queue.get()
            if item is _DONE:
                return
            if self.failed is None and not self.ctx.stop.is_set():
                self._write(*item)

    def _write(
        self,
        data: bytes,
        records: list[dict[str, Any]] | None,
        n: int,
        encoded: dict[str, Any] | None = None,
    ) -> None:
        try:
            own = encoded.get(self.sink.encoding) if encoded and self.sink.encoding else None
            if own is not None:
                self.sink.write_encoded(own, n)
            elif self.sink.takes == "bytes":
                if data:
                    self.sink.write_bytes(data, n)
            elif records:
                self.sink.write_records(records)
            if self.flush_each:
                self.sink.flush()
        except Exception as exc:
            self.fail(exc)
            return
        if n:
            self.records += n
            if self.task is not None:
                self.ctx.update_task(self.task, records=self.records, generated=self.generated)

    def fail(self, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, InvalidInput) else f"{type(exc).__name__}: {exc}"
        self.failed = message
        detail = None if isinstance(exc, InvalidInput) else traceback.format_exc()
        self.ctx.log.error(f"{self.label}: {message}")
        if detail:
            self.ctx.log.write(detail, "debug", "sink")
        self.ctx.add_error(message, detail, task=self.label)
        # A failed task counts what its destination keeps (committed, acknowledged), not
        # what it was handed: a file is removed, an open transaction rolled back.
        with contextlib.suppress(Exception):
            self.records = min(self.records, self.sink.delivered())
        if self.task is not None:
            self.ctx.update_task(
                self.task,
                state="failed",
                error=message,
                records=self.records,
                generated=self.generated,
            )
        self.sink.abort()

    def put(
        self,
        data: bytes,
        records: list[dict[str, Any]] | None,
        n: int,
        encoded: dict[str, Any] | None = None,
    ) -> None:
        if self.failed is not None:
            return
        self.generated += n
        if self.queue is None:
            self._write(data, records, n, encoded)
            return
        while True:
            try:
                self.queue.put((data, records, n, encoded), timeout=PUT_POLL)
                return
            except queue.Full:
                self.ctx.check()
                if self.failed is not None:
                    return

    def finish(self) -> None:
        """Wait for the queue to drain (or the stop)."""
        if self.queue is None or self.thread is None:
            return
        while True:
            try:
                self.queue.put(_DONE, timeout=PUT_POLL)
                break
            except queue.Full:
                if self.ctx.stop.is_set() or self.failed is not None:
                    with contextlib.suppress(queue.Empty):
                        while True:
                            self.queue.get_nowait()
        while self.thread.is_alive():
            self.thread.join(PUT_POLL)
            if self.ctx.stop.is_set():
                # Let the consumer see the stop; it drops what is queued.
                with contextlib.suppress(queue.Empty):
                    while True:
                        self.queue.get_nowait()
                with contextlib.suppress(queue.Full):
                    self.queue.put_nowait(_DONE)


# -- the run ------------------------------------------------------------------------------
def settle(ctx: RunContext, deliveries: list[Delivery]) -> list[str]:
    results = []
    for d in deliveries:
        if d.failed is not None:
            continue
        try:
            where = d.sink.close()
        except Exception as exc:
            d.fail(exc)
            continue
        if d.task is not None:
            result = f"{d.records} records → {where}"
            ctx.update_task(
                d.task, state="succeeded", result=where, records=d.records, generated=d.generated
            )
            results.append(f"{d.task.name.split(' → ')[0]}: {result}")
    return results


def open_delivery(
    ctx: RunContext,
    sink_spec: dict[str, Any],
    sink_ctx: SinkContext,
    task: TaskState,
    flush_each: bool,
) -> Delivery:
    label = task.name
    try:
        sink = make_sink(sink_spec["type"], sink_spec.get("options", {}), sink_ctx)
    except Exception as exc:
        message = str(exc)
        ctx.log.error(f"{label}: {message}")
        ctx.add_error(message, task=label)
        ctx.update_task(task, state="failed", error=message)
        dead = Delivery(ctx, task, Sink({}, sink_ctx), label, flush_each)
        dead.failed = message
        return dead
    delivery = Delivery(ctx, task, sink, label, flush_each)
    try:
        sink.open()
    except Exception as exc:
        delivery.fail(exc)
        return delivery
    ctx.update_task(task, state="running")
    return delivery


def final_state(ctx: RunContext) -> tuple[RunState, str | None]:
    states = [t.state for t in ctx.tasks]
    failed = [t for t in ctx.tasks if t.state == "failed"]
    if not failed:
        return RunState.SUCCEEDED, None
    summary = "; ".join(f"{t.name}: {t.error}" for t in failed[:3])
    if len(failed) < len(states):
        return (
            RunState.PARTIALLY_SUCCEEDED,
            f"{len(failed)} of {len(states)} task(s) failed: {summary}",
        )
    return RunState.FAILED, summary


def sink_context(
    ctx: RunContext,
    dataset: dict[str, Any],
    settings: Settings,
    task: str,
    every: list[dict[str, Any]] | None = None,
) -> SinkContext:
    from jobtui.engine.datagen.formats import column_types

    by_name = {d["name"]: d for d in every or []}
    return SinkContext(
        job=ctx.job_name,
        workspace=ctx.workspace,
        run_id=ctx.run_id,
        dataset=dataset["name"],
        fields=field_names(dataset),
        format=settings.format,
        ext=format_extension(settings.format, settings.format_options),
        started_at=ctx.started_at,
        task=task,
        log=ctx.log.write,
        cancel=ctx.stop,
        note_partial=functools.partial(note_partial, partials_listing(ctx.data_dir, ctx.run_id)),
        column_types=column_types(dataset, by_name.get),
    )


def _record_effective(ctx: RunContext, settings: Settings) -> None:
    options = dict(ctx.options)
    options["effective"] = settings.effective
    ctx.record_options(options)
    parts = []
    for key, info in settings.effective.items():
        note = info["from"]
        if info["from"] == "run":
            note = f"run override; job has {info.get('configured')}"
        parts.append(f"{key}={info['value']} ({note})")
    ctx.log.info("settings: " + ", ".join(parts))


def run_datagen(ctx: RunContext) -> Outcome:
    settings = effective_settings(ctx.spec, ctx.options)
    _record_effective(ctx, settings)
    pool = None
    if settings.processes < settings.threads and not settings.flush_each_record:
        ctx.log.info(
            f"threads: {settings.threads} asked, {settings.processes} used: the run may use "
            f"{settings.processes} CPU(s), and more processes would only compete for them"
        )
    if settings.processes > 1:
        from jobtui.engine.datagen.parallel import make_pool

        # Started first thing: a helper takes ~0.3 s to boot, which the datasets, the
        # sinks and the generator's set-up hide, and it then competes less with the pools.
        pool = make_pool(settings.processes - 1)
    try:
        return _generate(ctx, settings, pool)
    finally:
        if pool is not None:
            pool.shutdown()


def _generate(ctx: RunContext, settings: Settings, pool: Any) -> Outcome:
    assert ctx.spec.datagen is not None
    names = list(ctx.spec.datagen.datasets)
    # The job's datasets first, then those they reference (made only as references).
    every = load_datasets(ctx, names)
    datasets = every[: len(names)]
    counts = record_counts(settings, [d["name"] for d in every])
    sinks = run_sinks(ctx, len(datasets) > 1)
    ctx.total = sum(counts[d["name"]] for d in datasets)
    tasks: dict[str, list[TaskState]] = {}
    for dataset in datasets:
        tasks[dataset["name"]] = [
            ctx.add_task(
                f"{dataset['name']} → {s.get('name') or s['type']}", counts[dataset["name"]]
            )
            for s in sinks
        ]
    replay_dir = ctx.data_dir / "replay" / str(ctx.run_id) if settings.replay else None
    manifest: dict[str, Any] = {
        "run": ctx.run_id,
        "job": ctx.job_id,
        "format": settings.format,
        "options": settings.format_options,
        "datasets": [],
    }
    gen = make_generator(every, settings.seed, settings.locale, counts)
    if pool is not None and not can_split(gen):
        pool.shutdown()  # this generator cannot make batches elsewhere
        pool = None
    try:
        results = _each_dataset(
            ctx, gen, every, datasets, counts, sinks, tasks, settings, manifest, replay_dir, pool
        )
    finally:
        delivered_figure(ctx, tasks)
    if replay_dir is not None:
        write_private_text(replay_dir / "manifest.json", json.dumps(manifest, default=str))
        pruned = prune_job_replays(ctx.data_dir, ctx.job_id, settings.replay_keep, ctx.run_id)
        if pruned:
            ctx.log.info(f"replay store: pruned the output of {pruned} older run(s)")
    state, error = final_state(ctx)
    return Outcome(state, error=error, results=results)


def delivered_figure(ctx: RunContext, tasks: dict[str, list[TaskState]]) -> None:
    """The run's records become the delivered ones: per dataset, the most any of its sinks
    delivered (a run whose only sink failed delivered nothing, whatever it generated)."""
    with ctx.lock:
        ctx.records = sum(max((t.records for t in ts), default=0) for ts in tasks.values())


def _each_dataset(
    ctx: RunContext,
    gen: Any,
    every: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
    counts: dict[str, int],
    sinks: list[dict[str, Any]],
    tasks: dict[str, list[TaskState]],
    settings: Settings,
    manifest: dict[str, Any],
    replay_dir: Path | None,
    pool: Any,
) -> list[str]:
    results: list[str] = []
    for dataset in datasets:
        ctx.check()
        name = dataset["name"]
        deliveries = [
            open_delivery(
                ctx,
                sink_spec,
                sink_context(ctx, dataset, settings, task.name, every),
                task,
                settings.flush_each_record,
            )
            for sink_spec, task in zip(sinks, tasks[name], strict=True)
        ]
        replay = None
        if replay_dir is not None:
            filename = f"{name}.{format_extension(settings.format, settings.format_options)}"
            replay = ReplayWriter(replay_dir, filename)
            manifest["datasets"].append(
                {"name": name, "file": filename, "records": counts[name], "dataset": dataset}
            )
        notes: list[str] = []
        try:
            if any(d.alive for d in deliveries) or replay is not None:
                notes = _produce(
                    ctx, gen, every, dataset, counts, settings, deliveries, replay, pool
                )
        except BaseException:
            for d in deliveries:
                if d.alive:
                    d.sink.abort()
            raise
        finally:
            if replay is not None:
                replay.close()
        results += settle(ctx, deliveries)
        results += [f"{name}: {note}" for note in notes]
        ctx.log.info(f"{name}: {counts[name]} record(s) made")
    return results


def _sampler(gen: Any, name: str, count: int) -> Callable[[], list[dict[str, Any]]]:
    """The dataset's first records (at most a block), for a sink creating a table."""

    def sample() -> list[dict[str, Any]]:
        if getattr(gen, "_prepared", None) != (name, count):
            gen.prepare(name, count)
        rows: list[dict[str, Any]] = gen.rows(name, 0, min(count, 1000))
        return rows

    return sample


def _produce(
    ctx: RunContext,
    gen: Any,
    datasets: list[dict[str, Any]],
    dataset: dict[str, Any],
    counts: dict[str, int],
    settings: Settings,
    deliveries: list[Delivery],
    replay: ReplayWriter | None,
    pool: Any = None,
) -> list[str]:
    """Make and deliver one dataset; what the format had to change (`Encoder.notes`)."""
    name = dataset["name"]
    count = counts[name]
    fields = field_names(dataset)
    encoder = make_encoder(settings.format, settings.format_options, dataset)
    buffered = settings.use_buffer and not settings.flush_each_record
    queued = [d for d in deliveries if d.alive and not d.sink.inline] if buffered else []
    # Batches never depend on `threads` (so the bytes do not either); a queue of
    # `buffer_size` records needs batches no bigger than that.
    if settings.flush_each_record:
        batch_size = 1
    elif queued:
        batch_size = max(1, min(BATCH_SIZE, settings.buffer_size))
    else:
        batch_size = BATCH_SIZE
    for d in queued:
        d.start_buffered(settings.buffer_size // batch_size)
    alive = [d for d in deliveries if d.alive]
    need_bytes = replay is not None or any(d.sink.takes == "bytes" for d in alive)
    # Table sinks with an encoding of their own get rows encoded from the generator's
    # columns, in the generating processes (the real generator only: it has columns).
    encodings = (
        sorted({d.sink.encoding for d in alive if d.sink.takes == "records" and d.sink.encoding})
        if can_split(gen)
        else []
    )
    need_records = any(
        d.sink.takes == "records" and d.sink.encoding not in encodings for d in alive
    )
    if encodings:
        sample = _sampler(gen, name, count)
        for d in alive:
            d.sink.ctx.sample = sample

    def send(
        data: bytes,
        records: list[dict[str, Any]] | None,
        n: int,
        encoded: dict[str, Any] | None = None,
    ) -> None:
        if replay is not None:
            replay.write(data)
        for d in deliveries:
            d.put(data, records, n, encoded)

    try:
        send(encoder.header() if need_bytes else b"", None, 0)
        parallel = settings.processes > 1
        if parallel and not can_split(gen):
            ctx.log.warning(
                f"threads: {settings.threads} asked, but this generator cannot start at an "
                "offset in another process; generating in one process"
            )
            parallel = False
        if parallel:
            source: Iterator[Chunk] = parallel_batches(
                ctx,
                datasets,
                dataset,
                count,
                batch_size,
                settings,
                counts,
                encoder,
                pool=pool,
                need_bytes=need_bytes,
                need_records=need_records,
                encodings=encodings,
            )
        elif can_split(gen):
            warm(gen, name, count)
            source = serial_chunks(
                gen,
                name,
                count,
                batch_size,
                encoder,
                need_bytes=need_bytes,
                need_records=need_records,
                encodings=encodings,
            )
        else:  # a generator without columns: its batches, encoded here
            source = (
                (
                    encoder.encode(batch) if need_bytes else b"",
                    records_of(batch, fields) if need_records else None,
                    len(batch),
                    {},
                )
                for batch in serial_batches(gen, name, count, batch_size)
            )
        for data, records, n, encoded in source:
            ctx.check()
            send(data, records, n, encoded)
            ctx.add_records(n)
            if not any(d.alive for d in deliveries) and replay is None:
                ctx.log.warning(f"{name}: every sink failed; generation stopped")
                break
        if need_bytes:
            for part in footer_parts(encoder):
                send(part, None, 0)
    finally:
        for d in deliveries:
            d.finish()
    for d in deliveries:
        if d.alive and not settings.flush_each_record:
            try:
                d.sink.flush()
            except Exception as exc:
                d.fail(exc)
    notes: list[str] = list(getattr(encoder, "notes", list)()) if need_bytes else []
    for note in notes:
        ctx.log.warning(f"{name}: {note}")
    return notes

"""The data-generation run: one task per dataset × sink, buffering, parallel generation,
and the replay store.

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
import random
import shutil
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from jobtui.engine.datagen import lookup
from jobtui.engine.datagen.prestart import processes_for
from jobtui.engine.model.errors import InvalidInput, NotFound
from jobtui.engine.model.formats import FORMAT_EXTENSIONS
from jobtui.engine.model.runtime import Outcome, RunContext, TaskState
from jobtui.engine.model.types import RunState
from jobtui.engine.sinks.base import Sink, SinkContext, make_sink
from jobtui.engine.sinks.partials import note_partial, partials_listing

if TYPE_CHECKING:
    from jobtui.engine.datagen.generate import Chunk
    from jobtui.engine.model.spec import JobSpec

BATCH_SIZE = 5000
PUT_POLL = 0.2
READ_CHUNK = 1 << 20
OVERRIDABLE = ("max_records", "seed", "locale", "threads", "randomize_records")


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


# -- settings --------------------------------------------------------------------------
@dataclass
class Settings:
    max_records: int
    seed: int
    locale: str
    threads: int
    randomize_records: bool
    flush_each_record: bool
    use_buffer: bool
    buffer_size: int
    format: str
    format_options: dict[str, Any]
    replay: bool
    replay_keep: int
    effective: dict[str, Any] = field(default_factory=dict)
    processes: int = 1  # that generate (`prestart.processes_for`)


def effective_settings(spec: JobSpec, options: dict[str, Any]) -> Settings:
    """The job's settings with the run's overrides; `effective` says which value won."""
    dg = spec.datagen
    assert dg is not None
    effective: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for key in OVERRIDABLE:
        configured = getattr(dg, key)
        if options.get(key) is not None:
            values[key] = options[key]
            effective[key] = {"value": options[key], "from": "run", "configured": configured}
        else:
            values[key] = configured
            effective[key] = {"value": configured, "from": "job"}
    if values["seed"] is None:
        values["seed"] = random.SystemRandom().randrange(1, 2**31)
        effective["seed"] = {"value": values["seed"], "from": "random"}
    if options.get("to_file"):
        effective["sinks"] = {"value": f"file {options['to_file']}", "from": "run"}
    return Settings(
        max_records=int(values["max_records"]),
        seed=int(values["seed"]),
        locale=str(values["locale"]),
        threads=int(values["threads"]),
        randomize_records=bool(values["randomize_records"]),
        flush_each_record=dg.flush_each_record,
        use_buffer=dg.use_buffer,
        buffer_size=dg.buffer_size,
        format=dg.generator.format,
        format_options=dict(dg.generator.options),
        replay=dg.replay.enabled,
        replay_keep=dg.replay.keep,
        effective=effective,
        processes=processes_for(int(values["threads"]), dg.flush_each_record),
    )


def record_counts(settings: Settings, names: list[str]) -> dict[str, int]:
    """Each dataset's record count: max_records, or (randomize_records) a seeded draw that
    depends on the dataset's name only, not on the order of the datasets."""
    from jobtui.engine.datagen.generate import record_count

    return {
        name: record_count(settings.seed, name, settings.max_records, settings.randomize_records)
        for name in names
    }


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
            "compression": "gzip" if name.endswith(".gz") else "none",
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
        self.records = 0

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
                self.ctx.update_task(self.task, records=self.records)

    def fail(self, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, InvalidInput) else f"{type(exc).__name__}: {exc}"
        self.failed = message
        detail = None if isinstance(exc, InvalidInput) else traceback.format_exc()
        self.ctx.log.error(f"{self.label}: {message}")
        if detail:
            self.ctx.log.write(detail, "debug", "sink")
        self.ctx.add_error(message, detail, task=self.label)
        if self.task is not None:
            self.ctx.update_task(self.task, state="failed", error=message)
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


class ReplayWriter:
    """Keeps a dataset's output bytes under `<data_dir>/replay/<run_id>/`."""

    def __init__(self, directory: Path, filename: str):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / filename
        self._fh: IO[bytes] | None = open(self.path, "wb", buffering=READ_CHUNK)  # noqa: SIM115

    def write(self, data: bytes) -> None:
        if self._fh is not None and data:
            self._fh.write(data)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


# -- batches, in one process or several ---------------------------------------------------
def _batch_plan(count: int, batch_size: int) -> list[tuple[int, int]]:
    return [(start, min(batch_size, count - start)) for start in range(0, count, batch_size)]


def serial_batches(gen: Any, name: str, count: int, batch_size: int) -> Iterator[Any]:
    yield from gen.batches(name, count, batch_size)


# Parallel generation uses processes (datagen/parallel.py): on CPython the GIL makes threads
# no faster for generation, which is pure Python. Batches are made (and encoded, with
# `encode_at(batch, start)`) by `threads` processes, the caller included, and come back
# in order; record values depend only on (seed, dataset, field, record number), so the
# bytes are those of one process. The main encoder is advanced by each batch so that its
# footer (a JSON array's) knows records were written.
WARM_FROM = 50_000  # records from which filling every pool first pays for itself


def warm(gen: Any, name: str, count: int) -> None:
    """Fill every Faker pool the dataset uses before a big serial run: filled pools are
    drawn from without a per-value check, and filling them in chunks costs less than
    filling them slot by slot as draws reach them (~35% of a 1M-record run). Pool values
    depend only on the seed, so the bytes do not change."""
    if count >= WARM_FROM and can_split(gen):
        gen.fill_pools(name, count)


def can_split(gen: Any) -> bool:
    """Whether this generator's records can be made in other processes (the real one)."""
    from jobtui.engine.datagen.generate import DatasetGenerator

    return isinstance(gen, DatasetGenerator)


def parallel_batches(
    ctx: RunContext,
    datasets: list[dict[str, Any]],
    dataset: dict[str, Any],
    count: int,
    batch_size: int,
    settings: Settings,
    counts: dict[str, int],
    encoder: Any,
    *,
    pool: Any = None,
    need_bytes: bool,
    need_records: bool,
    encodings: list[str],
) -> Iterator[Chunk]:
    """`threads` processes make and encode the batches, this one included (it also
    delivers them): `threads: 2` is this process and one helper."""
    from jobtui.engine.datagen.parallel import chunk_args, parallel_chunks

    base = chunk_args(
        datasets,
        settings.seed,
        settings.locale,
        dataset["name"],
        count,
        counts=counts,
        fmt=settings.format,
        options=settings.format_options,
        need_bytes=need_bytes,
        need_records=need_records,
        encodings=encodings,
    )
    # A cancel SIGTERMs the whole process group, helpers included; a helper that is gone
    # only means this process makes the batches, until its own handler sets `stop`.
    for chunk in parallel_chunks(
        base,
        batch_size,
        settings.processes,
        pool=pool,
        stop=ctx.stop.is_set,
        report=lambda text: ctx.log.write(text, "debug", "engine"),
    ):
        encoder.advance(chunk[2])
        yield chunk
    ctx.check()  # the chunks end early when `stop` is set: a cancel, not the end


def serial_chunks(
    gen: Any,
    name: str,
    count: int,
    batch_size: int,
    encoder: Any,
    *,
    need_bytes: bool,
    need_records: bool,
    encodings: list[str],
) -> Iterator[Chunk]:
    """The batches, made in this process the way helpers make theirs (`make_chunk`): the
    format's bytes, records when a sink takes them, and sink encodings made straight from
    the generator's columns (no record dicts unless a sink or the format needs them)."""
    from jobtui.engine.datagen.generate import make_chunk

    gen.prepare(name, count)
    for start in range(0, count, batch_size):
        chunk = make_chunk(
            gen,
            name,
            start,
            min(batch_size, count - start),
            encoder if need_bytes else None,
            need_records=need_records,
            encodings=encodings,
        )
        encoder.advance(chunk[2])
        yield chunk


# -- the run ------------------------------------------------------------------------------
def _settle(ctx: RunContext, deliveries: list[Delivery]) -> list[str]:
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
            ctx.update_task(d.task, state="succeeded", result=where, records=d.records)
            results.append(f"{d.task.name.split(' → ')[0]}: {result}")
    return results


def _open(
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


def _final_state(ctx: RunContext) -> tuple[RunState, str | None]:
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


def _sink_context(
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
        ext=FORMAT_EXTENSIONS.get(settings.format, settings.format),
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
    results = _each_dataset(
        ctx, gen, every, datasets, counts, sinks, tasks, settings, manifest, replay_dir, pool
    )
    if replay_dir is not None:
        (replay_dir / "manifest.json").write_text(json.dumps(manifest, default=str))
        pruned = prune_job_replays(ctx.data_dir, ctx.job_id, settings.replay_keep, ctx.run_id)
        if pruned:
            ctx.log.info(f"replay store: pruned the output of {pruned} older run(s)")
    state, error = _final_state(ctx)
    return Outcome(state, error=error, results=results)


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
            _open(
                ctx,
                sink_spec,
                _sink_context(ctx, dataset, settings, task.name, every),
                task,
                settings.flush_each_record,
            )
            for sink_spec, task in zip(sinks, tasks[name], strict=True)
        ]
        replay = None
        if replay_dir is not None:
            filename = f"{name}.{FORMAT_EXTENSIONS.get(settings.format, settings.format)}"
            replay = ReplayWriter(replay_dir, filename)
            manifest["datasets"].append(
                {"name": name, "file": filename, "records": counts[name], "dataset": dataset}
            )
        try:
            if any(d.alive for d in deliveries) or replay is not None:
                _produce(ctx, gen, every, dataset, counts, settings, deliveries, replay, pool)
        except BaseException:
            for d in deliveries:
                if d.alive:
                    d.sink.abort()
            raise
        finally:
            if replay is not None:
                replay.close()
        results += _settle(ctx, deliveries)
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
) -> None:
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
        send(encoder.footer() if need_bytes else b"", None, 0)
    finally:
        for d in deliveries:
            d.finish()
    for d in deliveries:
        if d.alive and not settings.flush_each_record:
            try:
                d.sink.flush()
            except Exception as exc:
                d.fail(exc)


# -- replay ---------------------------------------------------------------------------------
def replay_files(directory: Path) -> dict[str, Any] | None:
    manifest = directory / "manifest.json"
    try:
        data: dict[str, Any] = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    return data


def prune_job_replays(data_dir: Path, job_id: int, keep: int, current: int) -> int:
    """Remove the stored output of the job's runs before its `keep` newest (up to `current`).
    Each run's manifest names its job, so this needs no database: a remote executor keeps
    its own replay store. (Output stored before manifests named their job is left to the
    nightly `replays` system job.)"""
    root = data_dir / "replay"
    if not root.is_dir():
        return 0
    ids = sorted(
        (int(p.name) for p in root.iterdir() if p.name.isdigit() and int(p.name) <= current),
        reverse=True,
    )
    kept = 0
    removed = 0
    for run_id in ids:
        directory = root / str(run_id)
        manifest = replay_files(directory)
        if manifest is None or manifest.get("job") != job_id:
            continue
        if kept < keep:
            kept += 1
            continue
        shutil.rmtree(directory, ignore_errors=True)
        removed += 1
    return removed


def run_replay(ctx: RunContext) -> Outcome:
    original = int(ctx.options["replay_of"])
    directory = ctx.data_dir / "replay" / str(original)
    manifest = replay_files(directory)
    if manifest is None:
        raise NotFound(f"run {original} has no stored output to replay (pruned?)")
    ctx.log.info(f"replaying the stored output of run {original} ({manifest['format']})")
    entries = manifest["datasets"]
    sinks = run_sinks(ctx, len(entries) > 1)
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
        sink_ctx = functools.partial(_sink_context, ctx, dataset, settings, every=every)
        deliveries = [
            _open(ctx, spec, sink_ctx(task.name), task, False)
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
                    d.records = records
                    d.sink.records = records
            if tables:
                decoder = make_decoder(settings.format, settings.format_options, dataset)
                with open(path, "rb") as fh:
                    for batch in decoder.decode(fh):
                        ctx.check()
                        rows = records_of(batch, field_names(dataset))
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
        results += _settle(ctx, deliveries)
    state, error = _final_state(ctx)
    return Outcome(state, error=error, results=results)


# -- preview --------------------------------------------------------------------------------
def preview_spec(spec: JobSpec, n: int, find: lookup.Lookup) -> str:
    """The first `n` records of each dataset in the job's format (nothing is stored);
    `find` gives a dataset's spec by name."""
    settings = effective_settings(spec, {})
    if spec.datagen is not None and spec.datagen.seed is None:
        settings.seed = 0
    names = list(spec.datagen.datasets if spec.datagen else [])
    every = lookup.load_datasets(names, find)
    datasets = every[: len(names)]
    counts = record_counts(settings, [d["name"] for d in every])
    gen = make_generator(every, settings.seed, settings.locale, counts)
    parts: list[str] = []
    for dataset in datasets:
        encoder = make_encoder(settings.format, settings.format_options, dataset)
        chunks = [encoder.header()]
        for batch in gen.batches(dataset["name"], n, n):
            chunks.append(encoder.encode(batch))
        chunks.append(encoder.footer())
        text = b"".join(chunks).decode("utf-8", "replace")
        if len(datasets) > 1:
            text = f"# {dataset['name']}\n{text}"
        parts.append(text if text.endswith("\n") else text + "\n")
    return "".join(parts)

"""A pipeline's preview: the first records its next run would write, after the
transformers, in the first writer's format. Nothing is written and no mark moves; bad
records are summed up under the records."""

from __future__ import annotations

import threading
from typing import Any

from jobtui.engine.model.pipeline import PipelineSpec
from jobtui.engine.model.runtime import Stopped
from jobtui.engine.pipeline.chain import chain, make_source
from jobtui.engine.pipeline.chunks import Bad, Chunk
from jobtui.engine.pipeline.readers import ReaderEnv
from jobtui.engine.pipeline.transform import make_transformers, transform

BINARY = ("parquet", "avro", "excel")


class _Log:
    def write(self, message: str, level: str = "info", stream: str = "engine") -> None:
        pass

    def info(self, message: str, stream: str = "engine") -> None:
        pass

    def warning(self, message: str, stream: str = "engine") -> None:
        pass

    def error(self, message: str, stream: str = "engine") -> None:
        pass


class _Order:
    def __init__(self, datasets: dict[str, dict[str, Any]]):
        self.datasets = datasets


class PreviewContext:
    """What a source asks of its run, for a read that is no run."""

    def __init__(self, since: float | None, datasets: dict[str, dict[str, Any]]):
        self.since = since
        self.run_id = 0
        self.log = _Log()
        self.stop = threading.Event()
        self.order = _Order(datasets)

    def check(self) -> None:
        if self.stop.is_set():
            raise Stopped("cancelled")


def preview_pipeline(
    spec: PipelineSpec,
    n: int,
    *,
    since: float | None,
    offsets: dict[str, Any],
    datasets: dict[str, dict[str, Any]],
) -> str:
    bad: list[Bad] = []
    ctx: Any = PreviewContext(since, datasets)
    first = spec.readers[0]
    env = ReaderEnv(
        ctx=ctx, offset=offsets.get("0"), explicit_since=None, on_bad=bad.append, batch_size=n
    )
    source = make_source(first.type, dict(first.options), env)
    transformers = make_transformers([t.model_dump() for t in spec.transformers])
    readers = [r.model_dump() for r in spec.readers[1:]]
    records: list[dict[str, Any]] = []
    chunks = chain(source, readers, bad.append, max(1, n))
    try:
        for chunk in chunks:
            out: Chunk = transform(chunk, transformers, bad.append)
            records += out.records
            if len(records) >= n:
                break
    finally:
        chunks.close()
    records = records[:n]
    writer = spec.writers[0] if spec.writers else {}
    fmt_spec = writer.get("format") or spec.format.model_dump()
    fmt, options = fmt_spec.get("format", "jsonl"), fmt_spec.get("options") or {}
    if fmt in BINARY:
        fmt, options = "jsonl", {}
    text = ""
    if records:
        from jobtui.engine.datagen.formats import encode_all

        text = encode_all(fmt, options, "records", records, list(records[0])).decode(
            "utf-8", "replace"
        )
    else:
        text = "(no records: nothing new to read, or every record was set aside)\n"
    if bad:
        text += f"\n{len(bad)} bad record(s) on the way; the first: "
        text += f"{bad[0].where} at {bad[0].position}: {bad[0].error}\n"
    return text

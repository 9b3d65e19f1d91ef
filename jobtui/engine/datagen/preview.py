"""Preview: the first records of each dataset of a job in its format; nothing is stored."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from jobtui.engine.datagen import lookup
from jobtui.engine.datagen import run as delivery
from jobtui.engine.datagen.settings import effective_settings, record_counts

if TYPE_CHECKING:
    from jobtui.engine.model.spec import JobSpec


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
    gen = delivery.make_generator(every, settings.seed, settings.locale, counts)
    parts: list[str] = []
    for dataset in datasets:
        encoder = delivery.make_encoder(settings.format, settings.format_options, dataset)
        if getattr(encoder, "binary", False):  # Parquet, Avro, Excel: schema, then records
            lines = [encoder.describe()]
            for batch in gen.batches(dataset["name"], n, n):
                lines += [json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in batch]
            text = "".join(lines)
        else:
            chunks = [encoder.header()]
            for batch in gen.batches(dataset["name"], n, n):
                chunks.append(encoder.encode(batch))
            chunks.extend(delivery.footer_parts(encoder))
            text = b"".join(chunks).decode("utf-8", "replace")
        if len(datasets) > 1:
            text = f"# {dataset['name']}\n{text}"
        parts.append(text if text.endswith("\n") else text + "\n")
    return "".join(parts)

"""A datagen run's settings: the job's, with the run's overrides, and which value won."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobtui.engine.datagen.prestart import processes_for

if TYPE_CHECKING:
    from jobtui.engine.model.spec import JobSpec

OVERRIDABLE = ("max_records", "seed", "locale", "threads", "randomize_records")


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

"""The wizard's "Download file": run the definition on screen now into one file.

Runs in the wizard's worker thread; it only posts messages (progress) and returns the
message that ends the download (done, or a missing directory to offer to create).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message
from textual.worker import Worker

from jobtui.engine import Engine, FieldError, JobtuiError, SpecError
from jobtui.screens.wizard.base import DownloadDone, DownloadProgress, MissingDirectory


def _missing_directory(error: FieldError) -> bool:
    """The download's directory does not exist (and can be created)."""
    return error.path == "options.to_file" and error.message.endswith(" does not exist")


def download_now(
    engine: Engine,
    spec: dict[str, Any],
    path: str,
    create_dirs: bool,
    post: Callable[[Message], object],
    worker: Worker[Any],
) -> Message:
    """`Engine.download`: nothing is saved, scheduled or stored; a cancelled worker (the
    wizard closed) stops it."""
    total: int | None = None
    datagen = spec.get("datagen")
    if isinstance(datagen, dict):
        per = datagen.get("max_records", 1000)
        if isinstance(per, int):
            total = per * max(1, len(datagen.get("datasets", [])))

    def progressed(records: int) -> None:
        post(DownloadProgress(records, total))

    try:
        result = engine.download(
            spec,
            path,
            create_dirs=create_dirs,
            on_progress=progressed,
            should_stop=lambda: worker.is_cancelled,
        )
    except SpecError as exc:
        missing = [e for e in exc.errors if _missing_directory(e)]
        if missing and not create_dirs:
            return MissingDirectory(spec, str(missing[0]))
        return DownloadDone(False, "; ".join(map(str, exc.errors)))
    except (JobtuiError, OSError) as exc:
        return DownloadDone(False, str(exc))
    if not result.ok:
        reason = result.error or (result.problems[-1] if result.problems else "")
        return DownloadDone(False, f"{result.state.value}: {reason}")
    where = "; ".join(result.results) or path
    return DownloadDone(True, f"{result.records} records written: {where}")

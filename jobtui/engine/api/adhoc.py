"""Ad hoc runs of a definition that was never saved (the wizard's "Download file"):
executed now in a child process, with no job version, run, log or replay output stored."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobtui.engine.api.base import EngineBase
from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.run_options import check_options, check_parameters
from jobtui.engine.model.runtime import RunOrder
from jobtui.engine.run.adhoc import AdhocResult, adhoc_run_id, run_adhoc
from jobtui.engine.run.order import needed_datasets

if TYPE_CHECKING:
    from jobtui.engine.model.spec import JobSpec


class AdhocAPI(EngineBase):
    if TYPE_CHECKING:

        def _checked(self, data: Any) -> JobSpec: ...

    def download(
        self,
        spec: dict[str, Any],
        path: str,
        *,
        create_dirs: bool = False,
        on_progress: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> AdhocResult:
        """Run the datagen definition `spec` (saved or not) now into the one file `path`
        and wait for it; nothing is stored. A missing directory is an error naming
        `options.to_file` unless `create_dirs`. `on_progress(records)` is called from
        this thread as the run goes; `should_stop()` returning true stops it."""
        job = self._checked(spec)
        if job.datagen is None:
            raise InvalidInput("download: only a datagen job has records to download")
        target = os.path.abspath(os.path.expanduser(path))
        if create_dirs and not os.path.isdir(os.path.dirname(target)):
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
            except OSError as exc:
                raise InvalidInput(f"options.to_file: cannot create the directory: {exc}") from None
        # One process makes the same bytes as several (DESIGN: bytes never depend on threads),
        # and this child starts no forkserver ahead of its imports as a worker does.
        options = check_options(job, {"to_file": target, "threads": 1})
        raw = copy.deepcopy(spec)
        raw.setdefault("datagen", {})["replay"] = {"enabled": False}  # keep no output
        order = RunOrder(
            run_id=adhoc_run_id(),
            attempt=1,
            job_id=0,
            job_name=job.name,
            workspace=job.workspace,
            job_version=0,
            trigger="manual",
            title="download",
            parameters=check_parameters(job, None),
            options=options,
            since=None,
            started_at=self.now(),
            spec=raw,
            sinks=[],
            datasets=needed_datasets(self.store, list(job.datagen.datasets)),
        )
        return run_adhoc(order, self.data_dir, on_progress=on_progress, should_stop=should_stop)

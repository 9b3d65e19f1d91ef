"""The runs part of the Engine facade: queue, watch, cancel, logs, replay, preview."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobtui.engine.api.base import EngineBase
from jobtui.engine.model.errors import InvalidInput, JobtuiError, NotFound, SpecError
from jobtui.engine.model.types import DaemonStatus, LogLine, Run, RunState, Trigger
from jobtui.engine.run import lifecycle
from jobtui.engine.run.doorbell import Doorbell, ring
from jobtui.engine.store import jobs as job_rows
from jobtui.engine.store import logs as log_rows
from jobtui.engine.store import runs as run_rows
from jobtui.engine.store.logs import LogFilter

if TYPE_CHECKING:
    from jobtui.engine.model.spec import JobSpec

# Longest wait between passes of `wait_for_run` when its doorbell is held (a ring ends it):
# what is left to notice then is a worker's death or hang, a timeout, and the deadline.
RING_POLL = 1.0


def _epoch(value: float | int | str | datetime | None, field: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{field}: {value!r} is not a time (use 2026-12-01T08:00 or epoch seconds)"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.astimezone()
        return parsed.timestamp()
    raise InvalidInput(f"{field}: {value!r} is not a time")


class RunsAPI(EngineBase):
    if TYPE_CHECKING:
        # Provided by DaemonAPI and DatasetsAPI in the composed Engine (declared for the type
        # checker only: a real method here would shadow it in the MRO).
        def daemon_status(self, next_fires: int = 5) -> DaemonStatus: ...

        def _dataset_spec(self, name: str) -> dict[str, Any]: ...

    # -- queueing ----------------------------------------------------------------------
    # -- queueing ----------------------------------------------------------------------
    def queue_run(
        self,
        ref: str | int,
        *,
        trigger: str = "manual",
        title: str = "",
        parameters: dict[str, Any] | None = None,
        since: float | str | datetime | None = None,
        options: dict[str, Any] | None = None,
        scheduled_for: float | datetime | None = None,
        attempt: int = 1,
        retry_of: int | None = None,
        state: str = "queued",
    ) -> Run:
        """Validate and insert a run. `missed` / `skipped` record a fire that did not run."""
        trig = Trigger(trigger)
        run_state = RunState(state)
        if run_state not in (RunState.QUEUED, RunState.MISSED, RunState.SKIPPED):
            raise InvalidInput(f"state: a new run is queued, missed or skipped, not {state}")
        from jobtui.engine.model.run_options import check_options, check_parameters
        from jobtui.engine.model.spec import JobSpec

        job = self._job(ref)
        spec = JobSpec.model_validate(job.spec)
        params = check_parameters(spec, parameters)
        opts = check_options(spec, options)
        since_at = _epoch(since, "since")
        if since is None:
            since_at = job.since_watermark
        elif spec.kind == "pipeline":
            # Told apart from the watermark: a pipeline reads from it over its stored marks.
            opts["since"] = since_at
        run_id = lifecycle.queue(
            self.store,
            self.now(),
            job_id=job.id,
            job_version=job.version,
            trigger=trig.value,
            title=title,
            parameters=params,
            options=opts,
            since=since_at,
            scheduled_for=_epoch(scheduled_for, "scheduled_for"),
            attempt=attempt,
            retry_of=retry_of,
            state=run_state.value,
        )
        if run_state == RunState.QUEUED:
            ring(self.store.path)  # the daemon starts it now, not at its next poll
        return self.get_run(run_id)

    # -- reading ---------------------------------------------------------------------------
    def get_run(self, run_id: int) -> Run:
        return run_rows.get_run(self.store, run_id)

    def run_options(self, run_id: int) -> dict[str, Any]:
        """The run's custom options and, once started, which value won for each setting."""
        return run_rows.run_options(self.store, run_id)

    def _job_id(self, job: str | int | None) -> int | None:
        return None if job is None else self._job(job, include_deleted=True).id

    def list_runs(
        self,
        job: str | int | None = None,
        states: Iterable[str] | None = None,
        limit: int = 100,
        before_id: int | None = None,
        triggers: Iterable[str] | None = None,
    ) -> list[Run]:
        """Runs newest first (without their tasks; `get_run` has them)."""
        return run_rows.list_runs(self.store, self._job_id(job), states, limit, before_id, triggers)

    def count_runs(self, job: str | int | None = None, states: Iterable[str] | None = None) -> int:
        return run_rows.count_runs(self.store, self._job_id(job), states)

    # -- cancel ------------------------------------------------------------------------------
    def cancel_run(self, run_id: int) -> Run:
        """queued → cancelled at once; running → cancelling (the worker stops within 1 s)."""
        lifecycle.request_cancel(self.store, int(run_id), self.now())
        ring(self.store.path)
        return self.get_run(run_id)

    # -- waiting -----------------------------------------------------------------------------
    def _daemon_alive(self) -> bool:
        # A paused, draining or frozen daemon starts nothing: supervise here instead.
        try:
            current = self.daemon_status()
        except JobtuiError:
            return False
        return bool(current.alive and current.responsive and not current.paused)

    def wait_for_run(
        self,
        run_id: int,
        timeout: float | None = None,
        supervise_if_no_daemon: bool = True,
        *,
        poll: float = 0.1,
        on_poll: Callable[[Run], None] | None = None,
    ) -> Run:
        """Block until the run ends. With no daemon alive, start and watch its worker here,
        so scripts and cron lines work without a daemon."""
        from jobtui.engine.run.executor import Supervisor
        from jobtui.engine.run.local import local_supervisor

        supervisor: Supervisor | None = None
        deadline = None if timeout is None else time.monotonic() + timeout
        check_daemon_at = 0.0
        daemon = False
        bell: Doorbell | None = None
        try:
            while True:
                if supervise_if_no_daemon and time.monotonic() >= check_daemon_at:
                    daemon = self._daemon_alive()
                    check_daemon_at = time.monotonic() + 2.0
                if supervise_if_no_daemon and not daemon:
                    if supervisor is None:
                        supervisor = local_supervisor(
                            self.store, self.data_dir, self.clock, only_runs={int(run_id)}
                        )
                        # No daemon holds the doorbell: the worker's ring at its end wakes
                        # this wait at once, so it need not poll often (issue 22: 20 wake-ups
                        # a second beside a worker on a busy machine cost the run's time).
                        bell = Doorbell(self.store.path) if on_poll is None else None
                    supervisor.tick()
                elif bell is not None:  # a daemon came: the doorbell is its own
                    bell.close()
                    bell = None
                run = self.get_run(run_id)
                if on_poll is not None:
                    on_poll(run)
                if run.state.is_final:
                    return run
                if deadline is not None and time.monotonic() >= deadline:
                    return run
                if bell is not None and bell.sock is not None:
                    wait = max(poll, RING_POLL)
                    if deadline is not None:
                        wait = max(0.0, min(wait, deadline - time.monotonic()))
                    bell.wait(wait)
                else:
                    time.sleep(poll)
        except KeyboardInterrupt:
            if supervisor is not None:
                supervisor.stop_all()
            raise
        finally:
            if bell is not None:
                bell.close()

    # -- logs ----------------------------------------------------------------------------------
    def read_log(
        self,
        run_id: int,
        *,
        from_seq: int | None = None,
        limit: int = 200,
        backwards: bool = False,
        levels: Iterable[str] | None = None,
        streams: Iterable[str] | None = None,
        grep: str | None = None,
    ) -> list[LogLine]:
        where = LogFilter.of(levels, streams, grep)
        return log_rows.read_log(self.store, int(run_id), where, from_seq, limit, backwards)

    def log_size(self, run_id: int) -> int:
        return log_rows.log_size(self.store, int(run_id))

    def find_log(
        self,
        run_id: int,
        start_seq: int,
        *,
        pattern: str | None = None,
        levels: Iterable[str] | None = None,
        backwards: bool = False,
    ) -> LogLine | None:
        where = LogFilter.of(levels, grep=pattern)
        return log_rows.find_log(self.store, int(run_id), start_seq, where, backwards)

    def iter_log(
        self,
        run_id: int,
        *,
        from_seq: int = 1,
        levels: Iterable[str] | None = None,
        streams: Iterable[str] | None = None,
        grep: str | None = None,
    ) -> Iterator[LogLine]:
        """Every matching line of a run's log from `from_seq`, read a chunk at a time."""
        where = LogFilter.of(levels, streams, grep)
        return log_rows.iter_log(self.store, int(run_id), where, from_seq)

    def save_log(
        self,
        run_id: int,
        path: str | os.PathLike[str],
        *,
        levels: Iterable[str] | None = None,
        streams: Iterable[str] | None = None,
        grep: str | None = None,
        with_time: bool = True,
        create_dirs: bool = False,
    ) -> int:
        """Write the (filtered) log to a file, a chunk at a time; how many lines.
        `create_dirs`: make the missing directories of the path first."""
        from jobtui.engine.run.logs import LineFormatter

        self.get_run(run_id)
        count = 0
        target = Path(path).expanduser()
        formatted = LineFormatter(with_time)
        try:
            if create_dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8") as fh:
                where = LogFilter.of(levels, streams, grep)
                for line in log_rows.iter_log(self.store, int(run_id), where):
                    fh.write(formatted(line) + "\n")
                    count += 1
        except OSError as exc:
            raise InvalidInput(f"{target}: {exc.strerror}") from None
        return count

    # -- replay, preview, offsets, sinks ---------------------------------------------------
    def replay_dir(self, run_id: int) -> Path:
        return self.data_dir / "replay" / str(int(run_id))

    def replay_problem(self, run_id: int) -> str | None:
        """Why run `run_id` cannot be replayed, or None when it can."""
        from jobtui.engine.datagen.replay_store import replay_files

        run = self.get_run(run_id)
        if run.host:  # a remote run's output is stored where it ran (issue 19)
            return (
                f"run {run_id} ran on host {run.host}: its stored output is in that worker's "
                "data directory, not on this host; replay is not shipped between hosts"
            )
        if not replay_files(self.replay_dir(run_id)):
            return (
                f"run {run_id} has no stored output to replay (the job keeps output only with "
                "datagen.replay.enabled, for its last N runs)"
            )
        return None

    def replay_run(self, run_id: int, *, title: str = "") -> Run:
        """Deliver the stored output of a run to its job's current sinks, as a new run."""
        original = self.get_run(run_id)
        problem = self.replay_problem(run_id)
        if problem:
            raise NotFound(problem)
        return self.queue_run(
            original.job_id,
            trigger="replay",
            title=title or f"replay of run {run_id}",
            parameters=original.parameters,
            options={"replay_of": int(run_id)},
        )

    def preview(self, ref_or_spec: str | int | dict[str, Any], n: int = 20) -> str:
        """The first `n` records of each dataset in the job's format; nothing is stored."""
        from jobtui.engine.datagen.preview import preview_spec
        from jobtui.engine.model.spec import JobSpec

        if isinstance(ref_or_spec, dict):
            spec = self._checked(ref_or_spec)  # type: ignore[attr-defined]
            job = None
        else:
            job = self._job(ref_or_spec)
            spec = JobSpec.model_validate(job.spec)
        if spec.pipeline is not None:
            return self._preview_pipeline(spec, job, n)
        if spec.datagen is None:
            raise InvalidInput("preview: only a datagen job has records to preview")
        return preview_spec(spec, n, self._dataset_spec)

    def _preview_pipeline(self, spec: JobSpec, job: Any, n: int) -> str:
        """The first records the pipeline's next run would write (read from its marks)."""
        from jobtui.engine.pipeline.preview import preview_pipeline
        from jobtui.engine.run.order import needed_datasets

        assert spec.pipeline is not None
        source = spec.pipeline.readers[0]
        names = [source.options["dataset"]] if source.type == "datagen" else []
        return preview_pipeline(
            spec.pipeline,
            n,
            since=job.since_watermark if job is not None else None,
            offsets=run_rows.job_offsets(self.store, job.id) if job is not None else {},
            datasets=needed_datasets(self.store, [x for x in names if isinstance(x, str)]),
        )

    def reset_offset(self, ref: str | int) -> None:
        """Forget the since watermark (and a pipeline's high-water marks): the next run
        starts from the beginning."""
        job_rows.reset_watermark(self.store, self._job(ref).id)

    def test_sink(
        self,
        sink: dict[str, Any],
        *,
        format: str = "jsonl",
        format_options: dict[str, Any] | None = None,
    ) -> str:
        """Check a sink can work ("test connection"); the ok message, or InvalidInput.
        `format` is the job's (a file sink's example path ends in its extension)."""
        from pydantic import ValidationError

        from jobtui.engine.model.formats import format_extension
        from jobtui.engine.model.sinks import SINK_OPTIONS
        from jobtui.engine.model.spec import errors_of
        from jobtui.engine.sinks.base import SinkContext, sink_class

        resolved = self.resolve_sink(sink)  # type: ignore[attr-defined]
        sink_type = resolved["type"]
        if sink_type not in SINK_OPTIONS:
            raise InvalidInput(f"type: must be one of {', '.join(SINK_OPTIONS)}")
        try:
            SINK_OPTIONS[sink_type].model_validate(resolved["options"])
        except ValidationError as exc:
            raise SpecError(errors_of(exc, "options")) from None
        from jobtui.engine.model.secrets import redact

        ctx = SinkContext(
            job="test",
            dataset="test",
            run_id=0,
            started_at=self.now(),
            format=format,
            ext=format_extension(format, format_options),
        )
        # What the check says is shown to whoever asked: never a resolved secret value.
        try:
            return redact(sink_class(sink_type).test(resolved["options"], ctx))
        except InvalidInput as exc:
            raise InvalidInput(redact(str(exc))) from None
        except JobtuiError:
            raise
        except Exception as exc:
            raise InvalidInput(redact(f"{sink_type}: {type(exc).__name__}: {exc}")) from None

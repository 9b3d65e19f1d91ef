"""`jobtui run`, `preview`, `logs` and `runs`: start runs, watch them, read their logs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from jobtui.cli import (
    Context,
    echo,
    format_when,
    pass_context,
    print_json,
    print_table,
    to_jsonable,
)
from jobtui.commands.jobs import jobs
from jobtui.commands.progress import ProgressLine
from jobtui.engine import InvalidInput, LogLine, Run, RunState, format_duration
from jobtui.textsafe import inert

if TYPE_CHECKING:
    from jobtui.engine import Engine

STATE_CHOICES = click.Choice([s.value for s in RunState])
LEVEL_CHOICES = click.Choice(["debug", "info", "warning", "error"], case_sensitive=False)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{what}: {item!r} is not KEY=VALUE")
        out[key.strip()] = value
    return out


def _say_who_starts(engine: Engine, run: Run, *, can_wait: bool = True) -> None:
    """A queued run left to the daemon waits for ever when none is running, or while it is
    paused: say so on stderr (stdout keeps only the run id, for scripts). `can_wait`: the
    command has a --wait that would run it from here."""
    status = engine.daemon_status(next_fires=0)
    if not status.alive:
        also = ", or use --wait to run it from here" if can_wait else ""
        echo(
            f"run {run.id} waits in the queue: no daemon is running (start one with "
            f"`jobtui daemon start`{also})",
            err=True,
        )
    elif status.paused:
        echo(
            f"run {run.id} waits in the queue: the daemon is paused (`jobtui daemon resume`)",
            err=True,
        )


def _summary(run: Run) -> str:
    text = f"run {run.id} {run.state.value}"
    if run.duration is not None:
        text += f" in {format_duration(run.duration)}"
    if run.records:
        text += f", {run.records} records"
    if run.error and run.state != RunState.SUCCEEDED:
        text += f": {run.error}"
    return text


# Log lines printed per write: one write of many lines, not one per line, is what lets a
# 1M-line log reach a pipe in seconds.
ECHO_CHUNK = 5000


def _echo_lines(
    lines: list[LogLine], formatted: Callable[[LogLine], str], *, raw: bool = False
) -> None:
    """Log lines, one per line, shown inert (a job's escape sequences are drawn, not obeyed);
    `raw`: their exact text, escape sequences and all (`logs --raw`)."""
    if not lines:
        return
    if raw:
        # color=True: click would otherwise strip what looks like ANSI when piped.
        click.echo("\n".join(map(formatted, lines)), color=True)
    else:
        click.echo("\n".join(inert(formatted(line)) for line in lines))


class _Follower:
    """Prints new log lines of a run as they arrive."""

    def __init__(self, obj: Context, run_id: int, levels: list[str] | None = None):
        self.obj = obj
        self.run_id = run_id
        self.levels = levels
        self.next_seq = 1
        from jobtui.engine import LineFormatter

        self.formatted = LineFormatter()

    def __call__(self, run: Run | None = None) -> None:
        while True:
            lines = self.obj.engine.read_log(
                self.run_id, from_seq=self.next_seq, limit=1000, levels=self.levels
            )
            _echo_lines(lines, self.formatted)
            if lines:
                self.next_seq = lines[-1].seq + 1
            if len(lines) < 1000:
                return


@click.command("run")
@click.argument("name")
@click.option("--title", "-t", default="", help="A title for this run.")
@click.option("--param", "-p", "params", multiple=True, help="Parameter override KEY=VALUE.")
@click.option("--since", help="Only what changed since this time (default: the last success).")
@click.option(
    "--set",
    "settings",
    multiple=True,
    help="Override a setting for this run: max_records, seed, locale, threads, randomize_records.",
)
@click.option("--arg", "args", multiple=True, help="Command job: replace the configured arguments.")
@click.option("--env", "envs", multiple=True, help="Command job: extra environment KEY=VALUE.")
@click.option(
    "--to-file",
    "to_file",
    help="Write to this one file instead of the job's sinks (replaced if it exists).",
)
@click.option("--wait", "-w", is_flag=True, help="Wait for the end (exit 0 only on success).")
@click.option("--follow", "-f", is_flag=True, help="Print the log while it runs (implies --wait).")
@click.option("--timeout", type=float, help="With --wait: give up waiting after this many seconds.")
@click.option(
    "--quiet", "-q", is_flag=True, help="With --wait: no live progress line on the terminal."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@pass_context
def run_command(
    obj: Context,
    name: str,
    title: str,
    params: tuple[str, ...],
    since: str | None,
    settings: tuple[str, ...],
    args: tuple[str, ...],
    envs: tuple[str, ...],
    to_file: str | None,
    wait: bool,
    follow: bool,
    timeout: float | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Run a job now: queue it and print the run id.

    The daemon starts it; with --wait (or --follow, --to-file) this command waits for the
    end, and when no daemon is alive it starts and watches the worker itself.
    """
    engine = obj.engine
    options: dict[str, Any] = dict(_pairs(settings, "--set"))
    if args:
        options["args"] = list(args)
    if envs:
        options["env"] = _pairs(envs, "--env")
    if to_file:
        options["to_file"] = to_file
    run = engine.queue_run(
        name,
        title=title,
        parameters=_pairs(params, "--param"),
        since=since,
        options=options,
    )
    if not (wait or follow or to_file):
        if as_json:
            print_json(run)
        else:
            echo(run.id)
        _say_who_starts(engine, run)
        return
    if not as_json:
        echo(f"run {run.id} of {run.workspace}/{run.job_name} queued", err=True)
    follower = _Follower(obj, run.id) if follow else None
    # The log on stdout (--follow) says how far it is; else a live line on the terminal.
    progress = ProgressLine() if not follow and ProgressLine.wanted(quiet) else None
    try:
        final = engine.wait_for_run(run.id, timeout=timeout, on_poll=follower or progress)
    finally:
        if progress is not None:
            progress.close()
    if follower is not None:
        follower()
    _report_end(final, as_json, summary_on_stdout=follow)


def _report_end(final: Run, as_json: bool, *, summary_on_stdout: bool = False) -> None:
    """A waited-for run's results and summary (or the run as JSON); exit 0 only when it
    succeeded. The summary of a success goes to stderr, unless the log went to stdout."""
    if as_json:
        print_json(final)
    else:
        for result in final.results:
            if result != final.error:  # the summary below says it
                echo(result)
        ok = final.state == RunState.SUCCEEDED
        echo(_summary(final), err=ok and not summary_on_stdout)
    sys.exit(0 if final.state == RunState.SUCCEEDED else 1)


@click.command("preview")
@click.argument("name")
@click.option("-n", "count", default=20, show_default=True, help="Records per dataset.")
@pass_context
def preview_command(obj: Context, name: str, count: int) -> None:
    """Print the first records of a job in its format. Nothing is stored."""
    if count < 1:
        raise InvalidInput("-n: must be at least 1")
    echo(obj.engine.preview(name, n=count), nl=False)


@click.command("logs")
@click.argument("run_id", type=int)
@click.option("--tail", "-n", "tail", type=int, help="Only the last N lines.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--level", "-l", type=LEVEL_CHOICES, help="This level and above.")
@click.option("--stream", "-s", "streams", multiple=True, help="Only this stream (repeatable).")
@click.option("--grep", "-g", help="Only lines matching this regular expression.")
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    help="Write the lines to FILE instead (their exact text).",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Print the exact text, control characters and escape sequences included "
    "(by default they are shown as ^[, <9b>…, never sent to the terminal).",
)
@pass_context
def logs_command(
    obj: Context,
    run_id: int,
    tail: int | None,
    follow: bool,
    level: str | None,
    streams: tuple[str, ...],
    grep: str | None,
    save: str | None,
    raw: bool,
) -> None:
    """Print a run's log (engine messages, sink and command output)."""
    from jobtui.engine import LineFormatter, levels_at_least

    engine = obj.engine
    formatted = LineFormatter()
    run = engine.get_run(run_id)
    levels = levels_at_least(level) if level else None
    if save:
        count = engine.save_log(run_id, save, levels=levels, streams=streams, grep=grep)
        echo(f"saved {count} line(s) of run {run_id} to {save}", err=True)
        return
    next_seq = 1
    if tail is not None:
        lines = engine.read_log(
            run_id, limit=max(tail, 0), backwards=True, levels=levels, streams=streams, grep=grep
        )
        _echo_lines(lines, formatted, raw=raw)
        next_seq = engine.log_size(run_id) + 1
    else:
        chunk: list[LogLine] = []
        for line in engine.iter_log(run_id, levels=levels, streams=streams, grep=grep):
            chunk.append(line)
            next_seq = line.seq + 1
            if len(chunk) == ECHO_CHUNK:
                _echo_lines(chunk, formatted, raw=raw)
                chunk = []
        _echo_lines(chunk, formatted, raw=raw)
        next_seq = max(next_seq, engine.log_size(run_id) + 1) if not follow else next_seq
    if not follow:
        return
    if run.state == RunState.QUEUED:
        _say_who_starts(engine, run, can_wait=False)
    while True:
        lines = engine.read_log(
            run_id, from_seq=next_seq, limit=1000, levels=levels, streams=streams, grep=grep
        )
        _echo_lines(lines, formatted, raw=raw)
        if lines:
            next_seq = lines[-1].seq + 1
            continue
        if run.state.is_final:
            return
        time.sleep(0.2)
        run = engine.get_run(run_id)


@click.group("runs")
def runs() -> None:
    """Runs: list, show, cancel, replay."""


@runs.command("list")
@click.argument("name", required=False)
@click.option("--state", "-s", "states", multiple=True, type=STATE_CHOICES, help="Repeatable.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def list_runs(
    obj: Context, name: str | None, states: tuple[str, ...], limit: int, as_json: bool
) -> None:
    """Runs, newest first (of one job when NAME is given)."""
    items = obj.engine.list_runs(job=name, states=states, limit=limit)
    now = obj.engine.now()
    if as_json:
        print_json(items)
        return
    print_table(
        ["id", "job", "state", "trigger", "started", "duration", "records", "host", "title"],
        [
            [
                r.id,
                f"{r.workspace}/{r.job_name}",
                r.state.value,
                r.trigger.value,
                format_when(r.started_at or r.queued_at),
                _duration_text(r, now),
                r.records if r.counts_records else "—",
                r.host or "",
                r.title,
            ]
            for r in items
        ],
    )


def _duration_text(run: Run, now: float) -> str:
    """How long the run took, or for one still going, how long so far."""
    if run.duration is None and run.started_at is not None and run.state.is_active:
        return f"{format_duration(max(0.0, now - run.started_at.timestamp()))} so far"
    return format_duration(run.duration)


@runs.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def show_run(obj: Context, run_id: int, as_json: bool) -> None:
    """A run: state, times, parameters, options, tasks, results and errors."""
    engine = obj.engine
    run = engine.get_run(run_id)
    options = engine.run_options(run_id)
    if as_json:
        data = to_jsonable(run)
        data["options"] = options
        print_json(data)
        return
    rows = [
        ("run", run.id),
        ("job", f"{run.workspace}/{run.job_name} (version {run.job_version})"),
        ("title", run.title or "—"),
        ("state", run.state.value),
        ("trigger", f"{run.trigger.value} (attempt {run.attempt})"),
        *([("retry of", f"run {run.retry_of}")] if run.retry_of else []),
        *([("retried as", f"run {run.retried_as}")] if run.retried_as else []),
        ("queued", format_when(run.queued_at)),
        ("started", format_when(run.started_at)),
        ("ended", format_when(run.ended_at)),
        ("duration", _duration_text(run, engine.now())),
        ("records", run.records if run.counts_records else "—"),
        ("since", format_when(run.since)),
        ("worker", f"pid {run.pid}" if run.pid else "—"),
    ]
    if run.host:
        rows.append(("host", run.host))
    if run.wait_reason and run.state.value in ("queued", "running"):
        rows.append(("waiting", run.wait_reason))
    if run.parameters:
        rows.append(("parameters", ", ".join(f"{k}={v}" for k, v in run.parameters.items())))
    effective = options.get("effective") or {}
    for key, value in options.items():
        if key != "effective":
            rows.append((f"option {key}", value))
    for key, info in effective.items():
        rows.append((f"  {key}", f"{info.get('value')} (from {info.get('from')})"))
    for label, value in rows:
        # One line per field: a line end in a title or a parameter is shown, not obeyed.
        echo(f"{label + ':':<12} {inert(str(value))}")
    if run.tasks:
        echo("tasks:")
        for task in run.tasks:
            total = f"/{task.total}" if task.total else ""
            extra = (
                f"  {task.error}" if task.error else (f"  → {task.result}" if task.result else "")
            )
            made = (
                f" delivered, {task.generated} generated" if task.generated > task.records else ""
            )
            echo(inert(f"  {task.name}: {task.state.value} {task.records}{total}{made}{extra}"))
    if run.results:
        echo("results:")
        for result in run.results:
            echo(_indented(result))
    if run.errors:
        echo("errors:")
        for error in run.errors:
            where = f"[{error['task']}] " if error.get("task") else ""
            echo(_indented(f"{where}{error.get('message', '')}"))


def _indented(text: str) -> str:
    """A message of one or more lines under a heading: every line indented."""
    return "  " + inert(str(text), keep_newlines=True).replace("\n", "\n    ")


@runs.command("cancel")
@click.argument("run_id", type=int)
@click.option("--wait", "-w", is_flag=True, help="Wait until it has stopped.")
@pass_context
def cancel_run(obj: Context, run_id: int, wait: bool) -> None:
    """Cancel a queued or running run (its process tree is stopped)."""
    run = obj.engine.cancel_run(run_id)
    if wait and not run.state.is_final:
        run = obj.engine.wait_for_run(run_id)
    echo(_summary(run))


@runs.command("replay")
@click.argument("run_id", type=int)
@click.option("--wait", "-w", is_flag=True, help="Wait for the end (exit 0 only on success).")
@click.option("--json", "as_json", is_flag=True, help="Print the new run as JSON.")
@pass_context
def replay_run(obj: Context, run_id: int, wait: bool, as_json: bool) -> None:
    """Deliver a run's stored output to the job's current sinks, as a new run."""
    run = obj.engine.replay_run(run_id)
    if wait:
        _report_end(obj.engine.wait_for_run(run.id), as_json)
    _say_who_starts(obj.engine, run)
    if as_json:
        print_json(run)
    else:
        echo(run.id)


@jobs.command("reset-offset")
@click.argument("name")
@pass_context
def reset_offset(obj: Context, name: str) -> None:
    """Forget the since watermark: the next run starts from the beginning."""
    obj.engine.reset_offset(name)
    echo(f"{name}: since watermark and high-water marks cleared", err=True)


commands = [run_command, preview_command, logs_command, runs]

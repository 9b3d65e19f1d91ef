"""What the errors/results dialog and the run diff say about a run: plain text, no screen.

Errors read as messages with local times (never the stored JSON), the last lines the
program wrote on stderr follow them, and Results list only what was delivered: the
failure message a command run also keeps among its results is not repeated, and a run
that ended early lists the tasks that completed before it did.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from jobtui.engine import LogLine, Run
from jobtui.widgets.fmt import fmt_full, inert, state_label

STDERR_TAIL = 10  # the stderr lines the dialog shows


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _time(value: Any, utc: bool) -> str:
    moment = _moment(value)
    return fmt_full(moment, utc) if moment is not None else ""


def error_lines(run: Run, utc: bool) -> list[str]:
    """One entry per error: `time  [task] message`, its traceback's last line under it."""
    out: list[str] = []
    for error in run.errors:
        message = str(error.get("message") or "").strip()
        if not message:
            message = ", ".join(f"{k}: {v}" for k, v in error.items() if k != "at")
        when = _time(error.get("at"), utc)
        task = f"[{error['task']}] " if error.get("task") else ""
        out.append(f"{when}  {task}{message}" if when else f"{task}{message}")
        trace = str(error.get("traceback") or "").strip().splitlines()
        if trace:
            out.append(f"    {trace[-1].strip()}")
    messages = {str(e.get("message") or "").strip() for e in run.errors}
    if run.error and run.error.strip() not in messages:
        out.insert(0, run.error)
    return out


def delivered(run: Run) -> tuple[str, list[str]]:
    """The results heading and what it lists: the run's results without its error
    messages, or, for a run that ended early without results, the tasks that completed."""
    errors = {str(e.get("message") or "").strip() for e in run.errors}
    if run.error:
        errors.add(run.error.strip())
    results = [r for r in run.results if str(r).strip() not in errors]
    if results or run.state.value in ("succeeded", "partially_succeeded"):
        return "Results", results
    done = [
        f"{task.name}: {task.result or f'{task.records:,} records'}"
        for task in run.tasks
        if task.state.value == "succeeded"
    ]
    if run.state.value in ("cancelled", "cancelling"):
        return "Delivered before the cancel", done
    if run.state.value in ("failed", "interrupted"):
        return "Delivered before the failure", done
    return "Results", done


def details(run: Run, utc: bool, stderr: list[LogLine] | None = None) -> Text:
    text = Text()
    text.append(
        f"{run.workspace}/{run.job_name} · run #{run.id} · {state_label(run.state.value)}\n"
    )
    links = (f" · retry of #{run.retry_of}" if run.retry_of else "") + (
        f" · retried as #{run.retried_as}" if run.retried_as else ""
    )
    text.append(
        f"trigger {run.trigger.value} · attempt {run.attempt}{links} · version {run.job_version}\n"
    )
    text.append(f"queued {fmt_full(run.queued_at, utc)}\n")
    text.append(f"started {fmt_full(run.started_at, utc)} · ended {fmt_full(run.ended_at, utc)}\n")
    if run.host:
        text.append(f"ran on host {inert(run.host)}\n")
    if run.parameters:
        text.append("\nParameters\n", style="bold")
        text.append(inert(json.dumps(run.parameters, indent=2, default=str)) + "\n")
    text.append("\nErrors\n", style="bold")
    errors = error_lines(run, utc)
    for line in errors:
        text.append(inert(line) + "\n")
    if not errors:
        text.append("none\n")
    if stderr:
        heading = "Last stderr line" if len(stderr) == 1 else f"Last {len(stderr)} stderr lines"
        text.append(f"\n{heading}\n", style="bold")
        for log in stderr:
            text.append(inert(log.message) + "\n")
    heading, results = delivered(run)
    if results or heading == "Results" or run.tasks:  # a failed command delivers nothing
        text.append(f"\n{heading}\n", style="bold")
        for result in results:
            text.append("• " + inert(str(result)) + "\n")
        if not results:
            text.append("none\n")
    if run.tasks:
        text.append("\nTasks\n", style="bold")
        for task in run.tasks:
            total = f"/{task.total:,}" if task.total else ""
            text.append(
                f"• {inert(task.name)}: {state_label(task.state.value)} · {task.records:,}{total}"
            )
            if task.generated > task.records:
                text.append(f" delivered ({task.generated:,} generated)")
            if task.error:
                text.append(f" · {inert(task.error)}")
            if task.result:
                text.append(f" → {inert(task.result)}")
            text.append("\n")
    return text


def diff_runs(old: Run, new: Run) -> Text:
    """Parameters and results side by side: what changed between two runs."""
    import difflib

    def doc(run: Run) -> list[str]:
        data: dict[str, Any] = {
            "job": f"{run.workspace}/{run.job_name}",
            "version": run.job_version,
            "trigger": run.trigger.value,
            "state": run.state.value,
            "parameters": run.parameters,
            "records": run.records,
            "duration_s": None if run.duration is None else round(run.duration, 3),
            "error": run.error,
            "results": run.results,
            "tasks": {t.name: {"state": t.state.value, "records": t.records} for t in run.tasks},
        }
        return json.dumps(data, indent=2, default=str, sort_keys=True).splitlines()

    text = Text()
    for line in difflib.unified_diff(
        doc(old), doc(new), f"run #{old.id}", f"run #{new.id}", lineterm=""
    ):
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        text.append(inert(line) + "\n", style=style)
    if not text:
        text.append("no differences in parameters or results")
    return text

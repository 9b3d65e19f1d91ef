"""`jobtui daemon`: the one scheduler per database; `jobtui schedule preview`."""

from __future__ import annotations

from typing import Any

import click

from jobtui.cli import (
    Context,
    echo,
    format_when,
    pass_context,
    print_json,
    print_table,
    read_json_file,
)
from jobtui.engine import InvalidInput, format_duration


@click.group(invoke_without_command=True)
@click.option(
    "--grace",
    type=float,
    default=30.0,
    show_default=True,
    help="On SIGTERM, seconds to let running runs finish before stopping.",
)
@click.option("--verbose", "-v", is_flag=True, help="Log debug messages.")
@click.option(
    "--metrics", default=None, metavar="HOST:PORT", help="Serve Prometheus metrics there."
)
@click.pass_context
def daemon(ctx: click.Context, grace: float, verbose: bool, metrics: str | None) -> None:
    """The scheduler. Without a command it runs in the foreground.

    One daemon per database: it holds <data-dir>/daemon.lock and a lease row; a second
    one says who holds it and exits 2. SIGTERM drains (no new fires, running runs may
    finish for --grace seconds) and stops. Workers outlive the daemon; a restarted
    daemon adopts them. Fires missed while no daemon ran are recorded as `missed` runs
    and caught up by each job's misfire policy.

    Alerts need an SMTP server: `jobtui daemon smtp --host ...`, or the environment
    variables JOBTUI_SMTP_HOST, _PORT, _STARTTLS, _SSL, _USER, _PASSWORD, _FROM (they
    override the stored settings; user and password are secret references such as
    env:SMTP_PASSWORD or file:/path).
    """
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    ctx.exit(obj.engine.run_daemon(grace=grace, verbose=verbose, metrics=metrics))


@daemon.command("start")
@click.option("--grace", type=float, default=None, help="Drain period on stop (seconds).")
@click.option("--wait", type=float, default=10.0, show_default=True, help="Seconds to wait.")
@pass_context
def start(obj: Context, grace: float | None, wait: float) -> None:
    """Start the daemon in the background (logs to <data-dir>/daemon.log)."""
    import time

    engine = obj.engine
    status = engine.daemon_status(next_fires=0)
    if status.alive:
        state = "" if status.responsive else ", unresponsive"
        echo(f"error: a jobtui daemon is already running: pid {status.pid}{state}", err=True)
        raise click.exceptions.Exit(2)
    engine.start_daemon(grace)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if engine.daemon_lock_held():
            status = engine.daemon_status(next_fires=0)
            if status.pid and status.heartbeat_at:
                echo(f"started the jobtui daemon: pid {status.pid}")
                echo(f"log: {engine.daemon_log_path}", err=True)
                return
        time.sleep(0.05)
    echo(f"error: the daemon did not start; see {engine.daemon_log_path}", err=True)
    raise click.exceptions.Exit(1)


@daemon.command("stop")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait.")
@click.option("--kill", is_flag=True, help="SIGKILL instead of draining (workers survive).")
@pass_context
def stop(obj: Context, timeout: float, kill: bool) -> None:
    """Stop the daemon: it drains for its grace period, then exits."""
    message = obj.engine.stop_daemon(timeout=timeout, kill=kill)
    echo(message)
    if "still" in message:
        raise click.exceptions.Exit(1)


def _status_dict(status: Any) -> dict[str, Any]:
    from jobtui.cli import to_jsonable

    data: dict[str, Any] = to_jsonable(status)
    data["state"] = _state_word(status)
    return data


def _state_word(status: Any) -> str:
    if not status.alive:
        return "stopped"
    if not status.responsive:
        return "unresponsive"
    return "paused" if status.paused else "running"


@daemon.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def status_cmd(obj: Context, as_json: bool) -> None:
    """Is a daemon running: pid, since, epoch, paused, next fires, what it adopted.

    Exit status 0 when a responsive daemon runs, 1 otherwise.
    """
    engine = obj.engine
    status = engine.daemon_status()
    if as_json:
        print_json(_status_dict(status))
    else:
        word = _state_word(status)
        line = f"daemon: {word}"
        if status.alive:
            line += f" (pid {status.pid}, {status.owner}, epoch {status.epoch})"
        echo(line)
        if status.alive and not status.responsive and status.heartbeat_at:
            age = engine.now() - status.heartbeat_at.timestamp()
            echo(
                f"unresponsive: pid {status.pid} holds the lock but its last heartbeat was "
                f"{format_duration(age)} ago (frozen or stopped?)"
            )
        if status.condition:
            echo(f"condition: {status.condition}")
        echo(f"since: {format_when(status.since)}")
        echo(f"heartbeat: {format_when(status.heartbeat_at)}")
        echo(f"paused: {'yes (draining: no new fires)' if status.paused else 'no'}")
        info = status.info
        if info.get("adopted") or info.get("interrupted") or "missed" in info:
            echo(
                "at start: adopted runs "
                + (", ".join(f"#{i}" for i in info.get("adopted", [])) or "none")
                + "; interrupted runs "
                + (", ".join(f"#{i}" for i in info.get("interrupted", [])) or "none")
                + f"; {info.get('missed', 0)} missed fire(s), {info.get('caught_up', 0)} "
                "caught up"
            )
        if "workers" in info:
            echo(f"celery workers online: {info['workers']}")
        fires = info.get("next_fires") or []
        if fires:
            echo("next fires:")
            for fire in fires:
                echo(f"  {format_when(fire['at'])}  {fire['job']}")
    if not (status.alive and status.responsive):
        raise click.exceptions.Exit(1)


@daemon.command("pause")
@pass_context
def pause(obj: Context) -> None:
    """Drain: fire nothing new and start no queued run; running runs finish."""
    obj.engine.pause_daemon()
    echo("paused: no new fires until `jobtui daemon resume`")


@daemon.command("resume")
@pass_context
def resume(obj: Context) -> None:
    """Undo `pause` (fires due meanwhile follow each job's misfire policy)."""
    obj.engine.resume_daemon()
    echo("resumed")


@daemon.command("smtp")
@click.option("--host", help="SMTP server host ('' clears the settings).")
@click.option("--port", type=int, help="Port (25, 587 with --starttls, 465 with --ssl).")
@click.option("--starttls/--no-starttls", default=None, help="Upgrade with STARTTLS.")
@click.option("--ssl/--no-ssl", "use_ssl", default=None, help="Implicit TLS (port 465).")
@click.option("--user", help="Login user (a value or a secret reference).")
@click.option("--password", help="Secret reference only: env:NAME or file:PATH.")
@click.option("--from", "sender", help="Sender address.")
@click.option("--test", "test_to", help="Send a test message to this address.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def smtp(
    obj: Context,
    host: str | None,
    port: int | None,
    starttls: bool | None,
    use_ssl: bool | None,
    user: str | None,
    password: str | None,
    sender: str | None,
    test_to: str | None,
    as_json: bool,
) -> None:
    """Show or set the SMTP server for alerts (settings; JOBTUI_SMTP_* override them)."""
    values: dict[str, Any] = {
        "host": host,
        "port": port,
        "starttls": None if starttls is None else str(int(starttls)),
        "ssl": None if use_ssl is None else str(int(use_ssl)),
        "user": user,
        "password": password,
        "sender": sender,
    }
    engine = obj.engine
    if any(v is not None for v in values.values()):
        settings = engine.set_smtp_settings(**values)
    else:
        settings = engine.smtp_settings()
    if as_json:
        print_json(settings)
    elif settings is None:
        echo("no SMTP server configured")
    else:
        for key, value in settings.items():
            echo(f"{key}: {'' if value is None else value}")
    if test_to:
        echo(engine.send_test_mail(test_to), err=True)


@daemon.command("maintenance")
@click.argument("task", type=click.Choice(["retention", "replays", "optimize", "trash"]))
@click.option("--keep-runs", type=int, help="retention: runs kept per job.")
@click.option("--keep-days", type=float, help="retention: days of history kept.")
@pass_context
def maintenance(obj: Context, task: str, keep_runs: int | None, keep_days: float | None) -> None:
    """Run one maintenance task now (what the hidden system jobs run nightly)."""
    options = {"keep_runs": keep_runs, "keep_days": keep_days} if task == "retention" else {}
    echo(obj.engine.run_maintenance(task, **options))


# -- schedule preview -------------------------------------------------------------------
@click.group("schedule")
def schedule() -> None:
    """Schedules: preview the next fires."""


@schedule.command("preview")
@click.argument("name", required=False)
@click.option("--cron", "cron_expr", help="A cron expression (5 fields, or Quartz 6-7).")
@click.option(
    "--spec", "spec_file", type=click.Path(allow_dash=True), help="A job or schedule JSON."
)
@click.option("-n", "count", type=int, default=10, show_default=True, help="How many fires.")
@click.option("--tz", help="Time zone (default: the schedule's, else the machine's).")
@click.option(
    "--after",
    "after",
    metavar="ISO-TIME",
    help="Preview from this instant instead of now (without an offset: read in the zone).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def preview(
    obj: Context,
    name: str | None,
    cron_expr: str | None,
    spec_file: str | None,
    count: int,
    tz: str | None,
    after: str | None,
    as_json: bool,
) -> None:
    """The next fires of a job (NAME), a --cron expression or a --spec file, in words.

    --after previews from any instant, e.g. the night of a DST change:
    `jobtui schedule preview --cron '*/20 3 * * *' --tz Europe/Athens
    --after 2023-03-26T00:00:00 -n 3`.
    """
    from jobtui.engine import describe_schedule, local_zone_name

    given = [x for x in (name, cron_expr, spec_file) if x]
    if len(given) != 1:
        raise InvalidInput("give exactly one of NAME, --cron or --spec")
    engine = obj.engine
    target: dict[str, Any] | str
    if cron_expr:
        target = {"type": "cron", "cron": cron_expr}
        sched = target
    elif spec_file:
        data = read_json_file(spec_file)
        if not isinstance(data, dict):
            raise InvalidInput(f"{spec_file}: expected a JSON object")
        sched = data.get("schedule", data) if "type" not in data else data
        if not isinstance(sched, dict) or not sched:
            raise InvalidInput(f"{spec_file}: no schedule in it")
        target = sched
    else:
        assert name is not None
        job = engine.get_job(name)
        sched = job.spec.get("schedule") or {}
        if not sched:
            raise InvalidInput(f"{job.qualified_name} has no schedule (it runs when asked)")
        target = name
    fires = engine.schedule_preview(target, n=count, tz=tz, after=after)
    zone = tz or sched.get("timezone") or local_zone_name()
    if as_json:
        print_json(
            {
                "description": describe_schedule(sched),
                "timezone": zone,
                "fires": [{"at": f.at, "note": f.note} for f in fires],
            }
        )
        return
    echo(f"{describe_schedule(sched)} ({zone})")
    now = engine.now()
    rows = []
    for fire in fires:
        ahead = fire.at.timestamp() - now
        rows.append(
            [
                fire.at.strftime("%a %Y-%m-%d %H:%M:%S %Z"),
                f"in {format_duration(ahead)}" if ahead >= 0 else f"{format_duration(-ahead)} ago",
                fire.note,
            ]
        )
    if rows:
        print_table(["fire", "when", "note"], rows)
    else:
        echo("no more fires (past its end, or max runs reached)")


commands = [daemon, schedule]

"""`jobtui config`, `jobtui worker` and `jobtui workers`: scale out on Celery workers."""

from __future__ import annotations

import click

from jobtui.cli import Context, echo, pass_context, print_json, print_table
from jobtui.engine import InvalidInput


@click.group("config")
def config() -> None:
    """Settings of this installation: `broker` (a redis:// or amqp:// URL, without its
    password) and `broker_password` (a secret reference: env:NAME or file:PATH); with a
    RabbitMQ broker, `events` (the redis:// URL of events) and `events_password`.
    JOBTUI_BROKER, JOBTUI_BROKER_PASSWORD, JOBTUI_EVENTS and JOBTUI_EVENTS_PASSWORD
    override them."""


@config.command("set")
@click.argument("key")
@click.argument("value")
@pass_context
def config_set(obj: Context, key: str, value: str) -> None:
    """Set KEY to VALUE (checked first; nothing is stored on error)."""
    obj.engine.set_config(key, value)
    echo(f"{key} = {value}")


@config.command("unset")
@click.argument("key")
@pass_context
def config_unset(obj: Context, key: str) -> None:
    """Remove KEY."""
    obj.engine.set_config(key, None)
    echo(f"{key} unset")


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def config_show(obj: Context, as_json: bool) -> None:
    """The stored settings (secrets as their references)."""
    values = obj.engine.get_config()
    if as_json:
        print_json(values)
        return
    print_table(["key", "value"], [[k, v if v is not None else "—"] for k, v in values.items()])


@click.command("worker")
@click.option("--queue", "-Q", "queues", multiple=True, required=True, help="A queue to consume.")
@click.option("--concurrency", "-c", type=int, default=1, show_default=True, help="Runs at once.")
@click.option("--broker", default=None, help="Broker URL (default: JOBTUI_BROKER or config).")
@click.option("--hostname", "-n", default=None, help="Name of this worker (default: the host).")
@click.option(
    "--grace",
    type=float,
    default=10.0,
    show_default=True,
    help="On SIGTERM, seconds running runs get to end before being handed back.",
)
@click.option("--loglevel", "-l", default="INFO", show_default=True, help="Celery's log level.")
@click.pass_context
def worker(
    ctx: click.Context,
    queues: tuple[str, ...],
    concurrency: int,
    broker: str | None,
    hostname: str | None,
    grace: float,
    loglevel: str,
) -> None:
    """Run a Celery worker in the foreground that executes runs of QUEUEs.

    Each run executes in a process group of its own, under this machine's data directory
    (file sinks write here); nothing here reads the control host's database. SIGTERM:
    take no new run, let running ones end within --grace, hand the rest back as
    `interrupted` (their retry policy decides), stop."""
    obj: Context = ctx.obj
    ctx.exit(
        obj.engine.run_worker(
            list(queues),
            concurrency=concurrency,
            broker=broker,
            hostname=hostname,
            grace=grace,
            loglevel=loglevel.upper(),
        )
    )


@click.group("workers", invoke_without_command=True)
@click.option("--broker", default=None, help="Broker URL (default: JOBTUI_BROKER or config).")
@click.option(
    "--timeout",
    type=float,
    default=1.0,
    show_default=True,
    help="Seconds to wait for the workers' answers.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def workers(ctx: click.Context, broker: str | None, timeout: float, as_json: bool) -> None:
    """Live Celery workers: host, queues, concurrency, runs in progress, last heartbeat.
    `add-queue` / `cancel-queue` make one start or stop consuming a queue."""
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    found = obj.engine.list_workers(broker, timeout=timeout)
    if as_json:
        print_json(found)
        return
    print_table(
        ["host", "state", "queues", "concurrency", "active", "processed", "failed", "heartbeat"],
        [
            [
                w.host,
                "online" if w.online else "silent",
                ",".join(w.queues),
                w.concurrency,
                w.active,
                w.processed,
                w.failed,
                f"{w.heartbeat_age:.0f}s ago" if w.heartbeat_age is not None else "—",
            ]
            for w in found
        ],
    )
    if not found:
        echo("no live worker", err=True)


@workers.command("add-queue")
@click.argument("host")
@click.argument("queue")
@click.option("--broker", default=None, help="Broker URL (default: JOBTUI_BROKER or config).")
@pass_context
def add_queue(obj: Context, host: str, queue: str, broker: str | None) -> None:
    """Make the worker HOST consume QUEUE too."""
    echo(obj.engine.worker_queue(host, queue, True, broker))


@workers.command("cancel-queue")
@click.argument("host")
@click.argument("queue")
@click.option("--broker", default=None, help="Broker URL (default: JOBTUI_BROKER or config).")
@pass_context
def cancel_queue(obj: Context, host: str, queue: str, broker: str | None) -> None:
    """Make the worker HOST stop consuming QUEUE (its running runs go on)."""
    echo(obj.engine.worker_queue(host, queue, False, broker))


@workers.command("queues")
@click.option("--broker", default=None, help="Broker URL (default: JOBTUI_BROKER or config).")
@click.option("--timeout", type=float, default=1.0, show_default=True, help="Seconds to wait.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def queues_cmd(obj: Context, broker: str | None, timeout: float, as_json: bool) -> None:
    """Queues a worker consumes or a job names: depth on the broker, unacknowledged
    deliveries, consumers, and this host's runs waiting to be sent."""
    _, found = obj.engine.scale_overview(broker, timeout)
    if as_json:
        print_json(found)
        return
    print_table(
        ["queue", "depth", "unacked", "consumers", "waiting here"],
        [
            [
                q.name,
                "?" if q.depth is None else q.depth,
                q.unacked,
                ",".join(q.consumers) or "—",
                q.waiting_runs,
            ]
            for q in found
        ],
    )


@workers.command("grow")
@click.argument("host")
@click.argument("n", type=int, default=1)
@click.option("--broker", default=None, help="Broker URL (default: JOBTUI_BROKER or config).")
@pass_context
def grow(obj: Context, host: str, n: int, broker: str | None) -> None:
    """Give the worker HOST N more slots (Celery pool_grow)."""
    if n < 1:
        raise InvalidInput("n: must be at least 1")
    echo(obj.engine.worker_pool(host, n, broker))


@workers.command("shrink")
@click.argument("host")
@click.argument("n", type=int, default=1)
@click.option("--broker", default=None, help="Broker URL (default: JOBTUI_BROKER or config).")
@pass_context
def shrink(obj: Context, host: str, n: int, broker: str | None) -> None:
    """Take N slots from the worker HOST (its running runs go on; it keeps one)."""
    if n < 1:
        raise InvalidInput("n: must be at least 1")
    echo(obj.engine.worker_pool(host, -n, broker))


commands = [config, worker, workers]

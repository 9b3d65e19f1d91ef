"""Operating scale-out (issue 19, the leftovers): a stopping daemon and remote runs, a
run's secrets and the long-lived worker, growing and shrinking a worker's pool, the queues
as Flower shows them, and `jobtui logs --follow` on a remote run. Real `jobtui worker`
processes on the real Redis, database 13."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from jobtui.cli import cli
from jobtui.engine import RunState
from jobtui.engine.model.broker import BrokerConfig
from jobtui.engine.run.celery_exec import CeleryExecutor
from jobtui.engine.run.executor import REMOTE
from jobtui.engine.run.local import LocalExecutor
from tests.conftest import PATIENCE, require_server

from .celery_helpers import Cluster, open_cluster, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]

DB = 13
LIMIT = 30 * PATIENCE


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Cluster]:
    with open_cluster(tmp_path, DB) as cluster:
        yield cluster


def command_job(c: Cluster, name: str, queue_name: str, script: str, **extra: object) -> None:
    c.engine.create_job(
        {
            "name": name,
            "kind": "command",
            "queue": c.queue(queue_name),
            "command": {"argv": [script], "shell": True},
            **extra,
        }
    )


def gate_script(started: Path, gate: Path, after: str = "echo done") -> str:
    """A command that says it started, waits for `gate` to exist, then runs `after`."""
    return f"touch {started}.$JOBTUI_RUN_ID; while [ ! -e {gate} ]; do sleep 0.05; done; {after}"


def started_runs(started: Path) -> int:
    return len(list(started.parent.glob(started.name + ".*")))


def slots(c: Cluster, host: str) -> int:
    """The slots of the worker on `host` (other tests' workers may share the database)."""
    return {w.host: w.concurrency for w in c.engine.list_workers()}[host]


def end_of(c: Cluster, run_id: int) -> Any:
    return c.step_until(
        lambda: (r := c.engine.get_run(run_id)).state.is_final and r, f"run {run_id} to end", LIMIT
    )


# -- 0. how a worker starts a run ---------------------------------------------------------
@pytest.mark.parametrize(
    ("launcher", "parent"),
    [("warm", "-m jobtui.engine.run.zygote "), ("cold", "-m jobtui.engine.run.remote_run ")],
)
def test_a_worker_forks_its_runs_from_its_zygote_and_cold_is_the_fallback(
    c: Cluster, launcher: str, parent: str
) -> None:
    """A run's process is forked from the worker's zygote, which imported the run's
    modules once (a fork, not an interpreter per run): a forked process keeps its
    zygote's command line. With JOBTUI_LAUNCHER=cold each run is its own interpreter."""
    command_job(c, "who", "a", "tr '\\0' ' ' < /proc/$PPID/cmdline; echo")
    c.start_worker("wa", ["a"], launcher=launcher)
    c.make_daemon()
    run = end_of(c, c.engine.queue_run("who").id)
    assert run.state == RunState.SUCCEEDED, run.error
    lines = [line.message for line in c.engine.read_log(run.id)]
    assert any(parent in line for line in lines), lines


def test_an_event_from_a_worker_wakes_the_daemon_at_once(c: Cluster) -> None:
    """The events listener: a worker's event in the stream wakes the daemon's loop, so a
    remote run's lines and end come home in milliseconds, not at its next poll."""
    broker = c.engine.broker_config()
    assert broker is not None
    executor = CeleryExecutor(c.engine.store, broker)
    woken, stop = threading.Event(), threading.Event()
    executor.listen(woken.set, stop)
    client = redis.Redis.from_url(c.redis_url)
    try:
        # It reads what comes after its first blocking read: add events until it wakes.
        for _ in range(int(LIMIT / 0.2)):
            client.xadd(executor.stream, {"probe": "1"})
            if woken.wait(0.2):
                break
        assert woken.is_set(), "the listener never woke the daemon"
    finally:
        stop.set()


# -- 1. a stopping daemon does not wait for remote runs ---------------------------------
def test_a_stopping_daemon_leaves_remote_runs_running_and_the_next_one_brings_them_home(
    c: Cluster, tmp_path: Path
) -> None:
    started, gate = tmp_path / "started", tmp_path / "gate"
    command_job(c, "remote", "a", gate_script(started, gate, "echo after the gate"))
    c.start_worker("wa", ["a"])
    c.make_daemon()
    run_id = c.engine.queue_run("remote").id
    c.step_until(lambda: started_runs(started) == 1, "the remote run to start", LIMIT)
    c.stop_daemon()
    # A daemon whose grace is an hour: before the fix its drain waited for the remote run.
    broker = BrokerConfig(c.url, namespace=c.ns)
    executors: dict[str, Any] = {
        "local": LocalExecutor(c.engine.store, c.engine.data_dir, grace=1.0),
        REMOTE: CeleryExecutor(c.engine.store, broker, grace=1.0),
    }
    daemon = c.engine.make_daemon(
        use_scheduler=False, ensure_system_jobs=None, grace=3600.0, executors=executors
    )
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(daemon.run()), daemon=True)
    thread.start()
    try:
        wait_for(lambda: c.engine.daemon_status().alive, "the daemon to run", LIMIT)
        daemon.request_stop()
        wait_for(
            lambda: not thread.is_alive(),
            "the stopping daemon to end without waiting for the remote run",
            LIMIT,
        )
        assert codes == [0]
        assert c.engine.get_run(run_id).state == RunState.RUNNING  # it goes on remotely
    finally:
        gate.touch()
    c.make_daemon()
    run = end_of(c, run_id)
    assert run.state == RunState.SUCCEEDED
    assert "after the gate" in [line.message for line in c.engine.read_log(run_id)]


# -- 2. a run's secrets do not stay in the long-lived worker ---------------------------
def process_memory_holds(pid: int, needle: bytes) -> bool:
    """Whether any readable mapping of process `pid` contains `needle`."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5].startswith("[v")):
                continue
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(lo)
                if needle in mem.read(hi - lo):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/mem")
def test_a_runs_secret_never_enters_the_long_lived_worker(c: Cluster, tmp_path: Path) -> None:
    secret = "s3cret-" + uuid.uuid4().hex
    secret_file = tmp_path / "token"
    secret_file.write_text(secret + "\n")
    c.engine.create_job(
        {
            "name": "uses-secret",
            "kind": "command",
            "queue": c.queue("a"),
            "command": {
                "argv": ['echo "token is $TOKEN"; printf %s "$TOKEN" | wc -c'],
                "shell": True,
                "env": {"TOKEN": f"file:{secret_file}"},
            },
        }
    )
    proc = c.start_worker("wa", ["a"])
    c.make_daemon()
    run_ids = [c.engine.queue_run("uses-secret").id for _ in range(2)]
    for run_id in run_ids:
        run = end_of(c, run_id)
        assert run.state == RunState.SUCCEEDED, run.error
        text = [line.message for line in c.engine.read_log(run_id)]
        assert "token is ••••••" in text and str(len(secret)) in text
    # The run resolved it in its own process (gone now), never in the worker that waits
    # on it: nothing of it stays behind for the worker's next runs.
    if not os.access(f"/proc/{proc.pid}/mem", os.R_OK):
        pytest.skip("cannot read the worker's memory here")
    # The probe sees what the worker was handed (the run's spec names the reference) ...
    assert process_memory_holds(proc.pid, f"file:{secret_file}".encode())
    # ... and the value behind it is not there.
    assert not process_memory_holds(proc.pid, secret.encode())


# -- 3. pool and queues ---------------------------------------------------------------
def test_growing_a_workers_pool_runs_more_at_once_and_shrinking_keeps_one_slot(
    c: Cluster, tmp_path: Path
) -> None:
    from jobtui.engine import InvalidInput

    started, gate = tmp_path / "started", tmp_path / "gate"
    command_job(c, "waits", "a", gate_script(started, gate))
    c.start_worker("wa", ["a"], concurrency=1)
    c.make_daemon()
    host = c.host("wa")
    assert "pool will grow" in c.engine.worker_pool(host, +1)
    assert slots(c, host) == 2
    ids = [c.engine.queue_run("waits").id for _ in range(3)]
    try:
        # two slots now: two runs at once (one slot would never start the second)
        c.step_until(lambda: started_runs(started) == 2, "two runs running at once", LIMIT)
        _workers, queues = c.engine.scale_overview()
        (q,) = [q for q in queues if q.name == c.queue("a")]
        assert (q.unacked, q.consumers) == (2, [host])
        assert q.depth == 1  # the third waits on the broker
        assert started_runs(started) == 2
    finally:
        gate.touch()
    assert all(end_of(c, i).state == RunState.SUCCEEDED for i in ids)
    base = ["--data-dir", str(c.engine.data_dir), "workers"]
    out = CliRunner().invoke(cli, [*base, "shrink", host])
    assert out.exit_code == 0 and "pool will shrink" in out.output, out.output
    with pytest.raises(InvalidInput, match="keeps at least one"):
        c.engine.worker_pool(host, -1)
    out = CliRunner().invoke(cli, [*base, "shrink", host])
    assert out.exit_code == 2 and "keeps at least one" in out.output, out.output
    assert slots(c, host) == 1
    out = CliRunner().invoke(cli, [*base, "grow", "nobody-here"])
    assert out.exit_code == 3 and "no worker 'nobody-here' answered" in out.output


def test_a_queue_nobody_consumes_shows_its_depth_and_no_consumer(c: Cluster) -> None:
    command_job(c, "orphan", "nobody", "echo hi")
    c.start_worker("wa", ["a"])
    c.make_daemon()
    c.engine.queue_run("orphan")
    c.step_until(
        lambda: any(
            q.name == c.queue("nobody") and q.depth == 1 for q in c.engine.scale_overview()[1]
        ),
        "the run's task to wait on the broker",
        LIMIT,
    )
    queues = {q.name: q for q in c.engine.scale_overview()[1]}
    assert queues[c.queue("nobody")].consumers == []
    assert queues[c.queue("a")].consumers == [c.host("wa")]
    out = CliRunner().invoke(
        cli, ["--data-dir", str(c.engine.data_dir), "workers", "queues", "--json"]
    )
    assert out.exit_code == 0, out.output
    listed = {q["name"]: q for q in json.loads(out.output)}
    assert (listed[c.queue("nobody")]["depth"], listed[c.queue("nobody")]["consumers"]) == (1, [])


def test_the_daemon_counts_live_workers_for_the_dashboard_header(tmp_path: Path) -> None:
    from .celery_helpers import RedisServer

    # A Redis of its own: the count is of every worker on it, other tests' included.
    server = RedisServer(tmp_path)
    server.start()
    try:
        with open_cluster(tmp_path, 0, port=server.port) as c:
            count_workers(c)
    finally:
        server.stop()


def count_workers(c: Cluster) -> None:
    from jobtui.widgets.bars import daemon_text

    c.start_worker("wa", ["a"])
    c.start_worker("wb", ["b"])
    c.make_daemon()
    status = c.step_until(
        lambda: (s := c.engine.daemon_status()).info.get("workers") == 2 and s,
        "the daemon to count two workers",
        LIMIT,
    )
    assert "· 2 workers" in daemon_text(status, "", c.engine.now()).plain
    c.stop_worker("wb")
    c.step_until(
        lambda: c.engine.daemon_status().info.get("workers") == 1,
        "the count to drop when a worker stops",
        LIMIT,
    )


# -- 4. logs --follow on a remote run -------------------------------------------------
def test_logs_follow_prints_a_remote_runs_lines_while_it_runs(c: Cluster, tmp_path: Path) -> None:
    started, gate = tmp_path / "started", tmp_path / "gate"
    # (`fir""st`: the shell prints "first"; the command line the log starts with does not
    # hold that text, so only the command's own output matches)
    second = 'echo sec""ond line'
    script = f'echo fir""st line; {gate_script(started, gate, second)}'
    command_job(c, "talks", "a", script)
    c.start_worker("wa", ["a"])
    c.make_daemon()
    run_id = c.engine.queue_run("talks").id
    follow = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobtui",
            "--data-dir",
            str(c.engine.data_dir),
            "logs",
            str(run_id),
            "--follow",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    seen: list[str] = []

    def read() -> None:
        assert follow.stdout is not None
        for line in follow.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()

    def printed(text: str) -> bool:
        while True:
            try:
                seen.append(lines.get_nowait())
            except queue.Empty:
                return any(text in line for line in seen)

    try:
        c.step_until(lambda: printed("first line"), "--follow to print the first line", LIMIT)
        # printed live: the run cannot end before the gate opens
        assert c.engine.get_run(run_id).state == RunState.RUNNING
        assert not any("second line" in line for line in seen)
        gate.touch()
        c.step_until(lambda: printed("second line"), "--follow to print the second line", LIMIT)
        c.step_until(lambda: follow.poll() is not None, "--follow to end with the run", LIMIT)
    finally:
        gate.touch()
        if follow.poll() is None:
            follow.kill()
        follow.wait()
    printed("")
    assert follow.returncode == 0, follow.stderr.read() if follow.stderr else ""
    assert re.search(r"run ended succeeded", "".join(seen))


# -- 5. RabbitMQ as the task broker, events on Redis ----------------------------------
AMQP = "amqp://guest@127.0.0.1:5672//"


@pytest.fixture
def rabbit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    require_server("RabbitMQ", "127.0.0.1", 5672)
    # The password goes in as a reference, as a real one would (the workers inherit it).
    monkeypatch.setenv("JOBTUI_TEST_AMQP_PASSWORD", "guest")
    with open_cluster(tmp_path, DB, broker=AMQP, password="env:JOBTUI_TEST_AMQP_PASSWORD") as c:
        try:
            yield c
        finally:
            delete_amqp_queues(c, ["a", "b"])


def delete_amqp_queues(c: Cluster, names: list[str]) -> None:
    from kombu import Connection

    with Connection("amqp://guest:guest@127.0.0.1:5672//", connect_timeout=5) as conn:
        for name in names:
            channel = conn.channel()
            try:
                channel.queue_delete(c.queue(name))
            except Exception:
                pass
            finally:
                with contextlib.suppress(Exception):
                    channel.close()


def test_rabbitmq_carries_the_tasks_while_events_stay_on_redis(
    rabbit: Cluster, tmp_path: Path
) -> None:
    c = rabbit
    side = tmp_path / "executions"
    script = f'echo "one $JOBTUI_RUN_ID"; echo "$JOBTUI_RUN_ID" >> {side}'
    command_job(c, "on-a", "a", script)
    command_job(c, "on-b", "b", script)
    config = c.engine.broker_config()
    assert config is not None and config.resolved_url() == "amqp://guest:guest@127.0.0.1:5672//"
    c.start_worker("wa", ["a"])
    c.start_worker("wb", ["b"])
    c.make_daemon()
    ids = [c.engine.queue_run("on-a" if i % 2 else "on-b").id for i in range(10)]
    runs = c.step_until(lambda: c.runs_final(ids), "10 runs over RabbitMQ to end", LIMIT * 2)
    assert [r.state for r in runs] == [RunState.SUCCEEDED] * 10, [(r.id, r.error) for r in runs]
    for run in runs:
        assert run.host == (c.host("wa") if run.job_name == "on-a" else c.host("wb"))
        assert f"one {run.id}" in [line.message for line in c.engine.read_log(run.id)]
    assert sorted(side.read_text().split(), key=int) == [str(i) for i in ids]  # once each
    # the tasks really went through RabbitMQ: its queues exist there, and not on Redis
    _workers, queues = c.engine.scale_overview()
    assert {q.name: (q.depth, q.consumers) for q in queues if q.name.startswith(c.ns)} == {
        c.queue("a"): (0, [c.host("wa")]),
        c.queue("b"): (0, [c.host("wb")]),
    }
    assert not redis.Redis.from_url(c.redis_url).exists(c.queue("a"))
    # the pool controls travel over RabbitMQ too
    assert "pool will grow" in c.engine.worker_pool(c.host("wa"), 1)


def test_an_amqp_broker_needs_the_events_redis(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path / "d")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBTUI_BROKER", "JOBTUI_EV"))}
    out = runner.invoke(cli, [*base, "config", "set", "broker", AMQP], env=env)
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, [*base, "workers"], env=env)
    assert out.exit_code == 2 and "events:" in out.output and "not Redis" in out.output
    out = runner.invoke(cli, [*base, "config", "set", "events", AMQP], env=env)
    assert out.exit_code == 2 and "events: use a redis://" in out.output
    out = runner.invoke(cli, [*base, "config", "set", "broker", "kafka://h:9092"], env=env)
    assert out.exit_code == 2 and "amqp://" in out.output

"""Scale-out on Celery workers over the real Redis (issue 19): real `jobtui worker`
processes, each with its own data directory, hostname and queues; an in-process daemon
whose Celery executor sends runs and ingests their events into the control SQLite."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from jobtui.cli import cli
from jobtui.engine import RunState
from jobtui.engine.model.broker import worker_key

from .celery_helpers import Cluster, RedisServer, cluster, redis_url, wait_for

__all__ = ["cluster"]

pytestmark = [pytest.mark.server, pytest.mark.slow]


def command_job(c: Cluster, name: str, queue: str, script: str, **extra: object) -> None:
    c.engine.create_job(
        {
            "name": name,
            "kind": "command",
            "queue": c.queue(queue) if queue != "local" else "local",
            "command": {"argv": [script], "shell": True},
            **extra,
        }
    )


def executions(side: Path) -> list[str]:
    return side.read_text().split() if side.exists() else []


def test_two_workers_run_fifty_runs_each_queue_on_its_own_host(
    cluster: Cluster, tmp_path: Path
) -> None:
    c = cluster
    side = tmp_path / "executions"
    script = f'echo "one $JOBTUI_RUN_ID"; echo "two" >&2; echo "$JOBTUI_RUN_ID" >> {side}'
    command_job(c, "on-a", "a", script)
    command_job(c, "on-b", "b", script)
    c.start_worker("wa", ["a"], concurrency=2)
    c.start_worker("wb", ["b"], concurrency=2)
    c.make_daemon()
    ids = [c.engine.queue_run("on-a" if i % 2 else "on-b").id for i in range(50)]
    runs = c.step_until(lambda: c.runs_final(ids), "50 remote runs to end", timeout=180)
    assert [r.state for r in runs] == [RunState.SUCCEEDED] * 50, [
        (r.id, r.state, r.error) for r in runs if r.state != RunState.SUCCEEDED
    ]
    for run in runs:
        expected = c.host("wa") if run.job_name == "on-a" else c.host("wb")
        assert run.host == expected
        text = [line.message for line in c.engine.read_log(run.id)]
        assert f"one {run.id}" in text and "two" in text
        assert text[-1] == "run ended succeeded"
        assert run.results == ["/bin/sh exited with code 0"]
    assert sorted(executions(side), key=int) == [str(i) for i in ids]
    # `jobtui workers` lists both, with their queues
    out = CliRunner().invoke(
        cli, ["--data-dir", str(c.engine.data_dir), "workers", "--json"], catch_exceptions=False
    )
    assert out.exit_code == 0, out.output
    hosts = {w["host"]: w for w in __import__("json").loads(out.output)}
    assert hosts[c.host("wa")]["queues"] == [c.queue("a")]
    assert hosts[c.host("wb")]["concurrency"] == 2


def test_kill_9_of_a_worker_interrupts_its_run_and_the_retry_runs_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    c = cluster
    side, marker = tmp_path / "executions", tmp_path / "first-attempt"
    # The first attempt sleeps (and is killed); the retry finds the marker and ends at once.
    script = (
        f'echo "$JOBTUI_RUN_ID" >> {side}; '
        f"if [ -e {marker} ]; then exit 0; fi; touch {marker}; sleep 60"
    )
    command_job(c, "victim", "a", script, policies={"retry": {"attempts": 2, "delay": "1s"}})
    command_job(c, "bystander", "b", "echo fine")
    victim_worker = c.start_worker("wa", ["a"])
    c.start_worker("wb", ["b"])
    c.make_daemon()
    first = c.engine.queue_run("victim").id
    c.step_until(lambda: c.engine.get_run(first).host and marker.exists(), "the victim to start")
    victim_worker.kill()  # kill -9
    victim_worker.wait()
    del c.workers["wa"]
    others = [c.engine.queue_run("bystander").id for _ in range(3)]
    run = c.step_until(
        lambda: (r := c.engine.get_run(first)).state.is_final and r, "the victim to end"
    )
    assert ("running", "interrupted") in [
        (t.from_state.value if t.from_state else None, t.to_state.value) for t in run.transitions
    ]
    assert "stopped reporting" in (run.error or "")
    assert [r.state for r in c.step_until(lambda: c.runs_final(others), "bystanders")] == [
        RunState.SUCCEEDED
    ] * 3
    # The retry (attempt 2) waits for a worker of its queue; a new one takes it.
    retry = c.step_until(
        lambda: next(iter(c.engine.list_runs(job="victim", triggers=["retry"])), None),
        "the retry to be queued",
    )
    assert retry.attempt == 2
    c.start_worker("wa2", ["a"])
    done = c.step_until(
        lambda: (r := c.engine.get_run(retry.id)).state.is_final and r, "the retry to end"
    )
    assert done.state == RunState.SUCCEEDED and done.host == c.host("wa2")
    # A second delivery of the first attempt (what Redis does after the visibility
    # timeout) is recognised by its claim and not executed.
    executor = c.daemon.supervisor.route(c.queue("a"))  # type: ignore[union-attr]
    row = c.engine.store.query_one("SELECT * FROM runs WHERE id = ?", (first,))
    assert row is not None
    from jobtui.engine.run.celery_exec import CeleryExecutor

    assert isinstance(executor, CeleryExecutor)
    from dataclasses import asdict

    from jobtui.engine.model.broker import TASK_NAME
    from jobtui.engine.run.order import load_order
    from jobtui.engine.store import runs as run_rows

    order = load_order(c.engine.store, run_rows.run_row(c.engine.store, first), 0.0)  # type: ignore[arg-type]
    executor.celery.send_task(
        TASK_NAME, args=[{"order": asdict(order), "log_base": 0, "ns": c.ns}], queue=c.queue("a")
    )
    client = redis.Redis.from_url(c.url)
    wait_for(
        lambda: b'"duplicates": 1' in (client.get(worker_key(c.host("wa2"))) or b""),
        "the second delivery to be refused",
    )
    counts = {i: executions(side).count(i) for i in set(executions(side))}
    assert counts == {str(first): 1, str(retry.id): 1}


def test_cancel_from_the_cli_stops_the_remote_run_and_its_children(
    cluster: Cluster, tmp_path: Path
) -> None:
    c = cluster
    pids = tmp_path / "pids"
    command_job(c, "long", "a", f"sleep 60 & echo $! >> {pids}; echo $$ >> {pids}; wait")
    c.start_worker("wa", ["a"])
    c.make_daemon()
    run_id = c.engine.queue_run("long").id
    c.step_until(lambda: pids.exists() and len(pids.read_text().split()) == 2, "children")
    children = [int(p) for p in pids.read_text().split()]
    out = CliRunner().invoke(
        cli, ["--data-dir", str(c.engine.data_dir), "runs", "cancel", str(run_id)]
    )
    assert out.exit_code == 0, out.output
    run = c.step_until(
        lambda: (r := c.engine.get_run(run_id)).state.is_final and r, "the cancel to land"
    )
    assert run.state == RunState.CANCELLED

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie of the worker's is gone too
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] == "Z"

    wait_for(lambda: all(gone(p) for p in children), "the run's processes to stop")


def test_events_wait_in_redis_while_the_daemon_is_down(cluster: Cluster, tmp_path: Path) -> None:
    c = cluster
    command_job(c, "talk", "a", 'for i in 1 2 3 4 5; do echo "line $i"; done')
    c.start_worker("wa", ["a"], concurrency=2)
    c.make_daemon()
    # One run with the daemon up all along: the reference.
    ref = c.engine.queue_run("talk").id
    c.step_until(lambda: c.runs_final([ref]), "the reference run")
    ids = [c.engine.queue_run("talk").id for _ in range(6)]
    c.step_until(  # sent: running, waiting in the Celery queue or started
        lambda: all(
            (r := c.engine.get_run(i)).state == RunState.RUNNING
            and ("in Celery" in (r.wait_reason or "") or r.host)
            for i in ids
        ),
        "the runs to be sent",
    )
    c.stop_daemon()  # the daemon goes down; the workers run everything meanwhile
    client = redis.Redis.from_url(c.url)

    def all_finished_in_stream() -> bool:
        entries = client.xrange(f"{c.ns}:events")
        return sum(1 for _, f in entries if f[b"k"] == b"finish") == 6

    wait_for(all_finished_in_stream, "every run's end to wait in the stream", timeout=60)
    assert all(c.engine.get_run(i).state == RunState.RUNNING for i in ids)
    c.make_daemon()  # a new daemon (new executor, same consumer group)
    runs = c.step_until(lambda: c.runs_final(ids), "the events to come home")

    def log_of(run_id: int) -> list[str]:  # later runs say their `since`: not compared
        return [m.message for m in c.engine.read_log(run_id) if not m.message.startswith("since:")]

    reference = log_of(ref)
    for run in runs:
        assert run.state == RunState.SUCCEEDED
        lines = log_of(run.id)
        assert len(lines) == len(reference)
        assert [m for m in lines if m.startswith("line")] == [f"line {i}" for i in range(1, 6)]
    assert client.xlen(f"{c.ns}:events") == 0  # acknowledged and deleted


def test_redis_down_at_dispatch_runs_wait_queued_then_complete(
    cluster: Cluster, tmp_path: Path
) -> None:
    c = cluster
    server = RedisServer(tmp_path)
    url = redis_url(server.port, 0)
    command_job(c, "hello", "a", "echo hello")
    c.make_daemon(url)  # Redis is not there yet
    ids = [c.engine.queue_run("hello").id for _ in range(3)]
    local = c.engine.create_job({"name": "here", "kind": "command", "command": {"argv": ["true"]}})
    here = c.engine.queue_run(local.name).id
    c.step_until(
        lambda: all("unreachable" in (c.engine.get_run(i).wait_reason or "") for i in ids),
        "the reason to show",
    )
    assert all(c.engine.get_run(i).state == RunState.QUEUED for i in ids)
    out = CliRunner().invoke(
        cli, ["--data-dir", str(c.engine.data_dir), "runs", "show", str(ids[0])]
    )
    assert "waiting:" in out.output and "unreachable" in out.output
    # a local run does not wait behind them
    assert c.step_until(lambda: c.runs_final([here]), "the local run")[0].state == (
        RunState.SUCCEEDED
    )
    server.start()
    try:
        c.step_until(
            lambda: all("in Celery" in (c.engine.get_run(i).wait_reason or "") for i in ids),
            "the runs to be sent",
        )
        # Redis restarts without its data: the tasks no worker took yet are gone; the
        # daemon notices (its consumer group is gone too) and sends them again.
        server.stop()
        server.start()
        c.start_worker("wa", ["a"], url=url)
        runs = c.step_until(lambda: c.runs_final(ids), "the runs to go out and end")
        assert all(
            ("running", "queued")
            in [
                (t.from_state.value if t.from_state else None, t.to_state.value)
                for t in r.transitions
            ]
            for r in runs
        )
        assert [r.state for r in runs] == [RunState.SUCCEEDED] * 3
        assert all(r.wait_reason is None for r in runs)
    finally:
        c.stop_worker("wa")
        server.stop()


def test_broker_config_refuses_a_clear_password_and_queues_need_a_broker(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path / "d")]
    out = runner.invoke(cli, [*base, "config", "set", "broker", "redis://:secret@h:6379/0"])
    assert out.exit_code == 2 and "broker_password" in out.output
    assert "secret" not in runner.invoke(cli, [*base, "config", "show"]).output
    out = runner.invoke(cli, [*base, "config", "set", "broker_password", "hunter2"])
    assert out.exit_code == 2 and "secret reference" in out.output
    spec = tmp_path / "job.json"
    spec.write_text(
        '{"name": "x", "kind": "command", "queue": "gpu", "command": {"argv": ["true"]}}'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_BROKER")}
    out = runner.invoke(cli, [*base, "jobs", "create", str(spec)], env=env)
    assert out.exit_code == 2 and "queue:" in out.output and "no broker" in out.output
    assert (
        runner.invoke(cli, [*base, "config", "set", "broker", "redis://127.0.0.1:6379/0"]).exit_code
        == 0
    )
    assert runner.invoke(cli, [*base, "config", "set", "broker_password", "env:RPW"]).exit_code == 0
    out = runner.invoke(cli, [*base, "jobs", "create", str(spec)], env=env)
    assert out.exit_code == 0, out.output


def test_the_worker_resolves_the_password_reference(tmp_path: Path) -> None:
    from jobtui.engine.model.broker import BrokerConfig

    os.environ["JOBTUI_TEST_RPW"] = "p@ss:word"
    try:
        url = BrokerConfig("redis://127.0.0.1:6379/0", "env:JOBTUI_TEST_RPW").resolved_url()
    finally:
        del os.environ["JOBTUI_TEST_RPW"]
    assert url == "redis://:p%40ss%3Aword@127.0.0.1:6379/0"
    assert redis.Redis.from_url(url).connection_pool.connection_kwargs["password"] == "p@ss:word"


def test_worker_exits_cleanly_on_sigterm(cluster: Cluster) -> None:
    proc = cluster.start_worker("wa", ["a"])
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not redis.Redis.from_url(cluster.url).exists(worker_key(cluster.host("wa")))
    cluster.workers.pop("wa")


def test_sigterm_hands_a_running_run_back_interrupted_after_the_grace(
    cluster: Cluster, tmp_path: Path
) -> None:
    c = cluster
    started = tmp_path / "started"
    command_job(c, "slow", "a", f"touch {started}; sleep 60")
    proc = c.start_worker("wa", ["a"])
    c.make_daemon()
    run_id = c.engine.queue_run("slow").id
    c.step_until(lambda: started.exists() and c.engine.get_run(run_id).host, "the run to start")
    proc.send_signal(signal.SIGTERM)
    run = c.step_until(lambda: (r := c.engine.get_run(run_id)).state.is_final and r, "the end")
    assert run.state == RunState.INTERRUPTED
    assert "shut down before the run ended" in (run.error or "")
    assert proc.wait(timeout=30) == 0
    c.workers.pop("wa")


def test_a_run_that_loses_redis_buffers_its_events_and_flushes_them(tmp_path: Path) -> None:
    from jobtui.engine.run.events import Event, EventWriter, connect

    server = RedisServer(tmp_path)
    server.start()
    try:
        client = connect(redis_url(server.port, 0), timeout=0.5)
        writer = EventWriter(client, 7, 1, stream="ns:events").start()
        writer.emit("logs", {"lines": [[1, 0.0, "info", "engine", "before"]]})
        wait_for(lambda: writer.pending() == 0, "the first event to go out")
        server.stop()
        for i in range(50):
            writer.emit("logs", {"lines": [[i + 2, 0.0, "info", "engine", f"during {i}"]]})
        wait_for(lambda: writer.unreachable_since is not None, "the writer to notice")
        assert writer.pending() == 50  # kept, in order
        server.start()  # a fresh server (no persistence): what was buffered arrives
        assert writer.close(timeout=30)
        entries = [Event.from_fields(f) for _, f in client.xrange("ns:events")]
        assert [e.seq for e in entries] == list(range(2, 52))
        assert [e.data["lines"][0][4] for e in entries] == [f"during {i}" for i in range(50)]
    finally:
        server.stop()


def test_ingest_applies_each_event_once_and_drops_other_attempts(tmp_path: Path) -> None:
    from jobtui.engine import Engine
    from jobtui.engine.run import lifecycle
    from jobtui.engine.run.events import Event
    from jobtui.engine.run.ingest import apply_batch

    engine = Engine.open(data_dir=tmp_path / "d")
    engine.set_config("broker", redis_url())
    engine.create_job({"name": "x", "kind": "command", "queue": "q", "command": {"argv": ["true"]}})
    run_id = engine.queue_run("x").id
    assert lifecycle.claim(engine.store, run_id, 1.0, executor="celery")
    events = [
        Event(run_id, 1, "run", 1, "start", {"host": "w9"}),
        Event(run_id, 1, "run", 2, "logs", {"lines": [[1, 2.0, "info", "stdout", "hi"]]}),
        Event(run_id, 1, "run", 3, "task", {"position": 0, "name": "t", "total": None}),
        Event(run_id, 2, "run", 4, "logs", {"lines": [[2, 2.0, "info", "stdout", "other"]]}),
        Event(
            run_id,
            1,
            "run",
            5,
            "finish",
            {"now": 3.0, "state": "succeeded", "error": None, "errors": [], "results": ["ok"]},
        ),
    ]
    first = apply_batch(engine.store, events, 5.0)
    assert (first.applied, first.skipped, first.ended) == (4, 1, [run_id])
    again = apply_batch(engine.store, events, 6.0)  # redelivered after a crash before the ack
    assert (again.applied, again.ended) == (0, [])
    run = engine.get_run(run_id)
    assert (run.state, run.host, run.results) == (RunState.SUCCEEDED, "w9", ["ok"])
    assert [line.message for line in engine.read_log(run_id)] == ["hi"]
    assert [t.name for t in run.tasks] == ["t"]
    # its output stays on the worker's host, and replay says which
    assert "ran on host w9" in (engine.replay_problem(run_id) or "")
    engine.close()


def test_metrics_serve_runs_by_state_queue_depth_and_histograms(tmp_path: Path) -> None:
    import httpx

    from jobtui.engine import Engine, InvalidInput

    from .celery_helpers import free_port

    engine = Engine.open(data_dir=tmp_path / "d")
    engine.create_job({"name": "x", "kind": "command", "command": {"argv": ["true"]}})
    for _ in range(3):
        engine.queue_run("x")
    with pytest.raises(InvalidInput, match="metrics: 'nowhere' is not HOST:PORT"):
        engine.serve_metrics("nowhere")
    port = free_port()
    server = engine.serve_metrics(f"127.0.0.1:{port}")
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        server.shutdown()
        engine.close()
    assert 'jobtui_runs{state="queued"} 3' in text
    assert 'jobtui_queue_depth{queue="local"} 3' in text
    assert 'jobtui_run_duration_seconds_bucket{le="+Inf"} 0' in text
    assert "# TYPE jobtui_fire_lateness_seconds histogram" in text


def test_a_worker_takes_another_queue_and_lets_it_go(cluster: Cluster) -> None:
    c = cluster
    command_job(c, "extra", "b", "echo on b")
    c.start_worker("wa", ["a"])
    c.make_daemon()
    base = ["--data-dir", str(c.engine.data_dir), "workers"]
    out = CliRunner().invoke(cli, [*base, "add-queue", c.host("wa"), c.queue("b")])
    assert out.exit_code == 0 and "add consumer" in out.output, out.output
    run_id = c.engine.queue_run("extra").id
    run = c.step_until(lambda: (r := c.engine.get_run(run_id)).state.is_final and r, "the run")
    assert (run.state, run.host) == (RunState.SUCCEEDED, c.host("wa"))
    out = CliRunner().invoke(cli, [*base, "cancel-queue", c.host("wa"), c.queue("b")])
    assert out.exit_code == 0 and "no longer consuming" in out.output, out.output
    out = CliRunner().invoke(cli, [*base, "add-queue", "nobody-here", c.queue("b")])
    assert out.exit_code == 3 and "no worker 'nobody-here' answered" in out.output

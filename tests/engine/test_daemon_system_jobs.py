"""System jobs: created by the daemon, hidden, and their maintenance tasks."""

from __future__ import annotations

from pathlib import Path

from jobtui.engine import Engine, ManualClock
from jobtui.engine.schedule.system_jobs import TASKS, prune_history, prune_replays


def test_daemon_creates_valid_hidden_system_jobs(data_dir: Path, clock: ManualClock) -> None:
    engine = Engine.open(data_dir=data_dir, clock=clock)
    daemon = engine.make_daemon(use_scheduler=False, supervise=False)
    daemon.acquire()
    daemon.startup()
    assert engine.list_jobs() == []
    system = engine.list_jobs(include_system=True)
    assert sorted(j.name for j in system) == sorted(name for name, _, _ in TASKS.values())
    assert all(j.system and j.next_fire_at is not None for j in system)
    spec = engine.get_job("jobtui.db-optimize").spec
    assert spec["command"]["argv"][-2:] == ["maintenance", "optimize"]
    daemon.release()
    again = engine.make_daemon(use_scheduler=False, supervise=False)
    again.acquire()
    again.startup()
    assert all(j.version == 1 for j in engine.list_jobs(include_system=True))
    engine.close()


def test_retention_keeps_last_n_and_the_latest_run(data_dir: Path, clock: ManualClock) -> None:
    engine = Engine.open(data_dir=data_dir, clock=clock)
    engine.create_job({"name": "j", "kind": "command", "command": {"argv": ["true"]}})
    ids = []
    for i in range(10):
        run = engine.queue_run("j")
        engine.store.execute(
            "UPDATE runs SET state = 'succeeded', started_at = ?, ended_at = ? WHERE id = ?",
            (clock.now() - 86400 * (10 - i), clock.now() - 86400 * (10 - i), run.id),
        )
        engine.store.execute(
            "INSERT INTO run_logs (run_id, seq, ts, level, stream, message) "
            "VALUES (?, 1, 0, 'info', 'stdout', 'x')",
            (run.id,),
        )
        ids.append(run.id)
        # A worker's stderr file, kept because it holds something.
        worker_log = data_dir / "workers" / f"run-{run.id}.log"
        worker_log.parent.mkdir(exist_ok=True)
        worker_log.write_text("Traceback ...\n")
    assert prune_history(engine.store, engine.data_dir, engine.now(), keep_runs=4, keep_days=0) == 6
    assert [r.id for r in engine.list_runs("j")] == ids[:-5:-1]
    # The pruned runs' worker files go with them.
    assert sorted(p.name for p in (data_dir / "workers").iterdir()) == sorted(
        f"run-{i}.log" for i in ids[-4:]
    )
    assert engine.store.query_one("SELECT COUNT(*) FROM run_logs")[0] == 4
    # By age: everything older than 2 days goes, but the job's last run always stays.
    assert prune_history(engine.store, engine.data_dir, engine.now(), keep_runs=0, keep_days=2) == 2
    assert [r.id for r in engine.list_runs("j")] == [ids[-1], ids[-2]]
    assert engine.get_job("j").last_run is not None
    engine.close()


def test_replay_store_pruned_to_each_jobs_keep(data_dir: Path, clock: ManualClock) -> None:
    engine = Engine.open(data_dir=data_dir, clock=clock)
    engine.create_job({"name": "j", "kind": "command", "command": {"argv": ["true"]}})
    root = data_dir / "replay"
    for run_id in (1, 2, 999):
        (root / str(run_id)).mkdir(parents=True)
    run = engine.queue_run("j")
    engine.store.execute("UPDATE runs SET state = 'succeeded' WHERE id = ?", (run.id,))
    # A command job keeps no replays; run 999 does not exist.
    assert prune_replays(engine.store, engine.data_dir) == 3
    assert not any(root.iterdir())
    engine.close()

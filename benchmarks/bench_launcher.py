"""Worker start: fork -> executing from the warm launcher beside today's cold start (issue 18).

One `true` command run at a time, warm and cold interleaved (this shared host drifts), each
timed from its claim (`runs.started_at`, just before the executor starts the worker) to the
moment the worker begins the body (`runs.executing_at`), and the CPU a cold start costs.
Not a test: it never fails on timing.

    .venv/bin/python -m benchmarks.bench_launcher [--runs 25]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from jobtui.engine import Engine
from jobtui.engine.run.executor import Supervisor
from jobtui.engine.run.launcher import WarmSpawner
from jobtui.engine.run.local import LocalExecutor, spawn_worker


def one_run(engine: Engine, supervisor: Supervisor) -> float:
    run = engine.queue_run("start")
    supervisor.tick()
    deadline = time.monotonic() + 120
    while not engine.get_run(run.id).state.is_final:
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run.id} did not end")
        time.sleep(0.005)
        supervisor.tick()
    done = engine.get_run(run.id)
    assert done.executing_at is not None and done.started_at is not None
    return (done.executing_at - done.started_at).total_seconds()


def measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="jobtui-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        engine = Engine.open(data_dir=data_dir)
        engine.create_job({"name": "start", "kind": "command", "command": {"argv": ["true"]}})
        warm = WarmSpawner(data_dir)
        warm.prepare()
        if not warm.ready.wait(120):
            raise RuntimeError("the zygote did not come up")
        supervisors = {
            name: Supervisor(
                engine.store,
                {"local": LocalExecutor(engine.store, data_dir, engine.clock, spawn=spawn)},
                engine.clock,
            )
            for name, spawn in (("warm", warm), ("cold", spawn_worker))
        }
        times: dict[str, list[float]] = {"warm": [], "cold": []}
        cpu: dict[str, float] = {"warm": 0.0, "cold": 0.0}
        try:
            for supervisor in supervisors.values():
                one_run(engine, supervisor)  # first runs: caches, the zygote's first fork
            for _ in range(runs):
                for name, supervisor in supervisors.items():
                    before = os.times()
                    times[name].append(one_run(engine, supervisor))
                    after = os.times()
                    # cold: this process reaped the worker (warm: the zygote did; bench_daemon
                    # gives the CPU per run of both)
                    cpu[name] += after.children_user + after.children_system
                    cpu[name] -= before.children_user + before.children_system
        finally:
            warm.close()
            engine.close()
    return {"times": times, "cpu": cpu, "warm_spawns": warm.warm_spawns}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args(argv)
    result = measure(args.runs)
    times = result["times"]
    print(f"{'worker start (claim -> executing)':36}{'p50 ms':>9}{'min ms':>9}{'max ms':>9}")
    for name, label in (("cold", "cold spawn (baseline)"), ("warm", "warm launcher (fork)")):
        values = [x * 1000 for x in times[name]]
        print(f"{label:36}{statistics.median(values):>9.1f}{min(values):>9.1f}{max(values):>9.1f}")
    warm_p50 = statistics.median(times["warm"]) * 1000
    cold_p50 = statistics.median(times["cold"]) * 1000
    print(f"cold CPU per start (worker process): {result['cpu']['cold'] / args.runs * 1000:.0f} ms")
    verdict = "met" if warm_p50 < 20 else "not met"
    print(
        f"target: warm start p50 < 20 ms: {warm_p50:.1f} ms ({cold_p50 / warm_p50:.0f}x faster "
        f"than cold) {verdict}; {result['warm_spawns']} warm spawns"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

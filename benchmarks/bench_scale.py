"""Scale-out (issue 19): dispatch -> running latency, local beside celery, and runs
completed per minute with 1 and with 2 Celery workers of 1 slot each.

Dispatch -> running: from `queue_run` to the first line the run's process writes (its
"run N of ..." line, stamped where it executes; one machine, one clock), p50/p99 over
sequential runs of `true`: the local executor (the baseline) and the Celery executor in
the same run. Throughput: runs of `true` queued at once on one Celery queue, with one
worker of concurrency 1 and with two, in phases 1, 2, 2, 1 of 50 runs each (100 per
configuration), so that a load drifting meanwhile weighs on both. Needs Redis on
127.0.0.1:6379 (database 15, or JOBTUI_BENCH_REDIS). Not a test: it never fails on timing;
it prints `uptime`'s load beside the figures, and the CPU each run cost.

    python -m benchmarks scale [--latency 20] [--runs 100]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from jobtui.engine import Engine

# JOBTUI_BENCH_REDIS: another database (several people benchmark on one Redis).
TICK_S = 0.25  # the daemon's tick (schedule/daemon.py)
URL = os.environ.get("JOBTUI_BENCH_REDIS", "redis://127.0.0.1:6379/15")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Bench:
    def __init__(self, tmp: Path):
        from jobtui.engine.model.broker import BrokerConfig
        from jobtui.engine.run.celery_exec import CeleryExecutor
        from jobtui.engine.run.executor import REMOTE
        from jobtui.engine.run.local import LocalExecutor

        self.tmp = tmp
        self.ns = "bench" + uuid.uuid4().hex[:8]
        self.engine = Engine.open(data_dir=tmp / "control")
        self.engine.set_config("broker", URL)
        self.engine.set_config("namespace", self.ns)
        executors: dict[str, Any] = {
            "local": LocalExecutor(self.engine.store, self.engine.data_dir),
            REMOTE: CeleryExecutor(self.engine.store, BrokerConfig(URL, namespace=self.ns)),
        }
        self.daemon = self.engine.make_daemon(
            use_scheduler=False, ensure_system_jobs=None, executors=executors
        )
        self.daemon.acquire()
        self.daemon.startup()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.queue = f"{self.ns}-q"
        for name, queue in (("local-true", "local"), ("celery-true", self.queue)):
            self.engine.create_job(
                {"name": name, "kind": "command", "queue": queue, "command": {"argv": ["true"]}}
            )

    def start_worker(self, name: str) -> None:
        import redis

        from jobtui.engine.model.broker import worker_key

        host = f"{self.ns}-{name}"
        argv = [
            sys.executable,
            "-m",
            "jobtui",
            "--data-dir",
            str(self.tmp / name),
            "worker",
            "--queue",
            self.queue,
            "--hostname",
            host,
            "--concurrency",
            "1",
            "--loglevel",
            "warning",
        ]
        proc = subprocess.Popen(
            argv,
            env={**os.environ, "JOBTUI_BROKER": URL},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.workers.append(proc)
        client = redis.Redis.from_url(URL)
        deadline = time.monotonic() + 120
        while not client.exists(worker_key(host)):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"worker {host} did not start")
            time.sleep(0.05)

    def stop_workers(self) -> None:
        for proc in self.workers:
            proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.workers = []

    def step_until_final(self, ids: list[int], timeout: float = 900, every: float = 0.02) -> None:
        """Step the daemon every `every` seconds until the runs have ended. One query per
        pass: the harness must not eat the CPU the workers it measures need (it polled
        each run, every 20 ms, at first: a third of a core on 100 runs)."""
        from jobtui.engine import RunState
        from jobtui.engine.store.runs import states_of

        deadline = time.monotonic() + timeout
        while True:
            self.daemon.step()
            states = states_of(self.engine.store, ids)
            if len(states) == len(ids) and all(RunState(s).is_final for s in states.values()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("runs did not end in time")
            time.sleep(every)

    def latency(self, job: str, n: int) -> list[float]:
        out = []
        for _ in range(n):
            run = self.engine.queue_run(job)
            self.step_until_final([run.id])
            first = next(
                line for line in self.engine.read_log(run.id) if line.message.startswith("run ")
            )
            out.append(first.ts.timestamp() - run.queued_at.timestamp())
        return out

    def throughput(self, runs: int) -> tuple[float, float, float]:
        """Runs completed per minute, and CPU seconds per run on the control host (this
        process: the daemon's dispatch and ingest) and on the workers (their runs
        included). The daemon steps at its own tick (250 ms), as `jobtui daemon` does."""
        ids = [self.engine.queue_run("celery-true").id for _ in range(runs)]
        started, control, workers = time.monotonic(), _cpu_self(), self._cpu_workers()
        self.step_until_final(ids, every=TICK_S)
        per_minute = runs / (time.monotonic() - started) * 60
        return (
            per_minute,
            (_cpu_self() - control) / runs,
            (self._cpu_workers() - workers) / runs,
        )

    def consume(self, name: str, on: bool) -> None:
        """Make worker `name` consume this benchmark's queue, or stop (asked again when a
        loaded host lets the answer miss its 2 s: both are idempotent)."""
        for attempt in range(5):
            try:
                self.engine.worker_queue(f"{self.ns}-{name}", self.queue, on)
                return
            except Exception:
                if attempt == 4:
                    raise

    def _cpu_workers(self) -> float:
        return sum(_cpu_of(p.pid) for p in self.workers)

    def close(self) -> None:
        import redis

        self.stop_workers()
        self.daemon.release()
        client = redis.Redis.from_url(URL)
        with contextlib.suppress(Exception):
            for pattern in (f"{self.ns}*", f"_kombu.binding*.{self.ns}*"):  # and its bindings
                for key in client.scan_iter(pattern):
                    client.delete(key)
        self.engine.close()


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pid: int) -> float:
    """CPU seconds of a process and of its children it reaped (a worker's runs)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after the name
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks scale")
    parser.add_argument("--latency", type=int, default=20, help="sequential runs per executor")
    parser.add_argument(
        "--runs",
        type=int,
        default=100,
        help="runs per configuration (1 and 2 workers), in two halves",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        bench = Bench(Path(tmp))
        try:
            print(f"load before: {load()}", flush=True)
            bench.start_worker("w1")
            local = bench.latency("local-true", args.latency)
            celery = bench.latency("celery-true", args.latency)
            print(
                f"dispatch -> running over {args.latency} sequential runs of `true` "
                f"(load {load()}):"
            )
            for name, values in (("local (baseline)", local), ("celery, 1 worker", celery)):
                print(
                    f"  {name:<18} p50 {statistics.median(values) * 1000:7.0f} ms   "
                    f"p99 {pct(values, 99) * 1000:7.0f} ms"
                )
            # Both workers start now; the second consumes the queue only in the 2-worker
            # phases (add_consumer / cancel_consumer, as from the Workers screen). The
            # phases go 1, 2, 2, 1 with half the runs each: a load that drifts during the
            # benchmark (on a shared host it does, 12 -> 25 once) weighs on both sides.
            bench.start_worker("w2")
            bench.consume("w2", False)
            half = max(1, args.runs // 2)
            figures: dict[int, list[tuple[float, float, float]]] = {1: [], 2: []}
            for n in (1, 2, 2, 1):
                bench.consume("w2", n == 2)
                per_minute, control, worker = bench.throughput(half)
                figures[n].append((per_minute, control, worker))
                print(
                    f"{half} runs, {n} worker{'s' if n == 2 else ''} x 1 slot: "
                    f"{per_minute:6.1f} runs/min (load {load()}); CPU per run: control "
                    f"{control * 1000:.0f} ms, worker side {worker * 1000:.0f} ms",
                    flush=True,
                )
            one = 2 / sum(1 / f[0] for f in figures[1])  # runs/min over both halves
            two = 2 / sum(1 / f[0] for f in figures[2])
            print(f"{2 * half} runs each: 1 worker {one:.1f} runs/min, 2 workers {two:.1f}")
            print(f"2 workers / 1 worker: {two / one:.2f}x (target >= 1.7x; 2 cores shared)")
        finally:
            bench.close()


if __name__ == "__main__":
    main(sys.argv[1:])

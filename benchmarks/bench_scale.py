"""Scale-out (issue 19): dispatch -> running latency, local beside celery, and runs
completed per minute with 1 and with 2 Celery workers of 1 slot each.

Dispatch -> running: from `queue_run` to the first line the run's process writes (its
"run N of ..." line, stamped where it executes; one machine, one clock), p50/p99 over
sequential runs of `true`: the local executor starting each worker cold (the baseline)
and the Celery executor (a worker forking runs from its zygote) in the same run. The
daemon is its real loop in a thread (doorbell and events listener).

Throughput: runs queued at once on one Celery queue, with one worker of concurrency 1 and
with two, in phases 1, 2, 2, 1 of 50 runs each (100 per configuration), so that a load
drifting meanwhile weighs on both; in rounds, the median ratio. The 1.7x target is judged
on short runs (`sleep 0.1`). Runs of `true` are printed beside, without a target: a run
that is nothing but overhead keeps one worker's chain about one core busy, so on a
2-core machine shared with the control host and Redis two workers cannot double it.
Needs Redis on 127.0.0.1:6379 (database 15, or JOBTUI_BENCH_REDIS). Not a test: it never
fails on timing; it prints `uptime`'s load beside the figures, the CPU each run cost and
the cores busy.

    python -m benchmarks scale [--latency 20] [--runs 100] [--rounds 3]
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
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from jobtui.engine import Engine

# JOBTUI_BENCH_REDIS: another database (several people benchmark on one Redis).
SHORT_S = 0.1  # the short run: a command that takes 100 ms and little CPU
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
        # The daemon's own loop, in a thread, as `jobtui daemon` runs it: woken by the
        # doorbell when a run is queued and by the events listener when a worker reports,
        # polling every second besides. What the benchmark times is what a user waits for.
        self.daemon = self.engine.make_daemon(
            use_scheduler=False, ensure_system_jobs=None, executors=executors
        )
        self.loop = threading.Thread(target=self.daemon.run, name="bench-daemon", daemon=True)
        self.loop.start()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.queue = f"{self.ns}-q"
        for name, queue, argv in (
            ("local-true", "local", ["true"]),
            ("celery-true", self.queue, ["true"]),
            ("celery-short", self.queue, ["sleep", str(SHORT_S)]),
        ):
            self.engine.create_job(
                {"name": name, "kind": "command", "queue": queue, "command": {"argv": argv}}
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

    def wait_final(self, ids: list[int], timeout: float = 900, every: float = 0.02) -> None:
        """Look every `every` seconds until the runs have ended. One query per look: the
        harness must not eat the CPU the workers it measures need (it polled each run,
        every 20 ms, at first: a third of a core on 100 runs)."""
        from jobtui.engine import RunState
        from jobtui.engine.store.runs import states_of

        deadline = time.monotonic() + timeout
        while True:
            if not self.loop.is_alive():
                raise RuntimeError("the daemon's loop stopped")
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
            self.wait_final([run.id])
            first = next(
                line for line in self.engine.read_log(run.id) if line.message.startswith("run ")
            )
            out.append(first.ts.timestamp() - run.queued_at.timestamp())
        return out

    def throughput(self, job: str, runs: int) -> tuple[float, float, float, float]:
        """Runs completed per minute; CPU seconds per run on the control host (this
        process: queueing them, the daemon's dispatch and ingest) and on the workers (their runs
        included); and how many of the machine's cores were busy meanwhile (everything:
        Redis too)."""
        # From before the first is queued: the daemon sends each one out at once, so a
        # clock started after queueing them all would miss runs already done.
        started, control, workers = time.monotonic(), _cpu_self(), self._cpu_workers()
        busy = _machine_busy()
        ids = [self.engine.queue_run(job).id for _ in range(runs)]
        self.wait_final(ids)
        elapsed = time.monotonic() - started
        return (
            runs / elapsed * 60,
            (_cpu_self() - control) / runs,
            (self._cpu_workers() - workers) / runs,
            (_machine_busy() - busy) / elapsed,
        )

    def scaling_round(self, job: str, runs: int, round_no: int) -> float:
        """Runs of `job` with 1 and with 2 workers, in phases 1, 2, 2, 1 of runs/2 each;
        the ratio of runs per minute (2 workers / 1)."""
        half = max(1, runs // 2)
        figures: dict[int, list[float]] = {1: [], 2: []}
        for n in (1, 2, 2, 1):
            self.consume("w2", n == 2)
            per_minute, control, worker, cores = self.throughput(job, half)
            figures[n].append(per_minute)
            print(
                f"    {half} runs, {n} worker{'s' if n == 2 else ''} x 1 slot: "
                f"{per_minute:6.1f} runs/min (load {load()}); CPU per run: control "
                f"{control * 1000:.0f} ms, worker side {worker * 1000:.0f} ms; "
                f"cores busy {cores:.2f} of {os.cpu_count()}",
                flush=True,
            )
        one = 2 / sum(1 / f for f in figures[1])  # runs/min over both halves
        two = 2 / sum(1 / f for f in figures[2])
        print(
            f"  round {round_no}: {2 * half} runs each: 1 worker {one:.1f} runs/min, "
            f"2 workers {two:.1f}: {two / one:.2f}x",
            flush=True,
        )
        return two / one

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
        """The workers' CPU, their zygotes' (a forked run is the zygote's child, not the
        worker's) and that of the runs both reaped."""
        import psutil

        total = 0.0
        for proc in self.workers:
            total += _cpu_of(proc.pid)
            with contextlib.suppress(psutil.Error):
                total += sum(_cpu_of(c.pid) for c in psutil.Process(proc.pid).children())
        return total

    def close(self) -> None:
        import redis

        self.stop_workers()
        self.daemon.request_stop()
        self.loop.join(60)
        client = redis.Redis.from_url(URL)
        with contextlib.suppress(Exception):
            for pattern in (f"{self.ns}*", f"_kombu.binding*.{self.ns}*"):  # and its bindings
                for key in client.scan_iter(pattern):
                    client.delete(key)
        self.engine.close()


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy since boot (/proc/stat: all but idle
    and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


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
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of both configurations with the short runs (a round of runs of `true` "
        "lasts seconds: one alone is noise, 1.49-1.86x seen in three)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        bench = Bench(Path(tmp))
        try:
            print(f"load before: {load()}", flush=True)
            bench.start_worker("w1")
            bench.latency("local-true", 1)  # warm-up: the daemon's first pass, imports
            bench.latency("celery-true", 1)
            local = bench.latency("local-true", args.latency)
            celery = bench.latency("celery-true", args.latency)
            print(
                f"dispatch -> running over {args.latency} sequential runs of `true` "
                f"(load {load()}):"
            )
            for name, values in (("local, cold (baseline)", local), ("celery, 1 worker", celery)):
                print(
                    f"  {name:<23} p50 {statistics.median(values) * 1000:7.0f} ms   "
                    f"p99 {pct(values, 99) * 1000:7.0f} ms"
                )
            # Both workers start now; the second consumes the queue only in the 2-worker
            # phases (add_consumer / cancel_consumer, as from the Workers screen). The
            # phases go 1, 2, 2, 1 with half the runs each: a load that drifts during the
            # benchmark (on a shared host it does, 12 -> 25 once) weighs on both sides.
            bench.start_worker("w2")
            bench.consume("w2", False)
            for job, rounds, what, verdict in (
                ("celery-short", args.rounds, f"`sleep {SHORT_S:g}` (a short run)", True),
                ("celery-true", 2, "`true` (nothing but the run's overhead)", False),
            ):
                print(f"runs of {what}, {rounds} round(s) of both configurations:", flush=True)
                ratios = [bench.scaling_round(job, args.runs, n) for n in range(1, rounds + 1)]
                ratio = statistics.median(ratios)
                target = (
                    f"target >= 1.7x: {'MET' if ratio >= 1.7 else 'NOT MET'}"
                    if verdict
                    else "no target: 2 cores shared by both workers, the control host and "
                    "Redis, each worker close to one core busy alone"
                )
                print(
                    f"2 workers / 1 worker, {what}: {ratio:.2f}x, median of {len(ratios)} "
                    f"(seen {min(ratios):.2f}-{max(ratios):.2f}x) [{target}; load {load()}]",
                    flush=True,
                )
        finally:
            bench.close()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Daemon at scale: idle CPU and RSS with 10,000 active jobs, and fire -> `running` latency.

Each figure is printed beside a baseline measured in the same run: the same daemon
over a database with no user jobs. Not a test: it never fails on timing.

    .venv/bin/python benchmarks/bench_daemon.py [--jobs 10000] [--idle 10] [--probe 12]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jobtui.engine import Engine

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def seed(engine: Engine, n: int) -> None:
    """n active jobs, half daily cron and half hourly interval, inserted in bulk."""
    if n == 0:
        return
    engine.create_job(
        {
            "name": "cron-0",
            "kind": "command",
            "command": {"argv": ["true"]},
            "schedule": {"type": "cron", "cron": "17 3 * * *"},
        }
    )
    engine.create_job(
        {
            "name": "interval-0",
            "kind": "command",
            "command": {"argv": ["true"]},
            "schedule": {"type": "interval", "every": "6h"},
        }
    )
    store = engine.store
    with store.transaction():
        for template in ("cron", "interval"):
            src = store.query_one("SELECT * FROM jobs WHERE name = ?", (f"{template}-0",))
            assert src is not None
            cols = [
                c
                for c in src.keys()  # noqa: SIM118 - sqlite3.Row
                if c not in ("id", "name", "status", "spec")
            ]
            for i in range(1, n // 2):
                name = f"{template}-{i}"
                spec = src["spec"].replace(f'"{template}-0"', f'"{name}"')
                store.execute(
                    f"INSERT INTO jobs (name, spec, {', '.join(cols)}) VALUES (?, ?, "
                    f"{', '.join('?' * len(cols))})",
                    (name, spec, *[src[c] for c in cols]),
                )


def probe_jobs(engine: Engine, n: int = 4) -> None:
    for i in range(n):
        engine.create_job(
            {
                "name": f"probe-{i}",
                "kind": "command",
                "command": {"argv": ["true"]},
                "schedule": {"type": "cron", "cron": "*/2 * * * * *"},
                "policies": {"overlap": {"policy": "allow", "max": 10}},
            }
        )


def wait_responsive(engine: Engine, timeout: float = 120.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        status = engine.daemon_status(next_fires=0)
        if status.alive and status.responsive and "adopted" in status.info:
            return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError("the daemon did not come up")


def scenario(n_jobs: int, idle_s: float, probe_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="jobtui-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        engine = Engine.open(data_dir=data_dir)
        t = time.perf_counter()
        seed(engine, n_jobs)
        seeded = time.perf_counter() - t
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobtui", "--data-dir", str(data_dir), "daemon", "--grace", "5"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            startup = wait_responsive(engine)
            time.sleep(3.0)  # let start-up work (timers for every job) settle
            cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(idle_s)
            idle_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - wall0) * 100
            idle_rss = rss_mb(proc.pid)
            probe_jobs(engine)
            since = time.time()
            time.sleep(probe_s)
            rows = engine.store.query(
                "SELECT started_at - scheduled_for AS lag FROM runs WHERE trigger = 'schedule' "
                "AND started_at IS NOT NULL AND scheduled_for >= ?",
                (since,),
            )
            lags = sorted(float(r["lag"]) for r in rows)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            engine.close()
        q = statistics.quantiles(lags, n=100) if len(lags) >= 2 else [float("nan")] * 99
        return {
            "jobs": engine_jobs(n_jobs),
            "seed_s": seeded,
            "startup_s": startup,
            "idle_cpu_pct": idle_cpu,
            "rss_mb": idle_rss,
            "fires": len(lags),
            "p50_ms": q[49] * 1000,
            "p99_ms": q[98] * 1000,
        }


def engine_jobs(n: int) -> int:
    return n - (n % 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    parser.add_argument("--probe", type=float, default=12.0, help="seconds of fire measurement")
    args = parser.parse_args(argv)
    base = scenario(0, args.idle, args.probe)
    big = scenario(args.jobs, args.idle, args.probe)
    heading = f"{big['jobs']:,} jobs"
    print(f"{'':28}{'baseline (0 jobs)':>20}{heading:>20}")
    rows = [
        ("daemon start-up (s)", "startup_s", "{:.2f}"),
        ("idle CPU (% of one core)", "idle_cpu_pct", "{:.2f}"),
        ("RSS (MB)", "rss_mb", "{:.1f}"),
        ("fires measured", "fires", "{}"),
        ("fire -> running p50 (ms)", "p50_ms", "{:.0f}"),
        ("fire -> running p99 (ms)", "p99_ms", "{:.0f}"),
    ]
    for label, key, fmt in rows:
        print(f"{label:28}{fmt.format(base[key]):>20}{fmt.format(big[key]):>20}")
    print("targets (issue 4): idle < 2% of one core, RSS < 150 MB, fire -> running < 1 s")


if __name__ == "__main__":
    main()

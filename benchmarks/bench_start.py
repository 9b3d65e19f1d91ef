"""Start-up cost of the CLI and the worker (issue 18: cheaper start).

`jobtui logs RUN --tail 20` and `jobtui runs list` against `jobtui --help` (the baseline:
the interpreter, click and the command table), each the median wall time of interleaved
repeats in the same run, and which heavy modules each loads (pydantic and the spec models
load only where a spec is validated). Not a test: it never fails on timing.

    .venv/bin/python -m benchmarks.bench_start [--repeats 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jobtui.engine import Engine

HEAVY = ("pydantic", "jobtui.engine.model.spec", "jobtui.engine.schedule.rules")

PROBE = """
import runpy, sys
heavy = {heavy!r}
sys.argv = ["jobtui", *{argv!r}]
try:
    runpy.run_module("jobtui", run_name="__main__")
except SystemExit:
    pass
sys.stdout.flush()
print("\\nLOADED:" + ",".join(h for h in heavy if h in sys.modules), file=sys.stderr)
"""


def fixture(data_dir: Path) -> int:
    """A database with one finished command run of 5,000 log lines."""
    engine = Engine.open(data_dir=data_dir)
    try:
        engine.create_job(
            {"name": "talky", "kind": "command", "command": {"argv": ["seq", "5000"]}}
        )
        run = engine.queue_run("talky")
        engine.wait_for_run(run.id, timeout=120)
        return int(run.id)
    finally:
        engine.close()


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def loaded(args: list[str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY, argv=args)],
        capture_output=True,
        text=True,
        check=False,
    )
    line = [x for x in out.stderr.splitlines() if x.startswith("LOADED:")]
    return (line[-1].removeprefix("LOADED:") if line else "?") or "none"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jobtui-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        run_id = fixture(data_dir)
        py = sys.executable
        base = ["--data-dir", str(data_dir)]
        cases = {
            "jobtui --help (baseline)": ["--help"],
            "jobtui logs RUN --tail 20": [*base, "logs", str(run_id), "--tail", "20"],
            "jobtui runs list": [*base, "runs", "list"],
        }
        worker = [py, "-c", "import jobtui.engine.run.worker"]
        times: dict[str, list[float]] = {name: [] for name in cases}
        times["worker imports"] = []
        for _ in range(args.repeats):  # interleaved: the shared host drifts
            for name, cli in cases.items():
                times[name].append(timed([py, "-m", "jobtui", *cli]))
            times["worker imports"].append(timed(worker))
        help_s = statistics.median(times["jobtui --help (baseline)"])
        print(f"{'command':34}{'median ms':>10}{'min ms':>8}{'x help':>8}  heavy modules loaded")
        for name, values in times.items():
            cli = cases.get(name)
            heavy = loaded(cli) if cli is not None else "(see the warm launcher)"
            med = statistics.median(values)
            print(
                f"{name:34}{med * 1000:>10.0f}{min(values) * 1000:>8.0f}"
                f"{med / help_s:>8.2f}  {heavy}"
            )
        ratio = statistics.median(times["jobtui logs RUN --tail 20"]) / help_s
        verdict = "met" if ratio <= 2.0 else "not met"
        print(f"target: logs --tail 20 <= 2x --help: {ratio:.2f}x  {verdict}")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""`make bench`: run every benchmarks/bench_*.py (or the ones named) one after another.

python -m benchmarks                 # all
python -m benchmarks store runs      # bench_store.py and bench_runs.py
python -m benchmarks infer           # bench_infer.py: inference fidelity, baseline beside
python -m benchmarks formats         # bench_formats.py: every format and codec beside JSON lines
python -m benchmarks sinks           # bench_sinks.py: brokers and MariaDB beside plain
                                     # client loops, SQLite against the file sink
python -m benchmarks scale           # bench_scale.py: dispatch latency local vs celery,
                                     # runs/min with 1 and 2 Celery workers (Redis db 15)
python -m benchmarks threads         # bench_threads.py: threads 2 / 1 at 1M and 3M beside
                                     # the machine's 2-process ceiling (issue 18)
python -m benchmarks launcher store  # worker start (fork -> executing); page fetch and a
                                     # filter keystroke at 100k jobs (issue 18)
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if n.removeprefix("bench_") in argv or n in argv]
    failed = 0
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            module.main([])
        except Exception as exc:  # one broken benchmark must not hide the others
            failed += 1
            print(f"{name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"({name} took {time.perf_counter() - started:.1f}s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

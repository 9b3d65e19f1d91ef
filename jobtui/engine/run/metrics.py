"""`jobtui daemon --metrics 127.0.0.1:PORT`: Prometheus metrics in the text exposition
format, read from the store at each scrape (runs by state, run duration and fire lateness
histograms over the latest 10,000 runs, queue depth, workers online). Standard library only:
a ThreadingHTTPServer in a daemon thread, with its own store connection (per thread)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jobtui.engine.store import remote as remote_rows
from jobtui.engine.store.db import Store

BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400)


def _histogram(name: str, help_text: str, values: list[float]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for bound in BUCKETS:
        lines.append(f'{name}_bucket{{le="{bound:g}"}} {sum(1 for v in values if v <= bound)}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {len(values)}')
    lines.append(f"{name}_sum {sum(values):.6f}")
    lines.append(f"{name}_count {len(values)}")
    return lines


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(store: Store, workers_online: Callable[[], int | None] | None = None) -> str:
    lines = ["# HELP jobtui_runs Runs by state.", "# TYPE jobtui_runs gauge"]
    for state, n in sorted(remote_rows.runs_by_state(store).items()):
        lines.append(f'jobtui_runs{{state="{_label(state)}"}} {n}')
    lines += ["# HELP jobtui_queue_depth Queued runs per queue.", "# TYPE jobtui_queue_depth gauge"]
    for queue, n in sorted(remote_rows.queue_depth(store).items()):
        lines.append(f'jobtui_queue_depth{{queue="{_label(queue)}"}} {n}')
    lines += _histogram(
        "jobtui_run_duration_seconds",
        "Duration of the latest ended runs.",
        remote_rows.durations(store),
    )
    lines += _histogram(
        "jobtui_fire_lateness_seconds",
        "How late scheduled runs started after their fire.",
        remote_rows.lateness(store),
    )
    online = workers_online() if workers_online is not None else None
    if online is not None:
        lines += [
            "# HELP jobtui_workers_online Celery workers with a live presence on the broker.",
            "# TYPE jobtui_workers_online gauge",
            f"jobtui_workers_online {online}",
        ]
    return "\n".join(lines) + "\n"


def serve_metrics(
    store: Store, host: str, port: int, workers_online: Callable[[], int | None] | None = None
) -> ThreadingHTTPServer:
    """Serve /metrics on host:port from a daemon thread; the server (call shutdown())."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404)
                return
            try:
                body = render(store, workers_online).encode()
            except Exception as exc:
                self.send_error(500, str(exc)[:200])
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="jobtui-metrics", daemon=True).start()
    return server


def presence_counter(url: str) -> Callable[[], int | None]:
    """How many `jobtui worker`s keep a presence key on the broker (None: unreachable)."""
    from jobtui.engine.model.broker import worker_key
    from jobtui.engine.run.events import connect

    client = connect(url, timeout=1.0)

    def count() -> int | None:
        with contextlib.suppress(Exception):
            return sum(1 for _ in client.scan_iter(worker_key("*")))
        return None

    return count

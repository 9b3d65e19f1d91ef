"""Helpers of the scale-out tests (issue 19): real `jobtui worker` processes on the real
Redis (database 14, each test in its own namespace and queues), an in-process daemon whose
registry has the Celery executor, and waits that fail loudly."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from jobtui.engine import Engine, Run
from jobtui.engine.model.broker import BrokerConfig, worker_key
from jobtui.engine.run.celery_exec import CeleryExecutor
from jobtui.engine.run.executor import REMOTE
from jobtui.engine.run.local import LocalExecutor
from jobtui.engine.schedule.daemon import Daemon
from tests.conftest import require_server

# Each helper session may be given its own database (the tests clean only their namespace).
REDIS_DB = int(os.environ.get("JOBTUI_TEST_REDIS_DB", "14"))
GRACE = 1.0
STALE_AFTER = 5.0


def redis_url(port: int = 6379, db: int = REDIS_DB) -> str:
    return f"redis://127.0.0.1:{port}/{db}"


@dataclass
class Cluster:
    """A control host (engine + in-process daemon) and the workers a test starts."""

    engine: Engine
    url: str
    ns: str
    tmp: Path
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    daemon: Daemon | None = None
    events: str | None = None  # the events Redis when the task broker (url) is RabbitMQ

    @property
    def redis_url(self) -> str:
        return self.events or self.url

    def queue(self, name: str) -> str:
        return f"{self.ns}-{name}"

    def host(self, name: str) -> str:
        return f"{self.ns}-{name}"

    def start_worker(
        self,
        name: str,
        queues: list[str],
        concurrency: int = 1,
        url: str | None = None,
        wrap: list[str] | None = None,
        launcher: str = "warm",
    ) -> subprocess.Popen[bytes]:
        """`jobtui worker` in its own data directory, returned once it is ready and starts
        runs the `launcher` way: "warm" (forked from its zygote) or "cold" (`wrap`: the
        command it runs under, like `ip netns exec NS`)."""
        work = self.tmp / f"worker-{name}"
        work.mkdir(exist_ok=True)
        host = self.host(name)
        env = {**os.environ, "JOBTUI_BROKER": url or self.url, "JOBTUI_LAUNCHER": launcher}
        if self.events:
            env["JOBTUI_EVENTS"] = self.events
        argv = [
            *(wrap or []),
            sys.executable,
            "-m",
            "jobtui",
            "--data-dir",
            str(work / "data"),
            "worker",
            "--hostname",
            host,
            "--concurrency",
            str(concurrency),
            "--grace",
            str(GRACE),
            "--loglevel",
            "warning",
        ]
        for q in queues:
            argv += ["--queue", self.queue(q)]
        log = open(work / "worker.log", "ab")  # noqa: SIM115 (the child writes it)
        proc = subprocess.Popen(
            argv, cwd=work, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        self.workers[name] = proc
        client = redis.Redis.from_url(self.events or url or self.url)

        def ready() -> bool:
            presence = json.loads(client.get(worker_key(host)) or "{}")
            return presence.get("launcher") == launcher or proc.poll() is not None

        wait_for(ready, f"worker {host} ready, its launcher {launcher}", timeout=60)
        assert proc.poll() is None, (work / "worker.log").read_text()
        return proc

    def stop_worker(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.workers.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def make_daemon(self, url: str | None = None) -> Daemon:
        broker = BrokerConfig(url, namespace=self.ns) if url else self.engine.broker_config()
        assert broker is not None
        executors: dict[str, Any] = {
            "local": LocalExecutor(self.engine.store, self.engine.data_dir, grace=GRACE),
            REMOTE: CeleryExecutor(self.engine.store, broker, grace=GRACE, stale_after=STALE_AFTER),
        }
        daemon = self.engine.make_daemon(
            use_scheduler=False, ensure_system_jobs=None, grace=GRACE, executors=executors
        )
        daemon.acquire()
        daemon.startup()
        self.daemon = daemon
        return daemon

    def stop_daemon(self) -> None:
        if self.daemon is not None:
            self.daemon.release()
            self.daemon = None

    def step_until(self, condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        """Step the daemon until `condition` holds; fail naming `what` after `timeout`."""
        assert self.daemon is not None
        daemon = self.daemon

        def stepped() -> Any:
            daemon.step()
            return condition()

        return wait_for(stepped, what, timeout=timeout, interval=0.05)

    def runs_final(self, ids: list[int]) -> list[Run] | None:
        runs = [self.engine.get_run(i) for i in ids]
        return runs if all(r.state.is_final for r in runs) else None

    def close(self) -> None:
        for name in list(self.workers):
            self.stop_worker(name)
        self.stop_daemon()
        client = redis.Redis.from_url(self.redis_url)
        with contextlib.suppress(Exception):
            for key in client.scan_iter(f"{self.ns}:*"):
                client.delete(key)
            for key in client.scan_iter(f"{self.ns}-*"):  # Celery's queues of this test
                client.delete(key)
            for key in client.scan_iter(f"_kombu.binding*.{self.ns}-*"):  # and their bindings
                client.delete(key)


def wait_for(
    condition: Callable[[], Any], what: str, timeout: float = 30, interval: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout}s")
        time.sleep(interval)


@contextlib.contextmanager
def open_cluster(
    tmp_path: Path,
    db: int = REDIS_DB,
    broker: str | None = None,
    password: str | None = None,
    port: int = 6379,
) -> Iterator[Cluster]:
    """A control host on Redis database `db` (each test file keeps to its own); with
    `broker` (RabbitMQ), tasks go there and events stay on that Redis."""
    require_server("Redis", "127.0.0.1", 6379)
    engine = Engine.open(data_dir=tmp_path / "control")
    ns = "t" + uuid.uuid4().hex[:10]
    events = redis_url(port, db) if broker else None
    if events:
        engine.set_config("events", events)
    engine.set_config("broker", broker or redis_url(port, db))
    if password:
        engine.set_config("broker_password", password)
    engine.set_config("namespace", ns)
    c = Cluster(engine, broker or redis_url(port, db), ns, tmp_path, events=events)
    try:
        yield c
    finally:
        c.close()
        engine.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with open_cluster(tmp_path) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A redis-server of the test's own (it stops and starts it), on its own port."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.dir = tmp / f"redis-{self.port}"
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)

        def up() -> bool:
            with contextlib.suppress(Exception):
                return bool(client.ping())
            return False

        wait_for(up, f"redis-server on port {self.port}", timeout=20)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

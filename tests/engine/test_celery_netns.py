"""Scale-out across network namespaces (issue 19, optional): two `jobtui worker` processes,
each in a network namespace of its own, reach a Redis over a veth link, as other hosts
would; the control host's daemon sees every run end, each on its own worker's host.
Needs root and `ip netns`; the test starts its own redis-server bound to the links."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from jobtui.engine import RunState
from tests.conftest import PATIENCE

from .celery_helpers import Cluster, free_port, open_cluster, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@dataclass
class Links:
    """Network namespaces, each joined to this one by a veth pair on a /30 of its own."""

    tag: str
    subnet: int
    names: list[str] = field(default_factory=list)

    def add(self) -> tuple[str, str, str]:
        """A new namespace: (its name, the address it reaches us on, its own address)."""
        i = len(self.names) + 1
        ns, host_if, ns_if = f"{self.tag}{i}", f"{self.tag}h{i}", f"{self.tag}n{i}"
        here, there = f"10.{self.subnet}.{i}.1", f"10.{self.subnet}.{i}.2"
        ip("netns", "add", ns)
        self.names.append(ns)
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", f"{here}/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("-n", ns, "addr", "add", f"{there}/30", "dev", ns_if)
        ip("-n", ns, "link", "set", ns_if, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        return ns, here, there

    def close(self) -> None:
        for i, ns in enumerate(self.names, start=1):
            with contextlib.suppress(subprocess.CalledProcessError):
                ip("link", "del", f"{self.tag}h{i}")  # its peer goes with it
            with contextlib.suppress(subprocess.CalledProcessError):
                ip("netns", "del", ns)


@pytest.fixture
def links() -> Iterator[Links]:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("redis-server") is None:
        pytest.skip("needs root, iproute2's ip and redis-server")
    tag = "j" + uuid.uuid4().hex[:5]
    made = Links(tag, random.randint(100, 250))
    try:
        ns, _, _ = made.add()
        ip("netns", "exec", ns, "true")
    except subprocess.CalledProcessError as exc:
        made.close()
        pytest.skip(f"cannot make network namespaces here: {exc.stderr.decode().strip()}")
    try:
        yield made
    finally:
        made.close()


def test_two_workers_in_their_own_network_namespaces_run_every_run(
    links: Links, tmp_path: Path
) -> None:
    ns_a, here_a, _ = links.names[0], f"10.{links.subnet}.1.1", None
    ns_b, here_b, _ = links.add()
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            f"127.0.0.1 {here_a} {here_b}",
            "--protected-mode",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        local = redis.Redis(port=port)
        wait_for(lambda: _pings(local), "the test's redis-server", 20 * PATIENCE)
        with open_cluster(tmp_path, 0, port=port) as c:
            run_across(c, port, (ns_a, here_a), (ns_b, here_b), tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _pings(client: redis.Redis) -> bool:
    with contextlib.suppress(Exception):
        return bool(client.ping())
    return False


def run_across(
    c: Cluster, port: int, a: tuple[str, str], b: tuple[str, str], tmp_path: Path
) -> None:
    side = tmp_path / "executions"
    script = f'echo "one $JOBTUI_RUN_ID"; echo "$JOBTUI_RUN_ID" >> {side}'
    for name, queue in (("on-a", "a"), ("on-b", "b")):
        c.engine.create_job(
            {
                "name": name,
                "kind": "command",
                "queue": c.queue(queue),
                "command": {"argv": [script], "shell": True},
            }
        )
    procs = {}
    for name, queue, (ns, here) in (("wa", "a", a), ("wb", "b", b)):
        procs[name] = c.start_worker(
            name,
            [queue],
            concurrency=2,
            url=f"redis://{here}:{port}/0",  # over the veth link: 127.0.0.1 there is its own
            wrap=["ip", "netns", "exec", ns],
        )
    mine = os.readlink("/proc/self/ns/net")
    theirs = {os.readlink(f"/proc/{p.pid}/ns/net") for p in procs.values()}
    assert mine not in theirs and len(theirs) == 2  # really elsewhere, each on its own
    c.make_daemon()
    ids = [c.engine.queue_run("on-a" if i % 2 else "on-b").id for i in range(20)]
    runs = c.step_until(lambda: c.runs_final(ids), "20 runs across namespaces", 120 * PATIENCE)
    assert [r.state for r in runs] == [RunState.SUCCEEDED] * 20, [(r.id, r.error) for r in runs]
    for run in runs:
        assert run.host == (c.host("wa") if run.job_name == "on-a" else c.host("wb"))
        assert f"one {run.id}" in [line.message for line in c.engine.read_log(run.id)]
    assert sorted(side.read_text().split(), key=int) == [str(i) for i in ids]

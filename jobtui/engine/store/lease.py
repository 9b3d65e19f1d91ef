"""The daemon's lease row: who owns the scheduler, its epoch (a fence against a second
writer), its heartbeat, the pause flag and its start-up report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jobtui.engine.store.db import Store


@dataclass(frozen=True)
class Lease:
    owner: str | None
    pid: int | None
    epoch: int
    heartbeat_at: float | None
    started_at: float | None
    paused: bool
    info: dict[str, Any] = field(default_factory=dict)


def read(store: Store) -> Lease | None:
    row = store.query_one("SELECT * FROM daemon_lease WHERE id = 1")
    if row is None:
        return None
    try:
        info = json.loads(row["info"] or "{}")
    except ValueError:
        info = {}
    info = info if isinstance(info, dict) else {}
    epoch, paused = int(row["epoch"]), bool(row["paused"])
    return Lease(
        row["owner"], row["pid"], epoch, row["heartbeat_at"], row["started_at"], paused, info
    )


def take(store: Store, owner: str, pid: int, now: float) -> tuple[int, bool]:
    """Take the lease with a new epoch; (epoch, paused)."""
    with store.transaction():
        store.execute(
            "UPDATE daemon_lease SET owner = ?, pid = ?, epoch = epoch + 1, "
            "heartbeat_at = ?, started_at = ?, info = '{}' WHERE id = 1",
            (owner, pid, now, now),
        )
        row = store.query_one("SELECT epoch, paused FROM daemon_lease WHERE id = 1")
        assert row is not None
        return int(row["epoch"]), bool(row["paused"])


def release(store: Store, epoch: int) -> None:
    store.execute(
        "UPDATE daemon_lease SET heartbeat_at = NULL WHERE id = 1 AND epoch = ?", (epoch,)
    )


def renew(store: Store, epoch: int, now: float) -> bool:
    """Heartbeat; False when the epoch moved on (another daemon took over)."""
    cur = store.execute(
        "UPDATE daemon_lease SET heartbeat_at = ? WHERE id = 1 AND epoch = ?", (now, epoch)
    )
    return cur.rowcount > 0


def current_epoch(store: Store) -> int | None:
    row = store.query_one("SELECT epoch FROM daemon_lease WHERE id = 1")
    return None if row is None else int(row["epoch"])


@contextmanager
def fenced(store: Store, epoch: int, on_lost: Any) -> Iterator[None]:
    """A write transaction that only commits while `epoch` is the lease's; otherwise
    `on_lost(current)` raises."""
    with store.transaction():
        current = current_epoch(store)
        if current != epoch:
            on_lost(current)
        yield


def set_info(store: Store, epoch: int, info: dict[str, Any]) -> None:
    store.execute(
        "UPDATE daemon_lease SET info = ? WHERE id = 1 AND epoch = ?", (json.dumps(info), epoch)
    )


def set_paused(store: Store, paused: bool) -> None:
    store.execute("UPDATE daemon_lease SET paused = ? WHERE id = 1", (int(paused),))

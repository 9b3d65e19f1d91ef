"""The pool of a `jobtui worker`: Celery's thread pool, one thread per slot, that can grow
and shrink while it runs (Celery's `pool_grow` / `pool_shrink` remote control, which
Flower and the Workers screen send). Celery's own thread pool has neither.

Each slot only waits on its run's process, so a slot is cheap. What really bounds the
runs at once is the consumer's prefetch (late acknowledgement, one message per slot):
Celery's control command moves it with the pool's size. Shrinking never stops a run:
a thread beyond the new limit finishes its run and then takes nothing more, because the
broker delivers no more messages than the prefetch allows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from celery.concurrency.thread import TaskPool

# Called with the new size after a grow or shrink (the worker's presence shows it).
on_resize: Callable[[int], None] | None = None


class ResizableThreadPool(TaskPool):  # type: ignore[misc]
    """Celery's thread pool with `grow` and `shrink` (never below one slot)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resize_lock = threading.Lock()

    def grow(self, n: int = 1) -> None:
        self._resize(max(0, int(n)))

    def shrink(self, n: int = 1) -> None:
        # Refused rather than clamped: Celery lowers the prefetch by `n` after this returns,
        # and a prefetch of 0 means "no limit" to the broker.
        if int(n) >= self.limit:
            raise ValueError(f"the pool has {self.limit} slot(s) and keeps at least one")
        self._resize(-max(0, int(n)))

    def _resize(self, delta: int) -> None:
        with self._resize_lock:
            self.limit: int = int(self.limit) + delta
            # ThreadPoolExecutor starts threads lazily up to _max_workers (no public knob).
            self.executor._max_workers = self.limit
        if on_resize is not None:
            on_resize(self.limit)

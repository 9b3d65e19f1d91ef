"""The console sink: the run's output, shown in the run log (up to `max_lines` lines)."""

from __future__ import annotations

from typing import Any

from jobtui.engine.model.sinks import ConsoleOptions
from jobtui.engine.sinks.base import Sink, SinkContext


class ConsoleSink(Sink):
    type = "console"
    takes = "bytes"
    inline = True

    def __init__(self, options: dict[str, Any], ctx: SinkContext):
        super().__init__(options, ctx)
        self.config = ConsoleOptions.model_validate(options)
        self.lines = 0
        self._partial = b""

    def write_bytes(self, data: bytes, records: int = 0) -> None:
        self.bytes += len(data)
        self.records += records
        limit = self.config.max_lines
        if self.lines >= limit and not self._partial:
            self.lines += data.count(b"\n")
            return
        chunk = self._partial + data
        *complete, self._partial = chunk.split(b"\n")
        for raw in complete:
            self._emit(raw)

    def _emit(self, raw: bytes) -> None:
        if self.lines < self.config.max_lines:
            self.ctx.log(raw.decode("utf-8", "replace"), "info", "stdout")
        self.lines += 1

    def close(self) -> str:
        if self._partial:
            self._emit(self._partial)
            self._partial = b""
        hidden = self.lines - self.config.max_lines
        if hidden > 0:
            self.ctx.log(f"… {hidden} more line(s) not copied into the log", "info", "sink")
        return "the run log"

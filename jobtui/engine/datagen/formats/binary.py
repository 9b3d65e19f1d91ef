"""What the whole-file formats (Parquet, Excel) share: a write target drained after each
batch, so their bytes stream out as the library writes them."""

from __future__ import annotations

import threading


class Drain:
    """A write-only file that keeps what is written until `take()` hands it over: a
    library writing a whole file writes here, and each batch's bytes are taken out (a
    writer thread may write while another thread takes)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._pos = 0
        self._lock = threading.Lock()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        chunk = bytes(data)
        with self._lock:
            self._parts.append(chunk)
            self._pos += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def take(self) -> bytes:
        with self._lock:
            parts, self._parts = self._parts, []
        return b"".join(parts)

"""Read only what a log file gained since last time, in whole lines (``\\n`` or tqdm's ``\\r``)."""

from __future__ import annotations

import os
from pathlib import Path


class LogTail:
    """Incremental reader. ``offset`` counts the bytes consumed so far (whole lines only)."""

    def __init__(self, path: str | Path, offset: int = 0, max_chunk: int = 4 << 20) -> None:
        self.path = Path(path)
        self.offset = int(offset)
        self.max_chunk = int(max_chunk)

    def size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def pending(self) -> int:
        return max(0, self.size() - self.offset)

    def read(self, final: bool = False, limit: int | None = None) -> str:
        """New complete lines as text ('' when none). ``final`` also returns a trailing partial line."""
        size = self.size()
        if size < self.offset:  # truncated or replaced: start over
            self.offset = 0
        if size == self.offset:
            return ""
        want = min(size - self.offset, limit or self.max_chunk)
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(want)
        except OSError:
            return ""
        if not data:
            return ""
        if not final and self.offset + len(data) >= size:
            cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
            if cut < 0:
                if len(data) < self.max_chunk:
                    return ""  # wait for the end of this line
                cut = len(data) - 1  # an enormous line: take it anyway
            data = data[: cut + 1]
        self.offset += len(data)
        return data.decode("utf-8", errors="replace")

    def skip_to_end(self, keep: int = 0) -> int:
        """Jump near the end (keeping the last ``keep`` bytes unread); returns bytes skipped."""
        size = self.size()
        target = max(self.offset, size - keep)
        skipped = target - self.offset
        if skipped > 0 and keep:
            # start at a line boundary
            try:
                with open(self.path, "rb") as handle:
                    handle.seek(target)
                    data = handle.read(keep)
                nl = data.find(b"\n")
                if 0 <= nl < len(data) - 1:
                    target += nl + 1
                    skipped = target - self.offset
            except OSError:
                pass
        self.offset = max(self.offset, target)
        return max(0, skipped)


def read_tail(path: str | Path, max_bytes: int = 64 << 10) -> str:
    """The last ``max_bytes`` of a file, starting at a line boundary."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            start = max(0, size - max_bytes)
            handle.seek(start)
            data = handle.read()
    except OSError:
        return ""
    if start > 0:
        nl = data.find(b"\n")
        if nl >= 0:
            data = data[nl + 1 :]
    return data.decode("utf-8", errors="replace")

"""Open datasets, shared by reference count: opened once, closed when the last user lets go.

    registry = DatasetRegistry()
    lease = registry.open("~/data/pick.hdf5")      # opens it (or shares the open one)
    task_lease = lease.share()                     # a running export keeps its own reference
    lease.release()                                # the pane lets go: still open for the export
    task_lease.release()                           # the last user: the dataset is closed now

Panes, sessions and tasks hold ``Lease`` objects, never a bare path-to-dataset cache of their own.
A lease releases at most once; ``with registry.open(p) as lease:`` releases on leaving the block.
Thread-safe: tasks release their leases on worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.paths import user_path


class _Entry:
    def __init__(self, key: str, dataset: Any) -> None:
        self.key = key
        self.dataset = dataset
        self.count = 0


class Lease:
    """One user's reference to an open dataset."""

    def __init__(self, registry: DatasetRegistry, entry: _Entry) -> None:
        self._registry = registry
        self._entry = entry
        self._released = False

    @property
    def dataset(self) -> Any:
        if self._released:
            raise RuntimeError(f"lease of {self._entry.key} already released")
        return self._entry.dataset

    @property
    def path(self) -> str:
        return self._entry.key

    @property
    def released(self) -> bool:
        return self._released

    def share(self) -> Lease:
        """Another reference to the same open dataset (for a task, another pane)."""
        if self._released:
            raise RuntimeError(f"lease of {self._entry.key} already released")
        return self._registry._acquire(self._entry)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._registry._release(self._entry)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class DatasetRegistry:
    """Datasets open in this process, keyed by their resolved path."""

    def __init__(self, opener: Callable[[Path], Any] | None = None) -> None:
        self._opener = opener
        self._lock = threading.RLock()
        self._opening: dict[str, threading.Lock] = {}
        self._entries: dict[str, _Entry] = {}
        self.closed: list[str] = []  # paths closed, oldest first (for diagnostics and tests)

    @staticmethod
    def key(path: str | Path) -> str:
        return str(user_path(path).resolve())

    def open(self, path: str | Path) -> Lease:
        """A lease on the dataset at ``path``, opening it only when nobody has it open.

        Opening runs on the calling thread (a task's, in the GUI); two callers asking for the same
        path at once open it once. Raises what the format's reader raises (a StudioError)."""
        key = self.key(path)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                return self._acquire(entry)
            gate = self._opening.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    return self._acquire(entry)
            dataset = self._open(Path(key))
            with self._lock:
                entry = _Entry(key, dataset)
                self._entries[key] = entry
                self._opening.pop(key, None)
                return self._acquire(entry)

    def adopt(self, dataset: Any, path: str | Path | None = None) -> Lease:
        """Register a dataset opened elsewhere (a demo, a reader built in memory) and lease it."""
        key = self.key(path if path is not None else dataset.path)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = _Entry(key, dataset)
                self._entries[key] = entry
            return self._acquire(entry)

    def _open(self, path: Path) -> Any:
        if self._opener is not None:
            return self._opener(path)
        from backend.formats import open_dataset

        return open_dataset(path)

    def _acquire(self, entry: _Entry) -> Lease:
        with self._lock:
            if self._entries.get(entry.key) is not entry:
                raise RuntimeError(f"{entry.key} was closed")
            entry.count += 1
            return Lease(self, entry)

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.count -= 1
            if entry.count > 0:
                return
            if self._entries.get(entry.key) is entry:
                del self._entries[entry.key]
        try:
            close = getattr(entry.dataset, "close", None)
            if close is not None:
                close()
        finally:
            with self._lock:
                self.closed.append(entry.key)

    def is_open(self, path: str | Path) -> bool:
        with self._lock:
            return self.key(path) in self._entries

    def users(self, path: str | Path) -> int:
        with self._lock:
            entry = self._entries.get(self.key(path))
            return entry.count if entry is not None else 0

    def open_paths(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)


_default: DatasetRegistry | None = None


def registry() -> DatasetRegistry:
    """The process's registry (the GUI's panes share it)."""
    global _default
    if _default is None:
        _default = DatasetRegistry()
    return _default

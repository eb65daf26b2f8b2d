"""Datasets being opened for Compare's sides: one registry lease per side, the newest choice wins.

One task per path opens it (``CompareSession.open_lease`` on the interactive lane); every side
waiting for that path gets its own reference (``share``). A side asked for another path meanwhile
drops the older answer; a path another side already shows is shared at once, without a task.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.tasks import INTERACTIVE, TaskGroup
from backend.registry import Lease
from backend.sessions.compare import CompareSession

Filled = Callable[[Lease], None]  # takes ownership of the lease


class Openings:
    def __init__(
        self, session: CompareSession, tasks: TaskGroup, on_failed: Callable[[str, str, str], None]
    ) -> None:
        self.session = session
        self.tasks = tasks
        self.on_failed = on_failed
        self._waiting: dict[str, list[tuple[int, int, Filled]]] = {}
        self._wanted: dict[int, int] = {}  # side -> the ticket of its newest request
        self._ticket = 0

    def open(self, index: int, path: str, callback: Filled) -> None:
        """Call ``callback(lease)`` for side ``index`` once ``path`` is open (unless replaced)."""
        self._ticket += 1
        ticket = self._ticket
        self._wanted[index] = ticket
        key = str(Path(path))
        for side in self.session.sides:
            if side.path == key and side.lease is not None and not side.lease.released:
                callback(side.lease.share())
                return
        if key in self._waiting:
            self._waiting[key].append((index, ticket, callback))
            return
        if self.tasks.closed:
            return
        self._waiting[key] = [(index, ticket, callback)]
        self.tasks.run(
            self.session.open_lease,
            key,
            key=f"open:{key}",
            lane=INTERACTIVE,
            on_done=lambda lease: self._opened(key, lease),
            on_error=lambda message, details: self._failed(key, message, details),
        )

    def forget(self, index: int) -> None:
        """Side ``index`` wants no dataset any more: an opening under way is not given to it."""
        self._wanted.pop(index, None)

    def busy(self) -> bool:
        return bool(self._waiting)

    def _opened(self, key: str, lease: Lease) -> None:
        lease = self.session.claim(lease)
        try:
            for index, ticket, callback in self._waiting.pop(key, []):
                if self._wanted.get(index) == ticket:
                    callback(lease.share())
        finally:
            lease.release()

    def _failed(self, key: str, message: str, details: str) -> None:
        waiting = self._waiting.pop(key, [])
        if any(self._wanted.get(index) == ticket for index, ticket, _ in waiting):
            self.on_failed(key, message, details)

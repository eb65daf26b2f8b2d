"""The only contract between long work and its caller (CLI bar, GUI worker, tests).

Backend work takes a ``Progress`` and calls ``report`` / ``warn`` / ``check_cancelled``. Callers
subclass or pass callbacks; the GUI forwards reports over queued signals, the CLI draws a bar.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from backend.errors import Cancelled


class Progress:
    """Thread-safe progress sink with cooperative cancellation."""

    def __init__(
        self,
        on_report: Callable[[int, int, str], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self._on_report = on_report
        self._on_warning = on_warning
        self._cancel = threading.Event()
        self.done = 0
        self.total = 0
        self.text = ""
        self.warnings: list[str] = []

    def report(self, done: int, total: int, text: str = "") -> None:
        """Record progress and raise ``Cancelled`` if the caller asked to stop."""
        self.done, self.total, self.text = done, total, text
        if self._on_report is not None:
            self._on_report(done, total, text)
        self.check_cancelled()

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()


class NullProgress(Progress):
    """Progress that reports nowhere; warnings are still collected."""


def ensure_progress(progress: Progress | None) -> Progress:
    return progress if progress is not None else NullProgress()

"""Run backend work off the GUI thread: a plain function with a Progress, results over signals.

    task = run_task(convert_fn, arg1, arg2, on_done=..., on_error=..., on_progress=...)
    task.cancel()

The function is called as ``fn(*args, progress=progress)``. Signals are delivered on the GUI thread
(queued connections), so callbacks may touch widgets. ``latest()`` gives latest-request-wins.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from backend.errors import Cancelled, StudioError
from backend.output_faults import output_fault
from backend.progress import Progress


class TaskSignals(QObject):
    progress = Signal(int, int, str)
    warning = Signal(str)
    done = Signal(object)
    failed = Signal(str, str)  # user message, details (traceback)
    cancelled = Signal()
    finished = Signal()  # after done/failed/cancelled


class Task(QRunnable):
    def __init__(
        self, fn: Callable[..., Any], *args: Any, outputs: Iterable[Any] = (), **kwargs: Any
    ) -> None:
        super().__init__()
        self.outputs = [o for o in outputs if o]  # a write fault there is told as the CLI tells it
        self.setAutoDelete(False)
        self.signals = TaskSignals()
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.progress = Progress(
            on_report=lambda d, t, s: self.signals.progress.emit(d, t, s),
            on_warning=self.signals.warning.emit,
        )
        self.result: Any = None
        self.running = False

    def cancel(self) -> None:
        self.progress.cancel()

    def run(self) -> None:
        self.running = True
        try:
            self.result = self.fn(*self.args, progress=self.progress, **self.kwargs)
        except Cancelled:
            self.signals.cancelled.emit()
        except StudioError as error:
            fault = output_fault(error, self.outputs)
            self.signals.failed.emit((fault or error).message, traceback.format_exc())
        except Exception as error:  # noqa: BLE001 - surfaced to the user with details folded away
            fault = output_fault(error, self.outputs)
            message = fault.message if fault else f"{type(error).__name__}: {error}"
            self.signals.failed.emit(message, traceback.format_exc())
        else:
            self.signals.done.emit(self.result)
        finally:
            self.running = False
            self.signals.finished.emit()


_live_tasks: set[Task] = set()


def run_task(
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[str, str], None] | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    on_cancelled: Callable[[], None] | None = None,
    pool: QThreadPool | None = None,
    outputs: Iterable[Any] = (),
    **kwargs: Any,
) -> Task:
    """Run ``fn(*args, progress=..., **kwargs)`` on a pool thread; ``outputs`` are the paths it writes
    (a full disk or a read-only folder there is reported naming the output, as the CLI does)."""
    task = Task(fn, *args, outputs=outputs, **kwargs)
    if on_done:
        task.signals.done.connect(on_done)
    if on_error:
        task.signals.failed.connect(on_error)
    if on_progress:
        task.signals.progress.connect(on_progress)
    if on_cancelled:
        task.signals.cancelled.connect(on_cancelled)
    _live_tasks.add(task)  # keep Python wrappers alive until finished
    task.signals.finished.connect(lambda: _live_tasks.discard(task))
    (pool or QThreadPool.globalInstance()).start(task)
    return task

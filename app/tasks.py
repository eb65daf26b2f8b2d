"""The GUI's one task layer: backend work off the GUI thread, owned by the pane that asked for it.

    self.tasks = TaskGroup(self)                       # in a pane's __init__
    self.tasks.run(export, dataset, out, on_done=..., on_error=..., on_progress=...,
                   key="export", lane=BACKGROUND, holds=[lease.share()], outputs=[out])
    self.tasks.run(make_thumbs, episode, key="thumbs", lane=INTERACTIVE)   # latest request wins
    self.tasks.shutdown()                              # in closeEvent: cancel, then wait

The function is called as ``fn(*args, progress=progress, **kwargs)``; backend work reports and is
cancelled through that ``backend.progress.Progress``. A task is a superqt ``WorkerBase`` (superqt's
thread workers); what this module adds around it is what superqt leaves to the caller:

- lanes: separate thread pools, so interactive work (frames, thumbnails, plots, opening a dataset)
  never waits behind exports and conversions (``INTERACTIVE``, ``BACKGROUND``), and a pool without a
  small cap for the long-lived loops of the frame loader (``STREAM``);
- ownership: a ``TaskGroup`` per pane; ``key`` gives latest-request-wins (the previous task with the
  same key is cancelled and its results are dropped); ``shutdown`` cancels and waits, so nothing the
  pane started outlives it;
- callbacks connected before the task starts, so no report or warning is lost;
- ``holds``: leases (``backend.registry.Lease``) a task keeps until it ends, so a dataset closed by
  its pane stays open for a running export and closes after it;
- a user's sentence for every failure (``StudioError``, a full disk naming the output), with the
  traceback kept for "Show details" only where the failure is not the user's.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import WorkerBase
from superqt.utils._qthreading import WorkerBaseSignals

from backend.errors import Cancelled, StudioError
from backend.output_faults import output_fault
from backend.progress import Progress

INTERACTIVE = "interactive"  # frames, thumbnails, plots, hints, opening a dataset
BACKGROUND = "background"  # exports, conversions, checks, job-store calls
STREAM = "stream"  # long-lived per-camera decode loops (one thread each)


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_LANE_THREADS = {
    INTERACTIVE: lambda: max(2, min(4, _cores())),
    BACKGROUND: lambda: max(2, _cores()),
    STREAM: lambda: 64,
}
_pools: dict[str, QThreadPool] = {}


def pool(lane: str) -> QThreadPool:
    """The thread pool of one lane (created on first use)."""
    if lane not in _LANE_THREADS:
        raise ValueError(f"unknown task lane {lane!r}")
    found = _pools.get(lane)
    if found is None:
        found = QThreadPool()
        found.setObjectName(f"tasks-{lane}")
        found.setMaxThreadCount(_LANE_THREADS[lane]())
        _pools[lane] = found
    return found


class TaskSignals(WorkerBaseSignals):
    progress = Signal(int, int, str)
    warning = Signal(str)
    done = Signal(object)
    failed = Signal(str, str)  # the user's sentence, details (a traceback only for our own faults)
    cancelled = Signal()


class Task(WorkerBase):
    """One call of a backend function on a lane's pool. ``finished`` follows done/failed/cancelled."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        lane: str = BACKGROUND,
        outputs: Iterable[Any] = (),
        holds: Iterable[Any] = (),
        name: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(SignalsClass=TaskSignals)
        self.setAutoDelete(False)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.lane = lane
        self.name = name or getattr(fn, "__name__", "task")
        self.outputs = [o for o in outputs if o]  # a write fault there is told as the CLI tells it
        self.holds = list(holds)
        self.stale = False  # replaced by a newer request or its owner closed: results are dropped
        self.result: Any = None
        self.ended = threading.Event()
        self.origin = "".join(traceback.format_stack(limit=8)[:-2])  # where it was asked for
        self.progress = Progress(
            on_report=lambda d, t, s: self._emit("progress", d, t, s),
            on_warning=lambda message: self._emit("warning", message),
        )

    signals: TaskSignals

    @property
    def running(self) -> bool:
        return self.is_running and not self.ended.is_set()

    def cancel(self) -> None:
        self.progress.cancel()
        self.quit()

    def _emit(self, name: str, *values: Any) -> None:
        """Emit a signal unless its object is gone (the application is closing): the work goes on
        to its end or its next cancellation check, and nobody is left to tell."""
        try:
            getattr(self.signals, name).emit(*values)
        except RuntimeError:  # "Signal source has been deleted"
            self.progress.cancel()

    def start(self) -> None:  # on the lane's pool (superqt's start uses the global pool)
        _live.add(self)
        pool(self.lane).start(self)

    def work(self) -> None:
        emit = self._emit
        try:
            if self.progress.cancelled:
                raise Cancelled()
            self.result = self.fn(*self.args, progress=self.progress, **self.kwargs)
        except Cancelled:
            emit("cancelled")
        except StudioError as error:
            fault = output_fault(error, self.outputs)
            emit("failed", (fault or error).message, _details(error))
        except Exception as error:  # noqa: BLE001 - surfaced to the user with details folded away
            fault = output_fault(error, self.outputs)
            if fault is not None:
                emit("failed", fault.message, _details(error))
            else:
                emit("failed", f"{type(error).__name__}: {error}", traceback.format_exc())
        else:
            emit("done", self.result)
        finally:
            for held in self.holds:
                try:
                    held.release()
                except Exception:  # noqa: BLE001 - a lease that fails to close is not this task's fault
                    pass
            self.holds = []
            self.ended.set()
            _live.discard(self)


def _details(error: BaseException) -> str:
    """Details for "Show details" of a user's problem: the cause in words, never a traceback."""
    cause = error.__cause__ or error.__context__
    lines = [str(error)]
    if cause is not None and str(cause) and str(cause) not in lines[0]:
        lines.append(f"cause: {type(cause).__name__}: {cause}")
    return "\n".join(lines)


class _LiveTasks:
    """Started and not yet ended, in every group (keeps the Python wrappers alive)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: set[Task] = set()

    def add(self, task: Task) -> None:
        with self._lock:
            self._tasks.add(task)

    def discard(self, task: Task) -> None:
        with self._lock:
            self._tasks.discard(task)

    def snapshot(self) -> list[Task]:
        with self._lock:
            return list(self._tasks)


_live = _LiveTasks()


def active_tasks() -> list[Task]:
    """Tasks started and not yet ended, in every group (the dangling-thread check reads this)."""
    return [task for task in _live.snapshot() if not task.ended.is_set()]


def wait_all(timeout: float = 5.0) -> bool:
    """Wait until every task has ended (tests and application exit); True when none is left."""
    import time

    deadline = time.monotonic() + timeout
    for task in active_tasks():
        if not task.ended.wait(max(0.0, deadline - time.monotonic())):
            return False
    return True


class TaskGroup(QObject):
    """The tasks one owner (a pane, a dialog) started: latest request wins per key; shut down together."""

    def __init__(self, owner: QObject | None = None) -> None:
        super().__init__(owner)
        self._tasks: set[Task] = set()
        self._keyed: dict[str, Task] = {}
        self.closed = False

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        key: str | None = None,
        lane: str = BACKGROUND,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        outputs: Iterable[Any] = (),
        holds: Iterable[Any] = (),
        **kwargs: Any,
    ) -> Task:
        """Start ``fn(*args, progress=..., **kwargs)`` on ``lane``; callbacks run on the GUI thread.

        With ``key``, a previous task of this group with the same key is cancelled and its callbacks
        are not called any more (latest request wins). ``holds`` are released when the task ends."""
        holds = list(holds)
        if self.closed:
            for held in holds:
                held.release()
            raise RuntimeError("this task group was shut down")
        if key is not None:
            self.cancel(key)
        task = Task(fn, *args, lane=lane, outputs=outputs, holds=holds, name=key or "", **kwargs)

        def live(callback: Callable[..., None] | None) -> Callable[..., None] | None:
            if callback is None:
                return None

            def call(*values: Any) -> None:
                if not task.stale:
                    callback(*values)

            return call

        for signal, callback in (
            (task.signals.done, on_done),
            (task.signals.failed, on_error),
            (task.signals.progress, on_progress),
            (task.signals.warning, on_warning),
            (task.signals.cancelled, on_cancelled),
            (task.signals.finished, on_finished),
        ):
            wrapped = live(callback)
            if wrapped is not None:
                signal.connect(wrapped)
        task.signals.finished.connect(lambda: self._forget(task, key))
        self._tasks.add(task)
        if key is not None:
            self._keyed[key] = task
        task.start()
        return task

    def _forget(self, task: Task, key: str | None) -> None:
        self._tasks.discard(task)
        if key is not None and self._keyed.get(key) is task:
            del self._keyed[key]

    def get(self, key: str) -> Task | None:
        task = self._keyed.get(key)
        return task if task is not None and not task.ended.is_set() else None

    def busy(self, key: str | None = None) -> bool:
        if key is not None:
            return self.get(key) is not None
        return any(not task.ended.is_set() for task in self._tasks)

    def cancel(self, key: str | None = None) -> None:
        """Cancel the task with ``key`` (or every task); their callbacks are not called any more."""
        tasks = [self._keyed.pop(key)] if key is not None and key in self._keyed else []
        if key is None:
            tasks = list(self._tasks)
            self._keyed.clear()
        for task in tasks:
            task.stale = True
            task.cancel()

    def tasks(self) -> list[Task]:
        return [task for task in self._tasks if not task.ended.is_set()]

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait for every task of this group to end; True when all ended within ``timeout``."""
        import time

        deadline = time.monotonic() + timeout
        ended = True
        for task in list(self._tasks):
            ended = task.ended.wait(max(0.0, deadline - time.monotonic())) and ended
        return ended

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancel every task and wait for them to end; the group takes no new task afterwards."""
        self.closed = True
        self.cancel()
        return self.wait(timeout)


def close_pools(timeout_ms: int = 3000) -> bool:
    """Wait for every lane's threads and let the pools go while the application still exists (the
    window's last step: a pool destroyed after the QApplication can crash the interpreter's exit)."""
    done = True
    for lane in list(_pools):
        done = _pools[lane].waitForDone(timeout_ms) and done
    if done:
        _pools.clear()
    return done


_app_group: TaskGroup | None = None


def app_tasks() -> TaskGroup:
    """Tasks of the application itself (the demo workspace, start-up work): not owned by a pane."""
    global _app_group
    if _app_group is None:
        _app_group = TaskGroup()
    return _app_group


def run_task(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
    """Start an application-level task (see ``TaskGroup.run``); panes use their own group."""
    return app_tasks().run(fn, *args, **kwargs)

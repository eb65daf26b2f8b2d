"""Coroutines of the window: work that is asynchronous by nature (watching the job store, following a
log file) written as ``asyncio`` coroutines that run on the GUI thread.

    handle = start(self._watch_store)        # a coroutine function (and its arguments)
    handle.cancel()                          # in closeEvent; cancelling twice is fine

The application runs a qasync event loop (``app.gui_main``): a coroutine started while it runs is an
``asyncio`` task on it. Where no loop runs (tests under pytest-qt, a pane built before the loop
started), the handle waits for the next turn of Qt's event loop and looks again; if there is still
none, a private asyncio loop is stepped by a single-shot ``QTimer`` armed for the next timer the
coroutines are waiting for, and only while one of them is alive: no idle loop either way.

Coroutines run on the GUI thread, so they may touch widgets and the pane's store connection
(SQLite connections stay in their thread); what they read per step is small (a pragma, changed
rows, at most 64 kB of log), and anything slow belongs in a task (``app.tasks``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QTimer

CoroutineFunction = Callable[..., Coroutine[Any, Any, Any]]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running on this thread (the application's qasync loop), if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Handle:
    """One started coroutine: ``cancel()`` stops it at its next ``await`` (or before it starts)."""

    def __init__(self, fn: CoroutineFunction, args: tuple[Any, ...], name: str) -> None:
        self.fn, self.args, self.name = fn, args, name
        self.task: asyncio.Task | None = None
        self.cancelled = False
        self.on_qasync = False

    @property
    def done(self) -> bool:
        return self.cancelled or (self.task is not None and self.task.done())

    def begin(self) -> None:
        if self.cancelled or self.task is not None:
            return
        loop = running_loop()
        if loop is not None and loop is not _driver.loop:
            self.on_qasync = True
            self.task = loop.create_task(self.fn(*self.args), name=self.name)
        else:
            self.task = _driver.start(self.fn(*self.args), self.name)
        self.task.add_done_callback(_report)

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None and not self.task.done():
            self.task.cancel()
            if not self.on_qasync:
                _driver.settle()


def start(fn: CoroutineFunction, *args: Any, name: str = "") -> Handle:
    """Run ``fn(*args)`` as a coroutine on the application's loop (see the module's text)."""
    handle = Handle(fn, args, name or getattr(fn, "__name__", "coroutine"))
    if running_loop() is not None:
        handle.begin()
    else:  # the qasync loop may not have started yet: look again on the next turn of Qt's loop
        QTimer.singleShot(0, handle.begin)
    return handle


async def every(seconds: float, step: Callable[[], Any]) -> None:
    """Call ``step`` every ``seconds`` until cancelled. A step that fails is reported (as a failing Qt
    slot is) and the next one goes on: one bad read must not end the watching."""
    while True:
        await asyncio.sleep(seconds)
        try:
            step()
        except Exception:  # noqa: BLE001 - reported, and watching goes on
            sys.excepthook(*sys.exc_info())


def _report(task: asyncio.Task) -> None:
    """A coroutine that failed is reported like a failing Qt slot (printed), not lost."""
    if not task.cancelled() and task.exception() is not None:
        error = task.exception()
        sys.excepthook(type(error), error, error.__traceback__)


class _TimerDriver:
    """A private asyncio loop stepped from Qt's event loop, for where no qasync loop runs."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task] = set()
        self.timer: QTimer | None = None

    def start(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        if self.loop is None or self.loop.is_closed():
            self.loop = asyncio.new_event_loop()
        task = self.loop.create_task(coroutine, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self.wake()
        return task

    def wake(self, delay_ms: int = 0) -> None:
        if self.timer is None:
            self.timer = QTimer()
            self.timer.setSingleShot(True)
            self.timer.timeout.connect(self._step)
        if not self.timer.isActive() or self.timer.remainingTime() > delay_ms:
            self.timer.start(delay_ms)

    def settle(self) -> None:
        """Deliver a cancellation now where possible (not from inside the loop itself)."""
        if running_loop() is None:
            self._step()
        else:
            self.wake()

    def _step(self) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        if running_loop() is not None:  # called from inside a loop (should not happen): try later
            self.wake(10)
            return
        loop.call_soon(loop.stop)
        loop.run_forever()  # one pass: due timers and ready callbacks
        if not self.tasks:
            loop.close()  # nothing alive: no timer, no loop until the next start
            self.loop = None
            return
        self.wake(self._next_ms(loop))

    @staticmethod
    def _next_ms(loop: asyncio.AbstractEventLoop) -> int:
        """Milliseconds until the loop has something to do (its ready queue, its earliest timer)."""
        if getattr(loop, "_ready", None):
            return 0
        scheduled = getattr(loop, "_scheduled", None)
        if scheduled:
            return max(0, min(1000, int((scheduled[0].when() - loop.time()) * 1000) + 1))
        return 50  # waiting on something that no timer will wake: look now and then


_driver = _TimerDriver()

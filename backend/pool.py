"""A bounded pool of worker processes that run a conversion's episodes side by side, handed back in order.

The parent lists every task up front, each belonging to a *group* (an output episode: one task per
camera, say); ``wait(group)`` blocks until the group's tasks are done and returns their results in
the order they were listed. Tasks go out in list order to the least busy worker, at most ``depth``
per worker and never more than ``window`` groups ahead of the group being waited for, so whatever
the dataset's size, what is in flight (and finished but not yet taken) stays bounded; the output
is written in order by the parent, so it is the same for any number of workers.

Workers are ``python -m MODULE`` children started through ``backend.children`` (a checkout, a pip
install and a frozen bundle alike). The protocol is JSON lines, never pickle:
  parent -> child   ``{"task": ID, ...payload}``, one per line; end of input: finish and exit 0.
  child -> parent   ``{"task": ID, "progress": N}`` (units of work done so far, e.g. frames),
                    ``{"task": ID, "done": RESULT}``,
                    ``{"task": ID, "error": TEXT, ...}`` (the child then exits).
A child dies with the parent (``children.die_with_parent``); ``close`` kills the ones still working.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from backend import children

POLL_S = 0.1


def worker_count(jobs: int | None, tasks: int) -> int:
    """Workers for ``tasks`` tasks: ``jobs`` (None: one per core this process may use), never more
    than the tasks, at least one."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    wanted = jobs if jobs is not None else children.usable_cores()
    return max(1, min(int(wanted), tasks))


class PoolError(Exception):
    """A worker reported an error for ``task`` (or ended early: ``task`` is then None)."""

    def __init__(self, message: str, task: int | None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.task = task
        self.details = details or {}


@dataclass
class Task:
    group: int
    payload: dict[str, Any]


class _Worker:
    def __init__(self, number: int, module: str, events: queue.Queue, env: dict[str, str] | None) -> None:
        import subprocess  # noqa: PLC0415

        self.number = number
        self.busy: set[int] = set()
        self.proc: subprocess.Popen | None = children.start(
            module, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._events = events
        self._reader = threading.Thread(target=self._read, name=f"pool-worker:{number}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                message = {"error": f"garbled message {line[:80]!r}", "task": None}
            self._events.put((self.number, message))
        self._events.put((self.number, {"exit": proc.wait()}))

    def send(self, task_id: int, payload: dict[str, Any]) -> None:
        proc = self.proc
        assert proc is not None and proc.stdin is not None
        self.busy.add(task_id)
        try:
            proc.stdin.write((json.dumps({**payload, "task": task_id}) + "\n").encode())
            proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the child ended: its exit status arrives through the reader

    def finish_input(self) -> None:
        proc = self.proc
        if proc is not None and proc.stdin is not None and not proc.stdin.closed:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        self._reader.join(5)


class Pool:
    """``workers`` children of ``module`` running ``tasks`` (see the module text)."""

    def __init__(
        self,
        module: str,
        workers: int,
        *,
        depth: int = 2,
        window: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self._events: queue.Queue = queue.Queue()
        self._workers: list[_Worker] = []
        self.depth = max(1, depth)
        self.window = window if window is not None else max(4, 2 * workers)
        try:
            for number in range(workers):
                self._workers.append(_Worker(number, module, self._events, env))
        except BaseException:
            self.close()
            raise
        self._tasks: list[Task] = []
        self._next = 0  # the first task not yet sent
        self._done: dict[int, Any] = {}
        self._progress: dict[int, int] = {}
        self._by_group: dict[int, list[int]] = {}
        self._exited: set[int] = set()
        self._failed: dict[int, PoolError] = {}  # raised when its group is waited for
        self._complete = False  # the last tasks were submitted

    @property
    def size(self) -> int:
        return len(self._workers)

    def submit(self, tasks: Sequence[Task], *, last: bool = True) -> None:
        """Tasks in output order (groups ascending, after those submitted before); ``last=False``:
        more will follow (the workers' input stays open until a call with ``last=True``)."""
        if self._complete:
            raise ValueError("the pool's last tasks were submitted already")
        self._complete = last
        for task in tasks:
            if self._tasks and task.group < self._tasks[-1].group:
                raise ValueError("tasks must come in group order")
            self._by_group.setdefault(task.group, []).append(len(self._tasks))
            self._tasks.append(task)
        if self._tasks:
            self._feed(self._tasks[self._next].group if self._next < len(self._tasks) else 0)

    def progress(self) -> int:
        """Units of work reported so far over every task (finished ones included)."""
        return sum(self._progress.values())

    def wait(self, group: int, on_progress: Callable[[], None], poll_s: float = POLL_S) -> list[Any]:
        """The results of ``group``'s tasks, in submission order. ``on_progress`` runs on each
        message and at least every ``poll_s``; it may raise (``Cancelled``). Raises ``PoolError``."""
        wanted = self._by_group.get(group, [])
        while True:
            self._feed(group)
            for t in wanted:
                if t in self._failed:
                    raise self._failed[t]
            if all(t in self._done for t in wanted):
                return [self._done.pop(t) for t in wanted]
            try:
                number, message = self._events.get(timeout=poll_s)
            except queue.Empty:
                on_progress()
                continue
            self._handle(number, message)
            on_progress()

    def _feed(self, group: int) -> None:
        while self._next < len(self._tasks):
            task = self._tasks[self._next]
            if task.group > group + self.window:
                return
            free = [w for w in self._workers if w.proc is not None and w.number not in self._exited]
            worker = min(free, key=lambda w: len(w.busy), default=None)
            if worker is None or len(worker.busy) >= self.depth:
                return
            worker.send(self._next, task.payload)
            self._next += 1
        if self._complete:  # nothing left to hand out: idle workers may end
            for worker in self._workers:
                worker.finish_input()

    def _handle(self, number: int, message: dict[str, Any]) -> None:
        """A worker's message. A task's failure is kept until its group is waited for: an earlier
        group may still finish, and the output is written in order."""
        worker = self._workers[number]
        task = message.get("task")
        if "progress" in message and task is not None:
            self._progress[int(task)] = int(message["progress"])
        elif "done" in message and task is not None:
            worker.busy.discard(int(task))
            self._done[int(task)] = message["done"]
        elif "error" in message:
            if task is None:
                raise PoolError(str(message["error"]), None, message)
            worker.busy.discard(int(task))
            self._failed[int(task)] = PoolError(str(message["error"]), int(task), message)
        elif "exit" in message:
            self._exited.add(number)
            for lost in sorted(worker.busy):
                self._failed.setdefault(
                    lost, PoolError(f"a worker process ended early (exit status {message['exit']})", lost)
                )
            worker.busy.clear()
            if len(self._exited) == len(self._workers) and (
                self._next < len(self._tasks) or not self._complete
            ):
                raise PoolError("every worker process ended before the work was done", None)

    def task(self, task_id: int) -> Task:
        return self._tasks[task_id]

    def close(self) -> None:
        """Stop every child (at once if still working) and wait for it."""
        for worker in self._workers:
            worker.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def one_line(error: BaseException) -> str:
    """An exception's text on one line (its type's name when it has none)."""
    return " ".join((str(error) or type(error).__name__).split())


def error_fields(error: BaseException) -> dict[str, Any]:
    """What an ``error`` message says besides its text: a ``StudioError``'s file, problem and hint,
    so that the parent's own error, which names the file already, can leave the file out."""
    from backend.errors import StudioError  # noqa: PLC0415

    if isinstance(error, StudioError) and error.path is not None:
        return {"path": error.path, "problem": error.problem, "hint": error.hint}
    return {}


def serve(handle: Callable[[dict[str, Any], Callable[[int], None]], Any]) -> int:
    """A simple child's main loop: for each task line, ``handle(task, report)`` returns the result
    (``report(n)`` sends progress); an exception becomes one ``error`` line and exit status 1."""
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    children.die_with_parent()
    if os.getppid() == 1:  # the parent died before the signal was asked for: nobody to serve
        return 1
    stdout = sys.stdout.buffer

    def send(message: dict[str, Any]) -> None:
        stdout.write((json.dumps(message) + "\n").encode())
        stdout.flush()

    for line in sys.stdin.buffer:
        task = json.loads(line)
        number = task.pop("task")
        try:
            result = handle(task, lambda n, number=number: send({"task": number, "progress": int(n)}))
        except BrokenPipeError:
            return 0
        except Exception as error:  # noqa: BLE001 - reported to the parent, which decides
            send({"task": number, "error": one_line(error), **error_fields(error)})
            return 1
        send({"task": number, "done": result})
    return 0

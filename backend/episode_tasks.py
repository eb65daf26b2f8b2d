"""Per-episode tasks of an export, run by worker processes or here, their results handed back in order.

The exports that write one video per episode (curate export to LeRobot, cosmos trainset, idm
prepare) list one task per output episode (and camera) and take the results back episode by
episode, in order, while the parent writes the output. With more than one worker the tasks run in
``backend.pool``'s worker processes (``python -m MODULE``, whose ``handle`` does one task); with one
worker, or when the caller asks, the same task function runs here, on the
parent's thread, so the output is the same whatever ``--jobs`` (every encoder uses one thread).

A failed task raises ``TaskFailed`` (its text and its group) in both modes, when its group's
results are taken; ``Cancelled`` raised by ``on_progress`` goes through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from backend import children
from backend.errors import Cancelled
from backend.pool import Pool, PoolError, Task, error_fields, one_line
from backend.pool import worker_count as pool_worker_count

__all__ = ["EpisodeTasks", "Task", "TaskFailed", "worker_count"]

LocalHandle = Callable[[dict[str, Any], Callable[[int], None]], Any]


class TaskFailed(Exception):
    """Task of ``group`` failed with ``message`` (``details``: what the worker said besides; for a
    ``StudioError``, its ``path``, ``problem`` and ``hint``)."""

    def __init__(self, message: str, group: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.group = group
        self.details = details or {}

    def about(self, path: str | Path | None) -> str:
        """The message for an error that names ``path`` itself: the problem (and its hint) alone when
        the task's error was about that same file, else the whole message (another file stays named)."""
        said, problem, hint = (self.details.get(k) for k in ("path", "problem", "hint"))
        if path is not None and said is not None and problem is not None:
            if Path(said).absolute() == Path(path).absolute():
                return f"{problem} ({hint})" if hint else str(problem)
        return str(self)


def worker_count(jobs: int | None, groups: int) -> int:
    """Workers for ``groups`` episodes (``backend.pool.worker_count``; the bundle's too), one (this
    process) where no child can start (``children.can_start``)."""
    return pool_worker_count(jobs, groups) if children.can_start() else 1


class EpisodeTasks:
    """Run tasks in ``workers`` children of ``module`` (``workers`` > 1) or here through ``local``
    (``local(payload, report)``: the task function the child's ``handle`` calls)."""

    def __init__(self, module: str, local: LocalHandle, workers: int, window: int | None = None) -> None:
        self._local = local
        self.pool: Pool | None = Pool(module, workers, window=window) if workers > 1 else None
        self._pending: dict[int, list[Task]] = {}
        self._units_done = 0  # here: units of finished tasks
        self._units_now = 0  # here: units of the running task

    @property
    def parallel(self) -> bool:
        return self.pool is not None

    @classmethod
    def started(cls, module: str, local: LocalHandle, workers: int, tasks: Sequence[Task]) -> EpisodeTasks:
        """A new runner with every task submitted (its workers closed again if that fails)."""
        runner = cls(module, local, workers)
        try:
            runner.submit(tasks)
        except BaseException:
            runner.close()
            raise
        return runner

    def submit(self, tasks: Sequence[Task]) -> None:
        """Every task, in output order (groups ascending)."""
        if self.pool is not None:
            self.pool.submit(tasks)
            return
        for task in tasks:
            self._pending.setdefault(task.group, []).append(task)

    def progress(self) -> int:
        """Units of work (frames) reported so far over every task."""
        if self.pool is not None:
            return self.pool.progress()
        return self._units_done + self._units_now

    def results(self, group: int, on_progress: Callable[[], None]) -> list[Any]:
        """``group``'s results in submission order; ``on_progress`` runs often and may raise
        ``Cancelled``. Raises ``TaskFailed``."""
        if self.pool is not None:
            try:
                return self.pool.wait(group, on_progress)
            except PoolError as error:
                failed = self.pool.task(error.task).group if error.task is not None else group
                raise TaskFailed(str(error), failed, error.details) from None
        results = []
        for task in self._pending.pop(group, []):
            results.append(self._run_here(task, on_progress))
        return results

    def _run_here(self, task: Task, on_progress: Callable[[], None]) -> Any:
        def report(units: int) -> None:
            self._units_now = int(units)
            on_progress()

        try:
            result = self._local(dict(task.payload), report)
        except Cancelled:
            raise
        except Exception as error:  # noqa: BLE001 - the same message as from a worker process
            raise TaskFailed(one_line(error), task.group, error_fields(error)) from None
        finally:
            self._units_done += self._units_now
            self._units_now = 0
        return result

    def close(self) -> None:
        """Stop the workers (at once if still working); call before the output's folder is removed."""
        if self.pool is not None:
            self.pool.close()
        self._pending.clear()

    def __enter__(self) -> EpisodeTasks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_dataset_tasks(run_task: Callable[..., Any], who: str) -> int:
    """A worker's main loop for tasks that read an episode of ``task['dataset']`` and write
    ``task['out']``: both must be absolute (a worker runs in ``/``); each dataset is opened once
    per worker; ``run_task(task, report, dataset)`` is the same function the parent runs for one worker."""
    import os  # noqa: PLC0415

    from backend.formats import open_dataset  # noqa: PLC0415
    from backend.pool import serve  # noqa: PLC0415

    datasets: dict[str, Any] = {}

    def handle(task: dict[str, Any], report: Callable[[int], None]) -> Any:
        for key in ("dataset", "out"):
            if not os.path.isabs(task[key]):
                raise ValueError(f"{task[key]}: not an absolute path ({who})")
        dataset = datasets.get(task["dataset"])
        if dataset is None:
            dataset = datasets[task["dataset"]] = open_dataset(task["dataset"])
        return run_task(task, report, dataset)

    return serve(handle)

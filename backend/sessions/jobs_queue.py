"""The Jobs pane's queue without Qt: its columns, what each cell says, the rows in table order (sorted
with key functions, new jobs on top) and the filter above them. A view listens to ``JobRows``
(``RowsListener``): the pane's table model turns each call into Qt's model signals."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from backend.jobs.store import QUEUED, RUNNING, Job
from backend.numbers import fixed

COLUMNS = ("ID", "Name", "Template", "Runner", "State", "Progress", "ETA", "GPU", "Started", "Elapsed")
(
    COL_ID,
    COL_NAME,
    COL_TEMPLATE,
    COL_RUNNER,
    COL_STATE,
    COL_PROGRESS,
    COL_ETA,
    COL_GPU,
    COL_STARTED,
    COL_ELAPSED,
) = range(10)
STATE_COLOURS = {
    "queued": "#9aa4b2",
    "running": "#4aa3ff",
    "succeeded": "#48b26b",
    "failed": "#e06c5a",
    "cancelled": "#a08c70",
}


# -- words -------------------------------------------------------------------------------------------
def number(value: float, spec: str = ".5g") -> str:
    """``format(value, spec)`` that never shows a negative zero ("-0", "-0.00")."""
    return fixed(value, spec)


def duration(seconds: float | None) -> str:
    """Elapsed time and ETA, as the table and the details panel show them."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds}s"


def elapsed_text(job: Job, now: float | None = None) -> str:
    """A job's elapsed time as the table and the Progress tab both show it (at the same ``now``)."""
    return duration(job.elapsed(now))


def eta_text(job: Job, now: float | None = None) -> str:
    return duration(job.eta(now))


def when(ts: float | None) -> str:
    """A moment: the time of day when it is today, else the date too."""
    if not ts:
        return ""
    moment = dt.datetime.fromtimestamp(ts)
    return moment.strftime("%H:%M:%S" if moment.date() == dt.date.today() else "%Y-%m-%d %H:%M")


def state_text(job: Job) -> str:
    if job.state == QUEUED and job.external_state:
        return f"queued (Slurm {job.external_state})"
    if job.state == RUNNING and job.cancel_requested:
        return "stopping"
    if job.state == "failed" and job.exit_code is not None:
        return f"failed ({job.exit_code})"
    return job.state


def cell_text(job: Job, column: int, now: float | None = None) -> str | int:
    """What one cell of the queue table shows (times at ``now``: the rows' clock)."""
    if column == COL_ID:
        return job.id
    if column == COL_NAME:
        return job.name
    if column == COL_TEMPLATE:
        return job.template
    if column == COL_RUNNER:
        return job.runner
    if column == COL_STATE:
        return state_text(job)
    if column == COL_PROGRESS:
        return job.progress_text or ""
    if column == COL_ETA:
        return eta_text(job, now)
    if column == COL_GPU:
        if not job.gpus:
            return ""
        return f"{job.gpus} ({job.gpu_ids})" if job.gpu_ids else str(job.gpus)
    if column == COL_STARTED:
        return when(job.started_at)
    if column == COL_ELAPSED:
        return elapsed_text(job, now)
    return ""


# -- the queue as rows ----------------------------------------------------------------------------------
class RowsListener(Protocol):
    """What a view of ``JobRows`` is told (Qt's model signals, one for one)."""

    def about_to_reset(self) -> None: ...
    def reset_done(self) -> None: ...
    def about_to_insert(self, first: int, last: int) -> None: ...
    def inserted(self) -> None: ...
    def changed(self, first_row: int, last_row: int, first_column: int, last_column: int) -> None: ...
    def about_to_move(self) -> None: ...
    def moved(self, new_rows: dict[int, int]) -> None: ...  # old row -> new row


class _Nobody:
    def __getattr__(self, _name: str) -> Callable[..., None]:
        return lambda *args: None


SORT_KEYS: dict[int, Callable[[Job], Any]] = {
    COL_ID: lambda j: j.id,
    COL_NAME: lambda j: (j.name.lower(), j.id),
    COL_TEMPLATE: lambda j: (j.template, j.id),
    COL_RUNNER: lambda j: (j.runner, j.id),
    COL_STATE: lambda j: (j.state, j.id),
    COL_PROGRESS: lambda j: (j.fraction if j.fraction is not None else -1.0, j.id),
    COL_ETA: lambda j: (j.eta() or 0.0, j.id),
    COL_GPU: lambda j: (j.gpus, j.id),
    COL_STARTED: lambda j: (j.started_at or 0.0, j.id),
    COL_ELAPSED: lambda j: (j.elapsed() or 0.0, j.id),
}


class JobRows:
    """The jobs in table order. Sorting uses key functions here (a Qt proxy would call data() some
    150,000 times for 10,000 jobs); new jobs go on top, newest first."""

    def __init__(self, listener: RowsListener | None = None) -> None:
        self.jobs: list[Job] = []
        self.rows: dict[int, int] = {}
        self.sort_column = COL_ID
        self.descending = True
        self.sort_dirty = False  # rows changed under a non-default order: re-sorted on the next tick
        self.now: float | None = None  # the clock times are shown at (moves on with refresh_times)
        self.listener: RowsListener = listener or _Nobody()

    def __len__(self) -> int:
        return len(self.jobs)

    def job(self, job_id: int) -> Job | None:
        row = self.rows.get(job_id)
        return self.jobs[row] if row is not None else None

    @property
    def default_order(self) -> bool:
        return self.sort_column == COL_ID and self.descending

    def _sorted(self, jobs: list[Job]) -> list[Job]:
        return sorted(jobs, key=SORT_KEYS.get(self.sort_column, SORT_KEYS[COL_ID]), reverse=self.descending)

    def _index(self) -> None:
        self.rows = {job.id: i for i, job in enumerate(self.jobs)}

    def sort(self, column: int, descending: bool) -> None:
        self.sort_column, self.descending = column, descending
        self.listener.about_to_move()
        old = {job.id: row for row, job in enumerate(self.jobs)}
        self.jobs = self._sorted(self.jobs)
        self._index()
        self.listener.moved({old[job_id]: row for job_id, row in self.rows.items()})

    def reset(self, jobs: list[Job]) -> None:
        self.listener.about_to_reset()
        self.jobs = list(jobs) if self.default_order else self._sorted(jobs)
        self._index()
        self.listener.reset_done()

    def apply(self, changed: list[Job]) -> None:
        """Update rows in place; new jobs go on top (newest first)."""
        new = []
        last = len(COLUMNS) - 1
        for job in changed:
            row = self.rows.get(job.id)
            if row is None:
                new.append(job)
            else:
                self.jobs[row] = job
                self.listener.changed(row, row, 0, last)
        if new:
            new.sort(key=lambda j: -j.id)
            self.listener.about_to_insert(0, len(new) - 1)
            self.jobs[0:0] = new
            self._index()
            self.listener.inserted()
        if changed and not self.default_order:
            self.sort_dirty = True

    def refresh_times(self, now: float | None = None) -> None:
        """ETA and elapsed move on without the store changing: re-sort if due, repaint running rows."""
        self.now = time.time() if now is None else now
        if self.sort_dirty or (not self.default_order and self.sort_column in (COL_ETA, COL_ELAPSED)):
            self.sort_dirty = False
            self.sort(self.sort_column, self.descending)
        rows = [row for row, job in enumerate(self.jobs) if job.state == RUNNING]
        if rows:  # one call for the span: the view repaints only what it shows
            self.listener.changed(rows[0], rows[-1], COL_ETA, COL_ELAPSED)


@dataclass
class JobFilter:
    """The filter above the queue: text in id/name/template/runner/profile, and a set of states."""

    text: str = ""
    states: frozenset[str] = frozenset()

    def set(self, text: str, states: set[str] | frozenset[str]) -> None:
        self.text = text.lower().strip()
        self.states = frozenset(states)

    def accepts(self, job: Job) -> bool:
        if self.states and job.state not in self.states:
            return False
        if self.text:
            hay = f"{job.id} {job.name} {job.template} {job.runner} {job.profile or ''}".lower()
            return self.text in hay
        return True

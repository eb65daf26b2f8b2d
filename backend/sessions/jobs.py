"""What the Jobs pane knows, without Qt: the queue as plain rows, the filter, the selected job, its
log as it grows and its loss curve, and the words every part of the pane shows for a job.

Everything comes from the job store (SQLite) that the CLI and the background supervisor share; a
cheap pragma tells whether anything changed and only rows whose revision moved are read again.
A test drives it alone:

    session = JobsSession(JobStore(db))
    session.poll()                 # PollResult: reset / changed rows / the selected job moved
    session.select([job_id])       # True when the primary selection changed
    session.follow_log(job)        # the newest part of the log as (kind, text) pieces
    session.read_log()             # only what the log gained since
    session.tick()                 # once a second: times, loss points, the supervisor

The pane's table model listens to ``session.rows`` (``RowsListener``) and turns its calls into Qt's
model signals; nothing here imports Qt.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from backend.jobs import service
from backend.jobs.logtail import LogTail
from backend.jobs.store import ACTIVE_STATES, FINAL_STATES, QUEUED, RUNNING, Job, JobStore, Point

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
LOG_BYTES_PER_TICK = 64 << 10
LOG_BACKLOG_SKIP = 512 << 10
LOG_INITIAL_BYTES = 256 << 10
OPENABLE_IN_BROWSE = {"dataset", "videos"}
SUPERVISOR_CHECK_S = 5.0

Piece = tuple[str, str]  # ("text", output) or ("notice", a line of our own)


# -- words -------------------------------------------------------------------------------------------
def number(value: float, spec: str = ".5g") -> str:
    """``format(value, spec)`` that never shows a negative zero ("-0", "-0.00")."""
    text = format(value, spec)
    if text.startswith("-") and float(text) == 0.0:
        return text[1:]
    return text


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


def cell_text(job: Job, column: int) -> str | int:
    """What one cell of the queue table shows."""
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
        return duration(job.eta())
    if column == COL_GPU:
        if not job.gpus:
            return ""
        return f"{job.gpus} ({job.gpu_ids})" if job.gpu_ids else str(job.gpus)
    if column == COL_STARTED:
        return when(job.started_at)
    if column == COL_ELAPSED:
        return duration(job.elapsed())
    return ""


def progress_text(job: Job, now: float | None = None) -> str:
    """The Progress tab's summary of one job."""
    lines = [f"Job {job.id} · {state_text(job)}"]
    if job.progress_text:
        lines.append(f"Progress: {job.progress_text}")
    if job.loss is not None:
        lines.append(f"Loss: {number(job.loss)}")
    eta = job.eta()
    if eta is not None:
        lines.append(f"ETA: {duration(eta)} (done about {when((now or time.time()) + eta)})")
    if job.elapsed() is not None:
        lines.append(f"Elapsed: {duration(job.elapsed())}")
    if job.error and job.state != "succeeded":
        lines.append(f"Problem: {job.error}")
    return "\n".join(lines)


def details_text(job: Job) -> str:
    """The Details tab: everything about one job, its command as a shell would run it."""
    lines = [
        f"Job {job.id}: {job.name}",
        f"Template: {job.template}    Runner: {job.runner}    Profile: {job.profile or '-'}",
        f"State: {state_text(job)}" + (f"    exit code {job.exit_code}" if job.exit_code is not None else ""),
        f"Attempt: {job.attempt} (automatic retries {job.max_retries})    Priority: {job.priority}",
        f"Created: {when(job.created_at)}    Started: {when(job.started_at)}    Ended: {when(job.ended_at)}",
    ]
    if job.error:
        lines.append(f"Problem: {job.error}")
    if job.external_id:
        lines.append(f"Slurm job: {job.external_id}")
    if job.deps:
        lines.append("After: " + ", ".join(f"#{d}" for d in job.deps))
    lines += ["", f"cd {shlex.quote(job.cwd or '')}"]
    lines += [f"{k}={shlex.quote(v)}" for k, v in (job.env or {}).items()]
    lines.append(shlex.join(job.argv or []))
    lines += ["", "Parameters:", json.dumps(job.params or {}, indent=2, ensure_ascii=False)]
    lines += ["", f"Log: {job.log_path}"]
    if job.run_spec and job.run_spec.get("slurm_script"):
        lines.append(f"Batch script: {job.run_spec['slurm_script']}")
    return "\n".join(lines)


def actions_for(jobs: list[Job]) -> dict[str, bool]:
    """Which actions the selected jobs allow."""
    return {
        "cancel": any(j.state in ACTIVE_STATES for j in jobs),
        "retry": any(j.state in FINAL_STATES for j in jobs),
        "duplicate": bool(jobs),
        "remove": any(j.state in FINAL_STATES for j in jobs),
        "edit": len(jobs) == 1 and jobs[0].state == QUEUED and not jobs[0].external_id,
        "after": len(jobs) == 1,
    }


def checks_text(checks: list[Any]) -> str:
    """Preflight or profile checks, one line each."""
    return "\n".join(f"{'ok ' if c.ok else 'BAD'} {c.what}: {c.detail}" for c in checks)


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

    def refresh_times(self) -> None:
        """ETA and elapsed move on without the store changing: re-sort if due, repaint running rows."""
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


# -- the selected job ---------------------------------------------------------------------------------
class LogFollower:
    """A log file as it grows: its newest part first, then only new bytes, in whole lines; a backlog
    larger than anyone can read is skipped with a notice (the full log stays on disk)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.tail = LogTail(path or "")

    def start(self) -> list[Piece]:
        pieces: list[Piece] = []
        skipped = self.tail.skip_to_end(keep=LOG_INITIAL_BYTES)
        if skipped:
            pieces.append(("notice", f"[... {number(skipped / 1e6, '.1f')} MB earlier in {self.path} ...]"))
        return pieces + self.read(final=False, limit=LOG_INITIAL_BYTES)

    def pending(self) -> int:
        return self.tail.pending()

    def read(self, final: bool, limit: int = LOG_BYTES_PER_TICK) -> list[Piece]:
        pending = self.tail.pending()
        if pending <= 0:
            return []
        pieces: list[Piece] = []
        if pending > LOG_BACKLOG_SKIP:  # more than anyone can read: jump to the newest output
            skipped = self.tail.skip_to_end(keep=LOG_BYTES_PER_TICK)
            mb = number(skipped / 1e6, ".1f")
            pieces.append(("notice", f"[... {mb} MB skipped: the full log is on disk ...]"))
        text = self.tail.read(final=final, limit=limit)
        if text:
            pieces.append(("text", text))
        return pieces


@dataclass
class LossCurve:
    """Loss against step of the selected job's attempt, read incrementally from the store."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    last_step: float | None = None

    def clear(self) -> None:
        self.x, self.y, self.last_step = [], [], None

    def add(self, points: list[Point]) -> bool:
        if not points:
            return False
        for point in points:
            if point.loss is not None:
                self.x.append(point.step)
                self.y.append(point.loss)
        self.last_step = points[-1].step
        return True


@dataclass
class ChainNode:
    """One job of a chain (jobs that wait for each other), with the jobs that wait for it."""

    job: Job
    current: bool
    children: list[ChainNode] = field(default_factory=list)


@dataclass
class PollResult:
    changed: bool = False  # rows were read again
    reset: bool = False  # the whole list was re-read (a job was removed)
    chain: bool = False  # a job of the selected job's chain changed
    selected: bool = False  # the selected job itself changed: show it again


class JobsSession:
    """The Jobs pane's state: the queue, the filter, the selection and what is shown of it."""

    def __init__(self, store: JobStore, listener: RowsListener | None = None) -> None:
        self.store = store
        self.rows = JobRows(listener)
        self.filter = JobFilter()
        self.selected: int | None = None
        self.selected_ids: list[int] = []
        self.attempt = 0  # the attempt of the selected job whose log and curve are shown
        self.shown_rev = -1
        self.curve = LossCurve()
        self.chain_ids: set[int] = set()
        self.log: LogFollower | None = None
        self.status = ""
        self.last_template: str | None = None  # the template of the last job queued from the window
        self._data_version = -1
        self._rev = 0
        self._epoch = -1
        self._last_supervisor_check = 0.0

    # -- watching the store -------------------------------------------------------------------------
    def poll(self) -> PollResult:
        """Cheap: a pragma tells whether anything changed; only changed rows are read."""
        version = self.store.data_version()
        if version == self._data_version:
            return PollResult()
        self._data_version = version
        rev, epoch = self.store.revision()
        result = PollResult(changed=True)
        if epoch != self._epoch:
            self._epoch = epoch
            self.rows.reset(self.store.list_jobs())
            self._rev = rev
            result.reset = True
        elif rev != self._rev:
            changed = self.store.changed_since(self._rev)
            self._rev = max([rev] + [j.rev for j in changed])
            self.rows.apply(changed)
            result.chain = self.selected is not None and any(j.id in self.chain_ids for j in changed)
        else:
            return PollResult()
        if self.selected is not None:
            job = self.rows.job(self.selected)
            result.selected = job is not None and job.rev != self.shown_rev
        return result

    def tick(self, now: float | None = None) -> bool:
        """Once a second: times move on, new loss points; a restarted window re-attaches every job
        through the supervisor. True when the curve gained points."""
        self.rows.refresh_times()
        gained = self.read_points()
        active = any(j.state in ACTIVE_STATES for j in self.rows.jobs[:200]) or self.store.count(
            ACTIVE_STATES
        )
        now = time.monotonic() if now is None else now
        if active and now - self._last_supervisor_check > SUPERVISOR_CHECK_S:
            self._last_supervisor_check = now
            from backend.jobs.supervisor import ensure_supervisor

            ensure_supervisor(self.store.path)
        return gained

    def status_text(self) -> str:
        counts = service.state_counts(self.store)
        running, queued = counts["running"], counts["queued"]
        parts = []
        if running:
            parts.append(f"{running} job{'s' if running != 1 else ''} running")
        if queued:
            parts.append(f"{queued} queued")
        total = self.store.get_setting("gpus_total")
        if running and total and total != "0":
            used = sum(j.gpus for j in self.rows.jobs if j.state == RUNNING and j.runner == "local")
            parts.append(f"GPU {used}/{total}")
        return ", ".join(parts) or "no jobs running"

    def update_status(self) -> bool:
        """True when the status text changed."""
        text = self.status_text()
        if text == self.status:
            return False
        self.status = text
        return True

    # -- the selection ----------------------------------------------------------------------------------
    def selected_jobs(self) -> list[Job]:
        return [j for j in (self.rows.job(i) for i in self.selected_ids) if j is not None]

    def actions(self) -> dict[str, bool]:
        return actions_for(self.selected_jobs())

    def select(self, ids: list[int]) -> bool:
        """The rows selected in the table; True when the job shown below changes."""
        self.selected_ids = list(ids)
        job_id = ids[0] if ids else None
        if job_id == self.selected:
            return False
        self.selected = job_id
        self.attempt = 0
        if job_id is None:
            self.log = None
            self.curve.clear()
        return True

    def show(self) -> tuple[Job | None, bool]:
        """The selected job, read whole, and whether its log must be followed anew (another attempt
        or another file); the loss curve starts over with it."""
        if self.selected is None:
            return None, False
        job = self.store.get(self.selected)
        self.shown_rev = job.rev
        restart = job.attempt != self.attempt or self.log is None or self.log.path != (job.log_path or "")
        if restart:
            self.attempt = job.attempt
            self.log = LogFollower(job.log_path or "")
            self.curve.clear()
        self.read_points()
        return job, restart

    def follow_log(self) -> list[Piece]:
        """The newest part of the shown job's log (call after ``show`` asked for a restart)."""
        return self.log.start() if self.log is not None else []

    def read_log(self, limit: int = LOG_BYTES_PER_TICK) -> list[Piece]:
        """What the shown job's log gained since the last read; a finished job's last partial line too."""
        if self.log is None:
            return []
        job = self.rows.job(self.selected) if self.selected is not None else None
        return self.log.read(final=bool(job and job.final), limit=limit)

    def log_done(self) -> bool:
        """The shown job has ended and its log was read to the end: nothing more will come."""
        job = self.rows.job(self.selected) if self.selected is not None else None
        return bool(job and job.final and self.log is not None and self.log.pending() <= 0)

    def read_points(self) -> bool:
        if self.selected is None:
            return False
        points = self.store.points(self.selected, self.attempt or None, after_step=self.curve.last_step)
        return self.curve.add(points)

    def chain(self, job: Job) -> list[ChainNode]:
        """The chain the job belongs to as trees from its roots (empty when it waits for nothing and
        nothing waits for it)."""
        ids = self.store.chain_of(job.id)
        self.chain_ids = set(ids) if len(ids) > 1 else set()
        if len(ids) <= 1:
            return []
        jobs = {i: self.rows.job(i) or self.store.get(i) for i in ids}
        deps = {i: [d for d in self.store.deps_of(i) if d in jobs] for i in ids}
        children: dict[int, list[int]] = {i: [] for i in ids}
        for child, parents in deps.items():
            for parent in parents:
                children[parent].append(child)

        def node(job_id: int, depth: int) -> ChainNode:
            found = ChainNode(jobs[job_id], current=job_id == job.id)
            if depth < 50:
                found.children = [node(child, depth + 1) for child in sorted(children[job_id])]
            return found

        return [node(root, 0) for root in sorted(i for i in ids if not deps[i])]

    def chain_size(self) -> int:
        return len(self.chain_ids)

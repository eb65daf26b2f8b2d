"""What the Jobs pane knows, without Qt: the queue (``jobs_queue``: rows, filter, cell words), the
selected job, its log as it grows and its loss curve, and the words its tabs show.

Everything comes from the job store (SQLite) that the CLI and the background supervisor share; a
cheap pragma tells whether anything changed and only rows whose revision moved are read again.
A test drives it alone:

    session = JobsSession(JobStore(db))
    session.poll()                 # PollResult: reset / changed rows / the selected job moved
    session.select([job_id])       # True when the primary selection changed
    session.show(); session.follow_log()  # the newest part of the log as (kind, text) pieces
    session.read_log()             # only what the log gained since
    session.tick()                 # once a second: times, loss points, the supervisor

The pane's table model listens to ``session.rows`` (``RowsListener``) and turns its calls into Qt's
model signals; nothing here imports Qt.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from typing import Any

from backend.jobs import service
from backend.jobs.logtail import LogTail
from backend.jobs.store import ACTIVE_STATES, FINAL_STATES, QUEUED, RUNNING, Job, JobStore, Point
from backend.sessions.jobs_queue import (
    JobFilter,
    JobRows,
    RowsListener,
    elapsed_text,
    eta_text,
    number,
    state_text,
    when,
)

LOG_BYTES_PER_TICK = 64 << 10
LOG_BACKLOG_SKIP = 512 << 10
LOG_INITIAL_BYTES = 256 << 10
OPENABLE_IN_BROWSE = {"dataset", "videos"}
SUPERVISOR_CHECK_S = 5.0

Piece = tuple[str, str]  # ("text", output) or ("notice", a line of our own)


# -- words for the selected job -------------------------------------------------------------------------
def progress_text(job: Job, now: float | None = None) -> str:
    """The Progress tab's summary of one job; its times read like the table's at the same ``now``."""
    lines = [f"Job {job.id} · {state_text(job)}"]
    if job.progress_text:
        lines.append(f"Progress: {job.progress_text}")
    if job.loss is not None:
        lines.append(f"Loss: {number(job.loss)}")
    now = time.time() if now is None else now
    eta = job.eta(now)
    if eta is not None:
        lines.append(f"ETA: {eta_text(job, now)} (done about {when(now + eta)})")
    if job.started_at is not None:
        lines.append(f"Elapsed: {elapsed_text(job, now)}")
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
        f"Created: {when(job.created_at)}    Started: {when(job.started_at)}    Ended: {when(job.ended_at)}"
        + (f"    Elapsed: {elapsed_text(job)}" if job.started_at and job.ended_at else ""),
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

    def progress(self) -> str:
        """The selected job's Progress summary at the table's clock ("" when none is selected)."""
        job = self.rows.job(self.selected) if self.selected is not None else None
        return progress_text(job, self.rows.now) if job is not None else ""

    def loss_note(self) -> str:
        """What stands instead of the loss plot while the shown job has reported no loss ("" once it has)."""
        if self.curve.x or self.selected is None:
            return ""
        job = self.rows.job(self.selected)
        if job is not None and job.state in ACTIVE_STATES:
            return "No loss reported yet: the curve appears with the job's first loss line."
        return "This job reported no loss (no loss curve to show)."

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

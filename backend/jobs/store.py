"""The job store: one SQLite file (WAL) shared by the GUI, the CLI and the supervisor.

Every process opens its own :class:`JobStore`. Writers keep transactions short; readers never block
(WAL). Each change to a job bumps a store-wide revision number so that a viewer can fetch only the
rows that changed (``changed_since``). Logs live in ``<db folder>/logs/<job id>/``.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``. A Slurm job waiting in
Slurm's queue stays ``queued`` with ``external_id`` set and ``external_state`` = ``PENDING``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backend.atomic import register_state_root, remove_path
from backend.errors import StudioError

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
ACTIVE_STATES = (QUEUED, RUNNING)
FINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)
DEPENDENCY_PREFIX = "dependency "

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    template TEXT NOT NULL,
    runner TEXT NOT NULL,
    profile TEXT,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 1,
    max_retries INTEGER NOT NULL DEFAULT 0,
    gpus INTEGER NOT NULL DEFAULT 0,
    gpu_ids TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    exit_code INTEGER,
    error TEXT,
    external_id TEXT,
    external_state TEXT,
    pid INTEGER,
    pid_start TEXT,
    pgid INTEGER,
    cancel_requested REAL,
    stop_sent REAL,
    progress_done REAL,
    progress_total REAL,
    progress_text TEXT,
    loss REAL,
    progress_t0 REAL,
    progress_d0 REAL,
    progress_t REAL,
    eta_hint REAL,
    log_path TEXT,
    job_dir TEXT,
    log_offset INTEGER NOT NULL DEFAULT 0,
    rev INTEGER NOT NULL DEFAULT 0
);
-- what a job runs, kept apart so that listing the queue reads a compact table
CREATE TABLE IF NOT EXISTS job_specs (
    job_id INTEGER PRIMARY KEY,
    cwd TEXT,
    submit_cwd TEXT,
    argv TEXT,
    env TEXT,
    params TEXT,
    template_spec TEXT,
    profile_spec TEXT,
    run_spec TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, priority DESC, id);
CREATE INDEX IF NOT EXISTS jobs_rev ON jobs(rev);
CREATE TABLE IF NOT EXISTS deps (
    job_id INTEGER NOT NULL,
    dep_id INTEGER NOT NULL,
    PRIMARY KEY (job_id, dep_id)
);
CREATE INDEX IF NOT EXISTS deps_dep ON deps(dep_id);
CREATE TABLE IF NOT EXISTS points (
    job_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    step REAL NOT NULL,
    t REAL NOT NULL,
    loss REAL,
    metrics TEXT,
    PRIMARY KEY (job_id, attempt, step)
);
CREATE TABLE IF NOT EXISTS artifacts (
    job_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT,
    found_at REAL NOT NULL,
    PRIMARY KEY (job_id, path)
);
CREATE TABLE IF NOT EXISTS profiles (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Columns read for listings (no JSON blobs): keep in step with Job's leading fields.
LIGHT_COLUMNS = (
    "id",
    "name",
    "template",
    "runner",
    "profile",
    "state",
    "priority",
    "attempt",
    "max_retries",
    "gpus",
    "gpu_ids",
    "created_at",
    "started_at",
    "ended_at",
    "exit_code",
    "error",
    "external_id",
    "external_state",
    "pid",
    "pid_start",
    "pgid",
    "cancel_requested",
    "stop_sent",
    "progress_done",
    "progress_total",
    "progress_text",
    "loss",
    "progress_t0",
    "progress_d0",
    "progress_t",
    "eta_hint",
    "log_path",
    "job_dir",
    "log_offset",
    "rev",
)
HEAVY_COLUMNS = ("cwd", "submit_cwd", "argv", "env", "params", "template_spec", "profile_spec", "run_spec")
_JSON_COLUMNS = {"argv", "env", "params", "template_spec", "profile_spec", "run_spec"}
_LIGHT_SQL = ", ".join(LIGHT_COLUMNS)
_ALL_SQL = ", ".join([f"j.{c}" for c in LIGHT_COLUMNS] + [f"s.{c}" for c in HEAVY_COLUMNS])


@dataclass(slots=True)
class Job:
    id: int
    name: str
    template: str
    runner: str
    profile: str | None
    state: str
    priority: int = 0
    attempt: int = 1
    max_retries: int = 0
    gpus: int = 0
    gpu_ids: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    error: str | None = None
    external_id: str | None = None
    external_state: str | None = None
    pid: int | None = None
    pid_start: str | None = None
    pgid: int | None = None
    cancel_requested: float | None = None
    stop_sent: float | None = None  # when the stop signal went out (sent once, by whoever claims it)
    progress_done: float | None = None
    progress_total: float | None = None
    progress_text: str | None = None
    loss: float | None = None
    progress_t0: float | None = None
    progress_d0: float | None = None
    progress_t: float | None = None
    eta_hint: float | None = None
    log_path: str | None = None
    job_dir: str | None = None
    log_offset: int = 0
    rev: int = 0
    # heavy fields: None in listings
    cwd: str | None = None
    submit_cwd: str | None = None
    argv: list[str] | None = None
    env: dict[str, str] | None = None
    params: dict[str, Any] | None = None
    template_spec: dict[str, Any] | None = None
    profile_spec: dict[str, Any] | None = None
    run_spec: dict[str, Any] | None = None  # what the runner actually started (argv, env, artifacts...)
    deps: list[int] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def fraction(self) -> float | None:
        if self.progress_total and self.progress_done is not None and self.progress_total > 0:
            return max(0.0, min(1.0, self.progress_done / self.progress_total))
        return None

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left, from the tool's own estimate or the observed progress rate."""
        if self.state != RUNNING or not self.progress_total or self.progress_done is None:
            return None
        now = time.time() if now is None else now
        if self.eta_hint is not None and self.progress_t is not None:
            return max(0.0, self.eta_hint - (now - self.progress_t))
        if self.progress_t0 is None or self.progress_d0 is None or self.progress_t is None:
            return None
        done = self.progress_done - self.progress_d0
        spent = self.progress_t - self.progress_t0
        if done <= 0 or spent <= 0:
            return None
        left = (self.progress_total - self.progress_done) * spent / done
        return max(0.0, left - (now - self.progress_t))

    def elapsed(self, now: float | None = None) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None else (time.time() if now is None else now)
        return max(0.0, end - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _JOB_FIELDS}
        data["deps"] = list(self.deps)
        data["eta"] = self.eta()
        data["fraction"] = self.fraction
        return data


@dataclass
class Point:
    step: float
    t: float
    loss: float | None
    metrics: dict[str, float] | None = None


@dataclass
class Artifact:
    job_id: int
    path: str
    kind: str
    label: str | None
    found_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_JOB_FIELDS = tuple(Job.__dataclass_fields__)

# Light rows are built positionally: the dataclass must start with exactly these fields.
assert tuple(Job.__dataclass_fields__)[: len(LIGHT_COLUMNS)] == LIGHT_COLUMNS  # noqa: S101


def _row_to_job(row: tuple, columns: tuple[str, ...]) -> Job:
    values = {}
    for name, value in zip(columns, row, strict=True):
        if name in _JSON_COLUMNS and value is not None:
            value = json.loads(value)
        values[name] = value
    return Job(**values)


class JobStore:
    """A connection to the job store. Not shared between threads; open one per thread/process."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path).expanduser().absolute()
        if not self.path.exists() and not create:
            raise StudioError("no job store here", self.path, "submit a job first or pass --db")
        if self.path.is_dir():
            raise StudioError("is a folder, not a job store", self.path, "pass --db with a .sqlite file")
        if self.path.is_file() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as handle:  # SQLite would overwrite a short non-database file
                if handle.read(16) != b"SQLite format 3\x00":
                    raise StudioError(
                        "is not a job store (not an SQLite database)",
                        self.path,
                        "pass --db with another file; this one is left as it is",
                    )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as error:
            raise StudioError(
                f"cannot open the job store ({error})", self.path, "pass --db with a writable location"
            ) from None
        try:
            self.conn.execute("PRAGMA busy_timeout=30000")
            mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.Error as error:
            self.conn.close()
            raise StudioError(
                f"cannot use the job store ({error})",
                self.path,
                "is it a job store? pass --db with another file, or move this one away",
            ) from None
        if str(mode).lower() != "wal":  # pragma: no cover - exotic filesystems
            raise StudioError("cannot use WAL mode for the job store", self.path, "put it on a local disk")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            with self.tx():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('rev', 0)")
                self.conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('epoch', 0)")
                self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version > SCHEMA_VERSION:
            raise StudioError(
                f"job store has schema {version}, this studio knows {SCHEMA_VERSION}",
                self.path,
                "update Rollout Studio",
            )

    # -- basics -----------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.path.parent

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction (takes the write lock at once: no upgrade deadlocks)."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _next_rev(self) -> int:
        return int(
            self.conn.execute("UPDATE meta SET value = value + 1 WHERE key='rev' RETURNING value").fetchone()[
                0
            ]
        )

    def data_version(self) -> int:
        """Changes whenever another connection commits (cheap change detection)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def revision(self) -> tuple[int, int]:
        rows = dict(self.conn.execute("SELECT key, value FROM meta WHERE key IN ('rev', 'epoch')").fetchall())
        return int(rows.get("rev", 0)), int(rows.get("epoch", 0))

    # -- jobs ---------------------------------------------------------------------------------------
    def add_job(
        self,
        *,
        name: str,
        template: str,
        runner: str,
        profile: str | None,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        submit_cwd: str,
        params: dict[str, Any],
        template_spec: dict[str, Any],
        profile_spec: dict[str, Any] | None,
        gpus: int = 0,
        priority: int = 0,
        max_retries: int = 0,
        deps: Iterable[int] = (),
    ) -> int:
        deps = sorted(set(int(d) for d in deps))
        with self.tx():
            for dep in deps:
                if self.conn.execute("SELECT 1 FROM jobs WHERE id=?", (dep,)).fetchone() is None:
                    raise StudioError(f"job {dep} does not exist", self.path, "check --after")
            rev = self._next_rev()
            cursor = self.conn.execute(
                "INSERT INTO jobs(name, template, runner, profile, state, priority, max_retries, gpus, "
                "created_at, rev) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    name,
                    template,
                    runner,
                    profile,
                    QUEUED,
                    int(priority),
                    int(max_retries),
                    int(gpus),
                    time.time(),
                    rev,
                ),
            )
            job_id = int(cursor.lastrowid)
            self.conn.execute(
                "INSERT INTO job_specs(job_id, cwd, submit_cwd, argv, env, params, template_spec, profile_spec) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (
                    job_id,
                    cwd,
                    submit_cwd,
                    json.dumps(argv),
                    json.dumps(env),
                    json.dumps(params),
                    json.dumps(template_spec),
                    json.dumps(profile_spec) if profile_spec is not None else None,
                ),
            )
            job_id = int(cursor.lastrowid)
            job_dir = self.root / "logs" / str(job_id)
            self.conn.execute(
                "UPDATE jobs SET job_dir=?, log_path=? WHERE id=?",
                (str(job_dir), str(job_dir / "attempt-1.log"), job_id),
            )
            self.conn.executemany(
                "INSERT INTO deps(job_id, dep_id) VALUES (?, ?)", [(job_id, d) for d in deps]
            )
        job_dir.mkdir(parents=True, exist_ok=True)
        return job_id

    def get(self, job_id: int) -> Job:
        row = self.conn.execute(
            f"SELECT {_ALL_SQL} FROM jobs j LEFT JOIN job_specs s ON s.job_id = j.id WHERE j.id=?",
            (int(job_id),),
        ).fetchone()
        if row is None:
            raise StudioError(f"no job {job_id}", self.path, "see `rollout-studio jobs list`")
        job = _row_to_job(row, LIGHT_COLUMNS + HEAVY_COLUMNS)
        job.deps = self.deps_of(job.id)
        return job

    def exists(self, job_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM jobs WHERE id=?", (int(job_id),)).fetchone() is not None

    def list_jobs(
        self, states: Iterable[str] | None = None, limit: int | None = None, runner: str | None = None
    ) -> list[Job]:
        """Newest first; light rows (argv, params and other blobs are None)."""
        sql = f"SELECT {_LIGHT_SQL} FROM jobs"
        where, args = [], []
        if states:
            states = list(states)
            where.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(states)
        if runner:
            where.append("runner=?")
            args.append(runner)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = self.conn.execute(sql, args).fetchall()
        return [Job(*row) for row in rows]

    def changed_since(self, rev: int) -> list[Job]:
        rows = self.conn.execute(
            f"SELECT {_LIGHT_SQL} FROM jobs WHERE rev > ? ORDER BY id DESC", (int(rev),)
        ).fetchall()
        return [Job(*row) for row in rows]

    def update(self, job_id: int, **fields: Any) -> None:
        """Set columns of one job (JSON columns take Python values) and bump its revision."""
        if fields:
            self._write(job_id, None, fields)

    def update_quietly(self, job_id: int, **fields: Any) -> None:
        """Bookkeeping that viewers need not see (e.g. the supervisor's log offset): no new revision."""
        for key in fields:
            if key not in LIGHT_COLUMNS or key in ("id", "rev"):
                raise KeyError(key)
        with self.tx():
            self.conn.execute(
                f"UPDATE jobs SET {', '.join(f'{n}=?' for n in fields)} WHERE id=?",
                (*fields.values(), int(job_id)),
            )

    def transition(self, job_id: int, from_states: Iterable[str], **fields: Any) -> bool:
        """Update only if the job is still in one of ``from_states`` (compare-and-set)."""
        return self._write(job_id, list(from_states), fields)

    def _write(self, job_id: int, from_states: list[str] | None, fields: dict[str, Any]) -> bool:
        light, heavy = [], []
        for key in fields:
            if key in ("id", "rev") or (key not in LIGHT_COLUMNS and key not in HEAVY_COLUMNS):
                raise KeyError(key)
            (heavy if key in HEAVY_COLUMNS else light).append(key)

        def value(key: str) -> Any:
            item = fields[key]
            return json.dumps(item) if key in _JSON_COLUMNS and item is not None else item

        with self.tx():
            rev = self._next_rev()
            sql = f"UPDATE jobs SET {''.join(f'{n}=?, ' for n in light)}rev=? WHERE id=?"
            args: list[Any] = [*(value(k) for k in light), rev, int(job_id)]
            if from_states is not None:
                sql += f" AND state IN ({','.join('?' * len(from_states))})"
                args.extend(from_states)
            if self.conn.execute(sql, args).rowcount != 1:
                return False
            if heavy:
                self.conn.execute(
                    f"UPDATE job_specs SET {', '.join(f'{n}=?' for n in heavy)} WHERE job_id=?",
                    (*(value(k) for k in heavy), int(job_id)),
                )
            return True

    def claim_stop(self, job_id: int) -> bool:
        """True for exactly one caller: the one that may send the job its stop signal (a second
        Ctrl+C would interrupt a tool's own clean-up)."""
        with self.tx():
            rev = self._next_rev()
            cursor = self.conn.execute(
                "UPDATE jobs SET stop_sent=?, rev=? WHERE id=? AND stop_sent IS NULL",
                (time.time(), rev, int(job_id)),
            )
            return cursor.rowcount == 1

    def delete(self, job_id: int, remove_logs: bool = True) -> None:
        """Forget a job (its outputs stay; its own log folder under the store goes too)."""
        row = self.conn.execute("SELECT job_dir FROM jobs WHERE id=?", (int(job_id),)).fetchone()
        with self.tx():
            for table, column in (
                ("jobs", "id"),
                ("job_specs", "job_id"),
                ("points", "job_id"),
                ("artifacts", "job_id"),
            ):
                self.conn.execute(f"DELETE FROM {table} WHERE {column}=?", (int(job_id),))
            self.conn.execute("DELETE FROM deps WHERE job_id=? OR dep_id=?", (int(job_id), int(job_id)))
            self.conn.execute("UPDATE meta SET value = value + 1 WHERE key='epoch'")
            self._next_rev()
        if remove_logs and row and row[0]:
            folder = Path(row[0])
            if folder.parent == self.root / "logs" and folder.name == str(int(job_id)):
                register_state_root(self.root / "logs")
                remove_path(folder)

    def count(self, states: Iterable[str] | None = None) -> int:
        if states:
            states = list(states)
            return int(
                self.conn.execute(
                    f"SELECT COUNT(*) FROM jobs WHERE state IN ({','.join('?' * len(states))})", states
                ).fetchone()[0]
            )
        return int(self.conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    # -- dependencies -------------------------------------------------------------------------------
    def deps_of(self, job_id: int) -> list[int]:
        return [
            r[0]
            for r in self.conn.execute("SELECT dep_id FROM deps WHERE job_id=? ORDER BY dep_id", (job_id,))
        ]

    def dependents_of(self, job_id: int) -> list[int]:
        return [
            r[0]
            for r in self.conn.execute("SELECT job_id FROM deps WHERE dep_id=? ORDER BY job_id", (job_id,))
        ]

    def all_edges(self) -> list[tuple[int, int]]:
        """(job, dependency) pairs."""
        return [(int(a), int(b)) for a, b in self.conn.execute("SELECT job_id, dep_id FROM deps")]

    def chain_of(self, job_id: int) -> list[int]:
        """Every job connected to ``job_id`` through dependencies (both directions), sorted."""
        seen = {int(job_id)}
        todo = [int(job_id)]
        while todo:
            current = todo.pop()
            for other in self.deps_of(current) + self.dependents_of(current):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return sorted(seen)

    # -- progress points and artifacts ---------------------------------------------------------------
    def add_points(self, job_id: int, attempt: int, points: Iterable[Point]) -> None:
        rows = [
            (job_id, attempt, p.step, p.t, p.loss, json.dumps(p.metrics) if p.metrics else None)
            for p in points
        ]
        if rows:
            with self.tx():
                self.conn.executemany("INSERT OR REPLACE INTO points VALUES (?,?,?,?,?,?)", rows)

    def points(self, job_id: int, attempt: int | None = None, after_step: float | None = None) -> list[Point]:
        if attempt is None:
            attempt = int(self.conn.execute("SELECT attempt FROM jobs WHERE id=?", (job_id,)).fetchone()[0])
        sql = "SELECT step, t, loss, metrics FROM points WHERE job_id=? AND attempt=?"
        args: list[Any] = [job_id, attempt]
        if after_step is not None:
            sql += " AND step > ?"
            args.append(after_step)
        sql += " ORDER BY step"
        return [
            Point(s, t, loss, json.loads(m) if m else None) for s, t, loss, m in self.conn.execute(sql, args)
        ]

    def add_artifacts(self, job_id: int, items: Iterable[tuple[str, str, str | None]]) -> int:
        """Register (path, kind, label); returns how many were new."""
        now = time.time()
        added = 0
        with self.tx():
            for path, kind, label in items:
                cursor = self.conn.execute(
                    "INSERT OR IGNORE INTO artifacts VALUES (?,?,?,?,?)",
                    (job_id, str(path), kind, label, now),
                )
                added += cursor.rowcount
            if added:
                rev = self._next_rev()
                self.conn.execute("UPDATE jobs SET rev=? WHERE id=?", (rev, job_id))
        return added

    def artifacts(self, job_id: int) -> list[Artifact]:
        return [
            Artifact(*row)
            for row in self.conn.execute(
                "SELECT job_id, path, kind, label, found_at FROM artifacts WHERE job_id=? ORDER BY found_at, path",
                (job_id,),
            )
        ]

    def clear_attempt_data(self, job_id: int) -> None:
        with self.tx():
            self.conn.execute("DELETE FROM artifacts WHERE job_id=?", (job_id,))

    # -- profiles and settings -----------------------------------------------------------------------
    def save_profile(self, name: str, data: dict[str, Any]) -> None:
        with self.tx():
            self.conn.execute("INSERT OR REPLACE INTO profiles VALUES (?, ?)", (name, json.dumps(data)))

    def delete_profile(self, name: str) -> None:
        with self.tx():
            self.conn.execute("DELETE FROM profiles WHERE name=?", (name,))

    def load_profile(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM profiles WHERE name=?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def profile_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM profiles ORDER BY name")]

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str | None) -> None:
        with self.tx():
            if value is None:
                self.conn.execute("DELETE FROM settings WHERE key=?", (key,))
            else:
                self.conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, str(value)))

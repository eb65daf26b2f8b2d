"""Starting the job supervisor (``backend.jobs.daemon``) for a store, once: its lock file says whether one
runs. Kept apart from the daemon so that the service and the window start it without importing it."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from pathlib import Path

from backend import children


def lock_path(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".supervisor.lock")


def supervisor_pid(db: str | Path) -> int | None:
    """The pid of the supervisor holding the lock, or None when none runs."""
    path = lock_path(db)
    if not path.exists():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None


_spawned: list[tuple[float, Path, subprocess.Popen[bytes]]] = []
STARTUP_GRACE = 5.0  # a supervisor we just spawned may not hold the lock yet


def ensure_supervisor(db: str | Path, extra_args: list[str] | None = None) -> bool:
    """Start a detached supervisor for ``db`` unless one is running. Returns True if it started one."""
    db = Path(db).absolute()
    starting = False
    for item in list(_spawned):  # reap the ones that exited (no zombies in a long-lived GUI)
        spawned_at, spawned_db, proc = item
        if proc.poll() is not None:
            _spawned.remove(item)
        elif time.monotonic() - spawned_at < STARTUP_GRACE and spawned_db == db:
            starting = True
    if starting or supervisor_pid(db) is not None:
        return False
    args = list(extra_args or [])
    env_args = os.environ.get("ROLLOUT_STUDIO_SUPERVISOR_ARGS")
    if env_args and not args:
        args = env_args.split()
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".supervisor.log"), "ab") as log:
        # a studio child (checkout, pip install, bundle alike); the jobs it starts get the user's
        # environment back (backend.children.user_env)
        proc = children.start(
            "backend.jobs.daemon",
            ["--db", str(db), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=str(db.parent),
        )
    _spawned.append((time.monotonic(), db, proc))
    return True

"""Local runner: each job in its own session/process group under a detached wrapper.

The wrapper (``wrapper.py``) survives the GUI and the supervisor, sends stdout+stderr to the log
file and writes ``attempt-N.exit.json`` when the job ends. The supervisor re-attaches by pid plus
process start time (so a recycled pid is never mistaken for the job).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from backend import children
from backend.atomic import register_state_root, remove_path
from backend.jobs.procs import alive, proc_start_time, signal_group, signal_number
from backend.jobs.store import Job

WRAPPER_MODULE = "backend.jobs.wrapper"  # a studio child; it runs the job with the spec's environment


def attempt_file(job: Job, suffix: str) -> Path:
    return Path(job.job_dir or ".") / f"attempt-{job.attempt}.{suffix}"


def exit_file(job: Job) -> Path:
    return attempt_file(job, "exit.json")


def start(
    job: Job, argv: list[str], env: dict[str, str], cwd: str
) -> tuple[subprocess.Popen[bytes], str | None]:
    """Launch the wrapper detached (new session: its pid is the job's process group id). ``env`` is the
    job's whole environment (the user's: ``backend.children.user_env``), not the wrapper's."""
    job_dir = Path(job.job_dir or ".")
    job_dir.mkdir(parents=True, exist_ok=True)
    exit_path = exit_file(job)
    register_state_root(job_dir)
    remove_path(exit_path)
    spec = {
        "job_id": job.id,
        "attempt": job.attempt,
        "argv": argv,
        "cwd": cwd,
        "env": env,
        "log": job.log_path,
        "exit_file": str(exit_path),
    }
    spec_path = attempt_file(job, "spec.json")
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    with open(job_dir / "wrapper.err", "ab") as err:
        proc = children.start(
            WRAPPER_MODULE,
            [str(spec_path)],
            cwd=job_dir,
            single_thread_math=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            close_fds=True,
        )
    return proc, proc_start_time(proc.pid)


def read_exit(job: Job) -> dict[str, Any] | None:
    path = exit_file(job)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def wrapper_alive(job: Job) -> bool:
    return alive(job.pid, job.pid_start)


def stop(job: Job, signal_name: str | int = "SIGTERM") -> bool:
    """Send the stop signal to the job's whole process group (only if it is still ours)."""
    if not job.pgid or not wrapper_alive(job):
        # the wrapper is gone but children may linger in the group: still signal the group
        if job.pgid and job.pgid != os.getpgid(0):
            return signal_group(job.pgid, signal_number(signal_name))
        return False
    return signal_group(job.pgid, signal_number(signal_name))

"""Slurm array jobs: one sbatch for N tasks, a task that runs after all of them, their progress.

Each task runs the same argv with ``TASK_ID`` replaced by its ``$SLURM_ARRAY_TASK_ID`` and writes its
exit code to ``<folder>/task-K.exit`` (the final task: ``join.exit``), its log to
``<folder>/task-K.log``: without accounting Slurm forgets finished tasks, so the exit files say which
tasks are done. ``cancel`` scancels the array (every task) and the final task.
"""

from __future__ import annotations

import getpass
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.errors import StudioError
from backend.jobs.slurm import PENDING_STATES, RUNNING_STATES, _run

TASK_ID = "{task}"  # argv token replaced by the array task's index


@dataclass
class ArrayState:
    done: list[int] = field(default_factory=list)  # tasks that exited 0
    failed: list[int] = field(default_factory=list)  # tasks that exited with another code


def render(argv: list[str], exit_file: str, cwd: str, env: dict[str, str] | None = None) -> str:
    """The batch script: ``argv`` quoted word by word (``TASK_ID`` becomes the task index)."""
    words = ['"$rs_task"' if a == TASK_ID else shlex.quote(str(a)) for a in argv]
    lines = [
        "#!/bin/bash",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks=1",
        'rs_task="${SLURM_ARRAY_TASK_ID:-0}"',
        f"rs_exit={exit_file}",
        "echo \"[rollout-studio] slurm job $SLURM_JOB_ID task $rs_task on $(hostname) started $(date '+%F %T')\"",
        f"cd -- {shlex.quote(cwd)} || exit 1",
    ]
    for key, value in (env or {}).items():
        lines.append(f"export {key}={shlex.quote(value)}")
    lines += [
        'export PYTHONUNBUFFERED="${PYTHONUNBUFFERED:-1}"',
        " ".join(words),
        "code=$?",
        'printf "%d\\n" "$code" > "$rs_exit.tmp" && mv -f -- "$rs_exit.tmp" "$rs_exit"',
        'echo "[rollout-studio] exit code $code"',
        'exit "$code"',
        "",
    ]
    return "\n".join(lines)


def _sbatch(script: Path, extra: list[str], log: str, name: str, cwd: str) -> str:
    result = _run(
        [
            "sbatch",
            "--parsable",
            f"--job-name={name}",
            f"--output={log}",
            f"--chdir={cwd}",
            *extra,
            str(script),
        ]
    )
    if result.returncode != 0:
        raise StudioError(f"sbatch failed: {(result.stderr or result.stdout).strip()}", script)
    return result.stdout.strip().split(";")[0]


def submit_array(argv: list[str], *, tasks: int, name: str, folder: Path, cwd: str) -> str:
    """Submit ``tasks`` array tasks 0..tasks-1; returns the array's Slurm id."""
    if tasks < 1:
        raise StudioError("an array job needs at least one task")
    folder = Path(folder)
    script = folder / "array.sbatch"
    exit_file = shlex.quote(str(folder)) + '/task-"$rs_task".exit'
    script.write_text(render(argv, exit_file, cwd), encoding="utf-8")
    return _sbatch(script, [f"--array=0-{tasks - 1}"], str(folder / "task-%a.log"), name, cwd)


def submit_after(argv: list[str], *, after: str, name: str, folder: Path, cwd: str) -> str:
    """Submit the final task: it starts when every task of ``after`` succeeded (else it is cancelled)."""
    folder = Path(folder)
    script = folder / "join.sbatch"
    script.write_text(render(argv, shlex.quote(str(folder / "join.exit")), cwd), encoding="utf-8")
    extra = [f"--dependency=afterok:{after}", "--kill-on-invalid-dep=yes"]
    return _sbatch(script, extra, str(folder / "join.log"), name, cwd)


def exit_code(folder: Path, name: str) -> int | None:
    """The exit code a task wrote (``name``: "task-K" or "join"), None while it has not."""
    try:
        return int((Path(folder) / f"{name}.exit").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def array_state(folder: Path, tasks: int) -> ArrayState:
    state = ArrayState()
    for k in range(tasks):
        code = exit_code(folder, f"task-{k}")
        if code == 0:
            state.done.append(k)
        elif code is not None:
            state.failed.append(k)
    return state


def _queued(ids: list[str]) -> set[str] | None:
    """Which of the (array) job ids Slurm still lists; None when squeue failed."""
    try:
        result = _run(["squeue", "-h", "-t", "all", "-u", getpass.getuser(), "-o", "%F|%i|%T"], timeout=20)
    except (StudioError, subprocess.TimeoutExpired, OSError):
        return None
    if result.returncode != 0:
        return None
    found = set()
    for line in result.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) >= 3 and parts[2] in PENDING_STATES | RUNNING_STATES:
            for part in parts[:2]:
                base = part.split("_")[0]
                if base in ids:
                    found.add(base)
    return found


def known(ids: list[str]) -> bool:
    """Whether Slurm still lists any of the jobs (True when squeue cannot tell)."""
    found = _queued(ids)
    return True if found is None else bool(found)


def cancel(ids: list[str]) -> None:
    """scancel every id (an array id cancels all its tasks)."""
    for job_id in ids:
        if job_id:
            _run(["scancel", job_id], timeout=20)


def wait_gone(ids: list[str], timeout: float = 30.0, poll: float = 0.5) -> bool:
    """Wait until Slurm lists none of the jobs (their processes ended); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _queued(ids)
        if found is not None and not found:
            return True
        time.sleep(poll)
    return False


def tail(path: Path, lines: int = 4) -> str:
    """The last lines of a task's log, for an error's hint."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "its log is missing"
    return " | ".join(text[-lines:])

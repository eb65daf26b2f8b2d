"""Slurm runner pieces: an sbatch script from the same argv/env, sbatch, squeue polling, scancel.

The batch script runs the job's argv (each argument single-quoted, so spaces, quotes, ``$(...)``,
newlines and unicode reach the program unchanged) and writes the exit code next to the log, because
without accounting ``sacct`` knows nothing once a job leaves the queue.
"""

from __future__ import annotations

import getpass
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from backend.errors import StudioError

# squeue states meaning "not started yet" / "running"; anything else is an end state
PENDING_STATES = {
    "PENDING",
    "CONFIGURING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "RESV_DEL_HOLD",
    "SUSPENDED",
}
RUNNING_STATES = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING"}
# end states in which the batch script was killed (it wrote no exit file)
KILLED_STATES = {
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "DEADLINE",
    "BOOT_FAIL",
    "REVOKED",
    "SPECIAL_EXIT",
}
_OPTION_KEYS = {
    "partition": "--partition",
    "time": "--time",
    "cpus_per_task": "--cpus-per-task",
    "mem": "--mem",
    "account": "--account",
    "qos": "--qos",
    "constraint": "--constraint",
    "nodelist": "--nodelist",
}


def _q(text: str) -> str:
    return shlex.quote(str(text))


def render_script(
    *,
    job_id: int,
    attempt: int,
    template: str,
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    exit_file: str,
    gpus: int,
    options: dict[str, Any] | None = None,
) -> str:
    """The batch script (bash). Paths and the job name are passed to sbatch on its command line."""
    options = dict(options or {})
    lines = ["#!/bin/bash", "#SBATCH --nodes=1", "#SBATCH --ntasks=1"]
    if gpus > 0:
        lines.append(f"#SBATCH --gres=gpu:{int(gpus)}")
    for key, flag in _OPTION_KEYS.items():
        value = options.get(key)
        if value not in (None, ""):
            text = str(value)
            if "\n" in text:
                raise StudioError(f"Slurm option {key} contains a line break")
            lines.append(f"#SBATCH {flag}={text}")
    for extra in options.get("extra") or []:
        text = str(extra)
        if "\n" in text:
            raise StudioError("a Slurm option contains a line break")
        lines.append(f"#SBATCH {text}")
    tmp = f"{exit_file}.tmp"
    lines += [
        f"# Rollout Studio job {job_id}, template {template}, attempt {attempt}.",
        "rs_started=$(date +%s.%N)",
        f'echo "[rollout-studio] job {job_id} attempt {attempt}: slurm job $SLURM_JOB_ID on $(hostname)'
        " started $(date '+%F %T')\"",
        "rs_exit() {",
        f'  printf \'{{"code": %d, "started": %s, "ended": %s}}\\n\' "$1" "$rs_started" "$(date +%s.%N)"'
        f" > {_q(tmp)}"
        f" && mv -f -- {_q(tmp)} {_q(exit_file)}",
        "}",
        f"cd -- {_q(cwd)} || {{ rs_exit 1; exit 1; }}",
    ]
    for key, value in env.items():
        lines.append(f"export {key}={_q(value)}")
    lines.append('export PYTHONUNBUFFERED="${PYTHONUNBUFFERED:-1}"')
    lines.append(" ".join(_q(a) for a in argv))
    lines += [
        "code=$?",
        'rs_exit "$code"',
        "echo \"[rollout-studio] exit code $code ($(date '+%F %T'))\"",
        'exit "$code"',
        "",
    ]
    return "\n".join(lines)


def _run(argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    if shutil.which(argv[0]) is None:
        raise StudioError(
            f"{argv[0]} not found", hint="install the Slurm client tools or use the local runner"
        )
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # noqa: S603


def sbatch(script: Path, *, name: str, log: Path, cwd: str) -> str:
    result = _run(
        [
            "sbatch",
            "--parsable",
            f"--job-name={name}",
            f"--output={log}",
            "--open-mode=append",
            f"--chdir={cwd}",
            str(script),
        ]
    )
    if result.returncode != 0:
        raise StudioError(f"sbatch failed: {(result.stderr or result.stdout).strip()}", script)
    return result.stdout.strip().split(";")[0]


def queue_states(job_ids: list[str]) -> dict[str, tuple[str, str]] | None:
    """{slurm id: (state, reason)} for the given ids that Slurm still knows; None if squeue failed."""
    if not job_ids:
        return {}
    try:
        result = _run(["squeue", "-h", "-t", "all", "-u", getpass.getuser(), "-o", "%i|%T|%r"], timeout=20)
    except (StudioError, subprocess.TimeoutExpired, OSError):
        return None
    if result.returncode != 0:
        return None
    wanted = set(job_ids)
    out = {}
    for line in result.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) >= 2 and parts[0] in wanted:
            out[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return out


def sacct_exit(job_id: str) -> tuple[str, int | None] | None:
    """(state, exit code) from accounting, when Slurm has it."""
    if shutil.which("sacct") is None:
        return None
    try:
        result = _run(["sacct", "-n", "-P", "-X", "-j", job_id, "-o", "State,ExitCode"], timeout=20)
    except (StudioError, subprocess.TimeoutExpired, OSError):
        return None
    if result.returncode != 0 or not result.stdout.strip():
        return None
    state, _, code = result.stdout.strip().splitlines()[0].partition("|")
    try:
        return state.split()[0], int(code.split(":")[0])
    except ValueError:
        return state.split()[0], None


def scancel(job_id: str, signal_name: str | None = None) -> bool:
    argv = ["scancel"]
    if signal_name:
        argv += [f"--signal={signal_name.removeprefix('SIG')}", "--full"]
    try:
        result = _run([*argv, job_id], timeout=20)
    except (StudioError, subprocess.TimeoutExpired, OSError):
        return False
    return result.returncode == 0

"""Environment profiles: where a tool lives and what runs it.

A profile names a repository checkout, the interpreter that runs the tool (a venv's python, a
``conda run`` prefix, Isaac Sim's ``python.sh``, ``uv run python``...), extra environment variables
(``PYTHONPATH=.``, ``IMAGINAIRE_OUTPUT_ROOT``, ``CUDA_VISIBLE_DEVICES``) and Slurm options. Profiles are
stored in the job store; :func:`check_profile` verifies one before a run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backend.errors import StudioError

TOOLS = {
    "cosmos-predict2.5": "Cosmos-Predict 2.5 checkout (scripts/train.py, examples/inference.py)",
    "cosmos-reason2": "Cosmos Reason 2 checkout",
    "gr00t-dreams": "GR00T-Dreams checkout (scripts/idm_training.py, IDM_dump/, dreamgenbench/)",
    "leisaac": "LeIsaac checkout (scripts/environments/teleoperation/)",
    "isaac-gr00t": "Isaac-GR00T checkout (scripts/gr00t_finetune.py)",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Profile:
    name: str
    tool: str | None = None
    repo: str | None = None
    python: list[str] = field(default_factory=lambda: ["python3"])
    env: dict[str, str] = field(default_factory=dict)
    gpus: str | None = None  # pin CUDA_VISIBLE_DEVICES for every job of this profile, e.g. "0,1"
    slurm: dict[str, Any] = field(
        default_factory=dict
    )  # partition, time, cpus_per_task, mem, account, qos, extra
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        profile = cls(**known)
        if isinstance(profile.python, str):
            profile.python = [profile.python]
        profile.env = {str(k): str(v) for k, v in (profile.env or {}).items()}
        profile.slurm = dict(profile.slurm or {})
        return profile

    def validate(self) -> None:
        if not _NAME.match(self.name):
            raise StudioError(f"bad profile name {self.name!r}", hint="letters, digits, '.', '_' or '-'")
        if not self.python or not all(isinstance(p, str) and p for p in self.python):
            raise StudioError(f"profile {self.name}: the interpreter command is empty")
        for key in self.env:
            if not _ENV_NAME.match(key):
                raise StudioError(f"profile {self.name}: bad environment variable name {key!r}")

    def resolved_env(self) -> dict[str, str]:
        """The profile's variables with ``{repo}`` and ``~`` expanded."""
        out = {}
        for key, value in self.env.items():
            value = value.replace("{repo}", self.repo or "")
            out[key] = os.path.expanduser(value) if value.startswith("~") else value
        if self.gpus:
            out["CUDA_VISIBLE_DEVICES"] = self.gpus
        return out


def venv_python(venv: str | Path) -> list[str]:
    return [str(Path(venv).expanduser().absolute() / "bin" / "python")]


def conda_python(env_name: str, conda: str | None = None) -> list[str]:
    exe = conda or os.environ.get("CONDA_EXE") or shutil.which("conda") or "conda"
    return [exe, "run", "--no-capture-output", "-n", env_name, "python"]


def default_profile() -> Profile:
    """Used by templates that need no tool (``command``, ``studio``): this studio's interpreter (a
    frozen bundle has none: the ``python3`` on the user's PATH)."""
    if getattr(sys, "frozen", False):
        return Profile(name="(none)", python=[shutil.which("python3") or "python3"])
    return Profile(name="(none)", python=[sys.executable])


@dataclass
class Check:
    what: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_profile(
    profile: Profile,
    requires: list[str] | None = None,
    runner: str = "local",
    needs_repo: bool = True,
    needs_python: bool = True,
    timeout: float = 60.0,
) -> list[Check]:
    """Paths exist, the interpreter starts, the scripts a template needs are there."""
    checks: list[Check] = []
    repo = Path(profile.repo).expanduser() if profile.repo else None
    if needs_repo:
        if repo is None:
            checks.append(Check("repository", False, f"profile {profile.name} names no repository checkout"))
        elif not repo.is_dir():
            checks.append(Check("repository", False, f"{repo} is not a folder"))
        else:
            checks.append(Check("repository", True, str(repo)))
    if needs_python:
        checks.append(_check_interpreter(profile, repo if repo and repo.is_dir() else None, timeout))
    for rel in requires or []:
        if repo is None:
            break
        target = repo / rel
        checks.append(
            Check(f"needs {rel}", target.exists(), str(target) if target.exists() else f"{target} is missing")
        )
    if runner == "slurm":
        missing = [tool for tool in ("sbatch", "squeue", "scancel") if shutil.which(tool) is None]
        checks.append(
            Check("slurm", not missing, "missing: " + ", ".join(missing) if missing else "sbatch found")
        )
    return checks


def _check_interpreter(profile: Profile, cwd: Path | None, timeout: float) -> Check:
    argv = [*profile.python, "-c", "import sys; print(sys.version.split()[0]); print(sys.executable)"]
    exe = argv[0]
    if os.sep in exe:
        if not Path(exe).expanduser().exists():
            return Check("interpreter", False, f"{exe} does not exist")
    elif shutil.which(exe) is None:
        return Check("interpreter", False, f"{exe} is not on PATH")
    env = dict(os.environ)
    env.update(profile.resolved_env())
    try:
        result = subprocess.run(  # noqa: S603 - argv list
            [os.path.expanduser(argv[0]), *argv[1:]],
            cwd=str(cwd) if cwd else None,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Check("interpreter", False, f"{' '.join(profile.python)} did not answer in {timeout:.0f} s")
    except OSError as error:
        return Check("interpreter", False, f"cannot run {exe}: {error}")
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        return Check("interpreter", False, f"exit code {result.returncode}: {tail[0]}")
    lines = result.stdout.strip().splitlines()
    version = lines[-2] if len(lines) >= 2 else (lines[0] if lines else "?")
    return Check("interpreter", True, f"Python {version}")

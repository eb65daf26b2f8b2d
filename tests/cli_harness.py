"""Running the CLI as a user does, for the fault tests: a process of its own (forked from an interpreter
that imported the studio once, tests/cli_zygote.py; a fresh interpreter with a prefix or preexec_fn),
its exit code, its one ``error:`` line, what it left on disk and whether any process it started
outlived it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests import cli_zygote

REPO = Path(__file__).resolve().parents[1]
MARK = "ROLLOUT_STUDIO_TEST_RUN"  # set in the CLI's environment; its children inherit it


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    survivors: list[str]  # processes it started still alive after it ended ("PID STATE cmdline")

    def errors(self, stream: str = "stderr") -> list[str]:
        text = self.stderr if stream == "stderr" else self.stdout
        return [line for line in text.splitlines() if line.startswith("error:")]


def _processes_marked(mark: str) -> list[str]:
    """Live processes whose environment holds ``mark``: "PID STATE command line" each (what it was,
    read as it is found: by the time a failure is shown it may have ended)."""
    found = []
    needle = f"{MARK}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if needle not in environ.split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        found.append(f"{entry.name} {state} {command[:200].strip()}")
    return found


def run_cli(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    prefix: tuple[str, ...] = (),
    timeout: float = 120,
) -> CliRun:
    mark = uuid.uuid4().hex
    environment = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    environment[MARK] = mark
    if prefix or preexec_fn is not None:
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "backend.cli", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or REPO,
            env=environment,
            preexec_fn=preexec_fn,
        )
    else:  # forked from an interpreter that imported the studio once (tests/cli_zygote.py)
        proc = cli_zygote.run(args, cwd=cwd or REPO, env=environment, timeout=timeout)
    return CliRun(proc.returncode, proc.stdout, proc.stderr, _processes_marked(mark))


def one_error(run: CliRun, *needles: str, code: int = 2, stream: str = "stderr") -> str:
    """Exit ``code``, exactly one ``error:`` line holding every needle, no traceback, no survivor."""
    assert run.returncode == code, (run.returncode, run.stdout[-2000:], run.stderr[-2000:])
    assert "Traceback" not in run.stderr, run.stderr
    errors = run.errors(stream)
    assert len(errors) == 1, (errors, run.stdout[-2000:], run.stderr[-2000:])
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    assert run.survivors == [], f"processes outlived the command: {run.survivors}"
    return errors[0]


def tree_digest(path: Path) -> str:
    """Names and bytes of everything under ``path`` (or of the file itself), hidden entries too."""
    digest = hashlib.sha256()
    items = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for item in items:
        digest.update(str(item.relative_to(path.parent)).encode())
        digest.update(item.read_bytes())
    return digest.hexdigest()


def entries(folder: Path) -> list[str]:
    """Every name in ``folder``, hidden ones included."""
    return sorted(p.name for p in folder.iterdir())


def build_inputs(root: Path, task: str) -> dict[str, Path]:
    """The good inputs every command reads: a two-demo recording, its LeRobot v2.1 and v3.0
    conversions, and Cosmos stand-in outputs made from the v2.1 one."""
    from backend.convert import hdf5_to_lerobot as h2l
    from tests.cosmos_data import StandinSample, write_standin_outputs
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    rec = write_recording(root / "rec.hdf5", RecordingSpec([DemoSpec(30), DemoSpec(24)], width=32, height=24))
    h2l.run([rec], h2l.Hdf5ToLerobotOptions(out=root / "ds21", task=task))
    h2l.run([rec], h2l.Hdf5ToLerobotOptions(out=root / "ds30", task=task, format="v3.0"))
    samples = [StandinSample(f"ds21_episode_{e:06d}", e, 96, prompt=f"The robot arm. {task}") for e in (0, 1)]
    write_standin_outputs(root / "ds21", root / "cosmos", samples)
    return {"rec": rec, "ds21": root / "ds21", "ds30": root / "ds30", "cosmos": root / "cosmos"}

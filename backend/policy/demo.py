"""Evaluate without a GPU: a virtual follower arm and the reference policy server, each its own
process (as the real arm and the GPU box are outside the studio), and two demo camera videos.

The reference server replays episode 0 of the training dataset (the studio's demo dataset when none
is given), so a run on the demo shows the whole path: observations out, chunks back, the arm moving,
every episode recorded and the report.
"""

from __future__ import annotations

import atexit
import contextlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend import children
from backend.progress import Progress, ensure_progress

_LIVE: set[Any] = set()  # demo processes still running: stopped at interpreter exit


@atexit.register
def _stop_all() -> None:
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.terminate()


@dataclass
class EvalDemo:
    procs: list[Any]
    follower: str
    calibration: str
    server: str
    training: str
    cameras: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        procs, self.procs = self.procs, []
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            _LIVE.discard(proc)
            if proc.stdout is not None:
                with contextlib.suppress(OSError):
                    proc.stdout.close()


def _start(args: list[str]) -> tuple[Any, str]:
    proc = children.start("backend.cli", args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          stdin=subprocess.DEVNULL, text=True)
    _LIVE.add(proc)
    line = proc.stdout.readline().strip() if proc.stdout is not None else ""
    return proc, line


def start_eval_demo(workspace: str | Path, training: str | None = None, size: tuple[int, int] = (640, 480),
                    progress: Progress | None = None) -> EvalDemo:
    """Start the virtual follower and the reference server (episode 0 of ``training``)."""
    from backend.demo_data import FILE_NAME, write_demo_dataset
    from backend.teleop.demo_media import ensure_demo_videos

    progress = ensure_progress(progress)
    root = Path(workspace)
    if not training:  # the workspace's demo dataset (the one `--demo` opens), made once
        progress.report(0, 4, "writing the demo dataset")
        marker = root / ".demo-dataset"
        known = Path(marker.read_text(encoding="utf-8").strip()) if marker.is_file() else root / "datasets" / FILE_NAME
        training = str(known if known.is_file() else write_demo_dataset(root / "datasets"))
    progress.report(1, 4, "preparing demo camera videos")
    videos = ensure_demo_videos(root / "demo-media", *size)
    calibration = root / "calibration" / "virtual_eval_follower.json"
    calibration.parent.mkdir(parents=True, exist_ok=True)
    demo = EvalDemo([], "", str(calibration), "", str(training), {k: str(v) for k, v in videos.items()})
    try:
        progress.report(2, 4, "starting the virtual follower")
        proc, demo.follower = _start(["virtual-arm", "--name", "eval follower", "--motion", "still",
                                      "--assembly", "1", "--calibrated", "--write-calibration",
                                      str(calibration.absolute()), "--realtime", "--exit-with-parent"])
        demo.procs.append(proc)
        if not demo.follower:
            raise RuntimeError("the virtual follower did not start")
        progress.report(3, 4, "starting the reference policy server")
        proc, line = _start(["eval", "serve-reference", "--dataset", str(training), "--episode", "0",
                             "--port", "0", "--exit-with-parent"])
        demo.procs.append(proc)
        if not line.startswith("listening on "):
            raise RuntimeError(f"the reference policy server did not start ({line or 'no output'})")
        demo.server = line.removeprefix("listening on ")
        progress.report(4, 4, "ready")
    except BaseException:
        demo.stop()
        raise
    return demo

"""The Teleop demo's hardware: two virtual SO-101 arms, each served by its own ``rollout-studio
virtual-arm`` process (as real servos are outside the studio), and two file-backed camera videos."""

from __future__ import annotations

import atexit
import contextlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend import children
from backend.progress import Progress, ensure_progress

DEMO_VIDEO_SIZE = (640, 480)
REPO = Path(__file__).resolve().parents[2]


@dataclass
class DemoRig:
    """Two virtual arms (each its own process, as real servos are outside the studio) and videos."""

    arms: list[Any]
    leader: str
    follower: str
    videos: dict[str, str]
    calibration: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        arms, self.arms = self.arms, []
        for arm in arms:
            if arm.poll() is None:
                arm.terminate()
            _LIVE_DEMO_ARMS.discard(arm)
        for arm in arms:
            try:
                arm.wait(timeout=5)
            except subprocess.TimeoutExpired:
                arm.kill()
                arm.wait(timeout=5)
            if arm.stdout is not None:
                arm.stdout.close()


# Demo arm processes still running: stopped at interpreter exit even if no pane got to it.
_LIVE_DEMO_ARMS: set[Any] = set()


@atexit.register
def _stop_demo_arms() -> None:
    for proc in list(_LIVE_DEMO_ARMS):
        if proc.poll() is None:
            proc.terminate()
    for proc in list(_LIVE_DEMO_ARMS):
        with contextlib.suppress(Exception):
            proc.wait(timeout=3)


def start_demo_rig(workspace: str | Path, size: tuple[int, int] = DEMO_VIDEO_SIZE,
                   progress: Progress | None = None) -> DemoRig:
    """Two calibrated virtual arms, each served by its own ``rollout-studio virtual-arm`` process,
    and two demo camera videos in ``workspace``."""
    from backend.teleop.demo_media import ensure_demo_videos

    progress = ensure_progress(progress)
    root = Path(workspace)
    progress.report(0, 3, "preparing demo camera videos")
    videos = ensure_demo_videos(root / "demo-media", *size)
    progress.report(1, 3, "starting virtual arms")
    rig = DemoRig([], "", "", videos)
    calibration_dir = root / "calibration"
    calibration_dir.mkdir(parents=True, exist_ok=True)
    try:
        for name, motion, assembly in (("leader", "pick", "0"), ("follower", "still", "1")):
            rig.calibration[name] = str(calibration_dir / f"virtual_{name}.json")
            proc = children.start(
                "backend.cli",
                ["virtual-arm", "--name", f"demo {name}", "--motion", motion, "--assembly", assembly,
                 "--calibrated", "--write-calibration", str(Path(rig.calibration[name]).absolute()),
                 "--realtime", "--exit-with-parent"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            rig.arms.append(proc)
            _LIVE_DEMO_ARMS.add(proc)
            device = proc.stdout.readline().strip() if proc.stdout is not None else ""
            if not device:
                raise RuntimeError("the virtual arm did not start")
            setattr(rig, name, device)
        progress.report(2, 3, "ready")  # raises Cancelled when nobody waits for the rig any more
    except BaseException:
        rig.stop()
        raise
    return rig

"""Helpers shared by the browse_* benchmarks (run alone it only says so).

Datasets are built once under benchmarks/out/ (git-ignored):
  * ``long_lerobot``: LeRobot v3.0, 2 episodes x 300 frames, two 640x480 H.264 cameras at 30 fps
    (written by the studio's own LeRobot writer, GOP 2 like LeRobot's default);
  * ``demo_hdf5``: the demo LeIsaac HDF5 (6 demos, two 640x480 cameras stored as lzf images).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SVT_LOG", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "benchmarks" / "out"
REAL_DATASET = REPO.parent / "shared" / "data" / "lerobot061_so101_v30_h264"


def long_lerobot(frames: int = 300, episodes: int = 2) -> Path:
    import numpy as np

    from backend.formats import open_writer
    from backend.formats.base import CameraSpec, WriterSpec
    from backend.model import Feature, FeatureKind
    from backend.units import SO101_JOINTS, JointSpace, Unit, lerobot_joint_names

    out = OUT / f"long_lerobot_{episodes}x{frames}"
    if (out / "meta" / "info.json").is_file():
        return out
    names = lerobot_joint_names(SO101_JOINTS)
    space = JointSpace(SO101_JOINTS, Unit.LEROBOT_RANGE)
    features = {
        key: Feature(key, FeatureKind.VECTOR, "float32", (6,), names, space)
        for key in ("action", "observation.state")
    }
    spec = WriterSpec(
        fps=30.0,
        robot_type="so101_follower",
        features=features,
        cameras=[CameraSpec("front", 640, 480), CameraSpec("wrist", 640, 480)],
        options={"codec": "h264", "gop": 2},
    )
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 24, size=(480, 640, 1), dtype=np.uint8)
    yy, xx = np.mgrid[0:480, 0:640]
    OUT.mkdir(parents=True, exist_ok=True)
    with open_writer("lerobot_v3.0", out, spec) as writer:
        for e in range(episodes):
            episode = writer.begin_episode("Pick up the orange and place it on the plate.")
            for t in range(frames):
                phase = 2 * np.pi * t / frames
                values = (60 * np.sin(phase + np.arange(6) + e)).astype(np.float32)
                values[5] = 50 + 40 * np.sin(3 * phase)
                images = {}
                for c, cam in enumerate(("front", "wrist")):
                    base = ((xx + 3 * t + 40 * c) % 256).astype(np.uint8)[:, :, None]
                    frame = np.repeat(base, 3, axis=2) // 2 + noise
                    x0 = (5 * t + 100 * c) % 560
                    frame[200:280, x0 : x0 + 80] = (230, 120, 40)
                    images[cam] = frame
                episode.add_frame({"action": values, "observation.state": values * 0.98}, images)
            episode.end(success=True)
    return out


def demo_hdf5() -> Path:
    from backend.demo_data import write_demo_dataset

    folder = OUT / "demo"
    existing = sorted(folder.glob("*.hdf5"))
    if existing:
        return existing[0]
    return Path(write_demo_dataset(folder))


def make_window(tmp: Path):
    """A QApplication and a main window with private settings, shown (offscreen)."""
    os.environ["ROLLOUT_STUDIO_SETTINGS"] = str(tmp / "settings.ini")
    os.environ["XDG_DATA_HOME"] = str(tmp / "data-home")
    from PySide6.QtWidgets import QApplication

    from app.context import AppContext
    from app.gui_main import apply_theme
    from app.main_window import MainWindow
    from app.settings import make_settings

    app = QApplication.instance() or QApplication([])
    apply_theme(app, "dark")
    window = MainWindow(AppContext(make_settings(), tmp / "workspace"))
    window.resize(1480, 920)
    window.show()
    return app, window


def wait_until(app, condition, timeout: float = 30.0) -> bool:
    from PySide6.QtCore import QEventLoop

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        if condition():
            return True
        time.sleep(0.001)
    return False


def spin(app, seconds: float) -> None:
    wait_until(app, lambda: False, seconds)


class Heartbeat:
    """A 5 ms timer; the gaps between its ticks show how long the event loop was blocked.

    ``cpu`` is the GUI thread's own CPU time within each gap: a long gap with little CPU is the
    machine not scheduling the process (other load), a long gap with as much CPU is our own work.
    """

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.cpu: list[float] = []
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps.append((now - self._last) * 1000.0)
        self.cpu.append((cpu - self._last_cpu) * 1000.0)
        self._last, self._last_cpu = now, cpu

    def start(self) -> None:
        self.gaps, self.cpu = [], []
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self.timer.start()

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        result = summary(self.gaps)
        if self.cpu:
            result["gui_thread_cpu_max_ms"] = round(max(self.cpu), 2)
            result["gaps_over_50ms"] = sum(g > 50 for g in self.gaps)
        return result


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)

    return {"n": len(values), "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": round(ordered[-1], 2)}


def open_in(app, window, path: Path, episode: int | None = None, frame: int | None = None) -> None:
    browse = window.browse
    done = {"first": False, "loaded": False}
    browse.firstFrameShown.connect(lambda: done.__setitem__("first", True))
    browse.episodeShown.connect(lambda _i: done.__setitem__("loaded", True))
    window.open_dataset(str(path), episode, frame)
    if not wait_until(app, lambda: done["first"] and done["loaded"], 60):
        raise RuntimeError(f"{path} did not show its first frame")


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "load1": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    print(json.dumps({"note": "helpers for the browse_* benchmarks; nothing to measure here"}))

"""The comparison the Compare pane shows, computed off the GUI thread: 2-4 sides on one playhead.

    view = build_view([SideRequest(ds_a, 3, "front"), SideRequest(ds_b, 0, "video", offset_s=0.2)],
                      feature="action", align="offset")
    view.frame_of(1, t)      # frame of side B to show at A time t
    view.arm_points(1, t)    # (K, 3) SO-101 stick figure of side B at A time t, or None

Side 0 (A) is the reference: every other side is aligned to it and compared with it. A side
without joint values (a Cosmos video) still gets a tile, placed on A's timeline by its offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.compare.align import Alignment
from backend.compare.core import PairResult, Trajectory, compare_trajectories
from backend.errors import StudioError
from backend.kinematics import stick_figures
from backend.model import Dataset
from backend.progress import Progress, ensure_progress

LETTERS = "ABCD"


@dataclass
class SideRequest:
    dataset: Dataset
    episode: int
    camera: str | None = None
    offset_s: float | None = None  # used with align "none" (B late > 0); None: 0
    unit: Any = None  # backend.units.Unit to declare an unknown unit


@dataclass
class SideData:
    letter: str
    label: str
    dataset: Dataset
    episode: int
    camera: str | None
    fps: float  # joint samples per second (the dataset's fps)
    length: int  # frames
    video_fps: float  # camera frames per second
    video_frames: int
    alignment: Alignment  # A time -> this side's time (identity for A)
    trajectory: Trajectory | None = None
    result: PairResult | None = None  # this side compared with A (None for A)
    points: np.ndarray | None = None  # (T, K, 3) stick figure at this side's samples
    error: str | None = None  # why there is no comparison (no joints, unit mismatch...)

    @property
    def duration(self) -> float:
        return max(self.length - 1, 0) / self.fps if self.fps else 0.0

    def time_of(self, t: float) -> float:
        return float(self.alignment.b_time(t))


@dataclass
class CompareView:
    sides: list[SideData]
    feature: str
    align: str
    warnings: list[str] = field(default_factory=list)

    @property
    def reference(self) -> SideData:
        return self.sides[0]

    @property
    def fps(self) -> float:
        """Playhead steps per second: A's rate."""
        a = self.reference
        return a.fps or a.video_fps or 30.0

    @property
    def start(self) -> float:
        """Earliest A time any side covers (negative when a side starts before A)."""
        return min([0.0] + [float(s.alignment.a_time(0.0)) for s in self.sides[1:]])

    @property
    def end(self) -> float:
        ends = [self.reference.duration]
        ends += [float(s.alignment.a_time(s.duration)) for s in self.sides[1:]]
        return max(ends)

    @property
    def num_frames(self) -> int:
        """Playhead positions from 0 (A's start) to the last instant any side covers."""
        return int(math.floor(max(self.end, 0.0) * self.fps + 1e-6)) + 1

    def frame_of(self, side: int, t: float) -> tuple[int, str]:
        """Camera frame of ``side`` at A time ``t`` (clamped) and a state: "", "before", "after"."""
        s = self.sides[side]
        ts = s.time_of(t)
        count = s.video_frames or s.length
        rate = s.video_fps or s.fps
        index = int(round(ts * rate))
        if index < 0:
            return 0, "before"
        if index > count - 1:
            return max(count - 1, 0), "after"
        return index, ""

    def sample_of(self, side: int, t: float) -> int:
        s = self.sides[side]
        return int(np.clip(round(s.time_of(t) * s.fps), 0, max(s.length - 1, 0)))

    def arm_points(self, side: int, t: float) -> np.ndarray | None:
        """(K, 3) stick figure of ``side`` at A time ``t`` (linear between samples)."""
        s = self.sides[side]
        if s.points is None:
            return None
        pos = float(np.clip(s.time_of(t) * s.fps, 0.0, len(s.points) - 1))
        lo = int(math.floor(pos))
        hi = min(lo + 1, len(s.points) - 1)
        frac = pos - lo
        return s.points[lo] * (1.0 - frac) + s.points[hi] * frac

    def tip_path(self, side: int) -> np.ndarray | None:
        s = self.sides[side]
        if s.points is None:
            return None
        from backend.kinematics import TIP

        return s.points[:, TIP]


def _stick_figure(trajectory: Trajectory | None) -> np.ndarray | None:
    if trajectory is None:
        return None
    return stick_figures(trajectory.values, trajectory.space)


def build_view(
    requests: list[SideRequest],
    feature: str = "action",
    align: str = "none",
    band_s: float = 1.0,
    progress: Progress | None = None,
) -> CompareView:
    """Load each side's joints, align every side to A and compare it with A."""
    progress = ensure_progress(progress)
    if len(requests) < 1:
        raise StudioError("pick at least one source")
    sides: list[SideData] = []
    total = len(requests)
    for n, req in enumerate(requests):
        progress.report(n, total, f"loading {LETTERS[n]}")
        dataset = req.dataset
        episode = dataset.episode(req.episode)
        video_fps, video_frames = dataset.fps, episode.length
        if req.camera:
            info = dataset.camera_info(req.camera) if req.camera in dataset.cameras else None
            if info is not None and info.fps:
                video_fps = info.fps
            extra = episode.extra or {}
            if extra.get("fps"):
                video_fps = float(extra["fps"])
        side = SideData(
            letter=LETTERS[n],
            label=f"{LETTERS[n]} · {dataset.path.name}:{episode.index}",
            dataset=dataset,
            episode=episode.index,
            camera=req.camera,
            fps=float(dataset.fps or video_fps or 30.0),
            length=episode.length,
            video_fps=float(video_fps or dataset.fps or 30.0),
            video_frames=video_frames,
            alignment=Alignment(offset_s=float(req.offset_s or 0.0) if n else 0.0),
        )
        try:
            side.trajectory = Trajectory.from_episode(episode, feature, req.unit, label=side.label)
        except StudioError as error:
            side.error = error.message
        sides.append(side)
    a = sides[0]
    warnings: list[str] = []
    for n, side in enumerate(sides[1:], start=1):
        progress.report(total + n - 1, 2 * total - 1, f"comparing {side.letter} with A")
        if a.trajectory is None or side.trajectory is None:
            if side.error is None:
                side.error = (
                    f"A has no {feature} values to compare with" if a.trajectory is None else side.error
                )
            continue
        req = requests[n]
        try:
            side.result = compare_trajectories(
                a.trajectory,
                side.trajectory,
                align,
                band_s=band_s,
                offset_s=req.offset_s if align == "none" else None,
            )
            side.alignment = side.result.alignment
        except StudioError as error:
            side.error = error.message
            warnings.append(f"{side.letter}: {error.message}")
    for side in sides:
        side.points = _stick_figure(side.trajectory)
    progress.report(2 * total - 1, 2 * total - 1, "done")
    return CompareView(sides, feature, align, warnings)

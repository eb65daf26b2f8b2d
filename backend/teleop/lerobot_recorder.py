"""LeRobot v2.1 recording, encoded while recording, every episode final the moment it ends.

Built on the formats package's streaming ``LeRobotWriter`` in its documented publish-each-episode
mode (``LeRobotWriter.open_append``): H.264 through ``backend.media``, no PNG stage, frames encoded
into ``.staging/`` and moved into place at the end of the episode, then ``meta/`` (info.json,
episodes.jsonl, episodes_stats.jsonl, tasks.jsonl, stats.json) rebuilt beside and swapped in. So at
any moment ``meta/`` describes only finished episodes, whose parquet and mp4 files are complete.

v2.1 (one parquet and one mp4 per episode) is what GR00T and the IDM tools read and is naturally
append-only; the Convert pane turns it into v3.0. A crash loses the running episode (its mp4 has no
index yet); ``recover_lerobot()`` removes its files and restores ``meta/`` if a swap was cut short.
Episodes ended with R (failure) are kept with ``"success": false`` in episodes.jsonl.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from backend.errors import StudioError
from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.lerobot.writer import (
    LeRobotEpisodeWriter,
    LeRobotWriter,
    has_unfinished_append,
    recover_append,
)
from backend.model import Feature, FeatureKind
from backend.teleop.calibration import JOINTS
from backend.teleop.steps import EpisodeMeta, Step
from backend.units import JointSpace, Unit

NAMES = [f"{j}.pos" for j in JOINTS]


def recover_lerobot(root: str | Path) -> list[str]:
    """Repair a live LeRobot recording after a crash; returns what was done (empty: nothing to do)."""
    return recover_append(root)


def find_unfinished_lerobot(root: str | Path) -> bool:
    """True when a crash left files of an unfinished episode (or a half-swapped meta/)."""
    return has_unfinished_append(root)


class LeRobotRecorder:
    """Recorder for ``RecorderThread`` / ``RecorderProcess``: one LeRobot v2.1 dataset, episodes appended live."""

    suffix = ""

    def __init__(
        self,
        path: str | Path,
        fps: float,
        cameras: dict[str, tuple[int, int]],
        units: str = "range",
        robot_type: str = "so101_follower",
        codec: str = "h264",
        crf: int | None = 23,
        preset: str | None = "ultrafast",
        gop: int | None = 2,
    ) -> None:
        self.path = Path(path)
        self.fps = float(fps)
        self.cameras = dict(cameras)
        self.units = units
        unit = Unit.LEROBOT_DEGREES if units == "degrees" else Unit.LEROBOT_RANGE
        space = JointSpace(tuple(JOINTS), unit)
        features = {
            "action": Feature("action", FeatureKind.VECTOR, "float32", (6,), list(NAMES), space),
            "observation.state": Feature(
                "observation.state", FeatureKind.VECTOR, "float32", (6,), list(NAMES), space
            ),
        }
        self.spec = WriterSpec(
            fps=self.fps,
            robot_type=robot_type,
            features=features,
            cameras=[CameraSpec(name, w, h) for name, (h, w) in self.cameras.items()],
            options={"codec": codec, "crf": crf, "preset": preset, "gop": gop},
            provenance={"recorded_by": "rollout-studio teleop", "joint_units": unit.value},
        )
        self._writer: LeRobotWriter | None = None
        self._episode: LeRobotEpisodeWriter | None = None
        self._success: bool | None = None
        self.existing_episodes = 0

    # -- Recorder protocol --------------------------------------------------------------------------
    def open(self) -> None:
        if self.path.exists() and self.path.is_dir() and any(self.path.iterdir()):
            if find_unfinished_lerobot(self.path):
                raise StudioError(
                    "the dataset has an unfinished episode from a crash",
                    self.path,
                    "recover it first: Teleop pane > Recover, or `rollout-studio recover-recording`",
                )
        self._writer = LeRobotWriter.open_append(self.path, self.spec)
        self.existing_episodes = self._writer.num_episodes

    def close(self) -> None:
        if self._writer is not None:
            if self._episode is not None:
                self.drop_episode()
            self._writer.finish()
            self._writer = None

    def flush(self) -> None:
        pass  # episodes are published at their end; the running one cannot survive a crash

    def size_bytes(self) -> int:
        total = 0
        for path in self.path.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file():
                    total += path.stat().st_size
        return total

    def begin_episode(self, meta: EpisodeMeta) -> str:
        self._episode = self._writer.begin_episode(meta.task or "")
        return f"episode_{self._episode.index:06d}"

    def append(self, steps: list[Step]) -> None:
        episode = self._episode
        if episode is None:
            return
        for step in steps:
            images = {}
            for name, (h, w) in self.cameras.items():
                frame = step.frames.get(name)
                images[name] = frame.image if frame is not None else np.zeros((h, w, 3), np.uint8)
            episode.add_frame(
                {
                    "action": np.asarray(step.action_lerobot, np.float32),
                    "observation.state": np.asarray(step.state_lerobot, np.float32),
                },
                images,
            )

    def end_episode(self, success: bool | None, reason: str = "") -> tuple[str, int]:
        episode = self._episode
        if episode is None:
            return "", 0
        self._episode = None
        if success is None:  # stopped mid-episode: LeRobot has no "interrupted"; drop it
            episode.discard()
            return "", 0
        length = episode.length
        episode.end(success=bool(success))  # final on disk, meta/ published
        return f"episode_{episode.index:06d}", length

    def drop_episode(self) -> None:
        if self._episode is not None:
            self._episode.discard()
            self._episode = None

"""Tiny synthetic datasets for the surgery tests (LeRobot through the studio's writer, 64x48 video)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.formats import open_writer
from backend.formats.base import CameraSpec, WriterSpec
from backend.model import DatasetFormat, Feature, FeatureKind

NAMES = [
    f"{j}.pos" for j in ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
]
W, H, FPS = 64, 48, 30


def spec(
    fps: float = FPS, cameras: tuple[str, ...] = ("front", "wrist"), robot: str = "so101_follower"
) -> WriterSpec:
    vector = {
        k: Feature(k, FeatureKind.VECTOR, "float32", (6,), NAMES) for k in ("action", "observation.state")
    }
    return WriterSpec(
        fps=fps,
        robot_type=robot,
        features=vector,
        cameras=[CameraSpec(c, W, H) for c in cameras],
        options={},
        provenance={"inputs": ["synthetic"], "operation": "test"},
    )


def frame(t: int, episode: int, camera: int) -> np.ndarray:
    image = np.full((H, W, 3), (40 + 5 * t + 30 * episode + 15 * camera) % 220, np.uint8)
    image[:, t % W] = 250
    return image


def write_lerobot(
    out: Path,
    fmt: DatasetFormat = DatasetFormat.LEROBOT_V30,
    lengths: tuple[int, ...] = (24, 20, 30),
    tasks: tuple[str, ...] = ("pick", "place", "pick"),
    seed: int = 0,
    **spec_args: object,
) -> Path:
    """A LeRobot dataset; ``seed`` makes the values and frames of two datasets differ."""
    the_spec = spec(**spec_args)  # type: ignore[arg-type]
    with open_writer(fmt, out, the_spec) as writer:
        for e, (length, task) in enumerate(zip(lengths, tasks, strict=True)):
            ew = writer.begin_episode(task)
            t = np.arange(length)
            base = np.sin(t[:, None] / 7.0 + np.arange(6)[None] + e + 10 * seed) * 60
            values = {
                "action": base.astype(np.float32),
                "observation.state": (base * 0.98).astype(np.float32),
            }
            images = {
                c.name: [frame(i, e + 3 * seed, k) for i in range(length)]
                for k, c in enumerate(the_spec.cameras)
            }
            ew.add_frames(values, images)
            ew.end()
    return out

"""Write a large LeRobot dataset quickly with the studio's own writer (backend/formats/lerobot/).

Default: 1,000 episodes x 10 frames at 30 fps, v3.0, SO-101 ``action`` / ``observation.state``
(smooth sines in LeRobot's -100..100, gripper 0..100, a different phase per episode; state lags
the action by one frame) and one 64x48 H.264 camera ``front`` (noise pattern plus a gray level
that moves with the frame and the episode), three tasks in turn. A clean dataset: ``rollout-studio
validate`` should find nothing in it.

Usage: .venv/bin/python benchmarks/make_large_dataset.py OUT [--episodes 1000] [--frames 10]
       [--size 64x48] [--format v3.0|v2.1]
Prints JSON: the path, the counts and the seconds it took. OUT must not exist.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("SVT_LOG", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from backend.formats import open_writer  # noqa: E402
from backend.formats.base import CameraSpec, WriterSpec  # noqa: E402
from backend.model import DatasetFormat, Feature, FeatureKind  # noqa: E402
from backend.units import SO101_JOINTS  # noqa: E402

FORMATS = {"v2.1": DatasetFormat.LEROBOT_V21, "v3.0": DatasetFormat.LEROBOT_V30}
TASKS = ("Pick up the orange and place it on the plate.", "Lift the red cube up.", "Stack the blocks.")


def episode_actions(episode: int, frames: int) -> np.ndarray:
    """(frames + 1, 6) float32: row t + 1 is the action of frame t, row t its state."""
    t = np.arange(frames + 1, dtype=np.float64)[:, None]
    values = 60 * np.sin(t / 7 + np.arange(6) + 0.37 * episode)
    values[:, 5] = 50 + 40 * np.sin(t[:, 0] / 5 + 0.11 * episode)
    return values.astype(np.float32)


def make_large_dataset(
    out: str | Path,
    episodes: int = 1000,
    frames: int = 10,
    size: tuple[int, int] = (64, 48),
    version: str = "v3.0",
) -> Path:
    """Write the dataset into ``out`` (must not exist; published in one rename by the writer)."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(out)
    width, height = size
    names = [f"{joint}.pos" for joint in SO101_JOINTS]
    spec = WriterSpec(
        fps=30,
        robot_type="so101_follower",
        features={
            key: Feature(key, FeatureKind.VECTOR, "float32", (6,), names)
            for key in ("action", "observation.state")
        },
        cameras=[CameraSpec("front", width, height)],
        options={"codec": "h264", "gop": 2, "preset": "ultrafast", "tasks": list(TASKS)},
    )
    noise = np.random.default_rng(0).integers(0, 40, (height, width, 3), dtype=np.uint8)
    with open_writer(FORMATS[version], out, spec) as writer:
        for e in range(episodes):
            episode = writer.begin_episode(TASKS[e % len(TASKS)])
            values = episode_actions(e, frames)
            images = [noise + np.uint8((20 + 7 * i + 3 * e) % 200) for i in range(frames)]
            episode.add_frames({"action": values[1:], "observation.state": values[:-1]}, {"front": images})
            episode.end(success=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--size", default="64x48", help="WIDTHxHEIGHT of the camera")
    parser.add_argument("--format", choices=sorted(FORMATS), default="v3.0")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    started = time.perf_counter()
    path = make_large_dataset(args.out, args.episodes, args.frames, (width, height), args.format)
    print(
        json.dumps(
            {
                "path": str(path),
                "format": args.format,
                "episodes": args.episodes,
                "frames_per_episode": args.frames,
                "size": [width, height],
                "seconds": round(time.perf_counter() - started, 2),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

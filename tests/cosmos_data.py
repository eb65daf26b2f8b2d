"""Stand-in Cosmos-Predict outputs built from a real dataset's own videos (tests, demos, docs).

Cosmos writes ``<name>.mp4`` (16 fps) + ``<name>.json`` (the sample's arguments, ``prompt``
included) per sample (formats.md 5). Generating real ones needs a GPU; this module re-encodes a
dataset's episodes at 16 fps instead, ping-ponging the frames (0 .. T-1, T-2 .. ) until a clip has
the wanted length, so frame ``i`` of a stand-in clip is frame ``pingpong(i, T)`` of the source
episode and can be traced back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from backend.formats import open_dataset
from backend.media.encoder import VideoEncoder

COSMOS_FPS = 16.0


@dataclass
class StandinSample:
    name: str  # <name>.mp4 / <name>.json
    episode: int  # source episode index
    frames: int  # frames in the clip
    prompt: str | None = None  # None: the json has no "prompt" key
    write_json: bool = True  # False: an mp4 without its json
    json_only: bool = False  # True: a json without its mp4
    size: tuple[int, int] | None = None  # (width, height) to shrink to; default the camera's


def pingpong(index: int, length: int) -> int:
    """Frame of a source of ``length`` frames shown at position ``index`` of a ping-pong loop."""
    if length <= 1:
        return 0
    period = 2 * (length - 1)
    k = index % period
    return k if k < length else period - k


def sample_args(name: str, prompt: str | None, frames: int, input_path: str = "") -> dict[str, Any]:
    """The json Cosmos writes beside a sample: its full arguments."""
    args: dict[str, Any] = {
        "name": name,
        "inference_type": "video2world",
        "input_path": input_path,
        "seed": 21,
        "guidance": 7,
        "resolution": "480,640",
        "num_output_frames": frames,
        "num_steps": 35,
        "enable_autoregressive": frames > 77,
        "chunk_size": 77,
        "chunk_overlap": 1,
        "negative_prompt": "static, blurry",
    }
    if prompt is not None:
        args["prompt"] = prompt
    return args


def write_standin_outputs(
    dataset_path: str | Path,
    out: str | Path,
    samples: list[StandinSample],
    camera: str = "front",
    fps: float = COSMOS_FPS,
) -> Path:
    """Write ``samples`` into ``out`` (created) from ``dataset_path``'s ``camera`` frames."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open_dataset(dataset_path) as dataset:
        for sample in samples:
            if not sample.json_only:
                episode = dataset.episode(sample.episode)
                stream = episode.stream(camera)
                width, height = sample.size or (stream.width, stream.height)
                try:
                    with VideoEncoder(
                        out / f"{sample.name}.mp4",
                        width,
                        height,
                        fps,
                        codec="h264",
                        crf=23,
                        gop=16,
                        preset="ultrafast",
                    ) as writer:
                        for index in range(sample.frames):
                            frame = stream.frame(pingpong(index, stream.num_frames))
                            if (width, height) != (stream.width, stream.height):
                                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
                            writer.write(frame)
                finally:
                    stream.close()
            if sample.write_json or sample.json_only:
                args = sample_args(
                    sample.name, sample.prompt, sample.frames, f"inputs/episode_{sample.episode:06d}.mp4"
                )
                (out / f"{sample.name}.json").write_text(
                    json.dumps(args, ensure_ascii=False, indent=2), encoding="utf-8"
                )
    (out / "config.yaml").write_text("# stand-in for Cosmos-Predict's run config\n", encoding="utf-8")
    return out


def frame_gray(episode: int, t: int) -> int:
    """Gray level of frame ``t`` of ``episode`` in ``write_small_lerobot`` datasets."""
    return (30 + 5 * t + 40 * episode) % 220


def write_small_lerobot(
    out: str | Path,
    lengths: list[int],
    codec: str = "h264",
    fmt: str = "lerobot_v2.1",
    size: tuple[int, int] = (64, 48),
    fps: float = 30.0,
    tasks: list[str] | None = None,
    cameras: tuple[str, ...] = ("front",),
) -> Path:
    """A small SO-101 LeRobot dataset: episode e has ``lengths[e]`` frames of gray level ``frame_gray(e, t)``
    (a white square marks the camera: left for the first camera, right for the others); actions are sines
    in LeRobot's -100..100 (gripper 0..100), state lags the action by one frame."""
    import numpy as np

    from backend.formats import open_writer
    from backend.formats.base import CameraSpec, WriterSpec
    from backend.model import Feature, FeatureKind
    from backend.units import SO101_JOINTS

    names = [f"{j}.pos" for j in SO101_JOINTS]
    spec = WriterSpec(
        fps=fps,
        robot_type="so101_follower",
        features={
            key: Feature(key, FeatureKind.VECTOR, "float32", (6,), names)
            for key in ("action", "observation.state")
        },
        cameras=[CameraSpec(c, size[0], size[1]) for c in cameras],
        options={"codec": codec, "gop": 10, "crf": 20, "image_stats": False},
    )
    width, height = size
    with open_writer(fmt, out, spec) as writer:
        for e, length in enumerate(lengths):
            task = (tasks or ["Pick up the orange and place it on the plate."])[e % len(tasks or [1])]
            episode = writer.begin_episode(task)
            t = np.arange(length + 1, dtype=np.float32)
            action = np.stack([60 * np.sin(t / 15 + j) for j in range(6)], axis=1).astype(np.float32)
            action[:, 5] = 50 + 40 * np.sin(t / 10)
            for k in range(length):
                images = {}
                for c, camera in enumerate(cameras):
                    image = np.full((height, width, 3), frame_gray(e, k), dtype=np.uint8)
                    x = 4 if c == 0 else width - 16
                    image[4:16, x : x + 12] = 255
                    images[camera] = image
                episode.add_frame({"action": action[k + 1], "observation.state": action[k]}, images)
            episode.end(success=True)
    return Path(out)

"""Synthetic source / generated pairs with known differences, for tests, benchmarks and demos.

- ``motion_deg(t, episode)``: smooth SO-101 joint positions in sim degrees (inside the joint
  ranges) with two gripper close/open events, a continuous function of time so a "generated"
  copy can be sampled at any fps, delayed, sped up or made noisy with a known answer.
- ``write_source_hdf5``: a LeIsaac HDF5 (actions + obs/joint_pos in radians, optional camera whose
  frame k is a flat gray ``frame_level(k)``) written with the studio's own HDF5 writer.
- ``write_generated_hdf5``: a "replayed" HDF5 whose episodes are transformed source episodes, with
  a provenance record mapping each to its source episode and frame offset (shuffled order).
- ``write_cosmos_outputs``: a Cosmos output folder (<name>.mp4 at 16 fps + <name>.json).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.formats import open_writer
from backend.formats.base import CameraSpec, WriterSpec
from backend.model import DatasetFormat, Feature, FeatureKind
from backend.units import SO101_JOINTS, SO101_RANGES, JointSpace, Unit

RAD = JointSpace.so101(Unit.RADIANS)
DEG = JointSpace.so101(Unit.SIM_DEGREES)


def motion_deg(t: np.ndarray, episode: int = 0) -> np.ndarray:
    """(T, 6) sim degrees at times ``t`` (seconds); the gripper closes near 1/3 and opens near 2/3
    of an 8 s cycle."""
    t = np.asarray(t, dtype=np.float64)
    phase = 0.37 * episode
    out = np.empty((len(t), 6))
    for j, name in enumerate(SO101_JOINTS[:5]):
        (lo, hi), _ = SO101_RANGES[name]
        mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0
        out[:, j] = (
            mid
            + 0.45 * half * np.sin(2 * math.pi * (0.11 + 0.03 * j) * t + phase + j)
            + 0.15 * half * np.sin(2 * math.pi * 0.37 * t + 2 * j + phase)
        )
    cycle = np.mod(t + 0.2 * episode, 8.0)
    closed = 1.0 / (1.0 + np.exp(-8.0 * (cycle - 2.7))) - 1.0 / (1.0 + np.exp(-8.0 * (cycle - 5.3)))
    out[:, 5] = 80.0 - 85.0 * closed  # 80 deg open, -5 deg closed
    return out


def frame_level(index: int) -> int:
    """Gray level of frame ``index`` of a synthetic camera (steps of 5, survives H.264 at crf 18)."""
    return 20 + (5 * int(index)) % 215


def frame_index_of(level: float, near: int) -> int:
    """The frame index with ``frame_level`` closest to ``level``, nearest to ``near`` among aliases."""
    candidates = [k for k in range(max(0, near - 60), near + 61) if abs(frame_level(k) - level) <= 2.5]
    return min(candidates, key=lambda k: abs(k - near)) if candidates else -1


def _frames(levels: Sequence[int], height: int, width: int) -> np.ndarray:
    out = np.empty((len(levels), height, width, 3), dtype=np.uint8)
    for i, level in enumerate(levels):
        out[i] = level
    return out


def _spec(fps: float, camera: str | None, height: int, width: int, provenance: dict | None) -> WriterSpec:
    names = list(SO101_JOINTS)
    features = {
        "actions": Feature("actions", FeatureKind.VECTOR, "float32", (6,), names, RAD),
        "obs/joint_pos": Feature("obs/joint_pos", FeatureKind.VECTOR, "float32", (6,), names, RAD),
    }
    cameras = [CameraSpec(camera, width, height)] if camera else []
    return WriterSpec(
        fps=fps,
        robot_type="so101_follower",
        features=features,
        cameras=cameras,
        options={"env_name": "LeIsaac-SO101-PickOrange-v0"},
        provenance=provenance,
    )


def write_source_hdf5(
    path: str | Path,
    lengths: Sequence[int] = (120, 150, 90),
    fps: float = 30.0,
    camera: str | None = "front",
    height: int = 48,
    width: int = 64,
) -> Path:
    """Episode e has actions ``motion_deg(k / fps, e)`` (stored in radians) and state = action
    delayed by one frame."""
    path = Path(path)
    with open_writer(
        DatasetFormat.LEISAAC_HDF5, path, _spec(fps, camera, height, width, None), overwrite=True
    ) as w:
        for e, length in enumerate(lengths):
            deg = motion_deg(np.arange(length) / fps, e)
            rad = DEG.convert(deg, Unit.RADIANS).astype(np.float32)
            state = np.vstack([rad[:1], rad[:-1]])
            episode = w.begin_episode("Pick the orange", seed=100 + e)
            images = (
                {camera: _frames([frame_level(k) for k in range(length)], height, width)} if camera else None
            )
            episode.add_frames({"actions": rad, "obs/joint_pos": state}, images)
            episode.end(success=True)
    return path


@dataclass
class GeneratedSpec:
    """How a generated episode differs from its source episode (all known answers)."""

    source_episode: int
    frame_offset: int = 0  # generated frame 0 is this source frame
    delay_s: float = 0.0  # generated motion runs this late (beyond the frame offset)
    noise_deg: float = 0.0  # Gaussian noise, degrees
    gain: float = 1.0  # motion scaled about the joint mid-range
    bias_deg: float = 0.0  # constant added to every joint
    duration_s: float | None = None  # default: the source's remaining duration
    seed: int = 0

    def offset_s(self, source_fps: float) -> float:
        """The alignment offset (B late > 0) that undoes this spec."""
        return self.delay_s - self.frame_offset / source_fps


def generated_values(spec: GeneratedSpec, source_length: int, source_fps: float, fps: float) -> np.ndarray:
    """(T, 6) degrees of a generated episode sampled at ``fps``."""
    start = spec.frame_offset / source_fps
    duration = spec.duration_s if spec.duration_s is not None else (source_length - 1) / source_fps - start
    t = np.arange(int(math.floor(duration * fps + 1e-9)) + 1) / fps
    deg = motion_deg(start + t - spec.delay_s, spec.source_episode)
    mids = np.array([(SO101_RANGES[n][0][0] + SO101_RANGES[n][0][1]) / 2.0 for n in SO101_JOINTS])
    deg = mids + spec.gain * (deg - mids) + spec.bias_deg
    if spec.noise_deg:
        deg = deg + np.random.default_rng(spec.seed).normal(0.0, spec.noise_deg, deg.shape)
    return deg


def write_generated_hdf5(
    path: str | Path,
    source_path: str | Path,
    specs: Sequence[GeneratedSpec],
    source_lengths: Sequence[int],
    source_fps: float = 30.0,
    fps: float = 30.0,
    provenance: bool = True,
    camera: str | None = None,
) -> Path:
    """A replay-style HDF5: episode i is ``specs[i]`` applied to its source episode."""
    record = None
    if provenance:
        record = {
            "schema": "rollout_studio.provenance/1",
            "tool": "rollout-studio",
            "conversion": "synthetic_generated",
            "inputs": [{"path": str(Path(source_path).absolute()), "role": "template"}],
            "episodes": [
                {
                    "output_episode": i,
                    "input": 0,
                    "source_path": str(Path(source_path).absolute()),
                    "source_episode": s.source_episode,
                    "frame_offset": s.frame_offset,
                }
                for i, s in enumerate(specs)
            ],
        }
    path = Path(path)
    with open_writer(
        DatasetFormat.LEISAAC_HDF5, path, _spec(fps, camera, 48, 64, record), overwrite=True
    ) as w:
        for spec in specs:
            deg = generated_values(spec, source_lengths[spec.source_episode], source_fps, fps)
            rad = DEG.convert(deg, Unit.RADIANS).astype(np.float32)
            episode = w.begin_episode("Pick the orange", seed=spec.seed)
            images = {camera: _frames([frame_level(k) for k in range(len(rad))], 48, 64)} if camera else None
            episode.add_frames({"actions": rad, "obs/joint_pos": np.vstack([rad[:1], rad[:-1]])}, images)
            episode.end(success=True)
    return path


def write_cosmos_outputs(
    folder: str | Path,
    items: Sequence[tuple[str, int]],
    fps: float = 16.0,
    height: int = 48,
    width: int = 64,
    input_dir: str | Path | None = None,
) -> Path:
    """Cosmos outputs: ``<name>.mp4`` (``frames`` frames, frame k flat ``frame_level(k)``) + json."""
    from backend.media.encoder import VideoEncoder

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frames in items:
        writer = VideoEncoder(folder / f"{name}.mp4", width, height, fps, codec="h264", crf=12, gop=8)
        try:
            for k in range(frames):
                writer.write(np.full((height, width, 3), frame_level(k), dtype=np.uint8))
        finally:
            writer.close()
        sample = {
            "name": name,
            "prompt": "Pick the orange",
            "seed": 21,
            "guidance": 7,
            "inference_type": "video2world",
            "num_output_frames": frames,
        }
        if input_dir is not None:
            sample["input_path"] = str(Path(input_dir) / f"{name}.mp4")
        (folder / f"{name}.json").write_text(json.dumps(sample), encoding="utf-8")
    return folder

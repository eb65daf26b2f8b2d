"""Synthetic SO-101 episodes with injected faults of every quality-signal class (tests, benchmarks).

A clean episode: smooth joint motion in SIM degrees (random phases, amplitudes and speed per seed),
the state trailing the action by two frames, one gripper close/open, and two 64x48 cameras showing
a fixed random texture with a soft bright square that follows the arm (so the picture changes
whenever the arm moves) plus sensor noise. :data:`FAULTS` names each injector: it changes one
episode's arrays or frames so that exactly one signal class should fire. Generated variants
(:func:`generated_dataset`) are a source episode's frames and actions with small noise, or faulty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from backend.model import (
    ArrayStream,
    Dataset,
    DatasetFormat,
    DatasetReader,
    Episode,
    Feature,
    FeatureKind,
    VideoInfo,
)
from backend.units import SO101_JOINTS, JointSpace, Unit

WIDTH, HEIGHT, FPS = 64, 48, 30.0
CAMERAS = ("front", "wrist")


@dataclass
class Clip:
    """One episode's data: (T, 6) action and state in degrees, timestamps, frames per camera."""

    action: np.ndarray
    state: np.ndarray
    timestamps: np.ndarray
    frames: dict[str, np.ndarray] = field(default_factory=dict)  # camera -> (T, H, W, 3) uint8
    task: str = "Pick the orange"


def motion(seed: int, length: int) -> np.ndarray:
    """(length, 6) smooth action in SIM degrees, different for each seed, the same task's shape."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / FPS
    duration = length / FPS
    phase = np.clip(t / duration, 0, 1)
    centre = np.array([0.0, -20.0, 30.0, 10.0, 0.0])
    amplitude = np.array([35.0, 25.0, 25.0, 20.0, 15.0]) * rng.uniform(0.85, 1.15, 5)
    offset = rng.uniform(-0.15, 0.15, 5)
    body = centre + amplitude * np.sin(np.pi * (phase[:, None] + offset) * 2)
    body += rng.normal(0, 0.05, body.shape)
    close = rng.uniform(0.35, 0.45) * length
    gripper = 60.0 - 55.0 / (1 + np.exp(-(np.arange(length) - close) / 3.0)) + 55.0 / (
        1 + np.exp(-(np.arange(length) - 0.8 * length) / 3.0))
    return np.column_stack([body, gripper])


def _texture(camera: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + camera)
    base = rng.integers(40, 200, (HEIGHT, WIDTH)).astype(np.float32)
    return cv2.GaussianBlur(base, (0, 0), 0.7)


def render(action: np.ndarray, camera: int, seed: int) -> np.ndarray:
    """(T, H, W, 3) frames: texture + a soft square at a position driven by two joints + noise."""
    rng = np.random.default_rng(seed * 7 + camera)
    texture = _texture(camera)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    frames = np.empty((len(action), HEIGHT, WIDTH, 3), np.uint8)
    for t, row in enumerate(action):
        cx = WIDTH / 2 + 0.6 * row[0] * (1 if camera == 0 else -1)
        cy = HEIGHT / 2 + 0.5 * row[1]
        square = np.clip(6 - np.maximum(np.abs(xs - cx), np.abs(ys - cy)), 0, 1)
        picture = texture * (1 - square) + 235 * square + rng.normal(0, 1.0, texture.shape)
        frames[t] = np.clip(picture, 0, 255).astype(np.uint8)[..., None]
    return frames


def clean(seed: int, length: int = 60, cameras: bool = True) -> Clip:
    action = motion(seed, length)
    state = np.vstack([action[:1], action[:1], action[:-2]]) + np.random.default_rng(seed).normal(0, 0.1, action.shape)
    clip = Clip(action, state, np.arange(length) / FPS)
    if cameras:
        clip.frames = {name: render(action, c, seed) for c, name in enumerate(CAMERAS)}
    return clip


def _rerender(clip: Clip, seed: int) -> None:
    if clip.frames:
        n = len(clip.action)
        clip.frames = {name: render(clip.action, c, seed)[:n] for c, name in enumerate(CAMERAS)}


# -- faults: each changes a clean clip so that one signal class fires -------------------------------
def _idle(c: Clip, s: int) -> None:
    c.action[:] = c.action[0]
    c.state[:] = c.action[0]
    _rerender(c, s)


def _jerky(c: Clip, s: int) -> None:
    rng = np.random.default_rng(s)
    c.action[:, :5] += rng.choice([-1.0, 1.0], (len(c.action), 5)) * 4.0
    c.state[:, :5] = c.action[:, :5]


def _velocity(c: Clip, s: int) -> None:
    half = len(c.action) // 2
    c.state[half:, 1] += 40.0
    c.action[half:, 1] += 40.0


def _jump(c: Clip, s: int) -> None:
    c.action[len(c.action) // 3, 2] += 45.0


def _range(c: Clip, s: int) -> None:
    c.action[:, 0] += 130.0
    c.state[:, 0] += 130.0


def _saturated(c: Clip, s: int) -> None:
    c.state[: len(c.state) // 2, 1] = -100.0
    c.action[: len(c.action) // 2, 1] = -100.0


def _stuck(c: Clip, s: int) -> None:
    c.state[:, 2] = c.state[0, 2]


def _divergence(c: Clip, s: int) -> None:
    c.state[:, 3] += 25.0


def _gripper_still(c: Clip, s: int) -> None:
    c.action[:, 5] = 30.0
    c.state[:, 5] = 30.0


def _chatter(c: Clip, s: int) -> None:
    n = len(c.action)
    c.action[n // 4: n // 4 + 12, 5] += np.tile([0.0, 12.0], 6)


def _frozen_action(c: Clip, s: int) -> None:
    c.action[len(c.action) // 5:] = c.action[len(c.action) // 5]


def _non_finite(c: Clip, s: int) -> None:
    c.action[5, 1] = np.nan


def _short(c: Clip, s: int) -> None:
    keep = 20
    c.action, c.state, c.timestamps = c.action[:keep], c.state[:keep], c.timestamps[:keep]
    c.frames = {k: v[:keep] for k, v in c.frames.items()}


def _too_short(c: Clip, s: int) -> None:
    keep = 12
    c.action, c.state, c.timestamps = c.action[:keep], c.state[:keep], c.timestamps[:keep]
    c.frames = {k: v[:keep] for k, v in c.frames.items()}


def _long(c: Clip, s: int) -> None:
    n = len(c.action) * 4
    longer = clean(s, n, cameras=bool(c.frames))
    c.action, c.state, c.timestamps, c.frames = longer.action, longer.state, longer.timestamps, longer.frames


def _dropped(c: Clip, s: int) -> None:
    c.timestamps = c.timestamps.copy()
    c.timestamps[len(c.timestamps) // 2:] += 6 / FPS


def _outlier(c: Clip, s: int) -> None:
    ramp = np.linspace(0, 1, len(c.action))[:, None]  # another strategy: one sweep to a far pose
    c.action[:, :5] = np.array([0.0, -20.0, 30.0, 10.0, 0.0]) + ramp * np.array([70, -50, -60, 50, 80])
    c.state[:, :5] = np.vstack([c.action[:2, :5], c.action[:-2, :5]])
    _rerender(c, s)


def _black(c: Clip, s: int) -> None:
    n = len(c.action)
    c.frames["front"][n // 3: n // 3 + n // 3] = 4


def _white(c: Clip, s: int) -> None:
    n = len(c.action)
    c.frames["front"][n // 3: n // 3 + n // 3] = 252


def _blank(c: Clip, s: int) -> None:
    c.frames["front"][:] = 128


def _frozen_camera(c: Clip, s: int) -> None:
    c.frames["front"][2:] = c.frames["front"][2]


def _repeated(c: Clip, s: int) -> None:
    c.frames["front"][1::2] = c.frames["front"][0:-1:2][: len(c.frames["front"][1::2])]


def _identical(c: Clip, s: int) -> None:
    c.frames["wrist"] = c.frames["front"].copy()


def _blurred(c: Clip, s: int) -> None:
    n = len(c.action)
    for t in range(n // 3, n // 3 + n // 3):
        c.frames["front"][t] = cv2.GaussianBlur(c.frames["front"][t], (0, 0), 2.5)


def _exposure(c: Clip, s: int) -> None:
    n = len(c.action)
    front = c.frames["front"].astype(np.int16)
    front[n // 2:] = front[n // 2:] // 3
    c.frames["front"] = np.clip(front, 0, 255).astype(np.uint8)


def _length(c: Clip, s: int) -> None:
    c.frames = {k: v[:-8] for k, v in c.frames.items()}


Fault = Callable[[Clip, int], None]
MOTION_FAULTS: dict[str, Fault] = {
    "idle_episode": _idle, "jerky": _jerky, "velocity_spike": _velocity, "joint_jump": _jump,
    "joint_out_of_range": _range, "saturated_joint": _saturated, "stuck_joint": _stuck,
    "action_state_divergence": _divergence, "gripper_never_moves": _gripper_still,
    "gripper_chatter": _chatter, "frozen_action": _frozen_action, "non_finite": _non_finite,
    "short_episode": _short, "shorter_than_chunk": _too_short, "long_episode": _long,
    "dropped_frames": _dropped, "trajectory_outlier": _outlier,
}
CAMERA_FAULTS: dict[str, Fault] = {
    "black_frames": _black, "saturated_frames": _white, "blank_camera": _blank,
    "frozen_camera": _frozen_camera, "repeated_frames": _repeated, "identical_cameras": _identical,
    "blurred_frames": _blurred, "exposure_change": _exposure, "length_mismatch": _length,
}
FAULTS: dict[str, Fault] = {**MOTION_FAULTS, **CAMERA_FAULTS}


class ClipReader(DatasetReader):
    """Serves :class:`Clip` s from memory."""

    def __init__(self, clips: list[Clip]) -> None:
        self.clips = clips

    def read_array(self, episode: Episode, key: str) -> np.ndarray:
        clip = self.clips[episode.index]
        return {"action": clip.action, "observation.state": clip.state, "timestamp": clip.timestamps}[key]

    def open_stream(self, episode: Episode, camera: str) -> ArrayStream:
        return ArrayStream(camera, self.clips[episode.index].frames[camera], FPS)


def clip_dataset(path: str | Path, clips: list[Clip], fmt: DatasetFormat = DatasetFormat.LEROBOT_V21) -> Dataset:
    """An in-memory dataset serving ``clips`` (cameras when the first clip has frames)."""
    space = JointSpace(SO101_JOINTS, Unit.SIM_DEGREES)
    names = list(SO101_JOINTS)
    features = {
        "action": Feature("action", FeatureKind.VECTOR, "float32", (6,), names, space),
        "observation.state": Feature("observation.state", FeatureKind.VECTOR, "float32", (6,), names, space),
        "timestamp": Feature("timestamp", FeatureKind.SCALAR, "float32", ()),
    }
    cameras = {}
    if clips and clips[0].frames:
        for name in CAMERAS:
            key = f"observation.images.{name}"
            features[key] = Feature(key, FeatureKind.VIDEO, "video", (HEIGHT, WIDTH, 3),
                                    video=VideoInfo(None, WIDTH, HEIGHT, FPS))
            cameras[name] = key
    dataset = Dataset(Path(path), fmt, FPS, "so101", features, sorted({c.task for c in clips}),
                      ClipReader(clips), roles={"action": "action", "state": "observation.state"}, cameras=cameras)
    for i, clip in enumerate(clips):
        dataset.episodes.append(Episode(dataset, i, len(clip.action), task=clip.task))
    return dataset


def fault_dataset(path: str | Path, faults: list[str | None], length: int = 60, seed: int = 0,
                  cameras: bool = True) -> Dataset:
    """One episode per entry of ``faults`` (None: clean), each from its own seed."""
    clips = []
    for i, fault in enumerate(faults):
        clip = clean(seed + i, length, cameras)
        if fault is not None:
            FAULTS[fault](clip, seed + i)
        clips.append(clip)
    return clip_dataset(path, clips)


# -- generated variants (Cosmos videos + IDM labels) of clean source episodes -------------------------
def _flicker(c: Clip, s: int) -> None:
    for name, frames in c.frames.items():
        shift = np.where(np.arange(len(frames)) % 2 == 0, 10, -10)[:, None, None, None]
        c.frames[name] = np.clip(frames.astype(np.int16) + shift, 0, 255).astype(np.uint8)


def _spike(c: Clip, s: int) -> None:
    rng = np.random.default_rng(s)
    t = len(c.action) // 2
    c.frames["front"][t] = rng.integers(0, 255, c.frames["front"][t].shape, dtype=np.uint8)


def _drift(c: Clip, s: int) -> None:
    for name in c.frames:
        c.frames[name][:6] = 255 - c.frames[name][:6]


def _inverted(c: Clip, s: int) -> None:  # the negative, contrast doubled
    c.frames = {name: np.clip(384 - 3 * f.astype(np.int16), 0, 255).astype(np.uint8) for name, f in c.frames.items()}


def _other_scene(c: Clip, s: int) -> None:
    rng = np.random.default_rng(5000 + s)
    texture = cv2.GaussianBlur(rng.integers(40, 200, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 0.7)
    for name, frames in c.frames.items():
        c.frames[name] = np.repeat(np.clip(texture, 0, 255).astype(np.uint8)[None, ..., None], len(frames), 0)
        c.frames[name] = np.ascontiguousarray(np.broadcast_to(c.frames[name], frames.shape))


def _envelope(c: Clip, s: int) -> None:
    c.action[len(c.action) // 2:, 1] += 45.0


def _chunks(c: Clip, s: int) -> None:
    c.action[:, :5] += (12.0 * ((np.arange(len(c.action)) // 16) % 2))[:, None]


GENERATED_FAULTS: dict[str, Fault] = {
    "flicker": _flicker, "frame_diff_spikes": _spike, "conditioning_drift": _drift, "source_psnr": _inverted,
    "source_ssim": _other_scene, "idm_envelope": _envelope, "chunk_boundary_jumps": _chunks,
}


def variant(source: Clip, seed: int, fault: str | None = None) -> Clip:
    """A generated variant of ``source``: its frames with sensor noise, its action with IDM noise."""
    rng = np.random.default_rng(seed)
    frames = {
        name: np.clip(f.astype(np.int16) + rng.integers(-2, 3, f.shape), 0, 255).astype(np.uint8)
        for name, f in source.frames.items()
    }
    action = source.action + rng.normal(0, 0.3, source.action.shape)
    clip = Clip(action, action.copy(), source.timestamps.copy(), frames, source.task)
    if fault is not None:
        GENERATED_FAULTS[fault](clip, seed)
    return clip


class MemorySources:
    """``compute_scores(sources=...)`` for in-memory datasets: generated episode -> source episode."""

    def __init__(self, refs: dict[int, object], datasets: dict[Path, Dataset]) -> None:
        self.refs, self.datasets = refs, datasets

    def ref(self, episode: Episode) -> object | None:
        return self.refs.get(episode.index)

    def open(self, path: Path | None) -> Dataset | None:
        return self.datasets.get(Path(path)) if path is not None else None

    def close(self) -> None:
        pass


def generated_dataset(faults: list[str | None], sources: int = 4, length: int = 60, seed: int = 0
                      ) -> tuple[Dataset, Dataset, MemorySources]:
    """(generated, source, sources): one generated episode per entry of ``faults`` (None: clean),
    made from source episode i % ``sources``."""
    from backend.compare.pairing import SourceRef

    origin = [clean(seed + i, length) for i in range(sources)]
    source = clip_dataset("/in-memory/source", origin)
    clips = [variant(origin[i % sources], seed + 100 + i, fault) for i, fault in enumerate(faults)]
    generated = clip_dataset("/in-memory/generated", clips)
    refs = {i: SourceRef(source.path, i % sources, 0) for i in range(len(faults))}
    return generated, source, MemorySources(refs, {source.path: source})

"""Synthetic LeIsaac recordings for tests, benchmarks and demos (formats.md section 1 layout).

Values are deterministic and checkable:
- joint targets (radians) are smooth sines inside the SO-101 limits; ``obs/joint_pos[t]`` is the
  state before step t and ``states/.../joint_position[t]`` the state after it (LeIsaac's order), so
  ``obs/joint_pos[t] == states[t - 1]`` and ``obs/joint_pos[0] == initial_state``;
- ``obs/actions[t]`` is the previous action (zeros at t = 0);
- camera frame t of demo d has mean gray level ``frame_level(d, t, camera_index)`` on a smooth
  background with a moving square, so an output frame can be traced back to its source frame.

Images are written in blocks of ``chunk`` frames, as LeIsaac's streaming writer does (lzf, chunks of
100 frames), so a long demo never sits in memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from backend.units import SO101_JOINTS, SO101_RANGES


@dataclass
class DemoSpec:
    length: int
    success: bool | None = True  # None: interrupted recording (no attribute)
    seed: int | None = None


@dataclass
class RecordingSpec:
    demos: Sequence[DemoSpec]
    cameras: Sequence[str] = ("front", "wrist")
    width: int = 64
    height: int = 48
    bi_arm: bool = False
    action_width: int | None = None  # default 6 (12 bi-arm); 8 for keyboard IK recordings
    compression: str | None = "lzf"
    chunk: int = 100
    env_name: str = "LeIsaac-SO101-PickOrange-v0"
    objects: Sequence[str] = ("orange",)
    extra_attrs: dict = field(default_factory=dict)


def frame_level(demo: int, t: int, camera_index: int = 0) -> int:
    return (20 + 7 * t + 11 * demo + 40 * camera_index) % 200


def _limits_rad(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([SO101_RANGES[n][0][0] for n in names]) * math.pi / 180.0
    hi = np.array([SO101_RANGES[n][0][1] for n in names]) * math.pi / 180.0
    return lo, hi


def joint_targets(demo: int, length: int, width: int) -> np.ndarray:
    """Smooth joint targets in radians, strictly inside the SO-101 limits."""
    arms = width // 6 if width in (6, 12) else 0
    t = np.arange(length, dtype=np.float64)[:, None]
    k = np.arange(width, dtype=np.float64)[None, :]
    wave = np.sin(2 * math.pi * (t / 90.0 + 0.13 * k + 0.07 * demo))
    if not arms:  # keyboard / IK deltas: small numbers, not joint positions
        return (0.01 * wave).astype(np.float32)
    names = list(SO101_JOINTS) * arms
    lo, hi = _limits_rad(names)
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    return (mid + 0.8 * half * wave).astype(np.float32)


def _image_block(demo: int, start: int, stop: int, cam: int, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    background = ((xx * 37 // max(width, 1)) + (yy * 23 // max(height, 1))).astype(np.int16) - 30
    block = np.empty((stop - start, height, width, 3), dtype=np.uint8)
    for i, t in enumerate(range(start, stop)):
        level = frame_level(demo, t, cam)
        img = np.clip(background + level, 0, 255).astype(np.uint8)
        frame = np.repeat(img[:, :, None], 3, axis=2)
        size = max(2, min(height, width) // 6)
        x0 = (3 * t) % max(width - size, 1)
        y0 = (2 * t) % max(height - size, 1)
        frame[y0 : y0 + size, x0 : x0 + size] = (230, 120, 40)
        # keep the mean at the level: the square is small and its effect is constant
        block[i] = frame
    return block


def _create(group: h5py.Group, name: str, data: np.ndarray, spec: RecordingSpec) -> h5py.Dataset:
    chunks = (min(spec.chunk, max(len(data), 1)), *data.shape[1:]) if len(data) else None
    return group.create_dataset(
        name,
        data=data,
        maxshape=(None, *data.shape[1:]),
        chunks=chunks or True,
        compression=spec.compression,
    )


def _state_group(
    group: h5py.Group, arms: list[str], joints: np.ndarray, objects: Sequence[str], demo: int
) -> None:
    """states / initial_state tree: articulation per arm + rigid objects."""
    length = len(joints)
    for i, arm in enumerate(arms):
        g = group.require_group(f"articulation/{arm}")
        q = joints[:, 6 * i : 6 * i + 6]
        root = np.tile(np.array([0.0, 0.1 * i, 0.0, 1.0, 0.0, 0.0, 0.0], dtype=np.float32), (length, 1))
        g.create_dataset("root_pose", data=root)
        g.create_dataset("root_velocity", data=np.zeros((length, 6), np.float32))
        g.create_dataset("joint_position", data=q.astype(np.float32))
        vel = np.vstack([np.zeros((1, 6)), np.diff(q, axis=0) * 60.0]) if length else np.zeros((0, 6))
        g.create_dataset("joint_velocity", data=vel.astype(np.float32))
    for k, name in enumerate(objects):
        g = group.require_group(f"rigid_object/{name}")
        t = np.arange(length, dtype=np.float32)[:, None]
        pose = np.hstack(
            [0.3 + 0.001 * t + 0.01 * demo, 0.05 * k + 0 * t, 0.02 + 0 * t, 1 + 0 * t, 0 * t, 0 * t, 0 * t]
        )
        g.create_dataset("root_pose", data=pose.astype(np.float32))
        g.create_dataset("root_velocity", data=np.zeros((length, 6), np.float32))


def write_recording(path: str | Path, spec: RecordingSpec) -> Path:
    """Write a LeIsaac-style HDF5 recording following ``spec``; returns the path."""
    path = Path(path)
    arms = ["left_arm", "right_arm"] if spec.bi_arm else ["robot"]
    joint_width = 6 * len(arms)
    action_width = spec.action_width or joint_width
    total = 0
    with h5py.File(path, "w") as handle:
        data = handle.create_group("data")
        data.attrs["env_args"] = json.dumps({"env_name": spec.env_name, "type": 2})
        for key, value in spec.extra_attrs.items():
            data.attrs[key] = value
        for d, demo in enumerate(spec.demos):
            group = data.create_group(f"demo_{d}")
            length = demo.length
            targets = joint_targets(d, length, joint_width)
            actions = targets if action_width == joint_width else joint_targets(d, length, action_width)
            # state after step t follows the target with a lag; initial state is the first target
            state_after = np.empty_like(targets)
            prev = targets[0] if length else np.zeros(joint_width, np.float32)
            initial = prev.copy()
            for t in range(length):
                prev = (0.5 * prev + 0.5 * targets[t]).astype(np.float32)
                state_after[t] = prev
            state_before = np.vstack([initial[None, :], state_after[:-1]]) if length else state_after
            _create(group, "actions", actions, spec)
            _create(group, "processed_actions", actions.copy(), spec)
            obs = group.create_group("obs")
            prev_actions = (
                np.vstack([np.zeros((1, action_width), np.float32), actions[:-1]]) if length else actions
            )
            _create(obs, "actions", prev_actions.astype(np.float32), spec)
            if spec.bi_arm:
                _create(obs, "left_joint_pos", state_before[:, :6], spec)
                _create(obs, "right_joint_pos", state_before[:, 6:], spec)
            else:
                _create(obs, "joint_pos", state_before, spec)
                _create(obs, "joint_vel", np.zeros_like(state_before), spec)
                _create(obs, "joint_pos_rel", state_before - state_before[:1], spec)
                _create(obs, "joint_vel_rel", np.zeros_like(state_before), spec)
                _create(obs, "joint_pos_target", targets, spec)
                _create(obs, "ee_frame_state", np.zeros((length, 7), np.float32), spec)
            for cam_index, cam in enumerate(spec.cameras):
                ds = obs.create_dataset(
                    cam,
                    shape=(length, spec.height, spec.width, 3),
                    maxshape=(None, spec.height, spec.width, 3),
                    dtype=np.uint8,
                    chunks=(min(spec.chunk, max(length, 1)), spec.height, spec.width, 3),
                    compression=spec.compression,
                )
                for start in range(0, length, spec.chunk):
                    stop = min(start + spec.chunk, length)
                    ds[start:stop] = _image_block(d, start, stop, cam_index, spec.height, spec.width)
            _state_group(group.create_group("states"), arms, state_after, spec.objects, d)
            _state_group(group.create_group("initial_state"), arms, initial[None, :], spec.objects, d)
            group.attrs["num_samples"] = length
            group.attrs["seed"] = demo.seed if demo.seed is not None else 1000 + d
            if demo.success is not None:
                group.attrs["success"] = bool(demo.success)
                total += length
        data.attrs["total"] = total
    return path

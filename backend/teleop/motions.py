"""Motions for the virtual SO-101: what an operator's hand does to the arm, as a function of time.

A motion maps time (seconds) to a pose ``u`` of 6 joint fractions: body joints in -1..1 of their
mechanical range (0 = middle), the gripper in 0..1 (0 = closed). The virtual arm turns a pose into
encoder ticks with its own assembly offsets, so a calibrated arm reads ``100 * u`` in LeRobot's
-100..100 / 0..100 units (up to one tick of rounding).

Named motions: still, wave, pick, sweep, calibrate. Files: ``.csv`` (a ``time`` column then one column
per joint in LeRobot units), ``.json`` (``{"fps": F, "unit": "lerobot"|"rad"|"deg", "frames": [[6 values]...]}``)
or a LeIsaac ``.hdf5`` (``actions`` of every demo, radians, at ``--fps`` 60).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backend.errors import StudioError
from backend.teleop.calibration import JOINTS
from backend.units import JointSpace, Unit

Motion = Callable[[float], np.ndarray]
N = len(JOINTS)
MID_POSE = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.5])


def still(_: float) -> np.ndarray:
    return MID_POSE.copy()


def wave(t: float) -> np.ndarray:
    """Smooth, incommensurate sines on every joint (the default demo motion)."""
    freqs = (0.11, 0.17, 0.23, 0.29, 0.13, 0.31)
    amps = (0.55, 0.45, 0.5, 0.6, 0.7, 0.45)
    phases = (0.0, 1.1, 2.3, 0.7, 1.9, 0.4)
    u = np.array([a * math.sin(2 * math.pi * f * t + p) for f, a, p in zip(freqs, amps, phases, strict=True)])
    u[5] += 0.5
    return u


# A pick-and-place loop: (time, pose) keyframes, cosine-eased between them.
_PICK_KEYS = [
    (0.0, (0.0, -0.6, 0.6, 0.3, 0.0, 0.1)),
    (1.5, (0.35, -0.1, 0.2, 0.5, 0.1, 0.9)),
    (2.7, (0.35, 0.25, -0.15, 0.55, 0.1, 0.9)),
    (3.4, (0.35, 0.25, -0.15, 0.55, 0.1, 0.15)),
    (4.6, (0.0, -0.2, 0.3, 0.2, -0.3, 0.15)),
    (5.9, (-0.4, 0.2, -0.1, 0.45, -0.5, 0.15)),
    (6.6, (-0.4, 0.2, -0.1, 0.45, -0.5, 0.85)),
    (8.0, (0.0, -0.6, 0.6, 0.3, 0.0, 0.1)),
]


def _keyframes(keys: list[tuple[float, tuple[float, ...]]]) -> Motion:
    times = np.array([k[0] for k in keys])
    poses = np.array([k[1] for k in keys], dtype=np.float64)
    period = float(times[-1])

    def motion(t: float) -> np.ndarray:
        t = t % period
        i = int(np.searchsorted(times, t, side="right")) - 1
        i = min(max(i, 0), len(times) - 2)
        s = (t - times[i]) / (times[i + 1] - times[i])
        s = 0.5 - 0.5 * math.cos(math.pi * s)
        return poses[i] + (poses[i + 1] - poses[i]) * s

    return motion


pick = _keyframes(_PICK_KEYS)


def sweep(t: float) -> np.ndarray:
    """Every joint through its full range at once, slowly (one cycle every 6 s)."""
    s = math.sin(2 * math.pi * t / 6.0)
    u = np.full(N, s)
    u[5] = 0.5 + 0.5 * s
    return u


def calibrate(t: float) -> np.ndarray:
    """What the calibration procedure asks of an operator: rest in the middle for 4 s, then sweep
    each joint to both ends in turn (2 s per joint), then back to the middle; repeats every 20 s."""
    t = t % 20.0
    u = MID_POSE.copy()
    if t < 4.0 or t >= 16.0:
        return u
    j = int((t - 4.0) // 2.0)
    s = math.sin(2 * math.pi * ((t - 4.0) % 2.0) / 2.0)
    u[j] = 0.5 + 0.5 * s if j == 5 else s
    return u


NAMED: dict[str, Motion] = {
    "still": still,
    "wave": wave,
    "pick": pick,
    "sweep": sweep,
    "calibrate": calibrate,
}


def _lerobot_to_pose(values: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(values, dtype=np.float64) / 100.0, [-1, -1, -1, -1, -1, 0], 1.0)


def from_frames(frames: np.ndarray, fps: float, unit: Unit = Unit.LEROBOT_RANGE) -> Motion:
    """Replay joint frames (T, 6) at ``fps``, linearly interpolated, looping."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != N or len(frames) < 1:
        raise StudioError(f"a motion needs frames of shape (T, {N}), got {frames.shape}")
    if unit is not Unit.LEROBOT_RANGE:
        frames = JointSpace.so101(unit).convert(frames, Unit.LEROBOT_RANGE)
    poses = _lerobot_to_pose(frames)
    count = len(poses)

    def motion(t: float) -> np.ndarray:
        x = (t * fps) % count
        i = int(x)
        s = x - i
        return poses[i] * (1 - s) + poses[(i + 1) % count] * s

    return motion


def load_motion(spec: str, fps: float = 60.0) -> Motion:
    """A motion by name (``wave``) or from a file (.csv, .json, .hdf5/.h5)."""
    if spec in NAMED:
        return NAMED[spec]
    path = Path(spec)
    if not path.is_file():
        raise StudioError(
            f"unknown motion {spec!r}", None, f"use one of {', '.join(NAMED)} or a .csv/.json/.hdf5 file"
        )
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            if not rows:
                raise StudioError("motion file has no rows", path)
            times = np.array([float(r.get("time", r.get("t", i))) for i, r in enumerate(rows)])
            frames = np.array([[float(r[j]) for j in JOINTS] for r in rows])
            step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / fps
            return from_frames(frames, 1.0 / step if step > 0 else fps)
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            return from_frames(
                np.array(data["frames"]), float(data.get("fps", fps)), Unit(data.get("unit", "lerobot"))
            )
        if suffix in (".hdf5", ".h5"):
            import h5py

            with h5py.File(path, "r") as f:
                demos = sorted(f["data"], key=lambda k: int(k.split("_")[-1]))
                actions = [np.asarray(f["data"][d]["actions"]) for d in demos]
            actions = [a for a in actions if a.ndim == 2 and a.shape[1] == N]
            if not actions:
                raise StudioError("no single-arm joint actions in this HDF5", path)
            return from_frames(np.concatenate(actions), fps, Unit.RADIANS)
    except (KeyError, ValueError, OSError) as error:
        raise StudioError(f"cannot read motion file ({error})", path) from error
    raise StudioError("unknown motion file type", path, "use .csv, .json or .hdf5")

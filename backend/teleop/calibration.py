"""SO-101 calibration compatible with LeRobot: homing offsets, ranges, normalisation, JSON files.

Formulas (so101-hardware.md, "Calibration" and "Normalization"):

- middle pose, with Homing_Offset reset to 0: ``homing_offset = raw - 2047`` (servo then reports
  ``Present = actual - Homing_Offset``, i.e. 2047 in the middle pose); |offset| <= 2047.
- sweep: ``range_min``/``range_max`` = extremes of Present_Position seen per joint; min == max is an error.
- RANGE_M100_100: ``(b - min) / (max - min) * 200 - 100`` with b clipped to [min, max]
- RANGE_0_100:    ``(b - min) / (max - min) * 100``
- DEGREES:        ``(raw - mid) * 360 / 4095``, ``mid = (min + max) / 2``, no clipping
- drive_mode 1 negates (RANGE_0_100: ``100 - x``). Goals use the inverse, truncated to int.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from backend.atomic import write_text_atomic
from backend.errors import StudioError
from backend.teleop.protocol import MAX_RAW, MID_RAW

JOINTS: tuple[str, ...] = (
    "shoulder_pan",
    "shoulder_lift",
    "elbow_flex",
    "wrist_flex",
    "wrist_roll",
    "gripper",
)
MOTOR_IDS: dict[str, int] = {name: i + 1 for i, name in enumerate(JOINTS)}
MAX_HOMING_MAGNITUDE = 2047


class NormMode(StrEnum):
    RANGE_M100_100 = "range_m100_100"
    RANGE_0_100 = "range_0_100"
    DEGREES = "degrees"


# LeIsaac and LeRobot < Feb 2026: body joints -100..100, gripper 0..100.
LEISAAC_NORM_MODES: dict[str, NormMode] = {
    **{j: NormMode.RANGE_M100_100 for j in JOINTS[:-1]},
    "gripper": NormMode.RANGE_0_100,
}
# Newer LeRobot: body joints in degrees, gripper 0..100.
DEGREES_NORM_MODES: dict[str, NormMode] = {
    **{j: NormMode.DEGREES for j in JOINTS[:-1]},
    "gripper": NormMode.RANGE_0_100,
}


class CalibrationError(StudioError):
    pass


@dataclass
class MotorCalibration:
    id: int
    drive_mode: int = 0
    homing_offset: int = 0
    range_min: int = 0
    range_max: int = MAX_RAW

    def validate(self, name: str = "", path: str | Path | None = None) -> None:
        label = f"{name}: " if name else ""
        if abs(self.homing_offset) > MAX_HOMING_MAGNITUDE:
            raise CalibrationError(
                f"{label}homing offset magnitude {abs(self.homing_offset)} exceeds {MAX_HOMING_MAGNITUDE}",
                path,
                "put the joint nearer the middle of its range and set the middle pose again",
            )
        if self.range_min >= self.range_max:
            raise CalibrationError(
                f"{label}range_min {self.range_min} is not below range_max {self.range_max}",
                path,
                "move every joint through its full range during the sweep",
            )
        if self.drive_mode not in (0, 1):
            raise CalibrationError(f"{label}drive_mode {self.drive_mode} is not 0 or 1", path)


class Calibration(dict[str, MotorCalibration]):
    """{joint name: MotorCalibration} in LeRobot's JSON shape, joint order as in ``JOINTS``."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, int]], path: str | Path | None = None) -> Calibration:
        out = cls()
        for name, entry in data.items():
            try:
                motor = MotorCalibration(
                    id=int(entry["id"]),
                    drive_mode=int(entry.get("drive_mode", 0)),
                    homing_offset=int(entry["homing_offset"]),
                    range_min=int(entry["range_min"]),
                    range_max=int(entry["range_max"]),
                )
            except (KeyError, TypeError, ValueError) as error:
                raise CalibrationError(
                    f"motor {name!r} lacks or mangles a field ({error})",
                    path,
                    "a LeRobot calibration has id, drive_mode, homing_offset, range_min, range_max per motor",
                ) from error
            out[name] = motor
        return out

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {name: asdict(motor) for name, motor in self.items()}

    def validate(self, joints: Iterable[str] = JOINTS, path: str | Path | None = None) -> None:
        missing = [j for j in joints if j not in self]
        if missing:
            raise CalibrationError(f"calibration lacks joints: {', '.join(missing)}", path)
        for name, motor in self.items():
            motor.validate(name, path)

    def arrays(self, joints: Iterable[str] = JOINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(range_min, range_max, drive_mode, homing_offset) as float64 arrays in joint order."""
        motors = [self[j] for j in joints]
        return (
            np.array([m.range_min for m in motors], dtype=np.float64),
            np.array([m.range_max for m in motors], dtype=np.float64),
            np.array([m.drive_mode for m in motors], dtype=np.float64),
            np.array([m.homing_offset for m in motors], dtype=np.float64),
        )


# -- files ----------------------------------------------------------------------------------------


def calibration_root() -> Path:
    """LeRobot's calibration root: $HF_LEROBOT_CALIBRATION, else $HF_LEROBOT_HOME/calibration."""
    if os.environ.get("HF_LEROBOT_CALIBRATION"):
        return Path(os.environ["HF_LEROBOT_CALIBRATION"]).expanduser()
    if os.environ.get("HF_LEROBOT_HOME"):
        return Path(os.environ["HF_LEROBOT_HOME"]).expanduser() / "calibration"
    hf_home = os.environ.get("HF_HOME")
    if not hf_home:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        hf_home = str(Path(cache) / "huggingface")
    return Path(hf_home).expanduser() / "lerobot" / "calibration"


# (kind, new folder name since LeRobot 0.4.4, older folder name)
_ROLE_DIRS = {
    "leader": ("teleoperators", "so_leader", "so101_leader"),
    "follower": ("robots", "so_follower", "so101_follower"),
}


def candidate_paths(role: str, arm_id: str) -> list[Path]:
    """Where LeRobot keeps (or kept) this arm's calibration, newest naming first."""
    kind, new, old = _ROLE_DIRS[role]
    root = calibration_root() / kind
    return [root / new / f"{arm_id}.json", root / old / f"{arm_id}.json"]


def default_path(role: str, arm_id: str) -> Path:
    """The existing file for this arm if there is one, else where current LeRobot would put it."""
    paths = candidate_paths(role, arm_id)
    for path in paths:
        if path.is_file():
            return path
    return paths[0]


def load_calibration(path: str | Path) -> Calibration:
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(
            "calibration file not found",
            path,
            "calibrate the arm first (Teleop > Calibrate, or `rollout-studio calibrate`)",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CalibrationError(f"not a readable JSON calibration ({error})", path) from error
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CalibrationError("not a LeRobot calibration (expected one object per motor)", path)
    calibration = Calibration.from_dict(data, path)
    for name, motor in calibration.items():
        motor.validate(name, path)
    return calibration


def save_calibration(calibration: Calibration, path: str | Path) -> Path:
    """Write LeRobot's JSON (indent 4, one object per motor) atomically."""
    path = Path(path)
    calibration.validate(joints=list(calibration), path=path)
    write_text_atomic(path, json.dumps(calibration.to_dict(), indent=4) + "\n")
    return path


# -- the procedure's math -------------------------------------------------------------------------


def homing_offsets_from_middle(raw_middle: Mapping[str, int]) -> dict[str, int]:
    """``homing_offset = raw - 2047`` per joint, raw read with Homing_Offset = 0."""
    offsets = {name: int(raw) - MID_RAW for name, raw in raw_middle.items()}
    for name, offset in offsets.items():
        if abs(offset) > MAX_HOMING_MAGNITUDE:
            raise CalibrationError(
                f"{name}: Magnitude {abs(offset)} exceeds {MAX_HOMING_MAGNITUDE}",
                None,
                "the joint is too far from the middle of its range: move it nearer and set the middle again",
            )
    return offsets


class RangeRecorder:
    """Min/max of Present_Position per joint while the operator sweeps the arm."""

    def __init__(self, joints: Iterable[str] = JOINTS, full_turn: Iterable[str] = ()) -> None:
        self.joints = list(joints)
        self.full_turn = set(full_turn)
        self.mins: dict[str, int] = {}
        self.maxs: dict[str, int] = {}
        self.samples = 0

    def update(self, positions: Mapping[str, int]) -> None:
        self.samples += 1
        for name, value in positions.items():
            value = int(value)
            self.mins[name] = min(self.mins.get(name, value), value)
            self.maxs[name] = max(self.maxs.get(name, value), value)

    def ranges(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for name in self.joints:
            if name in self.full_turn:
                out[name] = (0, MAX_RAW)
                continue
            if name not in self.mins:
                raise CalibrationError(f"{name}: no positions were read during the sweep")
            low, high = self.mins[name], self.maxs[name]
            if low == high:
                raise CalibrationError(
                    f"{name}: range_min == range_max ({low})", None, "move this joint through its full range"
                )
            out[name] = (low, high)
        return out


def build_calibration(
    offsets: Mapping[str, int],
    ranges: Mapping[str, tuple[int, int]],
    drive_modes: Mapping[str, int] | None = None,
    motor_ids: Mapping[str, int] = MOTOR_IDS,
) -> Calibration:
    calibration = Calibration()
    for name in ranges:
        calibration[name] = MotorCalibration(
            id=int(motor_ids[name]),
            drive_mode=int((drive_modes or {}).get(name, 0)),
            homing_offset=int(offsets[name]),
            range_min=int(ranges[name][0]),
            range_max=int(ranges[name][1]),
        )
    calibration.validate(joints=list(ranges))
    return calibration


# -- normalisation --------------------------------------------------------------------------------


class Normalizer:
    """Vectorised raw <-> normalised values for a set of joints (LeRobot's formulas exactly)."""

    def __init__(
        self,
        calibration: Calibration,
        modes: Mapping[str, NormMode] = LEISAAC_NORM_MODES,
        joints: Iterable[str] = JOINTS,
    ) -> None:
        self.joints = list(joints)
        self.modes = [NormMode(modes[j]) for j in self.joints]
        self.min, self.max, self.drive, _ = calibration.arrays(self.joints)
        if np.any(self.max <= self.min):
            raise CalibrationError("a joint has range_max <= range_min")
        self.mid = (self.min + self.max) / 2.0
        self._m100 = np.array([m is NormMode.RANGE_M100_100 for m in self.modes])
        self._p100 = np.array([m is NormMode.RANGE_0_100 for m in self.modes])
        self._deg = np.array([m is NormMode.DEGREES for m in self.modes])
        self._flip = self.drive.astype(bool)

    def normalize(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        bounded = np.clip(raw, self.min, self.max)
        span = self.max - self.min
        out = np.empty_like(raw)
        m, p, d = self._m100, self._p100, self._deg
        out[..., m] = (bounded[..., m] - self.min[m]) / span[m] * 200.0 - 100.0
        out[..., p] = (bounded[..., p] - self.min[p]) / span[p] * 100.0
        out[..., d] = (raw[..., d] - self.mid[d]) * 360.0 / MAX_RAW
        flip = self._flip
        out[..., flip & ~p] = -out[..., flip & ~p]
        out[..., flip & p] = 100.0 - out[..., flip & p]
        return out

    def unnormalize(self, values: np.ndarray) -> np.ndarray:
        """Normalised -> raw goal ticks (int64), clamped the way LeRobot clamps, truncated."""
        v = np.array(values, dtype=np.float64, copy=True)
        flip = self._flip
        m, p, d = self._m100, self._p100, self._deg
        v[..., flip & ~p] = -v[..., flip & ~p]
        v[..., flip & p] = 100.0 - v[..., flip & p]
        span = self.max - self.min
        out = np.empty_like(v)
        out[..., m] = (np.clip(v[..., m], -100.0, 100.0) + 100.0) / 200.0 * span[m] + self.min[m]
        out[..., p] = np.clip(v[..., p], 0.0, 100.0) / 100.0 * span[p] + self.min[p]
        out[..., d] = v[..., d] * MAX_RAW / 360.0 + self.mid[d]
        return np.trunc(out).astype(np.int64)


def normalize(raw: float, motor: MotorCalibration, mode: NormMode) -> float:
    """Scalar form of ``Normalizer.normalize`` (for tests and documentation)."""
    calibration = Calibration({"j": motor})
    return float(Normalizer(calibration, {"j": mode}, ["j"]).normalize(np.array([raw]))[0])


def unnormalize(value: float, motor: MotorCalibration, mode: NormMode) -> int:
    calibration = Calibration({"j": motor})
    return int(Normalizer(calibration, {"j": mode}, ["j"]).unnormalize(np.array([value]))[0])

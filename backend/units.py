"""Joint spaces: named joints plus a unit, and the exact conversions between units.

Every array of joint values in the studio carries a ``JointSpace`` (see ``JointValues``). All unit
conversions live here, pivoting through SIM_DEGREES (the USD joint range of formats.md section 2):

    RADIANS  <-> SIM_DEGREES                      deg = rad * 180 / pi
    LEROBOT_RANGE <-> SIM_DEGREES                 linear map of the per-joint table below
    RAW_TICKS <-> LEROBOT_RANGE                   needs a calibration (range_min/max, drive_mode)
    LEROBOT_DEGREES <-> RAW_TICKS                 (raw - mid) * 360 / 4095, needs a calibration

LEROBOT_RANGE means -100..100 for body joints and 0..100 for the gripper (LeRobot's
RANGE_M100_100 / RANGE_0_100). OTHER is for vectors that are not joint positions (keyboard/IK
actions, humanoid states): they convert only to themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from backend.errors import UnitError


class Unit(StrEnum):
    RADIANS = "rad"
    SIM_DEGREES = "deg"
    LEROBOT_RANGE = "lerobot"
    LEROBOT_DEGREES = "lerobot_deg"
    RAW_TICKS = "ticks"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            Unit.RADIANS: "rad",
            Unit.SIM_DEGREES: "deg",
            Unit.LEROBOT_RANGE: "LeRobot",
            Unit.LEROBOT_DEGREES: "LeRobot deg",
            Unit.RAW_TICKS: "ticks",
            Unit.OTHER: "",
        }[self]


SO101_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")

# joint -> (sim/USD range in degrees, LeRobot normalized range)
SO101_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "shoulder_pan": ((-110.0, 110.0), (-100.0, 100.0)),
    "shoulder_lift": ((-100.0, 100.0), (-100.0, 100.0)),
    "elbow_flex": ((-100.0, 90.0), (-100.0, 100.0)),
    "wrist_flex": ((-95.0, 95.0), (-100.0, 100.0)),
    "wrist_roll": ((-160.0, 160.0), (-100.0, 100.0)),
    "gripper": ((-10.0, 100.0), (0.0, 100.0)),
}

TICKS_PER_TURN = 4095  # LeRobot divides by 4095, not 4096


def base_joint_name(name: str) -> str:
    """'left_shoulder_pan', 'shoulder_pan.pos', 'right_gripper.pos' -> the SO-101 joint name."""
    core = name.split(".")[0]
    for prefix in ("left_", "right_"):
        if core.startswith(prefix) and core[len(prefix):] in SO101_RANGES:
            return core[len(prefix):]
    return core


@dataclass(frozen=True)
class MotorCalibration:
    """One motor of a LeRobot calibration file (formats.md section 8)."""

    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int

    @property
    def mid(self) -> float:
        return (self.range_min + self.range_max) / 2.0


@dataclass(frozen=True)
class JointSpace:
    """Named joints and the unit their values are in."""

    names: tuple[str, ...]
    unit: Unit
    calibration: tuple[MotorCalibration, ...] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        if self.calibration is not None and len(self.calibration) != len(self.names):
            raise UnitError(f"calibration has {len(self.calibration)} motors for {len(self.names)} joints")

    @classmethod
    def so101(cls, unit: Unit, arms: Sequence[str] = ("",)) -> JointSpace:
        """SO-101 joints; ``arms=("left_", "right_")`` for a bi-arm setup."""
        return cls(tuple(f"{arm}{j}" for arm in arms for j in SO101_JOINTS), unit)

    @property
    def width(self) -> int:
        return len(self.names)

    @property
    def is_so101(self) -> bool:
        return self.unit is not Unit.OTHER and all(base_joint_name(n) in SO101_RANGES for n in self.names)

    def with_unit(self, unit: Unit) -> JointSpace:
        return JointSpace(self.names, unit, self.calibration)

    def convertible_units(self) -> list[Unit]:
        """Units this space converts to exactly with what it knows."""
        if self.unit is Unit.OTHER or not self.is_so101:
            return [self.unit]
        units = [Unit.RADIANS, Unit.SIM_DEGREES, Unit.LEROBOT_RANGE]
        if self.calibration is not None:
            units += [Unit.RAW_TICKS, Unit.LEROBOT_DEGREES]
        if self.unit not in units:  # e.g. ticks without calibration
            return [self.unit]
        return units

    def convert(self, values: np.ndarray, to: Unit) -> np.ndarray:
        """Convert ``values`` (..., width) from this space's unit to ``to``; float64 result."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape[-1] != self.width:
            raise UnitError(f"values have width {values.shape[-1]}, joint space has {self.width} joints")
        if to is self.unit:
            return values.copy()
        if self.unit is Unit.OTHER or to is Unit.OTHER or not self.is_so101:
            raise UnitError(f"cannot convert {self.unit.value} to {to.value}: not SO-101 joint positions")
        sim_deg = self._to_sim_degrees(values)
        return self._from_sim_degrees(sim_deg, to)

    # -- pivot ------------------------------------------------------------------------------------
    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        sims = [SO101_RANGES[base_joint_name(n)][0] for n in self.names]
        lers = [SO101_RANGES[base_joint_name(n)][1] for n in self.names]
        jmin, jmax = (np.array(x, dtype=np.float64) for x in zip(*sims, strict=True))
        mmin, mmax = (np.array(x, dtype=np.float64) for x in zip(*lers, strict=True))
        return jmin, jmax, mmin, mmax

    def _need_calibration(self) -> tuple[MotorCalibration, ...]:
        if self.calibration is None:
            raise UnitError(
                f"converting {self.unit.value} needs the arm's calibration",
                hint="load the LeRobot calibration file of the arm that recorded it",
            )
        return self.calibration

    def _to_sim_degrees(self, values: np.ndarray) -> np.ndarray:
        unit = self.unit
        if unit is Unit.SIM_DEGREES:
            return values
        if unit is Unit.RADIANS:
            return values * (180.0 / math.pi)
        if unit is Unit.LEROBOT_DEGREES:
            values = self._ticks_from_lerobot_degrees(values)
            unit = Unit.RAW_TICKS
        if unit is Unit.RAW_TICKS:
            values = self._lerobot_range_from_ticks(values)
        jmin, jmax, mmin, mmax = self._tables()
        return (values - mmin) / (mmax - mmin) * (jmax - jmin) + jmin

    def _from_sim_degrees(self, deg: np.ndarray, to: Unit) -> np.ndarray:
        if to is Unit.SIM_DEGREES:
            return deg
        if to is Unit.RADIANS:
            return deg * (math.pi / 180.0)
        jmin, jmax, mmin, mmax = self._tables()
        lerobot = (deg - jmin) / (jmax - jmin) * (mmax - mmin) + mmin
        if to is Unit.LEROBOT_RANGE:
            return lerobot
        ticks = self._ticks_from_lerobot_range(lerobot)
        if to is Unit.RAW_TICKS:
            return ticks
        if to is Unit.LEROBOT_DEGREES:
            cal = self._need_calibration()
            mids = np.array([c.mid for c in cal])
            sign = np.array([-1.0 if c.drive_mode else 1.0 for c in cal])
            return sign * (ticks - mids) * 360.0 / TICKS_PER_TURN
        raise UnitError(f"unknown unit {to}")

    def _calibration_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        cal = self._need_calibration()
        lo = np.array([c.range_min for c in cal], dtype=np.float64)
        hi = np.array([c.range_max for c in cal], dtype=np.float64)
        flip = np.array([bool(c.drive_mode) for c in cal])
        gripper = np.array([base_joint_name(n) == "gripper" for n in self.names])
        if np.any(hi <= lo):
            raise UnitError("calibration has range_max <= range_min")
        return lo, hi, flip, gripper

    def _lerobot_range_from_ticks(self, ticks: np.ndarray) -> np.ndarray:
        lo, hi, flip, gripper = self._calibration_arrays()
        b = np.clip(ticks, lo, hi)
        m100 = (b - lo) / (hi - lo) * 200.0 - 100.0
        r100 = (b - lo) / (hi - lo) * 100.0
        out = np.where(gripper, np.where(flip, 100.0 - r100, r100), np.where(flip, -m100, m100))
        return out

    def _ticks_from_lerobot_range(self, values: np.ndarray) -> np.ndarray:
        lo, hi, flip, gripper = self._calibration_arrays()
        v = np.where(gripper, np.where(flip, 100.0 - values, values), np.where(flip, -values, values))
        frac = np.where(gripper, v / 100.0, (v + 100.0) / 200.0)
        return frac * (hi - lo) + lo

    def _ticks_from_lerobot_degrees(self, values: np.ndarray) -> np.ndarray:
        cal = self._need_calibration()
        mids = np.array([c.mid for c in cal])
        sign = np.array([-1.0 if c.drive_mode else 1.0 for c in cal])
        return sign * values * TICKS_PER_TURN / 360.0 + mids


@dataclass
class JointValues:
    """An array (T, width) of joint values that knows its joint space."""

    values: np.ndarray
    space: JointSpace

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != self.space.width:
            raise UnitError(
                f"joint array of shape {self.values.shape} does not match {self.space.width} joints"
            )

    @property
    def unit(self) -> Unit:
        return self.space.unit

    def to(self, unit: Unit) -> JointValues:
        return JointValues(self.space.convert(self.values, unit), self.space.with_unit(unit))


def lerobot_joint_names(space_names: Sequence[str]) -> list[str]:
    """LeRobot feature names for joints: 'shoulder_pan' -> 'shoulder_pan.pos'."""
    return [n if n.endswith(".pos") else f"{n}.pos" for n in space_names]


def detect_lerobot_unit(names: Sequence[str], sample: np.ndarray | None = None) -> Unit:
    """Guess the unit of a LeRobot SO-arm vector from its names and values.

    LeRobot >= Feb 2026 records body joints in DEGREES; older releases in -100..100. Names are the
    same, so values decide: a body joint beyond +-100 (with some slack) cannot be LEROBOT_RANGE.
    Callers let the user override (a dataset's unit is declared, never silently assumed).
    """
    if not all(base_joint_name(n) in SO101_RANGES for n in names):
        return Unit.OTHER
    if sample is not None and sample.size:
        body = [i for i, n in enumerate(names) if base_joint_name(n) != "gripper"]
        if body and float(np.nanmax(np.abs(sample[..., body]))) > 100.5:
            return Unit.LEROBOT_DEGREES
    return Unit.LEROBOT_RANGE

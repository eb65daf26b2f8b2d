"""Joint-space conversions against the formulas of formats.md section 2 and so101-hardware.md."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.errors import UnitError
from backend.units import (
    JointSpace,
    JointValues,
    MotorCalibration,
    Unit,
    base_joint_name,
    detect_lerobot_unit,
)

SIM_MIN = np.array([-110, -100, -100, -95, -160, -10], dtype=float)
SIM_MAX = np.array([110, 100, 90, 95, 160, 100], dtype=float)
LER_MIN = np.array([-100, -100, -100, -100, -100, 0], dtype=float)
LER_MAX = np.array([100, 100, 100, 100, 100, 100], dtype=float)


def test_range_ends_map_to_range_ends() -> None:
    space = JointSpace.so101(Unit.SIM_DEGREES)
    assert np.allclose(space.convert(SIM_MIN[None], Unit.LEROBOT_RANGE), LER_MIN)
    assert np.allclose(space.convert(SIM_MAX[None], Unit.LEROBOT_RANGE), LER_MAX)


def test_radians_to_lerobot_matches_leisaac_formula() -> None:
    rng = np.random.default_rng(0)
    rad = rng.uniform(-1.5, 1.5, size=(50, 6))
    deg = rad * 180 / math.pi
    expected = (deg - SIM_MIN) / (SIM_MAX - SIM_MIN) * (LER_MAX - LER_MIN) + LER_MIN
    got = JointSpace.so101(Unit.RADIANS).convert(rad, Unit.LEROBOT_RANGE)
    assert np.allclose(got, expected, atol=1e-12)
    back = JointSpace.so101(Unit.LEROBOT_RANGE).convert(got, Unit.RADIANS)
    assert np.allclose(back, rad, atol=1e-12)


def test_elbow_zero_degrees_is_not_lerobot_zero() -> None:
    # elbow_flex's USD range is asymmetric (-100..90): 0 deg sits at +5.26 in LeRobot units
    got = JointSpace.so101(Unit.SIM_DEGREES).convert(np.zeros((1, 6)), Unit.LEROBOT_RANGE)
    assert got[0, 2] == pytest.approx(100 / 190 * 200 - 100)
    assert got[0, 5] == pytest.approx(10 / 110 * 100)


def _calibration(drive_mode: int = 0) -> tuple[MotorCalibration, ...]:
    return tuple(MotorCalibration(i + 1, drive_mode, 0, 1000, 3000) for i in range(6))


def test_ticks_to_lerobot_range_follows_normalization_modes() -> None:
    space = JointSpace(JointSpace.so101(Unit.RAW_TICKS).names, Unit.RAW_TICKS, _calibration())
    ticks = np.array([[1000, 2000, 3000, 1500, 5000, 2500]], dtype=float)  # 5000 is clipped to 3000
    got = space.convert(ticks, Unit.LEROBOT_RANGE)
    assert np.allclose(got, [[-100, 0, 100, -50, 100, 75]])


def test_drive_mode_one_negates() -> None:
    space = JointSpace(JointSpace.so101(Unit.RAW_TICKS).names, Unit.RAW_TICKS, _calibration(drive_mode=1))
    got = space.convert(np.array([[1500.0] * 6]), Unit.LEROBOT_RANGE)
    assert np.allclose(got[0, :5], 50.0)
    assert got[0, 5] == pytest.approx(100 - 25.0)
    back = space.with_unit(Unit.LEROBOT_RANGE).convert(got, Unit.RAW_TICKS)
    assert np.allclose(back, 1500.0)


def test_lerobot_degrees_formula() -> None:
    cal = _calibration()
    space = JointSpace(JointSpace.so101(Unit.RAW_TICKS).names, Unit.RAW_TICKS, cal)
    ticks = np.array([[2500.0] * 6])
    deg = space.convert(ticks, Unit.LEROBOT_DEGREES)
    assert np.allclose(deg, (2500 - 2000) * 360 / 4095)
    assert np.allclose(space.with_unit(Unit.LEROBOT_DEGREES).convert(deg, Unit.RAW_TICKS), 2500.0)


def test_ticks_without_calibration_is_a_clear_error() -> None:
    with pytest.raises(UnitError, match="calibration"):
        JointSpace.so101(Unit.RAW_TICKS).convert(np.zeros((1, 6)), Unit.RADIANS)
    assert JointSpace.so101(Unit.RAW_TICKS).convertible_units() == [Unit.RAW_TICKS]


def test_other_unit_never_rescaled() -> None:
    space = JointSpace(tuple(f"a{i}" for i in range(8)), Unit.OTHER)
    with pytest.raises(UnitError, match="not SO-101"):
        space.convert(np.zeros((2, 8)), Unit.RADIANS)
    assert np.array_equal(space.convert(np.ones((2, 8)), Unit.OTHER), np.ones((2, 8)))


def test_bi_arm_names_and_conversion() -> None:
    space = JointSpace.so101(Unit.RADIANS, arms=("left_", "right_"))
    assert space.width == 12 and space.names[6] == "right_shoulder_pan"
    got = space.convert(np.zeros((1, 12)), Unit.LEROBOT_RANGE)
    assert np.allclose(got[0, :6], got[0, 6:])
    assert base_joint_name("right_gripper.pos") == "gripper"


def test_joint_values_know_their_unit() -> None:
    values = JointValues(np.zeros((3, 6)), JointSpace.so101(Unit.RADIANS))
    converted = values.to(Unit.SIM_DEGREES)
    assert converted.unit is Unit.SIM_DEGREES and converted.values.shape == (3, 6)
    with pytest.raises(UnitError):
        JointValues(np.zeros((3, 5)), JointSpace.so101(Unit.RADIANS))


def test_detect_lerobot_unit_by_values() -> None:
    names = [f"{j}.pos" for j in ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")]
    assert detect_lerobot_unit(names, np.array([[10, -90, 50, 0, 99, 40.0]])) is Unit.LEROBOT_RANGE
    assert detect_lerobot_unit(names, np.array([[10, -150, 50, 0, 99, 40.0]])) is Unit.LEROBOT_DEGREES
    assert detect_lerobot_unit(["motor_0", "motor_1"], None) is Unit.OTHER

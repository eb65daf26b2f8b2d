"""Calibration math against the formulas of so101-hardware.md, and LeRobot JSON files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.teleop.calibration import (
    DEGREES_NORM_MODES,
    JOINTS,
    LEISAAC_NORM_MODES,
    Calibration,
    CalibrationError,
    MotorCalibration,
    Normalizer,
    NormMode,
    RangeRecorder,
    build_calibration,
    calibration_root,
    default_path,
    homing_offsets_from_middle,
    load_calibration,
    normalize,
    save_calibration,
    unnormalize,
)
from backend.units import JointSpace, Unit
from backend.units import MotorCalibration as UnitsMotor

M = MotorCalibration(id=1, drive_mode=0, homing_offset=-156, range_min=1024, range_max=3072)


def test_range_m100_100():
    # (b - min) / (max - min) * 200 - 100
    assert normalize(1024, M, NormMode.RANGE_M100_100) == -100.0
    assert normalize(2048, M, NormMode.RANGE_M100_100) == 0.0
    assert normalize(2560, M, NormMode.RANGE_M100_100) == pytest.approx((2560 - 1024) / 2048 * 200 - 100)
    assert normalize(500, M, NormMode.RANGE_M100_100) == -100.0  # clipped
    assert normalize(4000, M, NormMode.RANGE_M100_100) == 100.0


def test_range_0_100_and_drive_mode():
    assert normalize(1536, M, NormMode.RANGE_0_100) == pytest.approx(25.0)
    flipped = MotorCalibration(1, 1, 0, 1024, 3072)
    assert normalize(1536, flipped, NormMode.RANGE_0_100) == pytest.approx(75.0)
    assert normalize(2560, flipped, NormMode.RANGE_M100_100) == pytest.approx(-50.0)


def test_degrees_is_not_clipped():
    # (raw - mid) * 360 / 4095, mid = (min + max) / 2
    assert normalize(2048, M, NormMode.DEGREES) == 0.0
    assert normalize(3072 + 4095 // 4, M, NormMode.DEGREES) == pytest.approx(
        (3072 + 1023 - 2048) * 360 / 4095
    )
    assert normalize(0, M, NormMode.DEGREES) == pytest.approx(-2048 * 360 / 4095)


def test_unnormalize_is_the_truncated_inverse():
    for mode, values in (
        (NormMode.RANGE_M100_100, (-100, -33.3, 0, 12.7, 100)),
        (NormMode.RANGE_0_100, (0, 42.42, 100)),
        (NormMode.DEGREES, (-90.0, 0.0, 33.3)),
    ):
        for v in values:
            raw = unnormalize(v, M, mode)
            if mode is NormMode.RANGE_M100_100:
                expected = int((v + 100) / 200 * 2048 + 1024)
            elif mode is NormMode.RANGE_0_100:
                expected = int(v / 100 * 2048 + 1024)
            else:
                expected = int(v * 4095 / 360 + 2048)
            assert raw == expected
            assert (
                abs(normalize(raw, M, mode) - v)
                <= (200 / 2048 if mode is not NormMode.DEGREES else 360 / 4095) + 1e-9
            )
    assert unnormalize(150, M, NormMode.RANGE_M100_100) == 3072  # clamped to the range


def test_vectorised_normalizer_matches_units_module():
    cal = Calibration(
        {j: MotorCalibration(i + 1, 0, 0, 900 + 10 * i, 3100 - 20 * i) for i, j in enumerate(JOINTS)}
    )
    raw = np.array([[1000, 1500, 2000, 2500, 3000, 2100], [950, 3050, 1200, 2222, 1800, 3000]])
    ours = Normalizer(cal, LEISAAC_NORM_MODES).normalize(raw)
    space = JointSpace(JOINTS, Unit.RAW_TICKS, tuple(UnitsMotor(**vars(cal[j])) for j in JOINTS))
    np.testing.assert_allclose(ours, space.convert(raw, Unit.LEROBOT_RANGE), atol=1e-9)
    degrees = Normalizer(cal, DEGREES_NORM_MODES).normalize(raw)
    np.testing.assert_allclose(degrees[:, :5], space.convert(raw, Unit.LEROBOT_DEGREES)[:, :5], atol=1e-9)


def test_homing_offsets_from_the_middle_pose():
    assert homing_offsets_from_middle({"a": 2047, "b": 1891, "c": 4000}) == {"a": 0, "b": -156, "c": 1953}
    with pytest.raises(CalibrationError, match="Magnitude 2114 exceeds 2047"):
        homing_offsets_from_middle({"wrist_roll": 2047 + 2114})


def test_range_recorder():
    rec = RangeRecorder(["a", "b", "w"], full_turn=["w"])
    for a, b in ((2000, 1500), (2100, 1500), (1900, 1500)):
        rec.update({"a": a, "b": b, "w": 7})
    with pytest.raises(CalibrationError, match="b: range_min == range_max"):
        rec.ranges()
    rec.update({"a": 2000, "b": 1600, "w": 7})
    assert rec.ranges() == {"a": (1900, 2100), "b": (1500, 1600), "w": (0, 4095)}


def test_json_round_trip_is_lerobot_shaped(tmp_path):
    cal = build_calibration(
        {j: i * 10 - 20 for i, j in enumerate(JOINTS)},
        {j: (1000 + i, 3000 - i) for i, j in enumerate(JOINTS)},
    )
    path = save_calibration(cal, tmp_path / "so_leader" / "my_leader.json")
    data = json.loads(path.read_text())
    assert list(data) == list(JOINTS)
    assert data["shoulder_pan"] == {
        "id": 1,
        "drive_mode": 0,
        "homing_offset": -20,
        "range_min": 1000,
        "range_max": 3000,
    }
    assert path.read_text().startswith('{\n    "shoulder_pan": {\n        "id": 1,')
    assert load_calibration(path) == cal


def test_loading_an_existing_lerobot_file_and_clear_errors(tmp_path):
    lerobot = {
        j: {
            "id": i + 1,
            "drive_mode": 0,
            "homing_offset": [-156, 89, 0, 0, 0, 0][i],
            "range_min": 1024,
            "range_max": 3072,
        }
        for i, j in enumerate(JOINTS)
    }
    path = tmp_path / "so101_follower.json"
    path.write_text(json.dumps(lerobot, indent=4))
    cal = load_calibration(path)
    assert cal["shoulder_lift"].homing_offset == 89 and cal["gripper"].id == 6
    (tmp_path / "broken.json").write_text('{"shoulder_pan": {"id": 1}}')
    with pytest.raises(CalibrationError, match="lacks or mangles"):
        load_calibration(tmp_path / "broken.json")
    with pytest.raises(CalibrationError, match="not found"):
        load_calibration(tmp_path / "missing.json")
    bad = dict(lerobot, gripper={**lerobot["gripper"], "range_min": 3072})
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(CalibrationError, match="gripper: range_min 3072 is not below"):
        load_calibration(tmp_path / "bad.json")


def test_calibration_paths_follow_lerobot(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path))
    assert calibration_root() == tmp_path
    assert default_path("leader", "me") == tmp_path / "teleoperators" / "so_leader" / "me.json"
    old = tmp_path / "robots" / "so101_follower" / "arm.json"
    old.parent.mkdir(parents=True)
    old.write_text("{}")
    assert default_path("follower", "arm") == old  # an existing file in the older folder wins
    monkeypatch.delenv("HF_LEROBOT_CALIBRATION")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert calibration_root() == tmp_path / "hf" / "lerobot" / "calibration"

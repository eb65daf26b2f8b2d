"""Alignment recovers known offsets and fps ratios; comparisons run in one unit on one timeline."""

from __future__ import annotations

import numpy as np
import pytest

from backend.compare.align import align, estimate_offset, estimate_scale_offset, grid, resample
from backend.compare.core import Trajectory, common_unit, compare_trajectories
from backend.errors import StudioError
from backend.units import JointSpace, Unit
from tests.compare_data import DEG, RAD, motion_deg


def smooth(t: np.ndarray) -> np.ndarray:
    return motion_deg(t, 1)[:, :5]


def test_resample_is_exact_for_linear_motion_and_clamps_outside():
    fps = 16.0
    values = np.stack([np.arange(40) / fps * 3.0 + 1.0, -np.arange(40) / fps], 1)
    t = np.array([0.0, 0.01, 1.234, 2.4375, 5.0])
    out = resample(values, fps, t)
    expected = np.stack([3.0 * t + 1.0, -t], 1)
    expected[-1] = values[-1]  # beyond the last sample: clamped
    assert out == pytest.approx(expected, abs=1e-12)
    assert grid(0.0, 1.0, 30.0)[-1] == pytest.approx(1.0) and len(grid(0.0, 1.0, 30.0)) == 31


@pytest.mark.parametrize("delay", [0.4, -0.7, 1.234, 0.0])
@pytest.mark.parametrize(("fps_a", "fps_b"), [(30.0, 16.0), (30.0, 30.0), (16.0, 60.0)])
def test_offset_estimate_recovers_a_known_delay_across_fps(delay, fps_a, fps_b):
    a = smooth(np.arange(0, 12, 1 / fps_a))
    b = smooth(np.arange(0, 10, 1 / fps_b) - delay)  # B(t) = A(t - delay): B is late by delay
    offset, cost = estimate_offset(a, fps_a, b, fps_b)
    assert offset == pytest.approx(delay, abs=0.01)
    assert cost < 0.5


def test_offset_search_can_be_limited():
    a = smooth(np.arange(0, 12, 1 / 30))
    b = smooth(np.arange(0, 10, 1 / 30) - 1.5)
    limited, _ = estimate_offset(a, 30, b, 30, max_offset_s=1.0)
    assert abs(limited) <= 1.0 + 1e-9


def test_scale_estimate_recovers_the_fps_ratio_of_a_mislabelled_video():
    """Frames taken at 30 fps but declared 16 fps: B's clock runs 30/16 times slower."""
    a = smooth(np.arange(0, 12, 1 / 30))
    frames = np.arange(200)
    b = smooth(frames / 30.0 - 0.3)  # frame i shows the motion at i/30 - 0.3 s ...
    scale, offset, _ = estimate_scale_offset(a, 30.0, b, 16.0)  # ... but says it is at i/16 s
    assert scale == pytest.approx(30.0 / 16.0, rel=2e-3)
    assert 16.0 * scale == pytest.approx(30.0, rel=2e-3)  # the fps B's frames really have
    assert offset == pytest.approx(0.3 * 30.0 / 16.0, abs=0.02)  # t_b = scale * (t_a + 0.3)
    alignment = align(a, 30.0, b, 16.0, "scale")
    assert alignment.b_time(2.0) == pytest.approx(scale * 2.0 + offset, rel=1e-9)
    assert alignment.a_time(alignment.b_time(3.3)) == pytest.approx(3.3)


def test_dtw_recovers_a_nonlinear_time_warp():
    ta = np.arange(0, 10, 1 / 30)
    a = smooth(ta)
    tb = np.arange(0, 10, 1 / 16)
    warp = tb + 0.35 * np.sin(2 * np.pi * tb / 10)  # B's clock runs ahead then behind
    b = smooth(warp)  # B(t_b) = A(warp(t_b))
    alignment = align(a, 30.0, b, 16.0, "dtw", band_s=1.0)
    # for A time s, B's matching time is warp^-1(s)
    probe = np.linspace(1.5, 8.5, 15)
    expected = np.interp(probe, warp, tb)
    assert alignment.b_time(probe) == pytest.approx(expected, abs=0.07)
    assert alignment.warp is not None and np.all(np.diff(alignment.warp, axis=0) >= 0)


def test_compare_converts_units_and_matches_joint_order():
    t30, t16 = np.arange(0, 6, 1 / 30), np.arange(0, 6, 1 / 16)
    deg_a, deg_b = motion_deg(t30), motion_deg(t16)
    names_b = (
        "gripper.pos",
        "shoulder_pan.pos",
        "shoulder_lift.pos",
        "elbow_flex.pos",
        "wrist_flex.pos",
        "wrist_roll.pos",
    )
    order = [5, 0, 1, 2, 3, 4]
    lerobot = DEG.convert(deg_b, Unit.LEROBOT_RANGE)[:, order]
    a = Trajectory(DEG.convert(deg_a, Unit.RADIANS), 30.0, RAD, "A")
    b = Trajectory(lerobot, 16.0, JointSpace(names_b, Unit.LEROBOT_RANGE), "B")
    result = compare_trajectories(a, b, "none")
    out = result.to_json()
    assert out["units"] == "deg" and out["source_units"] == {"a": "rad", "b": "lerobot"}
    assert list(out["joints"]) == list(RAD.names)
    for name, m in out["joints"].items():
        assert set(m) >= {"mae", "rmse", "max_abs", "dtw"}
        assert m["mae"] < 0.2, name  # only linear-interpolation error of the 16 fps side
    assert out["offset_s"] == 0.0
    assert result.ee is not None and result.ee["max_mm"] < 3.0


def test_compare_recovers_delay_and_reports_it():
    a = Trajectory(motion_deg(np.arange(0, 8, 1 / 30)), 30.0, DEG, "A")
    b = Trajectory(motion_deg(np.arange(0, 6, 1 / 16) - 0.5), 16.0, DEG, "B")
    raw = compare_trajectories(a, b, "none")
    aligned = compare_trajectories(a, b, "offset")
    assert aligned.alignment.offset_s == pytest.approx(0.5, abs=0.02)
    assert aligned.summary()["rmse"] < 0.1 * raw.summary()["rmse"]
    # compared on B's own 16 fps samples (the slower side), from where B reaches A's start
    assert aligned.times[0] == pytest.approx(0.0, abs=1 / 16) and aligned.b_times[0] == pytest.approx(
        0.5, abs=1 / 16
    )
    assert np.diff(aligned.b_times) == pytest.approx(np.full(len(aligned.b_times) - 1, 1 / 16))
    # gripper events line up after alignment, and are late by the delay before it
    assert aligned.gripper["gripper"].max_abs_dt_s < 0.03
    assert [m["dt_s"] for m in raw.gripper["gripper"].matched] == pytest.approx([0.5, 0.5], abs=0.03)


def test_units_that_cannot_be_compared_say_so():
    so101 = JointSpace.so101(Unit.RADIANS)
    other6 = JointSpace(tuple(f"x{i}" for i in range(6)), Unit.OTHER)
    other8 = JointSpace(tuple(f"x{i}" for i in range(8)), Unit.OTHER)
    with pytest.raises(StudioError, match="declare the unit of side B"):
        common_unit(so101, other6)
    with pytest.raises(StudioError, match="width 6 and 8"):
        common_unit(other6, other8)
    assert common_unit(other6, other6) is Unit.OTHER
    values = np.random.default_rng(0).normal(size=(50, 6))
    result = compare_trajectories(Trajectory(values, 30, other6), Trajectory(values + 1, 30, other6))
    assert result.to_json()["units"] == "other"
    assert result.summary()["mae"] == pytest.approx(1.0)
    assert result.ee is None


def test_no_overlap_is_a_clear_error():
    a = Trajectory(motion_deg(np.arange(0, 2, 1 / 30)), 30.0, DEG, "A")
    b = Trajectory(motion_deg(np.arange(0, 2, 1 / 30)), 30.0, DEG, "B")
    with pytest.raises(StudioError, match="do not overlap"):
        compare_trajectories(a, b, "none", offset_s=5.0)
    with pytest.raises(StudioError, match="unknown alignment"):
        compare_trajectories(a, b, "wiggle")

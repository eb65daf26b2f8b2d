"""Metrics on constructed trajectories with known answers: shift, scale, noise, jerk, gripper events."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.compare.align import _band_windows, dtw_distance, dtw_path
from backend.compare.metrics import compare_gripper, correlation, gripper_events, jerk_rms, joint_metrics

RATE = 30.0
T = np.arange(0, 10, 1 / RATE)


def base_signal() -> np.ndarray:
    """Three zero-mean joints with different shapes."""
    return np.stack(
        [20 * np.sin(0.7 * T), 35 * np.sin(1.3 * T + 1) * np.cos(0.2 * T), 10 * np.sin(2.9 * T)], 1
    )


def test_constant_shift_gives_shift_for_every_metric():
    a = base_signal()
    shift = np.array([1.5, -2.0, 0.25])
    m = joint_metrics(a, a + shift, T)
    for j, c in enumerate(shift):
        assert m[j].mae == pytest.approx(abs(c), abs=1e-12)
        assert m[j].rmse == pytest.approx(abs(c), abs=1e-12)
        assert m[j].max_abs == pytest.approx(abs(c), abs=1e-12)
        assert m[j].bias == pytest.approx(c, abs=1e-12)
        assert m[j].corr == pytest.approx(1.0, abs=1e-12)
    # warping may hide part of a shift of a moving signal, never add to it; a still one keeps it all
    assert np.all(dtw_distance(a, a + shift, band=30) <= np.abs(shift) + 1e-12)
    still = np.zeros_like(a)
    assert dtw_distance(still, still + shift, band=30) == pytest.approx(np.abs(shift), abs=1e-12)


def test_scale_error_is_proportional_to_the_signal():
    a = base_signal()
    k = 1.2
    m = joint_metrics(a, k * a, T)
    for j in range(3):
        assert m[j].mae == pytest.approx((k - 1) * np.abs(a[:, j]).mean(), rel=1e-12)
        assert m[j].rmse == pytest.approx((k - 1) * np.sqrt((a[:, j] ** 2).mean()), rel=1e-12)
        assert m[j].max_abs == pytest.approx((k - 1) * np.abs(a[:, j]).max(), rel=1e-12)
        assert m[j].t_max_abs_s == pytest.approx(T[np.abs(a[:, j]).argmax()])
        assert m[j].corr == pytest.approx(1.0, abs=1e-12)  # scale does not change the shape


def test_gaussian_noise_statistics():
    a = base_signal()
    sigma = 0.8
    noise = np.random.default_rng(7).normal(0, sigma, (20000, 3))
    long_a = np.tile(a, (int(math.ceil(20000 / len(a))), 1))[:20000]
    m = joint_metrics(long_a, long_a + noise)
    for j in range(3):
        assert m[j].rmse == pytest.approx(sigma, rel=0.03)
        assert m[j].mae == pytest.approx(sigma * math.sqrt(2 / math.pi), rel=0.03)
        assert abs(m[j].bias) < 0.05
        assert m[j].corr > 0.99
    # DTW can only do better than the diagonal on equal lengths
    short = joint_metrics(a, a + noise[: len(a)])
    dtw = dtw_distance(a, a + noise[: len(a)], band=15)
    for j in range(3):
        assert 0 < dtw[j] <= short[j].mae + 1e-12


def test_correlation_none_for_constant_and_negative_for_mirror():
    a = base_signal()
    const = np.zeros_like(a)
    assert correlation(a, const) == [None, None, None]
    assert correlation(a, -a) == pytest.approx([-1.0, -1.0, -1.0])
    m = joint_metrics(const, const)
    assert m[0].corr is None and m[0].mae == 0.0


def _dtw_brute(a: np.ndarray, b: np.ndarray, band: int) -> float:
    n, m = len(a), len(b)
    lo, hi = _band_windows(n, m, band)
    d = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(lo[i], hi[i] + 1):
            c = np.abs(a[i] - b[j]).sum()
            prev = min(
                d[i - 1, j - 1] if i and j else np.inf,
                d[i - 1, j] if i else np.inf,
                d[i, j - 1] if j else np.inf,
            )
            d[i, j] = c + (0.0 if i == 0 and j == 0 else prev)
    return d[-1, -1] / max(n, m)


@pytest.mark.parametrize(
    ("n", "m", "band"), [(40, 40, 4), (30, 55, 3), (60, 25, 5), (20, 20, 100), (1, 7, 2)]
)
def test_dtw_matches_the_full_matrix_inside_the_band(n, m, band):
    rng = np.random.default_rng(n * 100 + m)
    a, b = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    per_joint = dtw_distance(a, b, band)
    assert per_joint == pytest.approx([_dtw_brute(a[:, [j]], b[:, [j]], band) for j in range(2)], abs=1e-12)
    path, total = dtw_path(a, b, band)
    assert total == pytest.approx(_dtw_brute(a, b, band), abs=1e-12)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (n - 1, m - 1)
    steps = np.diff(path, axis=0)
    assert np.all((steps >= 0) & (steps <= 1)) and np.all(steps.sum(axis=1) >= 1)
    assert np.abs(a[path[:, 0]] - b[path[:, 1]]).sum() / max(n, m) == pytest.approx(total, abs=1e-12)


def test_dtw_absorbs_a_time_shift_that_pointwise_metrics_see():
    a = base_signal()
    delayed = np.vstack([np.repeat(a[:1], 6, axis=0), a[:-6]])  # 0.2 s late
    pointwise = np.array([m.mae for m in joint_metrics(a, delayed)])
    warped = dtw_distance(a, delayed, band=15)
    assert np.all(warped < 0.2 * pointwise)


def test_jerk_of_a_cubic_is_exact_and_noise_raises_it():
    t = np.arange(0, 2, 1 / RATE)
    cubic = np.stack([0.5 * t**3, -2.0 * t**3 + t], 1)
    assert jerk_rms(cubic, RATE) == pytest.approx([3.0, 12.0], rel=1e-6)  # 6 * c
    smooth = np.stack([np.sin(t)], 1)
    noisy = smooth + np.random.default_rng(1).normal(0, 0.01, smooth.shape)
    assert jerk_rms(noisy, RATE)[0] > 20 * jerk_rms(smooth, RATE)[0]
    assert jerk_rms(smooth[:3], RATE).tolist() == [0.0]


def _gripper(times: np.ndarray, close_at: list[float], open_at: list[float]) -> np.ndarray:
    """1 (open) .. 0 (closed) with linear 0.2 s ramps centred on the given times."""
    value = np.ones_like(times)
    for c, o in zip(close_at, open_at, strict=True):
        value -= np.clip((times - c) / 0.2 + 0.5, 0, 1) - np.clip((times - o) / 0.2 + 0.5, 0, 1)
    return 100 * value


def test_gripper_events_timing_by_hysteresis():
    t = np.arange(0, 10, 1 / 30)
    g = _gripper(t, [2.0, 6.0], [4.0, 8.0])
    events = gripper_events(g, t, close_below=35.0, open_above=65.0)
    assert [e.kind for e in events] == ["close", "open", "close", "open"]
    # down-ramp 100 * (0.5 - (t - c) / 0.2) crosses 35 at c + 0.03; up-ramp crosses 65 at o + 0.03
    assert [e.time_s for e in events] == pytest.approx([2.03, 4.03, 6.03, 8.03], abs=1e-9)
    # noise inside the hysteresis band makes no events
    jitter = 50 + 10 * np.sin(40 * t)
    assert gripper_events(jitter, t, 35.0, 65.0) == []


def test_gripper_comparison_timing_missed_and_extra():
    ta = np.arange(0, 10, 1 / 30)
    tb = np.arange(0, 10, 1 / 16)
    a = _gripper(ta, [2.0, 6.0], [4.0, 8.0])
    late = _gripper(tb, [2.25, 6.25], [4.25, 8.25])
    result = compare_gripper(a, ta, late, tb)
    assert len(result.matched) == 4
    assert [m["dt_s"] for m in result.matched] == pytest.approx([0.25] * 4, abs=1e-9)
    assert result.unmatched_a == 0 and result.unmatched_b == 0
    assert result.max_abs_dt_s == pytest.approx(0.25, abs=1e-9)
    # B never re-grasps: the second close/open pair is missed
    once = _gripper(tb, [2.1], [4.1])
    result = compare_gripper(a, ta, once, tb)
    assert len(result.matched) == 2 and result.unmatched_a == 2 and result.unmatched_b == 0
    # B grasps three times: one extra pair
    thrice = _gripper(tb, [2.0, 6.0, 9.0], [4.0, 8.0, 9.6])
    result = compare_gripper(a, ta, thrice, tb)
    assert len(result.matched) == 4 and result.unmatched_b == 2
    # events outside the common span count neither way
    result = compare_gripper(a, ta, once, tb, span=(0.0, 5.0))
    assert result.unmatched_a == 0 and len(result.matched) == 2
    # a gripper that does not move has no thresholds
    assert compare_gripper(np.full(50, 30.0), ta[:50], np.full(50, 30.2), ta[:50]).thresholds is None

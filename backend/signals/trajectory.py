"""Trajectory far from the others of its task: DTW distance to the task's medoid.

Each episode's body-joint trajectory is resampled to ``TRAJECTORY_POINTS`` points (so episodes of any
length compare, and 1,000 episodes of 300 frames stay fast), DTW is banded (Sakoe-Chiba,
``TRAJECTORY_BAND`` of the points) and computed for many episodes at once with numpy. The medoid is
found in two steps: the few episodes closest to all others in plain (Euclidean) distance are the
candidates, and the candidate with the smallest total DTW distance to the task's episodes wins. An
episode fires when its distance is over ``TRAJECTORY_FACTOR`` times the task's median distance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.signals.base import Reading
from backend.signals.specs import (
    TRAJECTORY_BAND,
    TRAJECTORY_FACTOR,
    TRAJECTORY_MIN_EPISODES,
    TRAJECTORY_POINTS,
)

CANDIDATES = 8  # Euclidean-closest episodes tried as the DTW medoid


def resample(values: np.ndarray, points: int = TRAJECTORY_POINTS) -> np.ndarray:
    """(points, N) the (T, N) trajectory linearly resampled to ``points`` frames."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if len(values) == 0:
        return np.zeros((points, values.shape[1]))
    grid = np.linspace(0, len(values) - 1, points)
    low = np.floor(grid).astype(np.int64)
    high = np.minimum(low + 1, len(values) - 1)
    weight = (grid - low)[:, None]
    return values[low] * (1 - weight) + values[high] * weight


def dtw_to(series: np.ndarray, reference: np.ndarray, band: int) -> np.ndarray:
    """Banded DTW distance of each of (E, P, N) ``series`` to the (P, N) ``reference``: the cheapest
    warping path's summed Euclidean cost, divided by P (units of the values per point)."""
    count, points, _ = series.shape
    width = 2 * band + 1
    inf = np.inf
    # cost[e, i, k]: distance of series point i to reference point i + k - band
    cost = np.full((count, points, width), inf)
    for k in range(width):
        shift = k - band
        lo, hi = max(0, -shift), min(points, points - shift)
        if lo < hi:
            delta = series[:, lo:hi] - reference[lo + shift: hi + shift][None]
            cost[:, lo:hi, k] = np.sqrt((delta * delta).sum(axis=2))
    total = np.full((count, width), inf)  # row i - 1 of the accumulated cost, by band offset
    for i in range(points):
        row = np.full((count, width), inf)
        for k in range(width):
            j = i + k - band
            if j < 0 or j >= points:
                continue
            if i == 0 and j == 0:
                row[:, k] = cost[:, 0, k]
                continue
            best = np.full(count, inf)
            if i > 0:
                best = np.minimum(best, total[:, k])  # (i-1, j-1): same offset
                if k + 1 < width:
                    best = np.minimum(best, total[:, k + 1])  # (i-1, j): offset + 1
            if k > 0:
                best = np.minimum(best, row[:, k - 1])  # (i, j-1)
            row[:, k] = cost[:, i, k] + best
        total = row
    return total[:, band] / points


def medoid_distances(trajectories: Sequence[np.ndarray], points: int = TRAJECTORY_POINTS,
                     band_fraction: float = TRAJECTORY_BAND) -> tuple[int, np.ndarray]:
    """(position of the medoid, DTW distance of each trajectory to it) for same-width trajectories."""
    series = np.stack([resample(t, points) for t in trajectories])
    band = max(1, int(np.ceil(band_fraction * points)))
    flat = series.reshape(len(series), -1)
    squares = (flat * flat).sum(axis=1)
    gram = np.maximum(squares[:, None] + squares[None, :] - 2 * flat @ flat.T, 0.0)
    candidates = np.argsort(np.sqrt(gram).sum(axis=1), kind="stable")[:CANDIDATES]
    best, best_total, best_distances = int(candidates[0]), np.inf, np.zeros(len(series))
    for c in candidates:
        distances = dtw_to(series, series[c], band)
        total = float(distances.sum())
        if total < best_total:
            best, best_total, best_distances = int(c), total, distances
    return best, best_distances


def trajectory_outliers(tracks: dict[int, np.ndarray], task: str = "") -> dict[int, Reading]:
    """Per episode (index -> (T, N) body-joint values of one task): its distance to the task's medoid
    over the task's median distance. Tasks with fewer than TRAJECTORY_MIN_EPISODES get no reading."""
    if len(tracks) < TRAJECTORY_MIN_EPISODES:
        return {}
    order = sorted(tracks)
    medoid, distances = medoid_distances([tracks[i] for i in order])
    median = float(np.median(distances))
    scale = median if median > 0 else 1.0
    readings: dict[int, Reading] = {}
    named = f" of task {task!r}" if task else ""
    for position, index in enumerate(order):
        ratio = float(distances[position] / scale) if median > 0 else 0.0
        fired = median > 0 and ratio > TRAJECTORY_FACTOR
        readings[index] = Reading(
            "trajectory_outlier", ratio, TRAJECTORY_FACTOR, fired,
            f"the trajectory is {ratio:.1f} times the median DTW distance ({median:.3g} per point) from "
            f"episode {order[medoid]}, the medoid of the {len(order)} episodes{named}",
        )
    return readings

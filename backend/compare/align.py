"""Time alignment of two joint trajectories recorded at different rates and lengths.

Every trajectory is a (T, J) array sampled at ``i / fps`` seconds. Alignment maps A's time to B's:

    t_b = scale * t_a + offset_s

- ``none``: scale 1, offset 0 (both start together, each at its own fps).
- ``offset``: a constant offset found by least squares over all lags (FFT cross-correlation).
  ``offset_s > 0`` means B is late: B(t + offset_s) matches A(t).
- ``scale``: offset and a time scale (B's motion runs ``scale`` times slower than its declared fps
  says: a video generated at 16 fps from 30 fps frames has scale 30/16).
- ``dtw``: a monotone time warp from dynamic time warping with a Sakoe-Chiba band.

DTW here is O(N * band) in time and memory: rows are swept one at a time and the in-row recurrence
``D[i, j] = min(u_j, c_j + D[i, j-1])`` is solved in closed form with a cumulative minimum, so the
Python loop runs once per row, vectorised over the band (and over joints for per-joint distances).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from backend.errors import StudioError

ALIGN_MODES = ("none", "offset", "scale", "dtw")


# -- sampling -------------------------------------------------------------------------------------
def sample_times(length: int, fps: float) -> np.ndarray:
    return np.arange(int(length), dtype=np.float64) / float(fps)


def duration(length: int, fps: float) -> float:
    """Seconds between the first and the last sample."""
    return max(int(length) - 1, 0) / float(fps)


def grid(start: float, stop: float, rate: float) -> np.ndarray:
    """Times start, start + 1/rate, ... up to stop (inclusive within a small tolerance)."""
    if stop < start:
        return np.zeros(0)
    count = int(math.floor((stop - start) * rate + 1e-6)) + 1
    return start + np.arange(count, dtype=np.float64) / rate


def resample(values: np.ndarray, fps: float, times: np.ndarray) -> np.ndarray:
    """Linear interpolation of (T, J) ``values`` sampled at i / fps, at ``times`` (seconds).

    Times outside the recorded span are clamped to the first/last sample.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    count = len(values)
    if count == 0:
        raise StudioError("cannot resample an empty trajectory")
    if count == 1:
        return np.repeat(values, len(times), axis=0)
    pos = np.clip(np.asarray(times, dtype=np.float64) * fps, 0.0, count - 1.0)
    left = np.minimum(np.floor(pos).astype(np.int64), count - 2)
    frac = (pos - left)[:, None]
    return values[left] * (1.0 - frac) + values[left + 1] * frac


# -- alignment result -----------------------------------------------------------------------------
@dataclass
class Alignment:
    mode: str = "none"
    offset_s: float = 0.0
    scale: float = 1.0
    rate_hz: float = 30.0
    # dtw only: matched times (K, 2) of A and B in seconds, monotone in both columns
    warp: np.ndarray | None = field(default=None, repr=False)
    cost: float | None = None  # mean squared difference at the optimum (offset/scale), for diagnostics

    def b_time(self, t_a: np.ndarray | float) -> np.ndarray:
        """B's time (seconds) matching A's time ``t_a``."""
        t_a = np.asarray(t_a, dtype=np.float64)
        if self.warp is not None and len(self.warp) > 1:
            ta, tb = _monotone_map(self.warp[:, 0], self.warp[:, 1])
            return np.interp(t_a, ta, tb)
        return self.scale * t_a + self.offset_s

    def a_time(self, t_b: np.ndarray | float) -> np.ndarray:
        """A's time matching B's time ``t_b`` (inverse of ``b_time``)."""
        t_b = np.asarray(t_b, dtype=np.float64)
        if self.warp is not None and len(self.warp) > 1:
            tb, ta = _monotone_map(self.warp[:, 1], self.warp[:, 0])
            return np.interp(t_b, tb, ta)
        return (t_b - self.offset_s) / self.scale

    def to_json(self) -> dict:
        out = {
            "mode": self.mode,
            "offset_s": float(self.offset_s),
            "scale": float(self.scale),
            "rate_hz": float(self.rate_hz),
        }
        if self.warp is not None and len(self.warp):
            lag = self.warp[:, 1] - self.warp[:, 0]
            out["warp_lag_s"] = {"min": float(lag.min()), "max": float(lag.max()), "mean": float(lag.mean())}
        return out


def _monotone_map(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collapse repeated x (a DTW path has several B samples per A sample) to their mean y."""
    ux, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, weights=y)
    counts = np.bincount(inverse)
    uy = np.maximum.accumulate(sums / counts)
    return ux, uy


# -- constant offset ------------------------------------------------------------------------------
def _lag_costs(a: np.ndarray, b: np.ndarray, min_overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared difference for every integer lag k (B index = A index + k), via FFT.

    Returns (lags, cost) for lags whose overlap has at least ``min_overlap`` samples.
    """
    n, m = len(a), len(b)
    size = 1 << int(math.ceil(math.log2(n + m)))
    # cross[k] = sum_i a[i] * b[i + k] for k in -(n-1) .. m-1
    fa = np.fft.rfft(a[::-1], size, axis=0)
    fb = np.fft.rfft(b, size, axis=0)
    full = np.fft.irfft(fa * fb, size, axis=0)[: n + m - 1].sum(axis=1)  # index k + n - 1
    lags = np.arange(-(n - 1), m)
    lo = np.maximum(0, -lags)  # first A index of the overlap
    hi = np.minimum(n, m - lags)  # one past the last A index
    overlap = hi - lo
    ca = np.concatenate([[0.0], np.cumsum((a * a).sum(axis=1))])
    cb = np.concatenate([[0.0], np.cumsum((b * b).sum(axis=1))])
    sum_a2 = ca[hi] - ca[lo]
    sum_b2 = cb[hi + lags] - cb[lo + lags]
    with np.errstate(invalid="ignore", divide="ignore"):
        cost = (sum_a2 + sum_b2 - 2.0 * full) / np.maximum(overlap, 1) / a.shape[1]
    keep = overlap >= min_overlap
    return lags[keep], np.maximum(cost[keep], 0.0)


def _parabolic(costs: np.ndarray, k: int) -> float:
    if 0 < k < len(costs) - 1:
        c0, c1, c2 = costs[k - 1], costs[k], costs[k + 1]
        denom = c0 - 2.0 * c1 + c2
        if denom > 1e-12:
            return float(np.clip(0.5 * (c0 - c2) / denom, -0.5, 0.5))
    return 0.0


def estimate_offset(
    a: np.ndarray,
    fps_a: float,
    b: np.ndarray,
    fps_b: float,
    max_offset_s: float | None = None,
    rate: float | None = None,
    min_overlap: float = 0.5,
) -> tuple[float, float]:
    """Constant offset (seconds, B late > 0) minimising the mean squared difference; and that cost.

    ``min_overlap`` is the least fraction of the shorter trajectory that must overlap.
    """
    rate = float(rate or max(fps_a, fps_b))
    ga = resample(a, fps_a, grid(0.0, duration(len(a), fps_a), rate))
    gb = resample(b, fps_b, grid(0.0, duration(len(b), fps_b), rate))
    need = max(2, int(min_overlap * min(len(ga), len(gb))))
    lags, costs = _lag_costs(ga, gb, need)
    if max_offset_s is not None:
        keep = np.abs(lags) <= max_offset_s * rate + 1e-9
        lags, costs = lags[keep], costs[keep]
    if not len(lags):
        raise StudioError("trajectories do not overlap enough to estimate an offset")
    k = int(np.argmin(costs))
    return float((lags[k] + _parabolic(costs, k)) / rate), float(costs[k])


def estimate_scale_offset(
    a: np.ndarray,
    fps_a: float,
    b: np.ndarray,
    fps_b: float,
    scales: tuple[float, float] = (0.4, 2.5),
    max_offset_s: float | None = None,
    rate: float | None = None,
) -> tuple[float, float, float]:
    """(scale, offset_s, cost) with t_b = scale * t_a + offset_s, by a log-spaced search + refinement."""
    rate = float(rate or max(fps_a, fps_b))

    def evaluate(scale: float) -> tuple[float, float]:
        # B seen on a clock ``scale`` times faster: B'(u) = B(scale * u) with u in A seconds
        dur_b = duration(len(b), fps_b) / scale
        gb = resample(b, fps_b, grid(0.0, dur_b, rate) * scale)
        limit = None if max_offset_s is None else max_offset_s / scale
        offset_u, cost = estimate_offset(a, fps_a, gb, rate, max_offset_s=limit, rate=rate)
        return offset_u * scale, cost

    candidates = np.exp(np.linspace(math.log(scales[0]), math.log(scales[1]), 33))
    results = []
    for s in candidates:
        try:
            results.append((evaluate(float(s))[1], float(s)))
        except StudioError:
            continue
    if not results:
        raise StudioError("trajectories do not overlap enough to estimate a time scale")
    _, best = min(results)
    # golden-section refinement in log-scale around the best grid point
    step = math.log(candidates[1] / candidates[0]) if len(candidates) > 1 else 0.1
    lo, hi = math.log(best) - step, math.log(best) + step
    golden = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - golden * (hi - lo), lo + golden * (hi - lo)

    def cost_at(x: float) -> float:
        try:
            return evaluate(math.exp(x))[1]
        except StudioError:
            return math.inf

    f1, f2 = cost_at(x1), cost_at(x2)
    for _ in range(18):  # the bracket shrinks to 0.618^18 ~ 2e-4 of a grid step
        if f1 < f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - golden * (hi - lo)
            f1 = cost_at(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + golden * (hi - lo)
            f2 = cost_at(x2)
    scale = math.exp((lo + hi) / 2.0)
    offset, cost = evaluate(scale)
    return scale, offset, cost


# -- dynamic time warping --------------------------------------------------------------------------
def _band_windows(n: int, m: int, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row column windows [lo, hi] of a Sakoe-Chiba band around the (slanted) diagonal."""
    slope = (m - 1) / (n - 1) if n > 1 else 0.0
    width = max(int(band), int(math.ceil(slope)) + 1)
    centre = np.arange(n) * slope
    lo = np.clip(np.ceil(centre - width), 0, m - 1).astype(np.int64)
    hi = np.clip(np.floor(centre + width), 0, m - 1).astype(np.int64)
    lo[0] = 0
    hi[-1] = m - 1
    return lo, hi


def _dtw_rows(a: np.ndarray, b: np.ndarray, band: int, keep_rows: bool):
    """Sweep the band row by row. a (N, J), b (M, J); cost |a_i - b_j| per joint, shape (J,).

    Returns the last row (J, width) with its lo, and (if ``keep_rows``) every row for backtracking.
    """
    n, m = len(a), len(b)
    lo, hi = _band_windows(n, m, band)
    at, bt = a.T, b.T  # (J, N), (J, M)
    rows = [] if keep_rows else None
    prev = None
    plo = phi = 0
    for i in range(n):
        left, h = int(lo[i]), int(hi[i])
        cost = np.abs(bt[:, left : h + 1] - at[:, i : i + 1])  # (J, W)
        if prev is None:
            row = np.cumsum(cost, axis=1)
        else:
            # previous row values at columns l-1 .. h (inf outside its window)
            padded = np.full((cost.shape[0], h - left + 2), np.inf)
            s, e = max(plo, left - 1), min(phi, h)
            if s <= e:
                padded[:, s - (left - 1) : e - (left - 1) + 1] = prev[:, s - plo : e - plo + 1]
            u = cost + np.minimum(padded[:, :-1], padded[:, 1:])  # diagonal (j-1) and vertical (j)
            csum = np.cumsum(cost, axis=1)
            with np.errstate(invalid="ignore"):
                row = csum + np.minimum.accumulate(u - csum, axis=1)
        if keep_rows:
            rows.append((left, row))
        prev, plo, phi = row, left, h
    return prev, plo, rows


def dtw_distance(a: np.ndarray, b: np.ndarray, band: int) -> np.ndarray:
    """Per-joint DTW distance: accumulated |a - b| along each joint's best warp / max(N, M).

    Same unit as the values; never exceeds the MAE of equal-length inputs (the diagonal is one of
    the warps) and equals it when no warp helps (e.g. a still joint with a constant error).
    a (N, J), b (M, J) -> (J,).
    """
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if not len(a) or not len(b):
        raise StudioError("DTW needs two non-empty trajectories")
    last, plo, _ = _dtw_rows(a, b, band, keep_rows=False)
    return last[:, len(b) - 1 - plo] / max(len(a), len(b))


def dtw_path(a: np.ndarray, b: np.ndarray, band: int) -> tuple[np.ndarray, float]:
    """Best joint-summed warp: path (K, 2) of (i, j) index pairs and its distance / max(N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    n, m = len(a), len(b)
    # multivariate cost: sum over joints of |a - b| == DTW on one "joint" with summed cost;
    # expand to (N, 1) by precomputing the cost through the row sweep on summed columns.
    lo, hi = _band_windows(n, m, band)
    rows: list[tuple[int, np.ndarray]] = []
    prev = None
    plo = phi = 0
    for i in range(n):
        left, h = int(lo[i]), int(hi[i])
        cost = np.abs(b[left : h + 1] - a[i]).sum(axis=1)
        if prev is None:
            row = np.cumsum(cost)
        else:
            padded = np.full(h - left + 2, np.inf)
            s, e = max(plo, left - 1), min(phi, h)
            if s <= e:
                padded[s - (left - 1) : e - (left - 1) + 1] = prev[s - plo : e - plo + 1]
            u = cost + np.minimum(padded[:-1], padded[1:])
            csum = np.cumsum(cost)
            with np.errstate(invalid="ignore"):
                row = csum + np.minimum.accumulate(u - csum)
        rows.append((left, row))
        prev, plo, phi = row, left, h
    total = float(prev[m - 1 - plo])

    def value(i: int, j: int) -> float:
        if i < 0 or j < 0:
            return math.inf
        left, row = rows[i]
        k = j - left
        return float(row[k]) if 0 <= k < len(row) else math.inf

    path = [(n - 1, m - 1)]
    i, j = n - 1, m - 1
    while i > 0 or j > 0:
        options = (
            (value(i - 1, j - 1), i - 1, j - 1),
            (value(i - 1, j), i - 1, j),
            (value(i, j - 1), i, j - 1),
        )
        _, i, j = min(options)
        path.append((i, j))
    return np.array(path[::-1], dtype=np.int64), total / max(n, m)


def band_samples(band_s: float, rate: float) -> int:
    return max(2, int(round(band_s * rate)))


def align(
    a: np.ndarray,
    fps_a: float,
    b: np.ndarray,
    fps_b: float,
    mode: str = "none",
    rate: float | None = None,
    max_offset_s: float | None = None,
    band_s: float = 1.0,
    offset_s: float | None = None,
    scale: float | None = None,
) -> Alignment:
    """Find the alignment of B to A in ``mode``; ``offset_s``/``scale`` given by the user win."""
    if mode not in ALIGN_MODES:
        raise StudioError(f"unknown alignment {mode!r}; use one of {', '.join(ALIGN_MODES)}")
    rate = float(rate or max(fps_a, fps_b))
    result = Alignment(mode=mode, rate_hz=rate)
    if mode == "none":
        result.offset_s = float(offset_s or 0.0)
        result.scale = float(scale or 1.0)
    elif mode == "offset":
        result.scale = float(scale or 1.0)
        if offset_s is not None:
            result.offset_s = float(offset_s)
        elif result.scale == 1.0:
            result.offset_s, result.cost = estimate_offset(a, fps_a, b, fps_b, max_offset_s, rate)
        else:
            result.offset_s, result.cost = _offset_at_scale(
                a, fps_a, b, fps_b, result.scale, max_offset_s, rate
            )
    elif mode == "scale":
        if scale is not None:
            result.scale = float(scale)
            result.offset_s, result.cost = _offset_at_scale(
                a, fps_a, b, fps_b, result.scale, max_offset_s, rate
            )
        else:
            result.scale, result.offset_s, result.cost = estimate_scale_offset(
                a, fps_a, b, fps_b, max_offset_s=max_offset_s, rate=rate
            )
    else:  # dtw: constant offset first, then a band-limited warp over the overlap
        if offset_s is None:
            offset_s, _ = estimate_offset(a, fps_a, b, fps_b, max_offset_s, rate)
        dur_a, dur_b = duration(len(a), fps_a), duration(len(b), fps_b)
        t0, t1 = max(0.0, -offset_s), min(dur_a, dur_b - offset_s)
        ga_t = grid(t0, t1, rate)
        if len(ga_t) < 2:
            raise StudioError("trajectories do not overlap: nothing to warp")
        gb_t = np.clip(ga_t + offset_s, 0.0, dur_b)
        path, cost = dtw_path(resample(a, fps_a, ga_t), resample(b, fps_b, gb_t), band_samples(band_s, rate))
        result.warp = np.stack([ga_t[path[:, 0]], gb_t[path[:, 1]]], axis=1)
        result.cost = cost
        result.offset_s = float(offset_s)
    return result


def _offset_at_scale(a, fps_a, b, fps_b, scale, max_offset_s, rate) -> tuple[float, float]:
    dur_b = duration(len(b), fps_b) / scale
    gb = resample(b, fps_b, grid(0.0, dur_b, rate) * scale)
    limit = None if max_offset_s is None else max_offset_s / scale
    offset_u, cost = estimate_offset(a, fps_a, gb, rate, max_offset_s=limit, rate=rate)
    return offset_u * scale, cost

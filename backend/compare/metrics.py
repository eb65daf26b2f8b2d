"""Per-joint divergence metrics, gripper open/close events and smoothness (jerk).

All functions take plain numpy arrays already in one unit; ``backend.compare.core`` converts and
aligns the two sides first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class JointMetrics:
    mae: float  # mean |b - a|
    rmse: float  # sqrt(mean (b - a)^2)
    max_abs: float  # max |b - a|
    t_max_abs_s: float  # A time of the max deviation
    bias: float  # mean (b - a)
    corr: float | None  # Pearson correlation; None when one side is constant
    dtw: float | None = None  # DTW distance (align.dtw_distance), same unit
    jerk_rms_a: float | None = None  # RMS jerk, unit / s^3
    jerk_rms_b: float | None = None

    def to_json(self) -> dict:
        return {k: (None if v is None else float(v)) for k, v in asdict(self).items()}


def joint_metrics(a: np.ndarray, b: np.ndarray, times: np.ndarray | None = None) -> list[JointMetrics]:
    """Metrics per column of two aligned (N, J) arrays sampled at the same instants."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if a.shape != b.shape or not len(a):
        raise ValueError(f"aligned arrays differ in shape: {a.shape} vs {b.shape}")
    times = np.arange(len(a), dtype=np.float64) if times is None else np.asarray(times)
    diff = b - a
    absdiff = np.abs(diff)
    mae = absdiff.mean(axis=0)
    rmse = np.sqrt((diff * diff).mean(axis=0))
    arg = absdiff.argmax(axis=0)
    corr = correlation(a, b)
    bias = diff.mean(axis=0)
    return [
        JointMetrics(
            mae=float(mae[j]),
            rmse=float(rmse[j]),
            max_abs=float(absdiff[arg[j], j]),
            t_max_abs_s=float(times[arg[j]]),
            bias=float(bias[j]),
            corr=None if corr[j] is None else float(corr[j]),
        )
        for j in range(a.shape[1])
    ]


def correlation(a: np.ndarray, b: np.ndarray) -> list[float | None]:
    """Pearson correlation per column; None where either column is (numerically) constant."""
    da = a - a.mean(axis=0)
    db = b - b.mean(axis=0)
    na = np.sqrt((da * da).sum(axis=0))
    nb = np.sqrt((db * db).sum(axis=0))
    scale_a = np.abs(a).max(axis=0) + 1.0
    scale_b = np.abs(b).max(axis=0) + 1.0
    out: list[float | None] = []
    for j in range(a.shape[1]):
        if na[j] <= 1e-9 * scale_a[j] * np.sqrt(len(a)) or nb[j] <= 1e-9 * scale_b[j] * np.sqrt(len(b)):
            out.append(None)
        else:
            out.append(float(np.clip((da[:, j] * db[:, j]).sum() / (na[j] * nb[j]), -1.0, 1.0)))
    return out


# -- smoothness -------------------------------------------------------------------------------------
def jerk(values: np.ndarray, rate: float) -> np.ndarray:
    """Third time derivative (N-3, J) by finite differences of samples at ``rate`` Hz."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    if len(values) < 4:
        return np.zeros((0, values.shape[1]))
    return np.diff(values, n=3, axis=0) * rate**3


def jerk_rms(values: np.ndarray, rate: float) -> np.ndarray:
    """RMS jerk per joint (unit / s^3); 0 for fewer than 4 samples."""
    j = jerk(values, rate)
    if not len(j):
        return np.zeros(j.shape[1])
    return np.sqrt((j * j).mean(axis=0))


# -- gripper events ---------------------------------------------------------------------------------
@dataclass
class GripperEvent:
    kind: str  # "close" | "open"
    time_s: float  # crossing time (linear interpolation between samples)
    index: int  # first sample past the threshold


def gripper_thresholds(
    *series: np.ndarray, low: float = 0.35, high: float = 0.65
) -> tuple[float, float] | None:
    """Hysteresis thresholds at fractions of the combined range; None if the gripper barely moves."""
    values = np.concatenate([np.asarray(s, dtype=np.float64).ravel() for s in series])
    lo, hi = float(values.min()), float(values.max())
    span = hi - lo
    if span <= 1e-9 or span < 0.05 * max(abs(lo), abs(hi), 1.0):
        return None
    return lo + low * span, lo + high * span


def gripper_events(
    values: np.ndarray, times: np.ndarray, close_below: float, open_above: float
) -> list[GripperEvent]:
    """Close/open events by hysteresis: close when the value falls below ``close_below`` while open,
    open when it rises above ``open_above`` while closed. Higher values mean more open."""
    values = np.asarray(values, dtype=np.float64).ravel()
    times = np.asarray(times, dtype=np.float64).ravel()
    if not len(values):
        return []
    events: list[GripperEvent] = []
    state_open = values[0] >= (close_below + open_above) / 2.0
    # candidate crossings only, so the loop touches few samples
    below = np.flatnonzero(values < close_below)
    above = np.flatnonzero(values > open_above)
    i = 0
    n = len(values)
    while i < n:
        candidates, threshold, kind = (
            (below, close_below, "close") if state_open else (above, open_above, "open")
        )
        pos = int(np.searchsorted(candidates, i))
        if pos >= len(candidates):
            break
        k = int(candidates[pos])
        if k == 0:
            t = float(times[0])
        else:
            v0, v1 = values[k - 1], values[k]
            frac = (threshold - v0) / (v1 - v0) if v1 != v0 else 1.0
            t = float(times[k - 1] + np.clip(frac, 0.0, 1.0) * (times[k] - times[k - 1]))
        events.append(GripperEvent(kind, t, k))
        state_open = not state_open
        i = k + 1
    return events


@dataclass
class GripperComparison:
    events_a: list[GripperEvent] = field(default_factory=list)
    events_b: list[GripperEvent] = field(default_factory=list)
    matched: list[dict] = field(default_factory=list)  # {"kind", "t_a", "t_b", "dt_s"}
    unmatched_a: int = 0  # events of A without a partner in B (missed by B)
    unmatched_b: int = 0  # extra events in B
    thresholds: tuple[float, float] | None = None

    @property
    def mean_abs_dt_s(self) -> float | None:
        return float(np.mean([abs(m["dt_s"]) for m in self.matched])) if self.matched else None

    @property
    def max_abs_dt_s(self) -> float | None:
        return float(np.max([abs(m["dt_s"]) for m in self.matched])) if self.matched else None

    def to_json(self) -> dict:
        return {
            "thresholds": None if self.thresholds is None else [float(x) for x in self.thresholds],
            "events_a": [{"kind": e.kind, "t_s": e.time_s} for e in self.events_a],
            "events_b": [{"kind": e.kind, "t_s": e.time_s} for e in self.events_b],
            "matched": self.matched,
            "unmatched_a": self.unmatched_a,
            "unmatched_b": self.unmatched_b,
            "mean_abs_dt_s": self.mean_abs_dt_s,
            "max_abs_dt_s": self.max_abs_dt_s,
        }


def compare_gripper(
    a: np.ndarray,
    times_a: np.ndarray,
    b: np.ndarray,
    times_b: np.ndarray,
    max_dt_s: float = 2.0,
    span: tuple[float, float] | None = None,
) -> GripperComparison:
    """Events of both sides (B's times already on A's timeline) matched in order per kind.

    A B event pairs with the earliest unmatched A event of the same kind within ``max_dt_s``;
    events keep their order, so one missed close does not shift every later pairing. With ``span``
    (the A-time range both sides cover), events outside it count neither as missed nor as extra.
    """
    result = GripperComparison(thresholds=gripper_thresholds(a, b))
    if result.thresholds is None:
        return result
    low, high = result.thresholds
    result.events_a = gripper_events(a, times_a, low, high)
    result.events_b = gripper_events(b, times_b, low, high)
    if span is not None:
        lo_t, hi_t = span[0] - max_dt_s, span[1] + max_dt_s
        inside_a = [e for e in result.events_a if span[0] <= e.time_s <= span[1]]
        inside_b = [e for e in result.events_b if lo_t <= e.time_s <= hi_t]
    else:
        inside_a, inside_b = result.events_a, result.events_b
    used_b: set[int] = set()
    last_b = -1
    for ea in inside_a:
        best = None
        for k in range(last_b + 1, len(inside_b)):
            eb = inside_b[k]
            if eb.time_s - ea.time_s > max_dt_s:
                break
            if eb.kind == ea.kind and abs(eb.time_s - ea.time_s) <= max_dt_s and k not in used_b:
                best = k
                break
        if best is None:
            result.unmatched_a += 1
            continue
        used_b.add(best)
        last_b = best
        eb = inside_b[best]
        result.matched.append(
            {"kind": ea.kind, "t_a": ea.time_s, "t_b": eb.time_s, "dt_s": eb.time_s - ea.time_s}
        )
    used = {id(inside_b[k]) for k in used_b}
    result.unmatched_b = sum(
        1 for e in inside_b if id(e) not in used and (span is None or span[0] <= e.time_s <= span[1])
    )
    return result

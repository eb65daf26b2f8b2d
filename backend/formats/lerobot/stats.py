"""Feature statistics as LeRobot stores them (min, max, mean, std, count [+ q01 q10 q50 q90 q99]).

Vectors and scalars: per dimension over the episode's frames. Images/videos: per channel, shape
(3, 1, 1), values in 0..1, from the frames seen (downsampled like LeRobot: big frames are strided to
about 150 px). Image frames are summarised in a 256-bin histogram per channel, so min/max/mean/std
and quantiles are exact for the pixels seen and memory stays constant. Dataset stats aggregate the
episodes' stats the way LeRobot does (count-weighted means, parallel variance, count-weighted
quantiles).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.formats.lerobot.common import QUANTILE_KEYS, QUANTILES
from backend.media.image_stats import image_histogram

Stats = dict[str, np.ndarray]


def estimate_num_samples(length: int, minimum: int = 100, maximum: int = 10_000, power: float = 0.75) -> int:
    """How many frames of an episode LeRobot samples for image stats."""
    if length < minimum:
        minimum = length
    return max(minimum, min(int(length**power), maximum))


def sample_indices(length: int) -> list[int]:
    count = estimate_num_samples(length)
    if count <= 0:
        return []
    return np.round(np.linspace(0, length - 1, count)).astype(int).tolist()


def vector_stats(values: np.ndarray, quantiles: bool) -> Stats:
    """Stats over axis 0 of (T,) or (T, ...) values; scalars give shape (1,) like LeRobot."""
    data = np.asarray(values)
    if data.dtype.kind == "b":
        data = data.astype(np.float64)
    data = data.astype(np.float64, copy=False)
    if data.ndim == 1:
        data = data[:, None]
    stats: Stats = {
        "min": data.min(axis=0),
        "max": data.max(axis=0),
        "mean": data.mean(axis=0),
        "std": data.std(axis=0),
        "count": np.array([len(data)], dtype=np.int64),
    }
    if quantiles:
        qs = (
            np.quantile(data, QUANTILES, axis=0)
            if len(data) > 1
            else np.stack([data.mean(axis=0)] * len(QUANTILES))
        )
        for key, value in zip(QUANTILE_KEYS, qs, strict=True):
            stats[key] = value
    return stats


class ImageStats:
    """Per-channel histogram of uint8 frames; ``stats()`` gives LeRobot's (3, 1, 1) values in 0..1."""

    def __init__(self) -> None:
        self.hist: np.ndarray | None = None
        self.frames = 0

    @classmethod
    def from_counts(cls, hist: np.ndarray | None, frames: int) -> ImageStats:
        """Stats from a histogram counted elsewhere (a camera worker process)."""
        stats = cls()
        if hist is not None and frames > 0:
            stats.hist = np.asarray(hist, dtype=np.int64)
            stats.frames = int(frames)
        return stats

    def add(self, frame: np.ndarray) -> None:
        counts = image_histogram(frame)
        if self.hist is None:
            self.hist = np.zeros(counts.shape, dtype=np.int64)
        self.hist += counts
        self.frames += 1

    def stats(self, quantiles: bool) -> Stats | None:
        if self.hist is None or self.frames == 0:
            return None
        levels = np.arange(256, dtype=np.float64)
        out: dict[str, list[float]] = {k: [] for k in ("min", "max", "mean", "std", *QUANTILE_KEYS)}
        for hist in self.hist:
            total = hist.sum()
            nonzero = np.nonzero(hist)[0]
            mean = float((hist * levels).sum() / total)
            out["min"].append(nonzero[0] / 255.0)
            out["max"].append(nonzero[-1] / 255.0)
            out["mean"].append(mean / 255.0)
            out["std"].append(float(np.sqrt((hist * (levels - mean) ** 2).sum() / total)) / 255.0)
            cumulative = np.cumsum(hist)
            for key, q in zip(QUANTILE_KEYS, QUANTILES, strict=True):
                # numpy's linear quantile over the sorted pixel values, from the histogram
                position = q * (total - 1)
                lo_rank, frac = int(np.floor(position)), position - np.floor(position)
                lo = int(np.searchsorted(cumulative, lo_rank + 1))
                hi = int(np.searchsorted(cumulative, min(lo_rank + 2, total)))
                out[key].append((lo + frac * (hi - lo)) / 255.0)
        result: Stats = {}
        for key in ("min", "max", "mean", "std"):
            result[key] = np.array(out[key], dtype=np.float64).reshape(-1, 1, 1)
        result["count"] = np.array([self.frames], dtype=np.int64)
        if quantiles:
            for key in QUANTILE_KEYS:
                result[key] = np.array(out[key], dtype=np.float64).reshape(-1, 1, 1)
        return result


def aggregate(stats_list: list[Stats]) -> Stats:
    """LeRobot's aggregation of one feature's stats over episodes."""
    means = np.stack([s["mean"] for s in stats_list])
    variances = np.stack([s["std"] ** 2 for s in stats_list])
    counts = np.stack([s["count"] for s in stats_list]).astype(np.float64)
    total = counts.sum(axis=0)
    while counts.ndim < means.ndim:
        counts = counts[..., None]
    mean = (means * counts).sum(axis=0) / total
    variance = ((variances + (means - mean) ** 2) * counts).sum(axis=0) / total
    out: Stats = {
        "min": np.min(np.stack([s["min"] for s in stats_list]), axis=0),
        "max": np.max(np.stack([s["max"] for s in stats_list]), axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": total.astype(np.int64),
    }
    for key in QUANTILE_KEYS:
        if all(key in s for s in stats_list):
            out[key] = (np.stack([s[key] for s in stats_list]) * counts).sum(axis=0) / total
    return out


def aggregate_all(episode_stats: list[dict[str, Stats]], order: list[str]) -> dict[str, Stats]:
    result: dict[str, Stats] = {}
    for key in order:
        per_episode = [s[key] for s in episode_stats if key in s]
        if per_episode:
            result[key] = aggregate(per_episode)
    return result


def to_json(stats: dict[str, Stats]) -> dict[str, dict[str, Any]]:
    return {key: {name: np.asarray(v).tolist() for name, v in entry.items()} for key, entry in stats.items()}

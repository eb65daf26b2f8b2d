"""Signals comparing whole episodes: near-duplicate actions (fingerprints resampled to a fixed length)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.signals.base import (
    DUPLICATE_LENGTH_TOLERANCE,
    DUPLICATE_POINTS,
)


# -- whole episodes -----------------------------------------------------------------------------------
def action_fingerprint(values: np.ndarray, points: int = DUPLICATE_POINTS) -> np.ndarray:
    """(points * N,) the trajectory resampled to ``points`` frames (for near-duplicate search)."""
    values = np.asarray(values, dtype=np.float64)
    length = len(values)
    if length == 0:
        return np.zeros(points * (values.shape[1] if values.ndim == 2 else 1))
    grid = np.linspace(0, length - 1, points)
    rows = np.arange(length)
    return np.stack([np.interp(grid, rows, values[:, j]) for j in range(values.shape[1])], axis=1).reshape(-1)


def _main_direction(prints: np.ndarray, steps: int = 8) -> np.ndarray:
    """A unit vector along which the rows of ``prints`` spread most (a few power iterations)."""
    centred = prints - prints.mean(axis=0)
    direction = np.ones(prints.shape[1]) / np.sqrt(max(prints.shape[1], 1))
    for _ in range(steps):
        moved = centred.T @ (centred @ direction)
        norm = float(np.linalg.norm(moved))
        if not np.isfinite(norm) or norm == 0:
            break
        direction = moved / norm
    return direction


def near_duplicates(
    names: Sequence[str], lengths: Sequence[int], fingerprints: np.ndarray, tolerance: float
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, rms) of episodes of about the same length whose fingerprints are within ``tolerance``."""
    count = len(names)
    if count < 2:
        return []
    lengths_array = np.asarray(lengths, dtype=np.float64)
    order = np.argsort(lengths_array, kind="stable")
    prints = np.asarray(fingerprints, dtype=np.float64).reshape(count, -1)
    # |u.(a - b)| <= |a - b| for a unit u: only episodes this close along u can be within tolerance
    # (u: the main direction of the prints, so that few are); the same pairs, without comparing all
    projection = prints @ _main_direction(prints)
    reach = tolerance * np.sqrt(prints.shape[1]) * (1 + 1e-9) + 1e-12
    pairs: list[tuple[int, int, float]] = []
    taken: set[int] = set()
    for pos, i in enumerate(order):
        stop = np.searchsorted(
            lengths_array[order], lengths_array[i] * (1 + DUPLICATE_LENGTH_TOLERANCE) + 1, side="right"
        )
        others = order[pos + 1: stop]
        others = others[np.abs(projection[others] - projection[i]) <= reach]
        if not len(others):
            continue
        rms = np.sqrt(np.mean((prints[others] - prints[i]) ** 2, axis=1))
        for j, distance in zip(others, rms, strict=True):
            if distance <= tolerance and int(j) not in taken:
                first, second = sorted((int(i), int(j)))
                pairs.append((first, second, float(distance)))
                taken.add(second)
    return sorted(pairs)

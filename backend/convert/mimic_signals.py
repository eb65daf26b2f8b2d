"""Subtask termination signals for Isaac Lab Mimic / MimicGen, one boolean per frame and signal.

Isaac Lab Mimic (``isaaclab_mimic/datagen/datagen_info_pool.py``) reads
``obs/datagen_info/subtask_term_signals/<signal>`` of every demo and ends a subtask at the first
0 -> 1 edge of its signal: the signal is False up to the boundary frame and True from it on (it must
start False). This module finds the boundary frames two ways:

- ``gripper_events``: the seed's gripper-proximity method (ChefMate's ``ingredient_grasped``): a grasp
  is the gripper closing below ``grasp_threshold`` radians while, when object positions are known,
  the gripper frame is within ``distance_threshold`` metres of one of them; a release is the gripper
  opening again. Events alternate grasp, release, grasp, ... and each must last ``min_frames``.
- ``curation_boundaries``: the subtask segments of the curation decisions (``backend.subtasks``):
  segment k ends at its last frame.

``signals_from_boundaries`` turns boundary frames into the per-frame booleans, named in order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

GRASP_THRESHOLD_RAD = 0.60  # ChefMate / LeIsaac: gripper joint below this is closed
DISTANCE_THRESHOLD_M = 0.05  # gripper frame within 5 cm of the object
MIN_EVENT_FRAMES = 3  # a closed or open spell shorter than this is noise


def _steady(closed: np.ndarray, min_frames: int) -> np.ndarray:
    """``closed`` with spells shorter than ``min_frames`` merged into the spell before them."""
    out = closed.copy()
    if len(out) == 0:
        return out
    start = 0
    for t in range(1, len(out) + 1):
        if t == len(out) or out[t] != out[start]:
            if start > 0 and t - start < min_frames:
                out[start:t] = out[start - 1]
            start = t
    return out


def gripper_events(
    gripper_rad: np.ndarray,
    eef_positions: np.ndarray | None = None,
    object_positions: Mapping[str, np.ndarray] | None = None,
    grasp_threshold: float = GRASP_THRESHOLD_RAD,
    distance_threshold: float = DISTANCE_THRESHOLD_M,
    min_frames: int = MIN_EVENT_FRAMES,
) -> list[tuple[int, str]]:
    """Frames where a grasp starts or ends: [(frame, "grasp" | "release"), ...] in time order.

    ``gripper_rad`` (T,) is the gripper joint; with ``object_positions`` ({name: (T, 3)}) and
    ``eef_positions`` (T, 3) a closing gripper only counts as a grasp near an object."""
    gripper = np.asarray(gripper_rad, dtype=np.float64).reshape(-1)
    closed = gripper < grasp_threshold
    if object_positions and eef_positions is not None:
        eef = np.asarray(eef_positions, dtype=np.float64).reshape(-1, 3)
        near = np.zeros(len(gripper), dtype=bool)
        for positions in object_positions.values():
            distance = np.linalg.norm(np.asarray(positions, np.float64).reshape(-1, 3) - eef, axis=1)
            near |= distance < distance_threshold
        # a grasp begins near an object and lasts while the gripper stays closed
        holding = np.zeros(len(gripper), dtype=bool)
        for t in range(len(gripper)):
            holding[t] = closed[t] and (near[t] or (t > 0 and holding[t - 1]))
        closed = holding
    closed = _steady(closed, max(1, int(min_frames)))
    events = []
    for t in range(1, len(closed)):
        if closed[t] and not closed[t - 1]:
            events.append((t, "grasp"))
        elif closed[t - 1] and not closed[t]:
            events.append((t, "release"))
    return events


def curation_boundaries(decision: Any) -> list[int]:
    """Boundary frames from a curation decision's subtask segments (the last frame of each)."""
    segments = getattr(decision, "subtasks", None) or ()
    return [int(segment.end) for segment in segments]


def signal_name(text: str, fallback: str) -> str:
    """A signal name from a segment text: lower case words joined by underscores."""
    name = re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")
    return name or fallback


def signals_from_boundaries(
    length: int, boundaries: Sequence[int], names: Sequence[str]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """({name: (T,) bool}, problems): signal k turns True at ``boundaries[k]`` and stays True.

    A name without a boundary, or a boundary at frame 0 or past the end, gives an all-False signal
    and a problem line (Isaac Lab needs a 0 -> 1 edge in every signal it is configured with)."""
    signals: dict[str, np.ndarray] = {}
    problems: list[str] = []
    for k, name in enumerate(names):
        signal = np.zeros(int(length), dtype=bool)
        if k >= len(boundaries):
            problems.append(f"signal {name!r} has no boundary (found {len(boundaries)})")
        elif not 0 < int(boundaries[k]) < length:
            problems.append(f"signal {name!r}: boundary at frame {boundaries[k]} is outside 1..{length - 1}")
        else:
            signal[int(boundaries[k]) :] = True
        signals[name] = signal
    return signals, problems

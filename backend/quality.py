"""Quality hints that help an operator decide which demonstrations to watch first.

Heuristics, not verdicts: each hint names what was measured so the operator can judge.

  short    very short: under 1 s, or under a quarter of the dataset's median length
  static   nearly static: no body joint of the action moves more than 2 degrees
  jerky    jerky: at least 2 frames (and 1 % of frames) whose joint acceleration is above
           5000 deg/s^2 (a 10 degree jump within one frame at 30 fps is ~18000)
  no_grip  gripper never closes: the gripper travels less than 10 % of its range

Joint values are compared in SO-101 simulation degrees when the data is SO-101 joint positions
(radians, LeRobot range or degrees convert exactly); other vectors only get the length and
static hints, on their raw values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.progress import Progress, ensure_progress
from backend.units import SO101_RANGES, Unit, base_joint_name

SHORT_SECONDS = 1.0
SHORT_FRACTION_OF_MEDIAN = 0.25
STATIC_DEGREES = 2.0
STATIC_RELATIVE = 0.01  # non-SO-101 vectors: fraction of the largest magnitude
JERK_ACCEL_DEG_S2 = 5000.0
JERK_MIN_FRAMES = 2
JERK_MIN_FRACTION = 0.01
GRIPPER_MIN_TRAVEL = 0.10  # fraction of the gripper's range

LABELS = {
    "short": "very short",
    "static": "nearly static",
    "jerky": "jerky",
    "no_grip": "gripper never closes",
}


@dataclass(frozen=True)
class Hint:
    code: str
    text: str  # what was measured, for a tooltip

    @property
    def label(self) -> str:
        return LABELS.get(self.code, self.code)


def _joint_values(episode: Any) -> tuple[np.ndarray, list[str], bool] | None:
    """Action (else state) values as (T, N), joint names, and whether they are SO-101 degrees."""
    from backend.model import Role

    for role in (Role.ACTION, Role.STATE):
        try:
            joints = episode.joints(role)
        except KeyError:
            continue
        space = joints.space
        if space.is_so101 and Unit.SIM_DEGREES in space.convertible_units():
            return joints.to(Unit.SIM_DEGREES).values, list(space.names), True
        return np.asarray(joints.values, dtype=np.float64), list(space.names), False
    return None


def episode_hints(episode: Any, median_length: float | None = None) -> list[Hint]:
    """Hints for one episode; ``median_length`` is the dataset's median episode length."""
    hints: list[Hint] = []
    fps = float(episode.dataset.fps or 0) or 30.0
    length = int(episode.length)
    seconds = length / fps
    if seconds < SHORT_SECONDS:
        hints.append(Hint("short", f"{length} frames ({seconds:.2f} s) is under {SHORT_SECONDS:g} s"))
    elif median_length and length < SHORT_FRACTION_OF_MEDIAN * median_length:
        hints.append(Hint("short", f"{length} frames is under a quarter of the median ({median_length:g})"))
    loaded = _joint_values(episode)
    if loaded is None or length < 2:
        return hints
    values, names, degrees = loaded
    if values.ndim != 2 or len(values) < 2:
        return hints
    bases = [base_joint_name(n) for n in names]
    body = [i for i, b in enumerate(bases) if b != "gripper"] or list(range(values.shape[1]))
    spans = np.percentile(values, 99, axis=0) - np.percentile(values, 1, axis=0)
    if degrees:
        moved = float(spans[body].max())
        if moved < STATIC_DEGREES:
            hints.append(Hint("static", f"body joints move at most {moved:.2f} deg"))
        accel = np.abs(np.diff(values[:, body], n=2, axis=0)) * fps * fps
        if accel.size:
            spikes = int((accel.max(axis=1) > JERK_ACCEL_DEG_S2).sum())
            if spikes >= max(JERK_MIN_FRAMES, JERK_MIN_FRACTION * length):
                hints.append(
                    Hint(
                        "jerky",
                        f"{spikes} frames with joint acceleration over {JERK_ACCEL_DEG_S2:g} deg/s^2 "
                        f"(max {float(accel.max()):.0f})",
                    )
                )
        grippers = [i for i, b in enumerate(bases) if b == "gripper"]
        for i in grippers:
            low, high = SO101_RANGES["gripper"][0]
            travel = float(values[:, i].max() - values[:, i].min())
            if travel < GRIPPER_MIN_TRAVEL * (high - low):
                hints.append(
                    Hint("no_grip", f"{names[i]} travels {travel:.1f} deg of its {high - low:g} deg range")
                )
                break
    else:
        scale = float(np.abs(values).max()) or 1.0
        if float(spans.max()) < STATIC_RELATIVE * scale:
            hints.append(Hint("static", f"values change by at most {float(spans.max()):.3g}"))
    return hints


def compute_hints(
    dataset: Any,
    progress: Progress | None = None,
    on_result: Callable[[int, list[Hint]], None] | None = None,
) -> dict[int, list[Hint]]:
    """Hints for every episode; ``on_result(index, hints)`` is called as each one is done."""
    progress = ensure_progress(progress)
    lengths = [e.length for e in dataset.episodes]
    median = float(np.median(lengths)) if lengths else None
    results: dict[int, list[Hint]] = {}
    total = len(dataset.episodes)
    for number, episode in enumerate(dataset.episodes):
        progress.report(number, total, f"checking episode {episode.index}")
        try:
            hints = episode_hints(episode, median)
        except Exception as error:  # noqa: BLE001 - one unreadable episode must not stop the others
            progress.warn(f"episode {episode.index}: {error}")
            hints = []
        results[episode.index] = hints
        if on_result is not None:
            on_result(episode.index, hints)
    progress.report(total, total, "done")
    return results

"""Quality hints that help an operator decide which demonstrations to watch first.

Heuristics, not verdicts: each hint names what was measured so the operator can judge. They are the
motion signals of ``backend/signals/`` (the same ones the dataset doctor reports):

  short    very short: under 1 s, or under a quarter of the dataset's median length (short_episode)
  static   nearly static: no body joint of the action moves more than 2 degrees (idle_episode)
  jerky    jerky: at least 2 frames (and 1 % of frames) whose joint acceleration is above
           5000 deg/s^2 (a 10 degree jump within one frame at 30 fps is ~18000) (jerky)
  no_grip  gripper never closes: the gripper travels less than 10 % of its range (gripper_never_moves)

Joint values are compared in SO-101 simulation degrees when the data is SO-101 joint positions
(radians, LeRobot range or degrees convert exactly); other vectors only get the length and
static hints, on their raw values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend import signals
from backend.progress import Progress, ensure_progress

SHORT_SECONDS = signals.SHORT_SECONDS
SHORT_FRACTION_OF_MEDIAN = signals.SHORT_FRACTION_OF_MEDIAN
STATIC_DEGREES = signals.STATIC_DEGREES
STATIC_RELATIVE = signals.STATIC_RELATIVE
JERK_ACCEL_DEG_S2 = signals.JERK_ACCEL_DEG_S2
JERK_MIN_FRAMES = signals.JERK_MIN_FRAMES
JERK_MIN_FRACTION = signals.JERK_MIN_FRACTION
GRIPPER_MIN_TRAVEL = signals.GRIPPER_MIN_TRAVEL

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


def _motion_track(episode: Any) -> signals.JointTrack | None:
    """The action, else the state."""
    for role in ("action", "state"):
        track = signals.joint_track(episode, role)
        if track is not None:
            return track
    return None


def episode_hints(episode: Any, median_length: float | None = None) -> list[Hint]:
    """Hints for one episode; ``median_length`` is the dataset's median episode length."""
    hints: list[Hint] = []
    fps = float(episode.dataset.fps or 0) or 30.0
    length = int(episode.length)
    short = signals.short_episode(length, fps, median_length)
    if short.fired:
        hints.append(Hint("short", short.sentence))
    track = _motion_track(episode)
    if track is None or length < 2 or track.values.ndim != 2 or len(track.values) < 2:
        return hints
    idle = signals.idle(track)
    if idle.fired:
        hints.append(Hint("static", idle.sentence))
    if track.degrees:
        jerky = signals.acceleration(track)
        if jerky.fired:
            hints.append(Hint("jerky", jerky.sentence))
        grip = signals.gripper_travel(track)
        if grip.fired:
            hints.append(Hint("no_grip", grip.sentence))
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

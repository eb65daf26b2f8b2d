"""Named signals: measurements that reveal what silently ruins training data.

One set of signals for the whole studio: the dataset doctor (``backend/doctor.py``) turns the ones
that fire into findings, Browse's quality hints (``backend/quality.py``) show the motion ones, and a
later per-episode quality score can weigh them all.

Every signal is a plain function of an episode's arrays, sampled camera frames or metadata (taken
through ``backend.model``), returning :class:`Reading` s: the signal's ``name``, the measured
``value``, the ``threshold`` it is compared with, whether it ``fired``, the ``frames`` where it
shows and one ``sentence`` with the numbers. :data:`SIGNALS` describes each signal once (unit,
threshold, severity in the doctor, fix, whether a repair can act on it); docs/validate.md lists them.

Joint signals work in SO-101 simulation degrees when the values are SO-101 joint positions in a unit
that converts exactly (radians, LeRobot -100..100, degrees); the physical limits (range, speed) only
apply then. Other vectors (a humanoid's 44 numbers, keyboard IK deltas) get the unit-free signals on
their raw values, with thresholds relative to each joint's own span.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.units import SO101_RANGES, Unit, base_joint_name

# backend.media.fingerprint's tolerance (kept here so that importing the signals stays cheap: OpenCV
# and the media layer load only when frames are sampled)
IDENTICAL_TOLERANCE = 4.0
EXACT_LEVELS = 0.05  # signatures this close are the same pixels: one camera's frames written twice

# -- thresholds ---------------------------------------------------------------------------------------
# STS3215 (the SO-101's servo) datasheet: 0.222 s / 60 deg no load at 7.4 V, ~270 deg/s; a joint
# stepping faster than twice that between two frames is a glitch or a dropped stretch, not motion.
SO101_MAX_SPEED_DEG_S = 270.0
SPEED_FACTOR = 2.0
SHORT_SECONDS = 1.0
SHORT_FRACTION_OF_MEDIAN = 0.25
LONG_FACTOR_OF_MEDIAN = 3.0
ACTION_CHUNK = 16  # frames a policy predicts at once (diffusion / GR00T action horizon)
STATIC_DEGREES = 2.0
STATIC_RELATIVE = 0.01  # non-SO-101 vectors: fraction of the largest magnitude
JERK_ACCEL_DEG_S2 = 5000.0
JERK_MIN_FRAMES = 2
JERK_MIN_FRACTION = 0.01
GRIPPER_MIN_TRAVEL = 0.10  # fraction of the gripper's range
JUMP_DEGREES = 10.0  # a one-frame excursion out and back of at least this much
JUMP_RELATIVE = 0.25  # non-SO-101 vectors: fraction of the joint's 1..99 % span ...
JUMP_RELATIVE_OF_WIDEST = 0.05  # ... and at least this fraction of the widest joint's span
RANGE_MARGIN_DEGREES = 5.0
SATURATION_MARGIN_DEGREES = 0.5
SATURATION_FRACTION = 0.20
FROZEN_FRACTION = 0.5
FROZEN_MIN_SECONDS = 1.0
STUCK_STATE_DEGREES = 0.1
STUCK_ACTION_DEGREES = 5.0
DIVERGENCE_DEGREES = 10.0
DIVERGENCE_MAX_LAG = 5  # frames the state may trail the action
CHATTER_DEGREES = 5.0  # a gripper swing must be this big to count as a reversal
CHATTER_WINDOW_S = 0.5  # reversals closer than this belong to one burst
CHATTER_REVERSALS = 4
CHATTER_MAX_SWING = 0.3  # of the gripper's range: bigger strokes are deliberate opening / closing
DUPLICATE_DEGREES = 0.5  # RMS distance of two actions resampled to DUPLICATE_POINTS
DUPLICATE_RELATIVE = 0.005
DUPLICATE_POINTS = 64
DUPLICATE_LENGTH_TOLERANCE = 0.02
BLACK_LEVEL = 16.0  # every region of the picture darker than this (grey levels)
SATURATED_LEVEL = 240.0
BLANK_STD = 1.0
PIXEL_CHANGE_LEVEL = 6  # grey levels: a pixel that changed by more has changed
REPEAT_CHANGED_FRACTION = 0.0005  # fewer changed pixels than this: the same picture again
FROZEN_CELL_LEVELS = 2.0  # 32x24 thumbnails no cell of which moved more than this: same picture
FROZEN_PICTURE_MOTION_DEGREES = 5.0
REPEAT_MOTION_DEGREES = 1.0
MOTION_RELATIVE = 0.05  # non-SO-101 vectors: fraction of the span that counts as motion
REPEAT_MIN_PAIRS = 2
REPEAT_MIN_FRACTION = 0.3
MAX_FRAMES_LISTED = 20


# -- what a signal says -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Signal:
    """What a signal measures, once: for the doctor's findings and for docs/validate.md."""

    name: str
    severity: str  # severity of its finding in the doctor when it fires
    unit: str
    threshold: float
    measures: str  # one sentence
    fix: str
    fixable: bool = False


@dataclass(frozen=True)
class Reading:
    """One measurement of a signal on one episode (or dataset)."""

    signal: str
    value: float
    threshold: float
    fired: bool
    sentence: str
    frames: tuple[int, ...] = ()
    subject: str = ""  # joint, camera or feature concerned ("" = the episode)
    severity: str | None = None  # overrides the signal's severity (a reading that can only be corruption)


def _frames(indices: Any) -> tuple[int, ...]:
    return tuple(int(i) for i in list(np.asarray(indices).reshape(-1))[:MAX_FRAMES_LISTED])


def _frame_text(frames: Sequence[int], total: int | None = None) -> str:
    shown = ", ".join(str(f) for f in frames[:6])
    more = total if total is not None else len(frames)
    return shown + (f" ... ({more} frames)" if more > 6 else "")


SIGNALS: dict[str, Signal] = {
    s.name: s
    for s in (
        Signal("non_finite", "error", "values", 0, "NaN or inf values in a joint or state vector",
               "drop or repair the episode (curate) before training or converting", True),
        Signal("short_episode", "warning", "s", SHORT_SECONDS,
               f"an episode under {SHORT_SECONDS:g} s or under a quarter of the median length",
               "watch it; drop it (curate) if the recording was cut short", True),
        Signal("shorter_than_chunk", "warning", "frames", ACTION_CHUNK,
               f"an episode shorter than a policy's action chunk ({ACTION_CHUNK} frames)",
               "drop it (curate): chunked policies cannot sample a full window from it", True),
        Signal("long_episode", "warning", "x median", LONG_FACTOR_OF_MEDIAN,
               f"an episode over {LONG_FACTOR_OF_MEDIAN:g} times the median length",
               "watch it: recording that was not stopped; trim or drop it (curate)"),
        Signal("idle_episode", "warning", "deg", STATIC_DEGREES,
               f"no body joint moves more than {STATIC_DEGREES:g} deg (1..99 % span) in the whole episode",
               "drop it (curate): it teaches the policy to stand still", True),
        Signal("frozen_action", "warning", "fraction", FROZEN_FRACTION,
               "the action repeats exactly for most of the episode (leader stopped updating)",
               "check the leader arm's connection; trim or drop the episode (curate)"),
        Signal("jerky", "warning", "deg/s^2", JERK_ACCEL_DEG_S2,
               f"frames whose body-joint acceleration exceeds {JERK_ACCEL_DEG_S2:g} deg/s^2",
               "watch it; smooth or drop the episode if the motion is not what the robot did"),
        Signal("velocity_spike", "warning", "deg/s", SPEED_FACTOR * SO101_MAX_SPEED_DEG_S,
               "a joint stepping faster between two frames than an STS3215 servo can turn "
               f"(twice its {SO101_MAX_SPEED_DEG_S:g} deg/s no-load speed)",
               "dropped frames or a bad read: trim the frames or drop the episode (curate)"),
        Signal("joint_jump", "warning", "deg", JUMP_DEGREES,
               f"one joint leaves its path for a single frame by {JUMP_DEGREES:g} deg or more and comes back",
               "a servo read glitch: repair the frame (interpolate) or drop the episode", True),
        Signal("joint_out_of_range", "warning", "deg", RANGE_MARGIN_DEGREES,
               f"a joint beyond its SO-101 range by more than {RANGE_MARGIN_DEGREES:g} deg",
               "check the unit and calibration the dataset was recorded with"),
        Signal("saturated_joint", "warning", "fraction", SATURATION_FRACTION,
               f"a body joint pinned at a range limit for {SATURATION_FRACTION:.0%} of the episode or more",
               "recalibrate the arm (the joint's range is too narrow) and re-record"),
        Signal("stuck_joint", "warning", "deg", STUCK_STATE_DEGREES,
               f"a joint's state does not move (under {STUCK_STATE_DEGREES:g} deg) while its action moves "
               f"{STUCK_ACTION_DEGREES:g} deg or more", "check that servo and its cable; drop the episode"),
        Signal("dead_joint", "warning", "span", 0,
               "a joint whose value never changes in the whole dataset while others move",
               "a dead sensor or a placeholder column: check the recording setup"),
        Signal("action_state_divergence", "warning", "deg", DIVERGENCE_DEGREES,
               f"a body joint's state stays more than {DIVERGENCE_DEGREES:g} deg (median) from its action",
               "calibration offset or joints in another order: recalibrate, check the joint mapping"),
        Signal("gripper_never_moves", "warning", "fraction of range", GRIPPER_MIN_TRAVEL,
               f"the gripper travels less than {GRIPPER_MIN_TRAVEL:.0%} of its range",
               "watch it: a grasp task without a grasp; drop it (curate) if nothing was picked"),
        Signal("gripper_chatter", "warning", "reversals", CHATTER_REVERSALS,
               f"the gripper flickers: {CHATTER_REVERSALS}+ reversals under {CHATTER_WINDOW_S:g} s apart, "
               f"swings of {CHATTER_DEGREES:g} deg up to {CHATTER_MAX_SWING:.0%} of its range",
               "a noisy leader trigger: smooth the gripper or drop the episode"),
        Signal("near_duplicate_episodes", "warning", "deg RMS", DUPLICATE_DEGREES,
               "two episodes whose actions are (almost) the same",
               "a copied episode: drop one of them (curate)", True),
        Signal("black_frames", "warning", "grey level", BLACK_LEVEL,
               f"sampled frames dark everywhere (no region brighter than grey {BLACK_LEVEL:g})",
               "camera covered, off or not exposed yet: trim those frames or drop the episode"),
        Signal("saturated_frames", "warning", "grey level", SATURATED_LEVEL,
               f"sampled frames white everywhere (no region darker than grey {SATURATED_LEVEL:g})",
               "camera over-exposed: fix the exposure and re-record"),
        Signal("blank_camera", "warning", "grey levels", BLANK_STD,
               "every sampled frame of a camera is one flat colour",
               "the camera delivered no picture: check it and re-record"),
        Signal("frozen_camera", "warning", "fraction", 0.5,
               "sampled frames far apart show the same picture while the arm moved between them",
               "the camera stopped delivering: drop the episode or re-record"),
        Signal("repeated_frames", "warning", "fraction", REPEAT_MIN_FRACTION,
               "consecutive frames are the same picture while the arm moved (the camera runs slower "
               "than the dataset's fps)", "record the camera at the dataset's fps (USB bandwidth, exposure)"),
        Signal("identical_cameras", "warning", "grey levels", IDENTICAL_TOLERANCE,
               "two cameras of an episode show the same picture",
               "one camera recorded under two names, or a copy bug: check the camera mapping", False),
    )
}


# -- inputs -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JointTrack:
    """A joint vector of one episode, in SO-101 simulation degrees when ``degrees``."""

    key: str  # the feature key ("action", "obs/joint_pos")
    role: str  # "action" / "state"
    names: tuple[str, ...]
    values: np.ndarray  # (T, N) float64
    degrees: bool  # SO-101 joint positions in sim degrees (physical limits apply)
    fps: float
    placeholder: bool = False  # every stored value is 0 (IDM inputs): no motion to judge

    @property
    def bases(self) -> list[str]:
        return [base_joint_name(n) for n in self.names]

    @property
    def grippers(self) -> list[int]:
        return [i for i, b in enumerate(self.bases) if b == "gripper"] if self.degrees else []

    @property
    def body(self) -> list[int]:
        if not self.degrees:
            return list(range(self.values.shape[1]))
        return [i for i, b in enumerate(self.bases) if b != "gripper"] or list(range(self.values.shape[1]))

    def limits(self) -> np.ndarray:
        """(N, 2) sim-degree range of each joint (degrees tracks only)."""
        return np.array([SO101_RANGES[b][0] for b in self.bases], dtype=np.float64)

    def spans(self) -> np.ndarray:
        """1..99 % span of each joint."""
        if len(self.values) == 0:
            return np.zeros(self.values.shape[1])
        return np.percentile(self.values, 99, axis=0) - np.percentile(self.values, 1, axis=0)

    def label(self, joint: int) -> str:
        return f"{self.names[joint]} of the {self.role}"


def joint_track(episode: Any, role: str) -> JointTrack | None:
    """The episode's action or state as a :class:`JointTrack` (None when it has none)."""
    try:
        joints = episode.joints(role)
        key = episode.dataset.key_for(role)
    except KeyError:
        return None
    space = joints.space
    fps = float(episode.dataset.fps or 0) or 30.0
    placeholder = bool(joints.values.size) and not np.asarray(joints.values).any()
    if space.is_so101 and Unit.SIM_DEGREES in space.convertible_units():
        values = joints.to(Unit.SIM_DEGREES).values
        return JointTrack(key, role, tuple(space.names), values, True, fps, placeholder)
    values = np.asarray(joints.values, dtype=np.float64)
    return JointTrack(key, role, tuple(space.names), values, False, fps, placeholder)


# -- values -------------------------------------------------------------------------------------------
def non_finite(values: np.ndarray, key: str) -> Reading:
    """NaN / inf values of a float array (T, ...)."""
    data = np.asarray(values)
    if data.dtype.kind not in "fc" or data.size == 0:
        return Reading("non_finite", 0, 0, False, f"{key} is finite")
    bad = ~np.isfinite(data.reshape(len(data), -1))
    count = int(bad.sum())
    if not count:
        return Reading("non_finite", 0, 0, False, f"{key} is finite")
    rows = np.flatnonzero(bad.any(axis=1))
    frame = int(rows[0])
    columns = int(bad.any(axis=0).sum())
    return Reading(
        "non_finite", count, 0, True,
        f"{key} has {count} NaN/inf values (first at frame {frame}) in {columns} of its {bad.shape[1]} columns",
        _frames(rows), key,
    )


# -- lengths ------------------------------------------------------------------------------------------
def short_episode(length: int, fps: float, median_length: float | None = None) -> Reading:
    seconds = length / fps if fps else 0.0
    if seconds < SHORT_SECONDS:
        return Reading("short_episode", seconds, SHORT_SECONDS, True,
                       f"{length} frames ({seconds:.2f} s) is under {SHORT_SECONDS:g} s")
    if median_length and length < SHORT_FRACTION_OF_MEDIAN * median_length:
        return Reading("short_episode", seconds, SHORT_SECONDS, True,
                       f"{length} frames is under a quarter of the median ({median_length:g})")
    return Reading("short_episode", seconds, SHORT_SECONDS, False, f"{length} frames")


def shorter_than_chunk(length: int, chunk: int = ACTION_CHUNK) -> Reading:
    return Reading("shorter_than_chunk", length, chunk, length < chunk,
                   f"{length} frames is shorter than a {chunk}-frame action chunk")


def long_episode(length: int, median_length: float | None, episodes: int) -> Reading:
    factor = length / median_length if median_length else 0.0
    fired = episodes >= 3 and factor > LONG_FACTOR_OF_MEDIAN
    return Reading("long_episode", factor, LONG_FACTOR_OF_MEDIAN, fired,
                   f"{length} frames is {factor:.1f} times the median length ({median_length or 0:g})")


# -- motion -------------------------------------------------------------------------------------------
def idle(track: JointTrack) -> Reading:
    """Nearly static: the largest 1..99 % span of the body joints."""
    spans = track.spans()
    if track.degrees:
        moved = float(spans[track.body].max()) if len(spans) else 0.0
        return Reading("idle_episode", moved, STATIC_DEGREES, moved < STATIC_DEGREES,
                       f"body joints move at most {moved:.2f} deg")
    scale = float(np.abs(track.values).max()) if track.values.size else 0.0
    moved = float(spans.max()) if len(spans) else 0.0
    limit = STATIC_RELATIVE * (scale or 1.0)
    return Reading("idle_episode", moved, limit, moved < limit,
                   f"values change by at most {moved:.3g}")


def frozen_action(track: JointTrack) -> Reading:
    """The longest run of frames whose values repeat the previous frame exactly."""
    values = track.values
    length = len(values)
    if length < 2:
        return Reading("frozen_action", 0, FROZEN_FRACTION, False, "too short")
    same = np.all(values[1:] == values[:-1], axis=1)
    # runs of True in ``same``: a run of r repeats means r + 1 identical frames
    padded = np.concatenate([[False], same, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, stops = edges[::2], edges[1::2]
    if not len(starts):
        return Reading("frozen_action", 0, FROZEN_FRACTION, False, f"the {track.role} never repeats")
    best = int(np.argmax(stops - starts))
    first, frames = int(starts[best]), int(stops[best] - starts[best]) + 1
    fraction = frames / length
    fired = fraction >= FROZEN_FRACTION and frames >= FROZEN_MIN_SECONDS * track.fps
    return Reading(
        "frozen_action", fraction, FROZEN_FRACTION, fired,
        f"the {track.role} repeats the same values for {frames} frames ({fraction:.0%} of the episode, "
        f"frames {first}-{first + frames - 1})",
        (first, first + frames - 1),
    )


def acceleration(track: JointTrack) -> Reading:
    """Frames whose body-joint acceleration exceeds JERK_ACCEL_DEG_S2 (SO-101 degrees only)."""
    values = track.values
    length = len(values)
    if not track.degrees or length < 3:
        return Reading("jerky", 0, JERK_ACCEL_DEG_S2, False, "not measured")
    accel = np.abs(np.diff(values[:, track.body], n=2, axis=0)) * track.fps * track.fps
    peak = accel.max(axis=1)
    spikes = np.flatnonzero(peak > JERK_ACCEL_DEG_S2) + 1
    fired = len(spikes) >= max(JERK_MIN_FRAMES, JERK_MIN_FRACTION * length)
    return Reading(
        "jerky", float(peak.max()), JERK_ACCEL_DEG_S2, fired,
        f"{len(spikes)} frames with joint acceleration over {JERK_ACCEL_DEG_S2:g} deg/s^2 "
        f"(max {float(peak.max()):.0f})",
        _frames(spikes),
    )


def _excursions(column: np.ndarray) -> np.ndarray:
    """How far each inner frame lies from the midpoint of its neighbours (0 for the first and last)."""
    out = np.zeros(len(column))
    if len(column) >= 3:
        out[1:-1] = column[1:-1] - (column[:-2] + column[2:]) / 2
    return out


def _jump_frames(column: np.ndarray, limit: float) -> np.ndarray:
    """Frames t that leave the path by more than ``limit`` and come back at t + 1 (out and back)."""
    if len(column) < 3:
        return np.zeros(0, dtype=np.int64)
    d1 = column[1:-1] - column[:-2]
    d2 = column[2:] - column[1:-1]
    hit = (
        (np.abs(d1) > limit)
        & (np.abs(d2) > limit)
        & (np.sign(d1) != np.sign(d2))
        & (np.abs(_excursions(column)[1:-1]) > limit)
    )
    return np.flatnonzero(hit) + 1


def joint_jumps(track: JointTrack) -> list[Reading]:
    """Per joint: single-frame excursions out and back (a servo read glitch), on every joint."""
    readings: list[Reading] = []
    values = track.values
    spans = None if track.degrees else track.spans()
    widest = float(spans.max()) if spans is not None and len(spans) else 0.0
    for j in range(values.shape[1]):
        if track.degrees:
            limit = JUMP_DEGREES
        else:
            assert spans is not None
            if spans[j] <= 0:
                continue
            # relative to the joint's own span, and never below a share of the widest joint's span
            limit = max(JUMP_RELATIVE * float(spans[j]), JUMP_RELATIVE_OF_WIDEST * widest)
        column = values[:, j]
        frames = _jump_frames(column, limit)
        if not len(frames):
            continue
        size = np.abs(_excursions(column)[frames])
        unit = " deg" if track.degrees else ""
        # out and back within one frame faster than the servo can turn: a corrupt value, not motion
        impossible = track.degrees and float(size.max()) * track.fps > SPEED_FACTOR * SO101_MAX_SPEED_DEG_S
        readings.append(Reading(
            "joint_jump", float(size.max()), limit, True,
            f"{track.label(j)} jumps {float(size.max()):.3g}{unit} for one frame and back "
            f"at frame {_frame_text(frames.tolist())} (limit {limit:.3g}{unit}"
            + (f"; faster than the SO-101 can turn at {track.fps:g} fps)" if impossible else ")"),
            _frames(frames), track.names[j], "error" if impossible else None,
        ))
    return readings


def velocity_spikes(track: JointTrack, skip: Sequence[int] = ()) -> list[Reading]:
    """Per joint: steps between two frames faster than the servo can turn (SO-101 degrees only)."""
    if not track.degrees or len(track.values) < 2:
        return []
    limit = SPEED_FACTOR * SO101_MAX_SPEED_DEG_S
    speed = np.abs(np.diff(track.values, axis=0)) * track.fps  # step t-1 -> t at row t-1
    if skip:
        ignore = np.zeros(len(speed), dtype=bool)
        for frame in skip:  # a one-frame jump makes two fast steps: already reported as a jump
            ignore[max(frame - 1, 0): frame + 1] = True
        speed[ignore] = 0.0
    readings: list[Reading] = []
    for j in np.flatnonzero(speed.max(axis=0) > limit):
        frames = np.flatnonzero(speed[:, j] > limit) + 1
        peak = float(speed[:, j].max())
        readings.append(Reading(
            "velocity_spike", peak, limit, True,
            f"{track.label(int(j))} moves at {peak:.0f} deg/s between two frames at frame "
            f"{_frame_text(frames.tolist())} (an STS3215 turns at most ~{SO101_MAX_SPEED_DEG_S:g} deg/s)",
            _frames(frames), track.names[int(j)],
        ))
    return readings


def out_of_range(track: JointTrack) -> list[Reading]:
    """Per joint: values beyond the SO-101 range (plus a margin)."""
    if not track.degrees or not len(track.values):
        return []
    limits = track.limits()
    low = limits[:, 0] - RANGE_MARGIN_DEGREES
    high = limits[:, 1] + RANGE_MARGIN_DEGREES
    excess = np.maximum(low - track.values, track.values - high)
    readings: list[Reading] = []
    for j in np.flatnonzero(excess.max(axis=0) > 0):
        frames = np.flatnonzero(excess[:, j] > 0)
        worst = int(np.argmax(np.abs(track.values[:, j] - limits[j].mean())))
        readings.append(Reading(
            "joint_out_of_range", float(excess[:, j].max()), RANGE_MARGIN_DEGREES, True,
            f"{track.label(int(j))} reaches {track.values[worst, j]:.1f} deg at frame {worst}, outside its "
            f"range {limits[j, 0]:g}..{limits[j, 1]:g} deg ({len(frames)} frames)",
            _frames(frames), track.names[int(j)],
        ))
    return readings


def saturation(track: JointTrack) -> list[Reading]:
    """Per body joint: the fraction of frames pinned at a range limit."""
    if not track.degrees or not len(track.values):
        return []
    limits = track.limits()
    readings: list[Reading] = []
    for j in track.body:
        column = track.values[:, j]
        pinned = (np.abs(column - limits[j, 0]) <= SATURATION_MARGIN_DEGREES) | (
            np.abs(column - limits[j, 1]) <= SATURATION_MARGIN_DEGREES
        )
        fraction = float(pinned.mean())
        if fraction >= SATURATION_FRACTION and pinned.sum() >= track.fps / 2:
            frames = np.flatnonzero(pinned)
            readings.append(Reading(
                "saturated_joint", fraction, SATURATION_FRACTION, True,
                f"{track.label(j)} sits at its range limit in {fraction:.0%} of the frames "
                f"({int(pinned.sum())} of {len(column)})",
                _frames(frames), track.names[j],
            ))
    return readings


def gripper_travel(track: JointTrack) -> Reading:
    """The gripper's travel as a fraction of its range (the least-moving gripper of a bi-arm)."""
    grippers = track.grippers
    if not grippers or not len(track.values):
        return Reading("gripper_never_moves", 1.0, GRIPPER_MIN_TRAVEL, False, "no gripper")
    low, high = SO101_RANGES["gripper"][0]
    travels = [float(track.values[:, i].max() - track.values[:, i].min()) for i in grippers]
    k = int(np.argmin(travels))
    travel, name = travels[k], track.names[grippers[k]]
    fraction = travel / (high - low)
    return Reading("gripper_never_moves", fraction, GRIPPER_MIN_TRAVEL, fraction < GRIPPER_MIN_TRAVEL,
                   f"{name} travels {travel:.1f} deg of its {high - low:g} deg range", (), name)


def _reversals(column: np.ndarray, swing: float) -> list[tuple[int, float]]:
    """(frame, swing) where the motion turns back by at least ``swing`` from its last extreme
    (hysteresis); the swing is the distance travelled since the previous reversal."""
    turns: list[tuple[int, float]] = []
    direction = 0  # +1 rising, -1 falling, 0 not moved a full swing yet
    extreme, extreme_at = (float(column[0]), 0) if len(column) else (0.0, 0)
    previous = extreme
    for t in range(1, len(column)):
        value = float(column[t])
        if direction == 0:
            if abs(value - extreme) >= swing:
                direction = 1 if value > extreme else -1
                extreme, extreme_at = value, t
        elif (value - extreme) * direction > 0:  # still going the same way
            extreme, extreme_at = value, t
        elif abs(value - extreme) >= swing:  # came back a full swing: the extreme was a reversal
            turns.append((extreme_at, abs(extreme - previous)))
            previous = extreme
            direction = -direction
            extreme, extreme_at = value, t
    return turns


def gripper_chatter(track: JointTrack) -> Reading:
    """The longest burst of small gripper reversals closer than CHATTER_WINDOW_S to each other.

    Chatter is a flicker: swings of CHATTER_DEGREES up to CHATTER_MAX_SWING of the gripper's range.
    Full open/close strokes, however quick, are deliberate motion and end a burst.
    """
    best: list[int] = []
    name = ""
    low, high = SO101_RANGES["gripper"][0]
    largest = CHATTER_MAX_SWING * (high - low)
    for i in track.grippers:
        run: list[int] = []
        for frame, size in _reversals(track.values[:, i], CHATTER_DEGREES):
            if size > largest or (run and (frame - run[-1]) / track.fps > CHATTER_WINDOW_S):
                run = []
            if size <= largest:
                run.append(frame)
            if len(run) > len(best):
                best, name = list(run), track.names[i]
    fired = len(best) >= CHATTER_REVERSALS
    return Reading(
        "gripper_chatter", len(best), CHATTER_REVERSALS, fired,
        f"{name or 'the gripper'} of the {track.role} reverses {len(best)} times within "
        f"{(best[-1] - best[0]) / track.fps if best else 0:.1f} s (frames {_frame_text(best)})",
        _frames(best), name,
    )


def _same_joints(action: JointTrack, state: JointTrack) -> bool:
    return action.degrees and state.degrees and action.bases == state.bases and len(action.values) == len(
        state.values
    )


def stuck_joints(action: JointTrack, state: JointTrack) -> list[Reading]:
    """Per joint: the state does not move while the action moves it."""
    if not _same_joints(action, state) or not len(state.values):
        return []
    state_span = state.values.max(axis=0) - state.values.min(axis=0)
    action_span = action.values.max(axis=0) - action.values.min(axis=0)
    readings: list[Reading] = []
    for j in range(state.values.shape[1]):
        if state_span[j] < STUCK_STATE_DEGREES and action_span[j] >= STUCK_ACTION_DEGREES:
            readings.append(Reading(
                "stuck_joint", float(state_span[j]), STUCK_STATE_DEGREES, True,
                f"{state.names[j]} stays within {state_span[j]:.2f} deg in the state while the action "
                f"moves it {action_span[j]:.1f} deg", (), state.names[j],
            ))
    return readings


def divergence(action: JointTrack, state: JointTrack) -> list[Reading]:
    """Per body joint: the median distance between state and action, at the best lag of the state."""
    if not _same_joints(action, state) or len(state.values) <= DIVERGENCE_MAX_LAG + 2:
        return []
    a, s = action.values[:, action.body], state.values[:, state.body]
    by_lag = np.stack([
        np.median(np.abs(a[: len(a) - lag] - s[lag:]), axis=0) for lag in range(DIVERGENCE_MAX_LAG + 1)
    ])
    lags, medians = by_lag.argmin(axis=0), by_lag.min(axis=0)
    readings: list[Reading] = []
    for k in np.flatnonzero(medians > DIVERGENCE_DEGREES):
        j, lag = action.body[int(k)], int(lags[k])
        offset = float(np.median(a[: len(a) - lag, k] - s[lag:, k]))
        readings.append(Reading(
            "action_state_divergence", float(medians[k]), DIVERGENCE_DEGREES, True,
            f"{action.names[j]}: the state stays {medians[k]:.1f} deg (median) from the action "
            f"(median offset {offset:+.1f} deg)", (), action.names[j],
        ))
    return readings


def dead_joints(role: str, names: Sequence[str], low: np.ndarray, high: np.ndarray, unit: str = "") -> Reading:
    """Joints whose value never changes over the whole dataset (``low``/``high``: per-joint extremes)."""
    spans = np.asarray(high, dtype=np.float64) - np.asarray(low, dtype=np.float64)
    dead = np.flatnonzero(spans == 0)
    if not len(dead):
        return Reading("dead_joint", 0, 0, False, f"every joint of the {role} moves", (), role)
    if len(dead) == len(spans):
        return Reading("dead_joint", len(dead), 0, True,
                       f"every value of the {role} is constant in every episode: a placeholder, not a recording",
                       (), role)
    shown = ", ".join(f"{names[j]} ({float(low[j]):g}{unit})" for j in dead[:6]) + (" ..." if len(dead) > 6 else "")
    return Reading("dead_joint", len(dead), 0, True,
                   f"{len(dead)} of the {len(spans)} joints of the {role} never change in any episode: {shown}",
                   (), role)


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


# -- cameras ------------------------------------------------------------------------------------------
THUMB_SIZE = (32, 24)


@dataclass(frozen=True)
class CameraSample:
    """Frames sampled from one camera of one episode.

    ``indices``: the sampled episode frames; ``thumbs``: their 32x24 grey thumbnails (area average);
    ``signatures``: their 8x8 fingerprints (backend/media/fingerprint.py); ``changed``: for each sample
    the fraction of pixels that changed by more than PIXEL_CHANGE_LEVEL at the next frame (NaN when
    the next frame was not decoded).
    """

    camera: str
    indices: np.ndarray
    thumbs: np.ndarray
    signatures: np.ndarray
    changed: np.ndarray


def sample_positions(length: int, count: int, block: int = 1) -> list[int]:
    """``count`` evenly spread frames of ``length``; with ``block`` > 1 (frames stored in chunks that
    decompress as a whole, e.g. HDF5 images in chunks of 100) spread inside max(1, count // 4) chunks
    so that each sampled chunk is decompressed once."""
    if length <= 0 or count <= 0:
        return []
    last = max(length - 2, 0)  # keep room for the next frame of each sample
    if block <= 1 or length <= block:
        return sorted({int(round(x)) for x in np.linspace(0, last, min(count, last + 1))})
    chunks = int(np.ceil(length / block))
    take = max(1, min(chunks, count // 4))
    # the chunks holding frames evenly spread over the episode (one chunk: the middle frame's)
    chosen = sorted({min(chunks - 1, int((i + 0.5) * length / take) // block) for i in range(take)})
    per = max(1, int(np.ceil(count / len(chosen))))
    positions: set[int] = set()
    for c in chosen:
        lo = c * block
        hi = min(lo + block - 2, last)  # the pair stays inside the chunk
        if hi < lo:
            hi = lo
        positions.update(int(round(x)) for x in np.linspace(lo, hi, per))
    return sorted(p for p in positions if p <= last)


def _grey(frame: np.ndarray) -> np.ndarray:
    import cv2

    frame = np.asarray(frame)
    if frame.ndim == 2:
        return frame.astype(np.uint8, copy=False)
    if frame.shape[-1] == 1:
        return np.ascontiguousarray(frame[..., 0]).astype(np.uint8, copy=False)
    return cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2GRAY)


_VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm")


def _grey_source(stream: Any, wanted: Sequence[int]) -> dict[int, np.ndarray] | None:
    """Grey frames straight from the video file for streams that show one (``path`` + ``file_index``):
    the luma plane, no RGB conversion (backend/media/sample.py). None for other streams."""
    path = getattr(stream, "path", None)
    file_index = getattr(stream, "file_index", None)
    if not isinstance(path, (str, Path)) or not callable(file_index):
        return None
    if Path(path).suffix.lower() not in _VIDEO_SUFFIXES:
        return None
    from backend.media.sample import grey_frames

    files = {i: int(file_index(i)) for i in wanted}
    decoded = grey_frames(path, files.values())
    return {i: decoded[f] for i, f in files.items() if f in decoded}


def sample_camera(stream: Any, camera: str, positions: Sequence[int], pairs: bool = True) -> CameraSample:
    """Decode ``positions`` of a ``backend.model.Stream`` (and each one's next frame when ``pairs``)."""
    import cv2

    from backend.media.fingerprint import frame_signature

    inside = [p for p in positions if 0 <= p < stream.num_frames]
    wanted = sorted({*inside, *(p + 1 for p in inside if pairs and p + 1 < stream.num_frames)})
    grey = _grey_source(stream, wanted)
    if grey is None:
        grey = {i: _grey(stream.frame(i)) for i in wanted}
    indices: list[int] = []
    thumbs: list[np.ndarray] = []
    signatures: list[np.ndarray] = []
    changed: list[float] = []
    for index in inside:
        picture = grey.get(index)
        if picture is None:
            continue
        indices.append(index)
        thumbs.append(cv2.resize(picture, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32))
        signatures.append(frame_signature(picture))
        following = grey.get(index + 1) if pairs else None
        if following is not None:
            changed.append(float((cv2.absdiff(picture, following) > PIXEL_CHANGE_LEVEL).mean()))
        else:
            changed.append(float("nan"))
    size = (THUMB_SIZE[1], THUMB_SIZE[0])
    return CameraSample(
        camera,
        np.asarray(indices, dtype=np.int64),
        np.stack(thumbs) if thumbs else np.zeros((0, *size), np.float32),
        np.stack(signatures) if signatures else np.zeros((0, 8, 8), np.float32),
        np.asarray(changed, dtype=np.float64),
    )


def black_frames(sample: CameraSample) -> Reading:
    bright = sample.thumbs.reshape(len(sample.thumbs), -1).max(axis=1) if len(sample.thumbs) else np.zeros(0)
    dark = sample.indices[bright < BLACK_LEVEL]
    return Reading(
        "black_frames", len(dark), BLACK_LEVEL, bool(len(dark)),
        f"{sample.camera}: {len(dark)} of {len(sample.indices)} sampled frames are black "
        f"(frames {_frame_text(dark.tolist())})", _frames(dark), sample.camera,
    )


def saturated_frames(sample: CameraSample) -> Reading:
    dim = sample.thumbs.reshape(len(sample.thumbs), -1).min(axis=1) if len(sample.thumbs) else np.zeros(0)
    white = sample.indices[dim > SATURATED_LEVEL]
    return Reading(
        "saturated_frames", len(white), SATURATED_LEVEL, bool(len(white)),
        f"{sample.camera}: {len(white)} of {len(sample.indices)} sampled frames are white "
        f"(frames {_frame_text(white.tolist())})", _frames(white), sample.camera,
    )


def blank_camera(sample: CameraSample) -> Reading:
    """Every sampled frame is one flat colour (whatever the colour)."""
    if not len(sample.thumbs):
        return Reading("blank_camera", 0, BLANK_STD, False, "not sampled", (), sample.camera)
    spread = float(sample.thumbs.reshape(len(sample.thumbs), -1).std(axis=1).max())
    return Reading("blank_camera", spread, BLANK_STD, spread < BLANK_STD,
                   f"{sample.camera}: every sampled frame is one flat grey level (spread {spread:.2f})",
                   _frames(sample.indices), sample.camera)


def _moved(track: JointTrack | None, a: np.ndarray, b: np.ndarray, degrees: float) -> np.ndarray:
    """For frame pairs (a[k], b[k]): whether the arm moved between them (True for all without joints)."""
    if track is None or not len(track.values):
        return np.ones(len(a), dtype=bool)
    values = track.values[:, track.body]
    a = np.clip(a, 0, len(values) - 1)
    b = np.clip(b, 0, len(values) - 1)
    step = np.abs(values[b] - values[a])
    if track.degrees:
        return step.max(axis=1) >= degrees
    spans = track.spans()[track.body]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(spans > 0, step / spans, 0.0)
    return relative.max(axis=1) >= MOTION_RELATIVE * degrees / FROZEN_PICTURE_MOTION_DEGREES


def frozen_camera(sample: CameraSample, track: JointTrack | None) -> Reading:
    """Samples far apart that show the same picture while the arm moved between them."""
    count = len(sample.indices)
    if count < 3:
        return Reading("frozen_camera", 0, 0.5, False, "too few samples", (), sample.camera)
    diff = np.abs(sample.thumbs[1:] - sample.thumbs[:-1]).reshape(count - 1, -1).max(axis=1)
    same = diff <= FROZEN_CELL_LEVELS
    moved = _moved(track, sample.indices[:-1], sample.indices[1:], FROZEN_PICTURE_MOTION_DEGREES)
    if track is None:  # no joints (Cosmos): only a picture that never changes at all
        fraction = float(same.mean())
        fired = bool(same.all())
    else:
        considered = int(moved.sum())
        fraction = float((same & moved).sum() / considered) if considered else 0.0
        fired = considered >= 2 and fraction >= 0.5
    frames = sample.indices[1:][same & moved]
    # every sampled interval with motion shows the same picture: the camera delivered no new frames
    dead = fired and track is not None and int(moved.sum()) >= 3 and fraction >= 1.0
    return Reading(
        "frozen_camera", fraction, 0.5, fired,
        f"{sample.camera}: {int((same & moved).sum())} of {int(moved.sum())} sampled intervals show the same "
        f"picture at both ends although the arm moved (frames {_frame_text(frames.tolist())})",
        _frames(frames), sample.camera, "error" if dead else None,
    )


def repeated_frames(sample: CameraSample, track: JointTrack | None) -> Reading:
    """Sampled frames whose next frame is the same picture while the arm moved."""
    valid = ~np.isnan(sample.changed)
    starts = sample.indices[valid]
    repeated = sample.changed[valid] < REPEAT_CHANGED_FRACTION
    if track is None:
        return Reading("repeated_frames", 0, REPEAT_MIN_FRACTION, False, "no joints to tell motion", (),
                       sample.camera)
    moved = _moved(track, starts, starts + 1, REPEAT_MOTION_DEGREES)
    considered = int(moved.sum())
    hits = repeated & moved
    fraction = float(hits.sum() / considered) if considered else 0.0
    fired = int(hits.sum()) >= REPEAT_MIN_PAIRS and fraction >= REPEAT_MIN_FRACTION
    frames = starts[hits] + 1
    return Reading(
        "repeated_frames", fraction, REPEAT_MIN_FRACTION, fired,
        f"{sample.camera}: {int(hits.sum())} of {considered} sampled frames repeat the previous picture while "
        f"the arm moved (frames {_frame_text(frames.tolist())})",
        _frames(frames), sample.camera,
    )


def identical_cameras(a: CameraSample, b: CameraSample) -> Reading:
    """Two cameras whose sampled frames (same frame numbers) have the same signatures."""
    from backend.media.fingerprint import cameras_look_identical

    common, ia, ib = np.intersect1d(a.indices, b.indices, return_indices=True)
    if len(common) < 2:
        return Reading("identical_cameras", 0, IDENTICAL_TOLERANCE, False, "too few common samples", (), f"{a.camera}+{b.camera}")
    sig_a, sig_b = a.signatures[ia], b.signatures[ib]
    distance = float(np.abs(sig_a - sig_b).reshape(len(common), -1).mean(axis=1).max())
    fired = cameras_look_identical(sig_a, sig_b, IDENTICAL_TOLERANCE)
    return Reading(
        "identical_cameras", distance, IDENTICAL_TOLERANCE, fired,
        f"{a.camera} and {b.camera} show the same picture in all {len(common)} sampled frames "
        f"(signatures at most {distance:.1f} grey levels apart)",
        _frames(common), f"{a.camera}+{b.camera}",
    )

"""Signals of an episode's joint values and length: non-finite values, short / long episodes, idle,
frozen action, jerk, jumps, speed, range, saturation, gripper travel and chatter, stuck joints,
action/state divergence, dead joints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.signals.base import (
    ACTION_CHUNK,
    CHATTER_DEGREES,
    CHATTER_MAX_SWING,
    CHATTER_REVERSALS,
    CHATTER_WINDOW_S,
    DIVERGENCE_DEGREES,
    DIVERGENCE_MAX_LAG,
    FROZEN_FRACTION,
    FROZEN_MIN_SECONDS,
    GRIPPER_MIN_TRAVEL,
    JERK_ACCEL_DEG_S2,
    JERK_MIN_FRACTION,
    JERK_MIN_FRAMES,
    JUMP_DEGREES,
    JUMP_RELATIVE,
    JUMP_RELATIVE_OF_WIDEST,
    LONG_FACTOR_OF_MEDIAN,
    RANGE_MARGIN_DEGREES,
    SATURATION_FRACTION,
    SATURATION_MARGIN_DEGREES,
    SHORT_FRACTION_OF_MEDIAN,
    SHORT_SECONDS,
    SO101_MAX_SPEED_DEG_S,
    SPEED_FACTOR,
    STATIC_DEGREES,
    STATIC_RELATIVE,
    STUCK_ACTION_DEGREES,
    STUCK_STATE_DEGREES,
    JointTrack,
    Reading,
    frame_list,
    frame_text,
)
from backend.units import SO101_RANGES


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
        frame_list(rows), key,
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
        frame_list(spikes),
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
            f"at frame {frame_text(frames.tolist())} (limit {limit:.3g}{unit}"
            + (f"; faster than the SO-101 can turn at {track.fps:g} fps)" if impossible else ")"),
            frame_list(frames), track.names[j], "error" if impossible else None,
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
            f"{frame_text(frames.tolist())} (an STS3215 turns at most ~{SO101_MAX_SPEED_DEG_S:g} deg/s)",
            frame_list(frames), track.names[int(j)],
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
            frame_list(frames), track.names[int(j)],
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
                frame_list(frames), track.names[j],
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
        f"{(best[-1] - best[0]) / track.fps if best else 0:.1f} s (frames {frame_text(best)})",
        frame_list(best), name,
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


def dropped_frames(timestamps: np.ndarray, fps: float, subject: str = "") -> Reading:
    """Steps between consecutive timestamps longer than DROPPED_GAP frame periods: frames missing."""
    from backend.signals.specs import DROPPED_GAP

    times = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if len(times) < 2 or not fps:
        return Reading("dropped_frames", 0, 0, False, "too few timestamps", (), subject)
    period = 1.0 / fps
    steps = np.diff(times)
    gaps = np.flatnonzero(steps > DROPPED_GAP * period)
    missing = int(np.sum(np.round(steps[gaps] / period) - 1)) if len(gaps) else 0
    where = f"{subject}: " if subject else ""
    return Reading(
        "dropped_frames", float(missing), 0, bool(len(gaps)),
        f"{where}{missing} frames missing in {len(gaps)} gaps of the timestamps (longest "
        f"{float(steps.max()) * 1000:.0f} ms at {fps:g} fps; after frames {frame_text(gaps.tolist())})",
        frame_list(gaps + 1), subject,
    )

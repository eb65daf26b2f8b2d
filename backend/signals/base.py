"""What a signal is (:class:`Signal`, :class:`Reading`), the thresholds, the doctor's :data:`SIGNALS`
and the joint tracks the motion signals read (:class:`JointTrack`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


def frame_list(indices: Any) -> tuple[int, ...]:
    return tuple(int(i) for i in list(np.asarray(indices).reshape(-1))[:MAX_FRAMES_LISTED])


def frame_text(frames: Sequence[int], total: int | None = None) -> str:
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

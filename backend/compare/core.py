"""Compare two joint trajectories: one unit, one timeline, metrics, end-effector divergence.

    a = Trajectory.from_episode(source_episode, "action")
    b = Trajectory.from_episode(generated_episode, "action")
    result = compare_trajectories(a, b, align="offset")
    result.to_json()   # {"joints": {name: {"mae", "rmse", "max_abs", "dtw", ...}}, "offset_s", "units", ...}

Both sides are converted to one unit first (degrees for SO-101 joints, see ``common_unit``); B's
joints are matched to A's by name. The comparison runs on A's timeline: ``result.times`` are A
seconds over the span both sides cover, ``result.a``/``result.b`` the values there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.compare import align as align_mod
from backend.compare import metrics as metrics_mod
from backend.errors import StudioError
from backend.kinematics import default_model, degrees_to_rad_so101
from backend.model import Episode, Role
from backend.units import JointSpace, JointValues, Unit, base_joint_name


@dataclass
class Trajectory:
    """Joint values (T, J) sampled at i / fps seconds, with their joint space."""

    values: np.ndarray
    fps: float
    space: JointSpace
    label: str = ""

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64).reshape(len(self.values), -1)
        if self.values.shape[1] != self.space.width:
            raise StudioError(
                f"{self.label or 'trajectory'}: {self.values.shape[1]} columns for {self.space.width} joints"
            )
        if self.fps <= 0:
            raise StudioError(f"{self.label or 'trajectory'}: fps must be positive, got {self.fps}")
        if len(self.values) < 2:
            raise StudioError(f"{self.label or 'trajectory'}: needs at least 2 frames to compare")
        if not np.all(np.isfinite(self.values)):
            raise StudioError(f"{self.label or 'trajectory'}: has NaN/inf values")

    @property
    def names(self) -> tuple[str, ...]:
        return self.space.names

    @property
    def unit(self) -> Unit:
        return self.space.unit

    @property
    def times(self) -> np.ndarray:
        return align_mod.sample_times(len(self.values), self.fps)

    @property
    def duration(self) -> float:
        return align_mod.duration(len(self.values), self.fps)

    @classmethod
    def from_joint_values(cls, values: JointValues, fps: float, label: str = "") -> Trajectory:
        return cls(values.values, fps, values.space, label)

    @classmethod
    def from_episode(
        cls, episode: Episode, feature: Role | str = Role.ACTION, unit: Unit | None = None, label: str = ""
    ) -> Trajectory:
        """The episode's action/state (or any vector feature key); ``unit`` declares an unknown unit."""
        dataset = episode.dataset
        name = feature.value if isinstance(feature, Role) else feature
        try:
            joints = episode.joints(feature)
        except KeyError as error:
            kinds = (
                "video only"
                if dataset.cameras and not dataset.roles
                else f"features {sorted(dataset.features)}"
            )
            raise StudioError(
                f"episode {episode.index} has no {name} values ({kinds})",
                dataset.path,
                "compare the IDM-labelled dataset made from these videos"
                if dataset.cameras and not dataset.roles
                else None,
            ) from error
        space = joints.space if unit is None else joints.space.with_unit(unit)
        return cls(joints.values, float(dataset.fps), space, label or f"{dataset.path.name}:{episode.index}")


# -- one unit ---------------------------------------------------------------------------------------
def _key(name: str) -> str:
    core = name.split(".")[0]
    return core


def match_joints(a: JointSpace, b: JointSpace) -> list[int]:
    """Column of B for each joint of A, by name (``shoulder_pan`` == ``shoulder_pan.pos``)."""
    keys_b = [_key(n) for n in b.names]
    keys_a = [_key(n) for n in a.names]
    if sorted(keys_a) == sorted(keys_b) and len(set(keys_b)) == len(keys_b):
        return [keys_b.index(k) for k in keys_a]
    bases_a = [base_joint_name(n) for n in a.names]
    bases_b = [base_joint_name(n) for n in b.names]
    if sorted(bases_a) == sorted(bases_b) and len(set(bases_b)) == len(bases_b):
        return [bases_b.index(k) for k in bases_a]
    if a.width == b.width:
        return list(range(a.width))  # same width, different names: by position
    raise StudioError(f"joints differ: A has {list(a.names)}, B has {list(b.names)}")


def common_unit(a: JointSpace, b: JointSpace, preferred: Unit = Unit.SIM_DEGREES) -> Unit:
    """The unit both sides are compared in.

    SO-101 joints on both sides: ``preferred`` (degrees). Vectors that are not joint positions
    (Unit.OTHER) compare raw only with OTHER vectors of the same width.
    """
    if a.unit is Unit.OTHER or b.unit is Unit.OTHER or not (a.is_so101 and b.is_so101):
        if a.unit is Unit.OTHER and b.unit is Unit.OTHER:
            if a.width != b.width:
                raise StudioError(
                    f"cannot compare vectors of width {a.width} and {b.width} (not joint positions)"
                )
            return Unit.OTHER
        if a.unit == b.unit and a.width == b.width:
            return a.unit
        unknown = "A" if a.unit is Unit.OTHER or not a.is_so101 else "B"
        raise StudioError(
            f"cannot compare {a.unit.value} with {b.unit.value}: side {unknown} is not SO-101 joint positions "
            "in a known unit",
            hint=f"declare the unit of side {unknown} (--{unknown.lower()}-unit rad|deg|lerobot)",
        )
    units_a, units_b = a.convertible_units(), b.convertible_units()
    if preferred in units_a and preferred in units_b:
        return preferred
    for unit in units_a:
        if unit in units_b:
            return unit
    raise StudioError(
        f"no common unit for {a.unit.value} and {b.unit.value}", hint="load the arm's calibration"
    )


def to_common(
    a: Trajectory, b: Trajectory, preferred: Unit = Unit.SIM_DEGREES
) -> tuple[Trajectory, Trajectory]:
    """Both trajectories in one unit, B's columns in A's joint order."""
    unit = common_unit(a.space, b.space, preferred)
    order = match_joints(a.space, b.space)
    va = a.space.convert(a.values, unit) if unit is not Unit.OTHER else a.values
    vb = b.space.convert(b.values, unit) if unit is not Unit.OTHER else b.values
    names = tuple(_key(n) for n in a.names)
    return (
        Trajectory(va, a.fps, JointSpace(names, unit), a.label),
        Trajectory(vb[:, order], b.fps, JointSpace(names, unit), b.label),
    )


# -- the comparison ---------------------------------------------------------------------------------
@dataclass
class PairResult:
    a_label: str
    b_label: str
    names: tuple[str, ...]
    unit: Unit
    alignment: align_mod.Alignment
    times: np.ndarray  # A seconds of the common span
    a: np.ndarray  # (N, J) A values there
    b: np.ndarray  # (N, J) B values at the matching B times
    b_times: np.ndarray  # B seconds matching ``times``
    joints: dict[str, metrics_mod.JointMetrics]
    gripper: dict[str, metrics_mod.GripperComparison]
    duration_a_s: float
    duration_b_s: float
    fps_a: float
    fps_b: float
    source_units: tuple[str, str]
    ee: dict[str, Any] | None = None  # end-effector divergence (SO-101 single arm)
    warnings: list[str] = field(default_factory=list)

    @property
    def overlap_s(self) -> float:
        return float(self.times[-1] - self.times[0]) if len(self.times) > 1 else 0.0

    @property
    def coverage(self) -> float:
        """Fraction of A's duration the comparison covers."""
        return self.overlap_s / self.duration_a_s if self.duration_a_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """Aggregates over joints: means of each metric and the worst joint by RMSE."""
        rows = list(self.joints.values())
        worst = max(self.joints, key=lambda n: self.joints[n].rmse)
        dtws = [m.dtw for m in rows if m.dtw is not None]
        corrs = [m.corr for m in rows if m.corr is not None]
        grip = [g for g in self.gripper.values() if g.thresholds is not None]
        out = {
            "mae": float(np.mean([m.mae for m in rows])),
            "rmse": float(np.mean([m.rmse for m in rows])),
            "max_abs": float(np.max([m.max_abs for m in rows])),
            "dtw": float(np.mean(dtws)) if dtws else None,
            "corr": float(np.mean(corrs)) if corrs else None,
            "worst_joint": worst,
            "worst_rmse": self.joints[worst].rmse,
            "jerk_ratio": self._jerk_ratio(),
            "gripper_dt_s": max((g.max_abs_dt_s for g in grip if g.max_abs_dt_s is not None), default=None),
            "gripper_missed": sum(g.unmatched_a for g in grip),
            "gripper_extra": sum(g.unmatched_b for g in grip),
        }
        if self.ee:
            out["ee_mean_mm"] = self.ee["mean_mm"]
            out["ee_max_mm"] = self.ee["max_mm"]
        return out

    def _jerk_ratio(self) -> float | None:
        ratios = [
            m.jerk_rms_b / m.jerk_rms_a
            for n, m in self.joints.items()
            if m.jerk_rms_a and m.jerk_rms_b is not None and base_joint_name(n) != "gripper"
        ]
        return float(np.median(ratios)) if ratios else None

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a_label,
            "b": self.b_label,
            "units": self.unit.label or self.unit.value,
            "source_units": {"a": self.source_units[0], "b": self.source_units[1]},
            "offset_s": float(self.alignment.offset_s),
            "scale": float(self.alignment.scale),
            "align": self.alignment.to_json(),
            "fps": {"a": self.fps_a, "b": self.fps_b},
            "duration_s": {"a": self.duration_a_s, "b": self.duration_b_s, "overlap": self.overlap_s},
            "coverage": self.coverage,
            "joints": {name: m.to_json() for name, m in self.joints.items()},
            "gripper": {name: g.to_json() for name, g in self.gripper.items()},
            "end_effector": self.ee,
            "summary": self.summary(),
            "warnings": list(self.warnings),
        }


def _samples_within(t0: float, t1: float, fps: float) -> np.ndarray:
    """Sample instants k / fps inside [t0, t1] (with a little tolerance for rounding)."""
    first = int(np.ceil(t0 * fps - 1e-6))
    last = int(np.floor(t1 * fps + 1e-6))
    return np.arange(first, last + 1, dtype=np.float64) / fps


def compare_trajectories(
    a: Trajectory,
    b: Trajectory,
    align: str = "none",
    *,
    unit: Unit = Unit.SIM_DEGREES,
    rate: float | None = None,
    band_s: float = 1.0,
    max_offset_s: float | None = None,
    offset_s: float | None = None,
    scale: float | None = None,
    with_dtw: bool = True,
) -> PairResult:
    """Align B to A and measure how far B is from A, joint by joint."""
    source_units = (a.unit.value, b.unit.value)
    a, b = to_common(a, b, unit)
    search_rate = float(rate or max(a.fps, b.fps))
    warnings: list[str] = []
    alignment = align_mod.align(
        a.values,
        a.fps,
        b.values,
        b.fps,
        align,
        rate=search_rate,
        max_offset_s=max_offset_s,
        band_s=band_s,
        offset_s=offset_s,
        scale=scale,
    )
    # common span on A's timeline: where B's matching time is inside B's recording
    if alignment.warp is not None:
        t0, t1 = float(alignment.warp[0, 0]), float(alignment.warp[-1, 0])
    else:
        s, o = alignment.scale, alignment.offset_s
        t0 = max(0.0, (0.0 - o) / s)
        t1 = min(a.duration, (b.duration - o) / s)
    # the metric grid: the samples of the slower side, so the coarser signal is never interpolated
    # (interpolating it would average its noise away); an explicit ``rate`` gives a uniform grid
    if rate:
        grid_rate = float(rate)
        times = align_mod.grid(t0, t1, grid_rate)
        b_times = alignment.b_time(times)
    elif b.fps < a.fps:
        grid_rate = b.fps
        b0, b1 = sorted((float(alignment.b_time(t0)), float(alignment.b_time(t1))))
        b_times = _samples_within(max(b0, 0.0), min(b1, b.duration), b.fps)
        times = alignment.a_time(b_times)
    else:
        grid_rate = a.fps
        times = _samples_within(t0, t1, a.fps)
        b_times = alignment.b_time(times)
    if len(times) < 2:
        raise StudioError(
            f"{a.label} and {b.label} do not overlap in time (offset {alignment.offset_s:+.2f} s)",
            hint="try --align none or a smaller offset",
        )
    times = np.clip(times, 0.0, a.duration)
    b_times = np.clip(b_times, 0.0, b.duration)
    va = align_mod.resample(a.values, a.fps, times)
    vb = align_mod.resample(b.values, b.fps, b_times)
    joint_list = metrics_mod.joint_metrics(va, vb, times)
    if with_dtw:
        dtw = align_mod.dtw_distance(va, vb, align_mod.band_samples(band_s, grid_rate))
        for m, d in zip(joint_list, dtw, strict=True):
            m.dtw = float(d)
    # smoothness over the compared span of each side, both at the lower of the two rates (fair
    # finite differences; a start-up transient outside the span must not weigh on one side only)
    smooth_rate = min(a.fps, b.fps)
    span_a = align_mod.grid(float(times[0]), float(times[-1]), smooth_rate)
    span_b = align_mod.grid(float(b_times.min()), float(b_times.max()), smooth_rate)
    jerk_a = metrics_mod.jerk_rms(align_mod.resample(a.values, a.fps, span_a), smooth_rate)
    jerk_b = metrics_mod.jerk_rms(align_mod.resample(b.values, b.fps, span_b), smooth_rate)
    for m, ja, jb in zip(joint_list, jerk_a, jerk_b, strict=True):
        m.jerk_rms_a, m.jerk_rms_b = float(ja), float(jb)
    joints = dict(zip(a.names, joint_list, strict=True))

    gripper: dict[str, metrics_mod.GripperComparison] = {}
    for j, name in enumerate(a.names):
        if base_joint_name(name) == "gripper":
            gripper[name] = metrics_mod.compare_gripper(
                a.values[:, j], a.times, b.values[:, j], alignment.a_time(b.times), span=(t0, t1)
            )

    ee = None
    if a.unit is Unit.SIM_DEGREES:
        qa = degrees_to_rad_so101(va, a.names)
        qb = degrees_to_rad_so101(vb, a.names)
        if qa is not None and qb is not None:
            model = default_model()
            dist = np.linalg.norm(model.tip(qa) - model.tip(qb), axis=1) * 1000.0
            k = int(dist.argmax())
            ee = {"mean_mm": float(dist.mean()), "max_mm": float(dist[k]), "t_max_s": float(times[k])}

    if b.duration < 0.5 * a.duration:
        warnings.append(
            f"B covers {b.duration:.2f} s of A's {a.duration:.2f} s: metrics cover the overlap only"
        )
    return PairResult(
        a_label=a.label,
        b_label=b.label,
        names=a.names,
        unit=a.unit,
        alignment=alignment,
        times=times,
        a=va,
        b=vb,
        b_times=b_times,
        joints=joints,
        gripper=gripper,
        duration_a_s=a.duration,
        duration_b_s=b.duration,
        fps_a=a.fps,
        fps_b=b.fps,
        source_units=source_units,
        ee=ee,
        warnings=warnings,
    )

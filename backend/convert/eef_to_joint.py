"""End-effector actions -> SO-101 joint actions by inverse kinematics (``backend.ik``): a LeIsaac HDF5
whose ``actions`` are ``[x, y, z, qw, qx, qy, qz, gripper]`` (the output of ``convert joint-to-eef``,
or of MimicGen run on it) -> the same file with 6-D joint actions in radians; everything else is
copied. Each frame starts from the previous answers (``solve_trajectory``); the summary reports the
reached-pose error and, where the file has ``obs/joint_pos_target``, the joint error against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend import provenance as prov
from backend.convert.common import (
    ConversionSummary,
    EpisodePlan,
    Plan,
    Timer,
    check_output_target,
    options_dict,
)
from backend.convert.eef_common import (
    EEF_FRAMES,
    base_spec,
    error_stats,
    link,
    open_source,
    vector,
    write_episode,
)
from backend.errors import StudioError
from backend.formats.base import WriterSpec
from backend.formats.leisaac_hdf5 import LeIsaacHDF5Writer
from backend.ik import ArmChain, rotation_angles, solve_trajectory
from backend.model import Dataset, DatasetFormat, Episode
from backend.progress import Progress, ensure_progress
from backend.units import SO101_JOINTS

KIND = "eef_to_joint"
KIND_TO_EEF = "joint_to_eef"


@dataclass
class EefToJointOptions:
    out: Path
    orientation_weight: float = 0.05  # metres per radian in the least-squares pose error
    frame: str | None = None  # None: the frame joint-to-eef wrote (its provenance record), else gripper
    overwrite: bool = False
    hash_mode: str = "auto"


def _eef_dataset(source: Path, dataset: Dataset) -> None:
    if dataset.format is not DatasetFormat.LEISAAC_HDF5:
        raise StudioError("eef-to-joint reads a LeIsaac HDF5 file", source, "give the output of joint-to-eef")
    feature = dataset.features.get("actions")
    if feature is None or tuple(feature.shape) != (8,):
        shape = "none" if feature is None else f"{tuple(feature.shape)}"
        raise StudioError(
            f"the actions are not 8-D end-effector poses [x, y, z, qw, qx, qy, qz, gripper] (shape {shape})",
            source,
        )


def plan(source: Path, options: EefToJointOptions) -> Plan:
    check_output_target(Path(options.out), options.overwrite, [Path(source)])
    with open_source(source) as dataset:
        _eef_dataset(Path(source), dataset)
        plan = Plan(KIND, str(options.out), DatasetFormat.LEISAAC_HDF5.value)
        plan.details = {"episodes": dataset.num_episodes, "frames": dataset.num_frames}
        for k, episode in enumerate(dataset.episodes):  # every demo is solved, in order
            plan.episodes.append(
                EpisodePlan(
                    str(source),
                    episode.index,
                    episode.display_name,
                    episode.length,
                    True,
                    output_index=k,
                    frames_out=episode.length,
                    task=episode.task,
                )
            )
        return plan


def _frame_written(source: Path) -> str:
    """The end-effector frame joint-to-eef wrote ``source`` with (its provenance record), else gripper."""
    record = prov.read_provenance(source) or {}
    if record.get("conversion") == KIND_TO_EEF:
        frame = (record.get("options") or {}).get("frame")
        if frame in EEF_FRAMES:
            return str(frame)
    return "gripper"


def _start(episode: Episode) -> np.ndarray:
    for key in ("obs/joint_pos", "obs/joint_pos_target"):
        if key in episode.dataset.features and episode.length:
            row = np.asarray(episode.array(key), dtype=np.float64)
            if row.ndim == 2 and row.shape[1] == len(SO101_JOINTS):
                return row[0, :5]
    return np.zeros(5)


def run(source: Path, options: EefToJointOptions, progress: Progress | None = None) -> ConversionSummary:
    progress = ensure_progress(progress)
    source, out = Path(source), Path(options.out)
    check_output_target(out, options.overwrite, [source])
    timer = Timer()
    with open_source(source) as dataset:
        _eef_dataset(source, dataset)
        frame = options.frame or _frame_written(source)
        chain = ArmChain(tip=link(frame))
        base = base_spec(dataset, set())
        features = dict(base.features)
        features["actions"] = vector("actions", (6,), list(SO101_JOINTS))
        spec = WriterSpec(base.fps, dataset.robot_type, features, base.cameras, dict(base.options))
        spec.provenance = prov.new_record(
            KIND,
            [(source, "source")],
            options_dict(options),
            out,
            DatasetFormat.LEISAAC_HDF5.value,
            options.hash_mode,
        )
        total = dataset.num_frames
        done = 0
        pos_errors, rot_errors, joint_errors = [], [], []
        progress.report(0, total, "eef -> joint")
        with LeIsaacHDF5Writer(out, spec, overwrite=options.overwrite) as writer:
            for k, episode in enumerate(dataset.episodes):
                eef_actions = np.asarray(episode.array("actions"), dtype=np.float64)
                result = solve_trajectory(
                    eef_actions[:, :7], _start(episode), chain, orientation_weight=options.orientation_weight
                )
                joints = np.concatenate([result.q, eef_actions[:, 7:8]], axis=1)
                pos_errors.append(result.position_error_m)
                rot_errors.append(result.rotation_error_rad)
                if "obs/joint_pos_target" in dataset.features:
                    recorded = np.asarray(episode.array("obs/joint_pos_target"), dtype=np.float64)
                    if recorded.shape == joints.shape:
                        joint_errors.append(np.abs(recorded[:, :5] - result.q).max(axis=1))
                values = {key: np.asarray(episode.array(key)) for key in base.features}
                values["actions"] = joints.astype(np.float32)
                cameras = [cam.name for cam in spec.cameras]
                write_episode(writer, episode, values, cameras, episode.success, None, progress, done, total)
                prov.add_episode(
                    spec.provenance,
                    k,
                    0,
                    episode.index,
                    episode.display_name,
                    0,
                    episode.length,
                    max_position_error_mm=float(result.position_error_m.max(initial=0.0)) * 1000.0,
                )
                done += episode.length
    details: dict[str, Any] = {"frame": frame, **error_stats(pos_errors, rot_errors, joint_errors)}
    return ConversionSummary(
        KIND,
        str(out.absolute()),
        DatasetFormat.LEISAAC_HDF5.value,
        episodes_written=dataset.num_episodes,
        frames_written=total,
        seconds=timer.seconds,
        provenance=spec.provenance,
        details=details,
    )


def round_trip(q: np.ndarray, chain: ArmChain | None = None) -> dict[str, float]:
    """joint -> eef -> joint error of joint angles ``q`` (T, 5 or 6 rad): mm, degrees (pose and joints)."""
    chain = chain or ArmChain()
    q = np.asarray(q, dtype=np.float64)[:, :5]
    poses = chain.fk_many(q)
    result = solve_trajectory(poses, q[0], chain)
    reached = chain.fk_many(result.q)
    return error_stats(
        [np.linalg.norm(reached[:, :3, 3] - poses[:, :3, 3], axis=1)],
        [rotation_angles(reached[:, :3, :3], poses[:, :3, :3])],
        [np.abs(result.q - q).max(axis=1)],
    )

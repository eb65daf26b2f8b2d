"""Joint actions -> end-effector actions for Isaac Lab Mimic / MimicGen (LeIsaac's Mimic environments).

``run(source, options)`` (``plan`` previews): any SO-101 dataset (LeIsaac HDF5 or LeRobot) -> a LeIsaac HDF5
whose ``actions`` are ``[x, y, z, qw, qx, qy, qz, gripper]`` (the end effector of the commanded
joints in the base frame, by forward kinematics, ``backend.kinematics``: LeIsaac's ``gripper`` body,
or with ``frame="tcp"`` the tool point between the jaws; the gripper in radians)
and whose demos carry what ``isaaclab_mimic``'s DataGenInfoPool reads::

    obs/ee_frame_state                                (T, 7)  pose of the measured joints
    obs/joint_pos, obs/joint_pos_target               (T, 6)  measured and commanded joints, rad
    obs/datagen_info/eef_pose/<eef>                   (T, 4, 4)
    obs/datagen_info/target_eef_pose/<eef>            (T, 4, 4)
    obs/datagen_info/object_pose/<object>             the input's, or a recording's objects (base frame)
    obs/datagen_info/subtask_term_signals/<signal>    (T,) bool, 0 -> 1 at each subtask's end

A LeIsaac HDF5 input keeps everything else (other obs, states, initial_state, attributes, cameras).
The way back is ``backend.convert.eef_to_joint`` (inverse kinematics).
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
    DATAGEN,
    EEF_NAMES,
    base_spec,
    joint_rad,
    link,
    open_source,
    selected,
    vector,
    write_episode,
)
from backend.convert.mimic_signals import (
    DISTANCE_THRESHOLD_M,
    GRASP_THRESHOLD_RAD,
    curation_boundaries,
    gripper_events,
    signal_name,
    signals_from_boundaries,
)
from backend.errors import StudioError
from backend.formats.base import WriterSpec
from backend.formats.leisaac_hdf5 import LeIsaacHDF5Writer, read_initial_state
from backend.ik import TCP_LINK, poses_from_vectors
from backend.kinematics import default_model, quaternion_wxyz
from backend.model import Dataset, DatasetFormat, Episode
from backend.progress import Progress, ensure_progress
from backend.units import SO101_JOINTS

KIND_TO_EEF = "joint_to_eef"
DEFAULT_EEF = "so101_follower"  # LeIsaac's LiftCube Mimic config names its end effector so
OBJECT_POSE = f"{DATAGEN}/object_pose"
STATE_OBJECTS = "states/rigid_object/"
ROBOT_ROOT = "states/articulation/robot/root_pose"
SUBTASK_MODES = ("auto", "gripper", "curation")


@dataclass
class JointToEefOptions:
    out: Path
    eef_name: str = DEFAULT_EEF
    signals: list[str] | None = None  # subtask signal names in order (default: grasp / segment texts)
    subtasks: str = "auto"  # auto: curation segments where an episode has them, else gripper
    grasp_threshold: float = GRASP_THRESHOLD_RAD
    distance_threshold: float = DISTANCE_THRESHOLD_M
    env_name: str | None = None  # /data env_args env_name (the Mimic task id)
    frame: str = "gripper"  # the end effector: a key of EEF_FRAMES
    include_failed: bool = False
    overwrite: bool = False
    hash_mode: str = "auto"


# -- joint -> eef --------------------------------------------------------------------------------------
def _object_positions(episode: Episode, keys: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for key in keys:
        values = np.asarray(episode.array(key), dtype=np.float64)
        if values.ndim == 3 and values.shape[1:] == (4, 4):
            out[key.rsplit("/", 1)[-1]] = values[:, :3, 3]
        elif values.ndim == 2 and values.shape[1] >= 3:
            out[key.rsplit("/", 1)[-1]] = values[:, :3]
    return out


def _state_objects(dataset: Dataset) -> dict[str, str]:
    """Object name -> its ``states/rigid_object/<name>/root_pose`` key (a LeIsaac recording's objects)."""
    out = {}
    for key, feature in dataset.features.items():
        parts = key.split("/")
        if len(parts) == 4 and key.startswith(STATE_OBJECTS) and parts[3] == "root_pose":
            if tuple(feature.shape) == (7,):
                out[parts[2]] = key
    return out


def _before_steps(values: np.ndarray, first: np.ndarray | None) -> np.ndarray:
    """Poses before each step: LeIsaac's ``states[t]`` is the state after step t, so step t starts
    from ``states[t - 1]`` (step 0 from the initial state, else from ``states[0]``)."""
    values = np.asarray(values, dtype=np.float64)
    head = values[:1] if first is None else np.asarray(first, dtype=np.float64).reshape(1, -1)
    return np.concatenate([head, values[:-1]])


def _objects_in_base(episode: Episode, keys: dict[str, str]) -> dict[str, np.ndarray]:
    """(T, 4, 4) poses of a recording's objects in the robot's base frame, before each step."""
    if not keys:
        return {}
    initial = read_initial_state(episode)

    def first(group: str, name: str) -> np.ndarray | None:
        try:
            return np.asarray(initial[group][name]["root_pose"]).reshape(-1)[:7]
        except (KeyError, TypeError):
            return None

    if ROBOT_ROOT in episode.dataset.features:
        robot = poses_from_vectors(_before_steps(episode.array(ROBOT_ROOT), first("articulation", "robot")))
        to_base = np.linalg.inv(robot)
    else:
        to_base = np.broadcast_to(np.eye(4), (episode.length, 4, 4))
    return {
        name: to_base @ poses_from_vectors(_before_steps(episode.array(key), first("rigid_object", name)))
        for name, key in keys.items()
    }


def _boundaries(
    episode: Episode,
    options: JointToEefOptions,
    decision: Any,
    gripper: np.ndarray,
    eef: np.ndarray,
    objects: dict[str, np.ndarray],
) -> tuple[list[int], list[str], str]:
    """(boundary frames, default signal names, method) for one episode."""
    segments = curation_boundaries(decision) if decision is not None else []
    if options.subtasks == "curation" or (options.subtasks == "auto" and segments):
        texts = [s.text for s in getattr(decision, "subtasks", ())]
        names = [signal_name(t, f"subtask_{k + 1}") for k, t in enumerate(texts[:-1])]
        return segments[:-1] if len(segments) > 1 else segments, names or ["subtask_1"], "curation"
    events = gripper_events(gripper, eef, objects, options.grasp_threshold, options.distance_threshold)
    while events and events[0][1] == "release":  # closed from the start: no grasp to mark there
        events.pop(0)
    return [frame for frame, _ in events], ["grasp"], "gripper"


def _curation(source: Path, dataset: Dataset, options: JointToEefOptions) -> Any:
    if options.subtasks == "gripper":
        return None
    from backend.curation import Curation

    curation = Curation.load(source, dataset)
    if options.subtasks == "curation" and not any(
        getattr(d, "subtasks", ()) for d in curation.decisions.values()
    ):
        raise StudioError(
            "no episode has subtask segments in its curation decisions",
            source,
            "mark subtasks in Browse or with `rollout-studio subtasks`, or use --subtasks gripper",
        )
    return curation


@dataclass
class _Prepared:
    """What both the plan and the run of joint-to-eef know before writing."""

    base: WriterSpec  # the input's own layout to keep (LeIsaac HDF5) and its cameras
    object_keys: list[str]  # the input's own obs/datagen_info/object_pose keys, copied
    state_objects: dict[str, str]  # else objects from the recorded states: name -> root_pose key
    chosen: list[Episode]
    skipped: list[dict[str, Any]]
    boundaries: dict[int, tuple[list[int], str]]  # episode index -> (boundary frames, method)
    names: list[str]  # the signal names written


def _check_joint_actions(source: Path, dataset: Dataset) -> None:
    space = dataset.joint_space("action")
    if space is None or not space.is_so101 or space.width != len(SO101_JOINTS):
        raise StudioError(
            "the actions are not single-arm SO-101 joint positions (6 joints)",
            source,
            "joint-to-eef converts SO-101 joint actions; bi-arm and pose actions are not supported",
        )


def _kinematics(
    episode: Episode, source: Path, link: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(joint actions rad, joint state rad, commanded and measured poses (T, 4, 4) of ``link``,
    measured tool point positions (T, 3): between the jaws, where a grasp is near an object)."""
    actions = joint_rad(episode, "action")
    if actions is None:
        raise StudioError(f"{episode.display_name}: the actions cannot be read as joint angles", source)
    state = joint_rad(episode, "state")
    if state is None or len(state) != len(actions):
        state = actions
    model = default_model()
    target = model.link_transforms(actions)[link]
    links = model.link_transforms(state)
    return actions, state, target, links[link], links[TCP_LINK][:, :3, 3]


def _prepare(source: Path, dataset: Dataset, options: JointToEefOptions) -> _Prepared:
    if options.subtasks not in SUBTASK_MODES:
        raise StudioError(f"--subtasks is one of {', '.join(SUBTASK_MODES)}, not {options.subtasks!r}")
    _check_joint_actions(source, dataset)
    base = base_spec(dataset, {"actions", "obs/joint_pos", "obs/joint_pos_target", "obs/ee_frame_state"})
    base.features = {
        k: f for k, f in base.features.items() if not k.startswith(DATAGEN) or k.startswith(OBJECT_POSE)
    }
    object_keys = [k for k in base.features if k.startswith(OBJECT_POSE + "/")]
    state_objects = {} if object_keys else _state_objects(dataset)
    chosen, skipped = selected(dataset, options.include_failed)
    curation = _curation(source, dataset, options)
    boundaries: dict[int, tuple[list[int], str]] = {}
    names: list[str] | None = list(options.signals) if options.signals else None
    for episode in chosen:
        _, state, _, _, tool = _kinematics(episode, source, link(options.frame))
        decision = curation.decision(episode.index) if curation is not None else None
        objects = _object_positions(episode, object_keys)
        objects.update({n: pose[:, :3, 3] for n, pose in _objects_in_base(episode, state_objects).items()})
        frames, default_names, method = _boundaries(episode, options, decision, state[:, 5], tool, objects)
        episode.unload()
        boundaries[episode.index] = (frames, method)
        if names is None:  # the first episode's names (curation texts or "grasp") name the signals
            names = default_names
    return _Prepared(base, object_keys, state_objects, chosen, skipped, boundaries, names or ["grasp"])


def plan(source: Path, options: JointToEefOptions) -> Plan:
    """The preview: per episode, where each subtask signal turns on and how it was found."""
    source = Path(source)
    plan = Plan(KIND_TO_EEF, str(options.out), DatasetFormat.LEISAAC_HDF5.value)
    check_output_target(Path(options.out), options.overwrite, [source])
    with open_source(source) as dataset:
        prepared = _prepare(source, dataset, options)
        for k, episode in enumerate(prepared.chosen):
            frames, method = prepared.boundaries[episode.index]
            signals = dict(zip(prepared.names, frames, strict=False))
            _, problems = signals_from_boundaries(episode.length, frames, prepared.names)
            plan.warnings += [f"{episode.display_name}: {problem}" for problem in problems]
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
                    extra={"subtasks_from": method, "signals": signals},
                )
            )
        for skipped in prepared.skipped:
            plan.episodes.append(
                EpisodePlan(
                    str(source), skipped["index"], skipped["episode"], 0, False, reason=skipped["reason"]
                )
            )
        plan.details = {"eef_name": options.eef_name, "signals": prepared.names}
    return plan


def run(source: Path, options: JointToEefOptions, progress: Progress | None = None) -> ConversionSummary:
    progress = ensure_progress(progress)
    source, out = Path(source), Path(options.out)
    check_output_target(out, options.overwrite, [source])
    timer = Timer()
    with open_source(source) as dataset:
        prepared = _prepare(source, dataset, options)
        base, names, eef = prepared.base, prepared.names, options.eef_name
        features = dict(base.features)
        features["actions"] = vector("actions", (8,), EEF_NAMES)
        features["obs/joint_pos"] = vector("obs/joint_pos", (6,), list(SO101_JOINTS))
        features["obs/joint_pos_target"] = vector("obs/joint_pos_target", (6,), list(SO101_JOINTS))
        features["obs/ee_frame_state"] = vector("obs/ee_frame_state", (7,), EEF_NAMES[:7])
        features[f"{DATAGEN}/eef_pose/{eef}"] = vector(f"{DATAGEN}/eef_pose/{eef}", (4, 4))
        features[f"{DATAGEN}/target_eef_pose/{eef}"] = vector(f"{DATAGEN}/target_eef_pose/{eef}", (4, 4))
        for name in names:
            key = f"{DATAGEN}/subtask_term_signals/{name}"
            features[key] = vector(key, (), dtype="bool")
        for name in prepared.state_objects:
            features[f"{OBJECT_POSE}/{name}"] = vector(f"{OBJECT_POSE}/{name}", (4, 4))
        spec = WriterSpec(
            base.fps or dataset.fps, dataset.robot_type or "so101_follower", features, base.cameras
        )
        spec.options = dict(base.options)
        if options.env_name:
            spec.options.pop("env_args", None)
            spec.options["env_name"] = options.env_name
        spec.provenance = prov.new_record(
            KIND_TO_EEF,
            [(source, "source")],
            options_dict(options),
            out,
            DatasetFormat.LEISAAC_HDF5.value,
            options.hash_mode,
        )
        total = sum(e.length for e in prepared.chosen)
        done = 0
        methods: dict[str, int] = {}
        warnings: list[str] = []
        cameras = [cam.name for cam in spec.cameras]
        progress.report(0, total, "joint -> eef")
        with LeIsaacHDF5Writer(out, spec, overwrite=options.overwrite) as writer:
            for k, episode in enumerate(prepared.chosen):
                frames, method = prepared.boundaries[episode.index]
                signals, problems = signals_from_boundaries(episode.length, frames, names)
                for problem in problems:
                    warnings.append(f"{episode.display_name}: {problem}")
                    progress.warn(f"{episode.display_name}: {problem}")
                methods[method] = methods.get(method, 0) + 1
                actions, state, target, measured, _ = _kinematics(episode, source, link(options.frame))
                values = {key: np.asarray(episode.array(key)) for key in base.features}
                pose_now = np.concatenate([measured[:, :3, 3], quaternion_wxyz(measured[:, :3, :3])], axis=1)
                pose_cmd = np.concatenate([target[:, :3, 3], quaternion_wxyz(target[:, :3, :3])], axis=1)
                values["actions"] = np.concatenate([pose_cmd, actions[:, 5:6]], axis=1).astype(np.float32)
                values["obs/joint_pos"] = state.astype(np.float32)
                values["obs/joint_pos_target"] = actions.astype(np.float32)
                values["obs/ee_frame_state"] = pose_now.astype(np.float32)
                values[f"{DATAGEN}/eef_pose/{eef}"] = measured.astype(np.float32)
                values[f"{DATAGEN}/target_eef_pose/{eef}"] = target.astype(np.float32)
                for name, signal in signals.items():
                    values[f"{DATAGEN}/subtask_term_signals/{name}"] = signal
                for name, pose in _objects_in_base(episode, prepared.state_objects).items():
                    values[f"{OBJECT_POSE}/{name}"] = pose.astype(np.float32)
                # a LeRobot episode was kept by whoever saved it: a success for Mimic's annotate step
                success = episode.success if episode.success is not None else True
                has_objects = prepared.object_keys or prepared.state_objects
                tree = None if has_objects else {"obs": {"datagen_info": {"object_pose": {}}}}
                write_episode(writer, episode, values, cameras, success, tree, progress, done, total)
                prov.add_episode(
                    spec.provenance,
                    k,
                    0,
                    episode.index,
                    episode.display_name,
                    0,
                    episode.length,
                    subtasks_from=method,
                    signals=dict(zip(names, frames, strict=False)),
                )
                done += episode.length
    return ConversionSummary(
        KIND_TO_EEF,
        str(out.absolute()),
        DatasetFormat.LEISAAC_HDF5.value,
        episodes_written=len(prepared.chosen),
        frames_written=total,
        skipped=prepared.skipped,
        warnings=warnings,
        seconds=timer.seconds,
        provenance=spec.provenance,
        details={
            "eef_name": eef,
            "frame": options.frame,
            "signals": ",".join(names),
            "subtasks_from": methods,
        },
    )

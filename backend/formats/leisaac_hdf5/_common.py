"""Shared pieces of the LeIsaac HDF5 reader, validator and writer: names, units, file opening.

Layout (formats.md section 1)::

    /data                attrs total, env_args (JSON string)
    /data/demo_N         attrs num_samples, seed, success (only once the demo ended)
        actions, processed_actions, obs/..., states/..., initial_state/...
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from backend.errors import FormatError
from backend.formats.leisaac_hdf5.direct import read_attrs
from backend.paths import file_problem
from backend.units import SO101_JOINTS, JointSpace, Unit

SUFFIXES = (".hdf5", ".h5", ".he5")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
DEMO_NAME = re.compile(r"^demo_(\d+)$")
DEFAULT_FPS = 30.0
CHUNK_FRAMES = 100  # LeIsaac's streaming writer appends and chunks by 100 steps
INITIAL_STATE = "initial_state"
# demo attributes the writer owns (everything else in Episode.extra["attrs"] is copied through)
OWN_DEMO_ATTRS = ("num_samples", "seed", "success", "task")
# /data attributes the writer owns
OWN_DATA_ATTRS = ("total", "env_args", "fps", "rollout_studio_provenance")
PROVENANCE_ATTR = "rollout_studio_provenance"
FPS_ATTR = "fps"  # /data: frames per second (the recorder's loop rate: one row per tick)
TASK_ATTR = "task"  # demo: the task text
ACTION_KEYS = ("actions", "processed_actions", "obs/actions")
BI_ARMS = ("left_", "right_")
# joint vectors holding absolute joint positions (radians): these are rescalable
_POSITION_NAMES = ("joint_pos", "joint_pos_target", "joint_position")
# per-joint vectors that are not absolute positions (velocities, offsets): names yes, unit OTHER
_PER_JOINT_NAMES = ("joint_vel", "joint_pos_rel", "joint_vel_rel", "joint_velocity")
_POSE_NAMES = ["x", "y", "z", "qw", "qx", "qy", "qz"]
# 8-D end-effector actions (Isaac Lab Mimic's IK action; `convert joint-to-eef` writes them)
EEF_ACTION_NAMES = (*_POSE_NAMES, "gripper")
EEF_CONVERSION = "joint_to_eef"  # the provenance record's conversion of backend.convert.eef
EEF_POSE_GROUP = "obs/datagen_info/eef_pose/"  # Isaac Lab Mimic's datagen_info beside EEF actions
_TWIST_NAMES = ["vx", "vy", "vz", "wx", "wy", "wz"]


def env_args_json(env_name: str = "") -> str:
    """/data env_args as LeIsaac writes it: JSON ``{"env_name": ..., "type": 2}``."""
    return json.dumps({"env_name": str(env_name or ""), "type": 2})


def set_end_attrs(demo: h5py.Group, length: int, seed: int | None, success: bool | None) -> None:
    """What an ended demo carries: ``num_samples``, ``seed`` (when given) and ``success`` (only when
    known: a demo stopped without a verdict has none, as LeIsaac leaves a Ctrl+C'd demo)."""
    demo.attrs["num_samples"] = length
    if seed is not None:
        demo.attrs["seed"] = int(seed)
    if success is not None:
        demo.attrs["success"] = bool(success)


def demo_number(name: str) -> int | None:
    match = DEMO_NAME.match(name)
    return int(match.group(1)) if match else None


def demo_names(data: h5py.Group) -> list[str]:
    """demo_N group names ordered by N (h5py lists them lexicographically: demo_10 before demo_2)."""
    names = [n for n in data.keys() if demo_number(n) is not None]
    return sorted(names, key=lambda n: demo_number(n) or 0)


def short_error(error: BaseException) -> str:
    """h5py/HDF5 messages on one line, without the C call stack."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def has_hdf5_signature(path: Path) -> bool:
    """HDF5 files start with the signature at offset 0, 512, 1024, 2048, ... (user block)."""
    try:
        with Path(path).open("rb") as handle:
            offset = 0
            while offset <= (1 << 16):
                handle.seek(offset)
                if handle.read(8) == HDF5_SIGNATURE:
                    return True
                offset = 512 if offset == 0 else offset * 2
    except OSError:
        return False
    return False


def open_h5(path: Path, **kwargs: Any) -> h5py.File:
    """Open read-only or raise a StudioError naming the file and what is wrong with it: not found,
    permission denied, a folder (``backend.paths.file_problem``), not an HDF5 file, or (FormatError)
    truncated or corrupt."""
    try:
        return h5py.File(path, "r", **kwargs)
    except OSError as error:
        first = error
    problem = file_problem(path)  # no file to blame: say so, not "corrupt"
    if problem is not None:
        raise problem from None
    if not has_hdf5_signature(path):
        raise FormatError("not an HDF5 file", path, "give a LeIsaac / Isaac Lab .hdf5 recording") from None
    retries: list[dict[str, Any]] = [{"swmr": True}]  # SWMR files left open by a killed recorder
    if "lock" in str(first).lower():  # a recorder still has it open for writing
        retries.insert(0, {"locking": False})
    for extra in retries:
        try:
            return h5py.File(path, "r", **kwargs, **extra)
        except (OSError, ValueError, TypeError):
            continue
    raise FormatError(
        f"cannot read the HDF5 file ({short_error(first)})",
        path,
        "the file is truncated or corrupt, e.g. a recording killed before its first flush; "
        "if it was written with libver='latest' try `h5clear -s` on a copy",
    ) from None


def attrs_dict(obj: h5py.Group | h5py.Dataset) -> dict[str, Any]:
    """Every attribute as a plain Python value (``to_python``), read directly."""
    return read_attrs(obj.id)


def parse_env_args(raw: Any) -> dict[str, Any] | None:
    """The /data env_args attribute (a JSON string) as a dict; None when absent or not JSON."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def iter_datasets(group: h5py.Group, prefix: str = "") -> Iterator[tuple[str, h5py.Dataset]]:
    """(relative key, dataset) of every dataset below ``group``, depth first, sorted by name."""
    for name in sorted(group.keys()):
        item = group.get(name)
        key = f"{prefix}{name}"
        if isinstance(item, h5py.Dataset):
            yield key, item
        elif isinstance(item, h5py.Group):
            yield from iter_datasets(item, key + "/")


def frame_datasets(demo: h5py.Group) -> Iterator[tuple[str, h5py.Dataset]]:
    """Per-frame datasets of a demo: everything except the initial_state tree."""
    for key, dataset in iter_datasets(demo):
        if key == INITIAL_STATE or key.startswith(INITIAL_STATE + "/"):
            continue
        yield key, dataset


def is_image(key: str, shape: tuple[int, ...], dtype: np.dtype) -> bool:
    """obs/<camera>: (T, H, W, C) arrays under obs/ (C 1, 3 or 4), normally uint8 RGB."""
    parts = key.split("/")
    return len(parts) >= 2 and parts[0] == "obs" and len(shape) == 4 and shape[-1] in (1, 3, 4)


IMAGE_LAYOUT_FIX = "re-record the camera as (T, H, W, 3) RGB uint8"


def image_layout_problem(key: str, shape: tuple[int, ...], dtype: np.dtype) -> tuple[bool, str | None]:
    """(whether ``key`` is a camera's frames, what is wrong with their layout or None). A camera is
    an image array (``is_image``) or, under obs/, a uint8 array of frames without a channel axis; only
    (T, H, W, 3) uint8 RGB is converted and shown."""
    if is_image(key, shape, dtype):
        if np.dtype(dtype) != np.uint8 or shape[-1] != 3:
            return True, f"{key} has shape {tuple(shape)} {dtype}, expected (T, H, W, 3) uint8 RGB"
        return True, None
    if key.startswith("obs/") and len(shape) == 3 and np.dtype(dtype) == np.uint8:
        return True, f"{key} has shape {tuple(shape)}: an image without a channel axis"
    return False, None


def camera_name(key: str) -> str:
    """'obs/front' -> 'front' (nested observation groups keep their path: 'policy/front')."""
    return key.split("/", 1)[1]


def arm_prefix(key: str) -> str:
    """'left_' / 'right_' / '' for the arm a joint vector belongs to."""
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] == "states" and parts[1] == "articulation":
        art = parts[2]
        for prefix in BI_ARMS:
            if art.startswith(prefix):
                return prefix
        return ""
    name = parts[-1]
    for prefix in BI_ARMS:
        if name.startswith(prefix):
            return prefix
    return ""


def _generic(key: str, width: int) -> tuple[str, ...]:
    return tuple(f"{key}[{i}]" for i in range(width))


def joint_space_for(
    key: str, width: int, joint_actions: bool, eef_actions: bool = False
) -> JointSpace | None:
    """The joint space of a (T, width) vector by its HDF5 key; None when it is not per-joint.

    ``joint_actions`` is False when the file's ``actions`` are not joint targets (keyboard /
    gamepad IK teleop, width 8): then no action-like key is treated as joints. ``eef_actions``: the
    file says its 8-D actions are end-effector poses (``holds_eef_actions``), named
    ``x, y, z, qw, qx, qy, qz, gripper`` (never rescaled: unit OTHER).
    """
    n = len(SO101_JOINTS)
    if key in ACTION_KEYS:
        if joint_actions and width == n:
            return JointSpace.so101(Unit.RADIANS)
        if joint_actions and width == 2 * n:
            return JointSpace.so101(Unit.RADIANS, BI_ARMS)
        if eef_actions and width == len(EEF_ACTION_NAMES):
            return JointSpace(EEF_ACTION_NAMES, Unit.OTHER)
        return JointSpace(_generic(key, width), Unit.OTHER)
    prefix = arm_prefix(key)
    base = key.split("/")[-1]
    if key.split("/")[0] == "obs" and prefix:
        base = base[len(prefix) :]
    if base in _POSITION_NAMES or base in _PER_JOINT_NAMES:
        unit = Unit.RADIANS if base in _POSITION_NAMES else Unit.OTHER
        if width == n:
            return JointSpace.so101(unit, (prefix,))
        if width == 2 * n and not prefix:
            return JointSpace.so101(unit, BI_ARMS)
        return JointSpace(_generic(key, width), Unit.OTHER)
    return None


def vector_names(key: str, width: int) -> list[str] | None:
    """Readable component names of non-joint vectors (poses, twists)."""
    base = key.split("/")[-1]
    if width == 7 and (base in ("root_pose", "ee_frame_state") or base.endswith("_pose")):
        return list(_POSE_NAMES)
    if width == 6 and base in ("root_velocity",):
        return list(_TWIST_NAMES)
    return None


def actions_are_joints(width: int | None) -> bool:
    return width in (len(SO101_JOINTS), 2 * len(SO101_JOINTS))


def eef_by_attrs(data_attrs: dict[str, Any]) -> bool:
    """Whether /data's attributes say the actions are end-effector poses: the provenance record (the
    studio's joint -> EEF wrote the file) or a Mimic task in ``env_args`` (its action is the IK pose)."""
    record = parse_env_args(data_attrs.get(PROVENANCE_ATTR)) or {}
    if record.get("conversion") == EEF_CONVERSION:
        return True
    env_name = str((parse_env_args(data_attrs.get("env_args")) or {}).get("env_name") or "")
    return "-mimic-" in env_name.lower()


def holds_eef_actions(width: int | None, by_attrs: bool, demo_keys: Iterable[str]) -> bool:
    """Whether a demo's ``actions`` of ``width`` are 8-D end-effector poses ``[x, y, z, qw, qx, qy, qz,
    gripper]``, by what the file says: its attributes (``by_attrs``, from ``eef_by_attrs``) or Isaac
    Lab Mimic's ``obs/datagen_info/eef_pose`` beside them (a MimicGen-generated file). Keyboard /
    gamepad IK recordings, also 8 wide, say neither."""
    if width != len(EEF_ACTION_NAMES):
        return False
    return by_attrs or any(key.startswith(EEF_POSE_GROUP) for key in demo_keys)


def read_tree(group: h5py.Group) -> dict[str, Any]:
    """A group as a nested dict of numpy arrays (initial_state and the like)."""
    out: dict[str, Any] = {}
    for name in group.keys():
        item = group.get(name)
        if isinstance(item, h5py.Dataset):
            out[name] = item[()]
        elif isinstance(item, h5py.Group):
            out[name] = read_tree(item)
    return out

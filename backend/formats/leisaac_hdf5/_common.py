"""Shared pieces of the LeIsaac HDF5 reader, validator and writer: names, units, file opening.

Layout (formats.md section 1)::

    /data                attrs total, env_args (JSON string)
    /data/demo_N         attrs num_samples, seed, success (only once the demo ended)
        actions, processed_actions, obs/..., states/..., initial_state/...
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from h5py import h5, h5a, h5d, h5g, h5o, h5p, h5s, h5t

from backend.errors import FormatError
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


# metadata cache of a one-pass walk over every demo: HDF5 grows it to 32 MB (~300 MB of memory for
# 1,000 demos' object headers) though no header is read twice; 4 MB keeps memory flat and is as fast
WALK_METADATA_CACHE = 4 << 20


@contextmanager
def small_metadata_cache(h5: h5py.File, nbytes: int = WALK_METADATA_CACHE) -> Iterator[None]:
    """Cap the file's metadata cache at ``nbytes`` while walking every demo once, then restore it."""
    before = h5.id.get_mdc_config()
    config = h5.id.get_mdc_config()
    config.set_initial_size = True
    config.initial_size = min(config.initial_size, nbytes)
    config.min_size = min(config.min_size, nbytes)
    config.max_size = nbytes
    h5.id.set_mdc_config(config)
    try:
        yield
    finally:
        if h5.id.valid:
            h5.id.set_mdc_config(before)


def to_python(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value (JSON friendly; arrays stay numpy arrays)."""
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "SO":
        return [to_python(v) for v in value.tolist()]
    return value


def attrs_dict(obj: h5py.Group | h5py.Dataset) -> dict[str, Any]:
    return read_attrs(obj.id)


_NUMBER_TYPES: dict[np.dtype, h5t.TypeID] = {}


def _attr_value(attr: h5a.AttrID) -> Any:
    """One attribute's value exactly as ``h5py.AttributeManager[name]`` gives it, read directly."""
    shape = attr.shape
    if shape is None:  # empty dataspace
        return h5py.Empty(attr.dtype)
    dtype = attr.dtype
    if dtype.kind in "biuf" and dtype.subdtype is None:  # numbers (most attributes): one memory type each
        htype = _NUMBER_TYPES.get(dtype)
        if htype is None:
            htype = _NUMBER_TYPES[dtype] = h5t.py_create(dtype)
        arr = np.zeros(shape, dtype=dtype, order="C")
        attr.read(arr, mtype=htype)
        return arr[()] if arr.ndim == 0 else arr
    htype = h5t.py_create(dtype)
    if dtype.subdtype is not None:  # top-level array types: numpy has none
        dtype, subshape = dtype.subdtype
        shape = shape + subshape
    arr = np.zeros(shape, dtype=dtype, order="C")
    attr.read(arr, mtype=htype)
    string_info = h5t.check_string_dtype(dtype)
    if string_info and string_info.length is None:  # variable-length strings: bytes to str
        arr = np.array([b.decode("utf-8", "surrogateescape") for b in arr.flat], dtype=dtype).reshape(arr.shape)
    return arr[()] if arr.ndim == 0 else arr


def _attr_name(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf8")
    except UnicodeDecodeError:
        return raw


def read_attrs(oid: h5o.ObjectID) -> dict[str, Any]:
    """Every attribute of one object as plain Python values (``to_python``), in h5py's order, read
    with the low-level API: the same values as ``attrs.items()`` at a fraction of the cost (1,000 demos
    are listed by reading each demo's attributes)."""
    plist = oid.get_create_plist()
    tracked = plist.get_attr_creation_order() & h5p.CRT_ORDER_TRACKED
    plist.close()
    index = h5.INDEX_CRT_ORDER if tracked else h5.INDEX_NAME
    out: dict[str, Any] = {}
    for i in range(h5a.get_num_attrs(oid)):
        attr = h5a.open(oid, index=i, index_type=index)
        out[_attr_name(attr.name)] = to_python(_attr_value(attr))
    return out


def open_object(parent: h5o.ObjectID, name: str) -> h5o.ObjectID | None:
    """The object at ``name`` below ``parent`` (a path may have slashes); None when there is none or
    its link dangles (as ``Group.get`` says)."""
    try:
        return h5o.open(parent, name.encode("utf8"))
    except KeyError:
        return None


def _member_names(group: h5g.GroupID) -> list[str]:
    return sorted(_attr_name(raw) for raw in group)  # h5py's str names, sorted as iter_datasets does


class ArrayInfo:
    """An open dataset with its shape and dtype read once (each read of ``DatasetID.shape`` asks HDF5)."""

    __slots__ = ("dtype", "id", "ndim", "shape")

    def __init__(self, dataset: h5d.DatasetID) -> None:
        self.id = dataset
        self.shape: tuple[int, ...] = dataset.shape
        self.dtype: np.dtype = dataset.dtype
        self.ndim = len(self.shape) if self.shape is not None else 0


def frame_arrays(demo: h5o.ObjectID) -> tuple[dict[str, ArrayInfo], bool]:
    """(per-frame datasets of a demo by relative key, whether it has an ``initial_state``), low-level
    and in ``frame_datasets`` order: the walk ``validate`` makes over every demo."""
    arrays: dict[str, ArrayInfo] = {}
    has_initial = False

    def walk(group: h5g.GroupID, prefix: str) -> None:
        nonlocal has_initial
        for name in _member_names(group):
            item = open_object(group, name) if isinstance(name, str) else None
            if item is None:
                continue
            key = f"{prefix}{name}"
            if key == INITIAL_STATE:
                has_initial = True
                continue
            if isinstance(item, h5d.DatasetID):
                arrays[key] = ArrayInfo(item)
            elif isinstance(item, h5g.GroupID):
                walk(item, key + "/")

    if isinstance(demo, h5g.GroupID):
        walk(demo, "")
    return arrays, has_initial


def read_rows(dataset: h5d.DatasetID, start: int, stop: int) -> np.ndarray:
    """Rows ``start..stop-1`` (inside the dataset) as ``h5py.Dataset[start:stop]`` gives them; numbers
    are read directly (one hyperslab), anything else through h5py's high-level indexing."""
    shape = dataset.shape
    dtype = dataset.dtype
    if not shape or dtype.kind not in "biuf" or dtype.subdtype is not None:
        return h5py.Dataset(dataset)[start:stop]
    count = (max(stop - start, 0), *shape[1:])
    out = np.empty(count, dtype=dtype)
    if out.size:
        space = dataset.get_space()
        space.select_hyperslab((start,) + (0,) * (len(shape) - 1), count)
        dataset.read(h5s.create_simple(count), space, out)
    return out


def read_all(dataset: h5d.DatasetID) -> np.ndarray:
    """A whole dataset (``dataset[()]`` of a simple dataspace), read directly."""
    values = np.empty(dataset.shape, dtype=dataset.dtype)
    if values.size:
        dataset.read(h5s.ALL, h5s.ALL, values)
    return values


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


def joint_space_for(key: str, width: int, joint_actions: bool) -> JointSpace | None:
    """The joint space of a (T, width) vector by its HDF5 key; None when it is not per-joint.

    ``joint_actions`` is False when the file's ``actions`` are not joint targets (keyboard /
    gamepad IK teleop, width 8): then no action-like key is treated as joints.
    """
    n = len(SO101_JOINTS)
    if key in ACTION_KEYS:
        if joint_actions and width == n:
            return JointSpace.so101(Unit.RADIANS)
        if joint_actions and width == 2 * n:
            return JointSpace.so101(Unit.RADIANS, BI_ARMS)
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

"""Open a LeIsaac / Isaac Lab recording HDF5 as a ``Dataset``.

Listing reads attributes and shapes only; arrays and frames are read on demand through one lock per
file (h5py must not be entered by two threads at once for one file). The file stays open read-only
until ``Dataset.close()``.

Bi-arm files have ``obs/left_joint_pos`` and ``obs/right_joint_pos`` but no ``obs/joint_pos``; the
reader then exposes a synthetic ``obs/joint_pos`` feature (12 joints, left_* then right_*, the same
order as the 12-wide ``actions``) that concatenates the two. It is listed in
``Dataset.info["synthetic_features"]`` and never written back by the writer.

Rate and task are the attributes the writer (and the studio's recorder) write: ``/data.fps`` and the
demo's ``task``. Recordings the studio made before those names kept them as ``rs_rate_hz`` and
``rs_task`` per demo: read too. ``Dataset.info["fps_from"]`` says where the rate came from.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from h5py import h5d, h5g

from backend.errors import FormatError
from backend.formats.base import Capability, reader_capabilities
from backend.formats.leisaac_hdf5._common import (
    BI_ARMS,
    DEFAULT_FPS,
    INITIAL_STATE,
    PROVENANCE_ATTR,
    actions_are_joints,
    attrs_dict,
    camera_name,
    demo_names,
    demo_number,
    eef_by_attrs,
    frame_datasets,
    holds_eef_actions,
    image_layout_problem,
    is_image,
    iter_datasets,
    joint_space_for,
    open_h5,
    parse_env_args,
    read_tree,
    short_error,
    vector_names,
)
from backend.formats.leisaac_hdf5.chunks import read_frames
from backend.formats.leisaac_hdf5.direct import (
    frame_arrays,
    open_object,
    read_attrs,
    read_rows,
    small_metadata_cache,
)
from backend.model import (
    ArrayStream,
    Dataset,
    DatasetFormat,
    DatasetReader,
    Episode,
    Feature,
    FeatureKind,
    Stream,
    VideoInfo,
)
from backend.progress import Progress
from backend.units import JointSpace, Unit

STATE_KEY = "obs/joint_pos"
# what recordings of the studio's recorder called the rate and the task before they used the writer's names
LEGACY_RATE_ATTR = "rs_rate_hz"
LEGACY_TASK_ATTR = "rs_task"
BI_STATE_PARTS = ("obs/left_joint_pos", "obs/right_joint_pos")
# chunk cache (per open dataset) big enough for one whole image chunk: LeIsaac chunks 100 frames
# (640x480 RGB: 92 MB) so stepping through frames decompresses each chunk once, not once per frame;
# the memory is held only while a stream of that camera is open
_MAX_IMAGE_CACHE = 512 << 20


class _Rows:
    """The first ``length`` rows of an h5py dataset, indexable like an array (for ArrayStream)."""

    def __init__(self, dataset: h5py.Dataset, length: int) -> None:
        self._dataset = dataset
        self.shape = (min(length, dataset.shape[0]), *dataset.shape[1:])
        self.dtype = dataset.dtype

    def __getitem__(self, index: Any) -> np.ndarray:
        if isinstance(index, int | np.integer) and 0 <= index < self.shape[0]:  # one frame, read directly
            return read_rows(self._dataset.id, int(index), int(index) + 1)[0]
        return self._dataset[index]


class _ImageStream(ArrayStream):
    """Frames of obs/<camera>; grey (H, W, 1) frames are expanded to RGB."""

    def __init__(
        self, name: str, frames: _Rows, fps: float, lock: threading.Lock, path: Path, where: str
    ) -> None:
        super().__init__(name, frames, fps, lock)
        self._path = path
        self._where = where

    def frame(self, index: int) -> np.ndarray:
        try:
            image = super().frame(index)
        except OSError as error:
            raise FormatError(
                f"cannot read frame {index} of {self._where} ({short_error(error)})", self._path
            ) from None
        return self._rgb(image)

    def frames(self, indices: Sequence[int], progress: Progress | None = None) -> list[np.ndarray]:
        """Frames of ``indices`` with each stored chunk read and decompressed once (``chunks.py``):
        the same arrays as ``frame`` gives one by one."""
        frames = self._frames
        if not isinstance(frames, _Rows) or not len(indices):
            return super().frames(indices, progress)
        if progress is not None:
            progress.report(0, len(indices), "frames")
        for index in indices:
            self._check_index(index)
        try:
            got = read_frames(frames._dataset.id, indices, self._lock, self._raw)
        except OSError as error:
            raise FormatError(f"cannot read frames of {self._where} ({short_error(error)})", self._path) from None
        return [self._rgb(got[int(i)]) for i in indices]

    def _raw(self, index: int) -> np.ndarray:
        return ArrayStream.frame(self, index)

    def _rgb(self, image: np.ndarray) -> np.ndarray:
        if image.dtype != np.uint8:
            raise FormatError(f"{self._where} holds {image.dtype} frames, not uint8 RGB", self._path)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = np.repeat(image, 3, axis=-1)
        elif image.ndim == 3 and image.shape[-1] == 4:
            image = np.ascontiguousarray(image[..., :3])
        return image

    def h5_location(self) -> tuple[str, tuple[int, ...], np.dtype] | None:
        """(dataset name inside the file, shape, dtype), for readers in another process."""
        frames = self._frames
        if not isinstance(frames, _Rows):
            return None
        with self._lock:
            return frames._dataset.name, tuple(frames.shape), frames.dtype

    def close(self) -> None:
        self._frames = None  # drop the dataset (and its chunk cache)


class LeIsaacReader(DatasetReader):
    """Reads arrays and frames of one open HDF5 file; all h5py calls hold ``lock``."""

    capabilities = (
        Capability.IMAGES
        | Capability.SUCCESS_FLAGS
        | Capability.INITIAL_STATE
        | Capability.TASKS
        | Capability.FRAME_LOCATION
        | Capability.BLOCK_READ
    )

    def __init__(self, path: Path, h5: h5py.File, synthetic: dict[str, tuple[str, ...]]) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._h5: h5py.File | None = h5
        self._synthetic = synthetic

    # -- helpers ------------------------------------------------------------------------------------
    def _file(self) -> h5py.File:
        if self._h5 is None:
            raise FormatError("dataset is closed", self.path)
        return self._h5

    def _demo(self, episode: Episode) -> h5py.Group:
        return self._file()["data"][episode.extra["demo"]]

    def _dataset(self, episode: Episode, key: str) -> h5d.DatasetID:
        item = open_object(self._file().id, f"data/{episode.extra['demo']}/{key}")
        if not isinstance(item, h5d.DatasetID):
            raise FormatError(f"{episode.extra['demo']} has no {key}", self.path)
        return item

    def _rows(self, episode: Episode, key: str, start: int, stop: int) -> np.ndarray:
        dataset = self._dataset(episode, key)
        stored = int(dataset.shape[0]) if dataset.rank else 0
        if stored < stop:
            raise FormatError(
                f"{episode.extra['demo']}/{key} has {stored} frames, the demo has {episode.length}",
                self.path,
                "run `rollout-studio validate` on the file",
            )
        try:
            return np.asarray(read_rows(dataset, start, stop))
        except OSError as error:
            raise FormatError(
                f"cannot read {episode.extra['demo']}/{key} ({short_error(error)})", self.path
            ) from None

    def cameras_of(self, episode: Episode) -> dict[str, str | None]:
        """Every camera of the episode's own demo: {name: what is wrong with its layout, or None}. The
        dataset's cameras are the first demo's; another demo may hold more, fewer or malformed ones."""
        with self.lock:
            cameras: dict[str, str | None] = {}
            demo = open_object(self._file().id, f"data/{episode.extra['demo']}")
            arrays, _ = frame_arrays(demo, INITIAL_STATE)  # low-level: validate's walk, ~10x h5py's
            for key, dataset in arrays.items():
                camera, problem = image_layout_problem(key, dataset.shape, dataset.dtype)
                if camera:
                    cameras[camera_name(key)] = problem
            return cameras

    # -- DatasetReader ------------------------------------------------------------------------------
    def read_array(self, episode: Episode, key: str) -> np.ndarray:
        with self.lock:
            if key in self._synthetic:
                values = np.concatenate(
                    [self._rows(episode, part, 0, episode.length) for part in self._synthetic[key]], axis=1
                )
            else:
                values = self._rows(episode, key, 0, episode.length)
        if values.dtype.kind not in "biuf":  # text or objects where numbers belong
            where = f"{episode.extra['demo']}/{key}"
            raise FormatError(f"{where} holds {values.dtype} values, not numbers", self.path)
        feature = episode.dataset.features[key]
        if feature.space is not None and feature.space.unit is not Unit.OTHER:
            episode.dataset.check_finite(values, key, episode)
        return values

    def read_block(self, episode: Episode, key: str, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1 of a stored key (images included), read in one call."""
        with self.lock:
            return self._rows(episode, key, start, stop)

    def read_frames(self, episode: Episode, camera: str, start: int, stop: int) -> np.ndarray:
        return self.read_block(episode, episode.dataset.cameras[camera], start, stop)

    def open_stream(self, episode: Episode, camera: str) -> Stream:
        key = episode.dataset.cameras[camera]
        with self.lock:
            dataset = h5py.Dataset(self._dataset(episode, key))
        return _ImageStream(
            camera,
            _Rows(dataset, episode.length),
            episode.dataset.fps,
            self.lock,
            self.path,
            f"{episode.extra['demo']}/{key}",
        )

    def read_initial_state(self, episode: Episode) -> dict[str, Any]:
        """The demo's initial_state tree as nested dicts of arrays ({} when absent)."""
        with self.lock:
            group = self._demo(episode).get(INITIAL_STATE)
            return read_tree(group) if isinstance(group, h5py.Group) else {}

    def close(self) -> None:
        with self.lock:
            if self._h5 is not None:
                self._h5.close()
            self._h5 = None


def _image_cache_bytes(h5: h5py.File) -> int:
    """Bytes of the largest image chunk of the first demo (0 when none or small)."""
    data = h5.get("data")
    if not isinstance(data, h5py.Group):
        return 0
    for name in demo_names(data):
        obs = data[name].get("obs")
        if not isinstance(obs, h5py.Group):
            continue
        largest = 0
        for key, item in iter_datasets(obs, "obs/"):
            if item.chunks and is_image(key, item.shape, item.dtype):
                largest = max(largest, int(np.prod(item.chunks)) * item.dtype.itemsize)
        return largest if largest > (1 << 20) else 0
    return 0


def _feature(
    key: str, dataset: h5py.Dataset, fps: float, joint_actions: bool, eef_actions: bool = False
) -> Feature:
    shape = tuple(int(s) for s in dataset.shape[1:])
    dtype = str(dataset.dtype)
    if is_image(key, dataset.shape, dataset.dtype):
        height, width = shape[0], shape[1]
        return Feature(
            key,
            FeatureKind.IMAGE,
            dtype,
            shape,
            ["height", "width", "channels"],
            video=VideoInfo(None, width, height, fps),
        )
    if len(shape) == 0:
        return Feature(key, FeatureKind.SCALAR, dtype, shape, [key])
    width = int(np.prod(shape))
    space = joint_space_for(key, width, joint_actions, eef_actions) if len(shape) == 1 else None
    names = list(space.names) if space is not None else vector_names(key, width)
    return Feature(key, FeatureKind.VECTOR, dtype, shape, names, space=space)


def _robot_type(features: dict[str, Feature], env_name: str) -> str:
    if "lekiwi" in env_name.lower():
        return "lekiwi"
    bi = all(k in features for k in BI_STATE_PARTS) or any(
        f.space is not None and f.space.width == 12 and f.space.is_so101 for f in features.values()
    )
    return "bi_so101_follower" if bi else "so101_follower"


def demo_task(attrs: dict[str, Any]) -> str:
    """The task text a demo carries itself (``task``, or an older recording's ``rs_task``); "" if none."""
    for name in ("task", LEGACY_TASK_ATTR):
        text = attrs.get(name)
        if text is not None and str(text) != "":
            return str(text)
    return ""


def _file_rate(data_attrs: dict[str, Any], demos: list[tuple[str, dict[str, Any]]]) -> tuple[float, str]:
    """(fps, where it came from): ``/data.fps``, else the rate older studio recordings kept per demo."""
    stored = data_attrs.get("fps")
    if stored:
        return float(stored), "fps attribute"
    for name, attrs in demos:
        legacy = attrs.get(LEGACY_RATE_ATTR)
        if legacy is not None and float(legacy) > 0:
            return float(legacy), f"{name}.{LEGACY_RATE_ATTR} (an older studio recording)"
    return DEFAULT_FPS, "default (the file has no rate)"


def open_dataset(path: Path, fps: float | None = None) -> Dataset:
    """Open ``path`` read-only; ``fps`` overrides the file's rate (attribute ``fps``, else 30)."""
    path = Path(path)
    h5 = open_h5(path)
    try:
        cache = _image_cache_bytes(h5)
    except (OSError, KeyError, ValueError):
        cache = 0
    if cache:  # reopen with a chunk cache that holds one whole image chunk per open dataset
        h5.close()
        h5 = open_h5(path, rdcc_nbytes=min(cache + (1 << 20), _MAX_IMAGE_CACHE), rdcc_nslots=10007)
    try:
        with small_metadata_cache(h5):
            return _build(path, h5, fps)
    except FormatError:
        h5.close()
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        h5.close()
        raise FormatError(f"cannot read the LeIsaac layout ({short_error(error)})", path) from None


def _build(path: Path, h5: h5py.File, fps_override: float | None) -> Dataset:
    data = h5.get("data")
    if not isinstance(data, h5py.Group):
        raise FormatError("no /data group: not a LeIsaac / Isaac Lab recording", path)
    data_attrs = attrs_dict(data)
    env_args = parse_env_args(data_attrs.get("env_args"))
    env_name = str((env_args or {}).get("env_name") or "")
    names = demo_names(data)
    # one low-level pass over the demos' attributes (h5py's high-level objects cost ~1 ms per demo)
    handles = [open_object(data.id, name) for name in names]
    if any(handle is None for handle in handles):
        raise KeyError(f"cannot open /data/{names[handles.index(None)]}")
    demo_attrs = [(name, read_attrs(handle)) for name, handle in zip(names, handles, strict=True)]
    fps, fps_from = _file_rate(data_attrs, demo_attrs)
    if fps_override:
        fps, fps_from = float(fps_override), "given"

    # features: the first demo (by number) that has any per-frame data defines the layout
    features: dict[str, Feature] = {}
    for name in names:
        group = data[name]
        shapes = dict(frame_datasets(group))
        if not shapes:
            continue
        action = shapes.get("actions")
        joint_actions = action is not None and action.ndim == 2 and actions_are_joints(action.shape[1])
        eef_actions = (
            action is not None
            and action.ndim == 2
            and holds_eef_actions(action.shape[1], eef_by_attrs(data_attrs), shapes)
        )
        for key, dataset in shapes.items():
            if dataset.ndim == 0:
                continue
            features[key] = _feature(key, dataset, fps, joint_actions, eef_actions)
        break

    synthetic: dict[str, tuple[str, ...]] = {}
    if STATE_KEY not in features and all(k in features for k in BI_STATE_PARTS):
        left, right = (features[k] for k in BI_STATE_PARTS)
        if left.shape == right.shape == (6,):
            space = JointSpace.so101(Unit.RADIANS, BI_ARMS)
            features[STATE_KEY] = Feature(
                STATE_KEY, FeatureKind.VECTOR, left.dtype, (12,), list(space.names), space
            )
            synthetic[STATE_KEY] = BI_STATE_PARTS

    roles: dict[str, str] = {}
    if "actions" in features:
        roles["action"] = "actions"
    if STATE_KEY in features:
        roles["state"] = STATE_KEY
    cameras = {camera_name(k): k for k, f in features.items() if f.kind is FeatureKind.IMAGE}

    reader = LeIsaacReader(path, h5, synthetic)
    info: dict[str, Any] = {
        "attrs": data_attrs,
        "total": data_attrs.get("total"),
        "env_args": env_args,
        "env_name": env_name,
        "fps_from": fps_from,
        "synthetic_features": {k: list(v) for k, v in synthetic.items()},
        "other_groups": [n for n in data.keys() if demo_number(n) is None],
    }
    if PROVENANCE_ATTR in data_attrs:
        info["provenance"] = parse_env_args(data_attrs[PROVENANCE_ATTR])
    dataset = Dataset(
        path=path,
        format=DatasetFormat.LEISAAC_HDF5,
        fps=fps,
        robot_type=_robot_type(features, env_name),
        features=features,
        tasks=[],
        reader=reader,
        roles=roles,
        cameras=cameras,
        info=info,
    )
    length_key = (
        "actions" if "actions" in features else next((k for k in features if k not in synthetic), None)
    )
    tasks: list[str] = []
    for (name, attrs), handle in zip(demo_attrs, handles, strict=True):
        stored = open_object(handle, length_key) if length_key and isinstance(handle, h5g.GroupID) else None
        num_samples = attrs.get("num_samples")
        if isinstance(stored, h5d.DatasetID) and stored.rank > 0:
            length = int(stored.shape[0])
        else:
            length = int(num_samples or 0)
        success = bool(attrs["success"]) if "success" in attrs else None
        task = demo_task(attrs) or env_name or None
        if task and task not in tasks:
            tasks.append(task)
        dataset.episodes.append(
            Episode(
                dataset,
                demo_number(name) or 0,
                length,
                task=task,
                success=success,
                source=name,
                extra={
                    "demo": name,
                    "seed": attrs.get("seed"),
                    "num_samples": num_samples,
                    "attrs": attrs,
                    "interrupted": "success" not in attrs,
                },
            )
        )
    dataset.tasks = tasks
    return dataset


def read_initial_state(episode: Episode) -> dict[str, Any]:
    """The initial_state tree of an HDF5 episode ({} for other formats or when absent)."""
    if Capability.INITIAL_STATE in reader_capabilities(episode.dataset):
        return episode.dataset.reader.read_initial_state(episode)
    return {}

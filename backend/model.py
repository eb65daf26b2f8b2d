"""The one data model every pane and format speaks: Dataset, Episode, Feature, Stream.

Readers (backend/formats/*) build a ``Dataset`` with a ``DatasetReader`` that loads episode arrays
and opens camera streams lazily, so listing thousands of episodes costs only their metadata.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from backend.errors import FormatError, StudioError
from backend.progress import Progress
from backend.units import JointSpace, JointValues, Unit


class DatasetFormat(StrEnum):
    LEISAAC_HDF5 = "leisaac_hdf5"
    LEROBOT_V20 = "lerobot_v2.0"
    LEROBOT_V21 = "lerobot_v2.1"
    LEROBOT_V30 = "lerobot_v3.0"
    COSMOS_OUTPUTS = "cosmos_outputs"


class FeatureKind(StrEnum):
    VECTOR = "vector"  # (T, N) numbers per frame
    SCALAR = "scalar"  # (T,) numbers per frame
    VIDEO = "video"  # frames in video files
    IMAGE = "image"  # frames stored as arrays (HDF5 obs/<camera>)


@dataclass(frozen=True)
class VideoInfo:
    codec: str | None
    width: int
    height: int
    fps: float
    pix_fmt: str | None = None


@dataclass
class Feature:
    key: str  # the format's own key: "action", "obs/joint_pos", "observation.images.front"
    kind: FeatureKind
    dtype: str
    shape: tuple[int, ...]
    names: list[str] | None = None
    space: JointSpace | None = None  # joint vectors only: names + unit
    video: VideoInfo | None = None  # VIDEO / IMAGE features
    has_files: bool = True  # False for features listed in metadata without any data behind them


class Role(StrEnum):
    """What a feature means, whatever the format calls it."""

    ACTION = "action"
    STATE = "state"


class Stream(ABC):
    """The frames of one camera of one episode, by index, with their timestamps (seconds)."""

    name: str
    fps: float
    num_frames: int
    width: int
    height: int
    codec: str | None

    @abstractmethod
    def frame(self, index: int) -> np.ndarray:
        """RGB uint8 (H, W, 3) of frame ``index`` (0-based within the episode)."""

    def frames(self, indices: Sequence[int], progress: Progress | None = None) -> list[np.ndarray]:
        """The frames of ``indices`` (in that order, repeats allowed), as ``frame`` gives them; a format
        whose frames are costly one by one (HDF5 chunks) reads what they share once. ``progress``
        hears of each frame (and so can cancel between frames) where they are read one by one."""
        out = []
        for number, index in enumerate(indices):
            if progress is not None:
                progress.report(number, len(indices), "frames")
            out.append(self.frame(index))
        return out

    def timestamps(self) -> np.ndarray:
        return np.arange(self.num_frames, dtype=np.float64) / self.fps

    def timestamp(self, index: int) -> float:
        return float(self.timestamps()[index])

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def _check_index(self, index: int) -> int:
        if not 0 <= index < self.num_frames:
            raise IndexError(f"frame {index} outside 0..{self.num_frames - 1} of {self.name}")
        return int(index)


class ArrayStream(Stream):
    """Frames stored as an array-like (T, H, W, 3): HDF5 image datasets, numpy arrays."""

    def __init__(self, name: str, frames: Any, fps: float, lock: threading.Lock | None = None) -> None:
        self.name = name
        self._frames = frames
        self.fps = float(fps)
        self.num_frames = int(frames.shape[0])
        self.height, self.width = int(frames.shape[1]), int(frames.shape[2])
        self.codec = None
        self._lock = lock or threading.Lock()

    def frame(self, index: int) -> np.ndarray:
        index = self._check_index(index)
        with self._lock:  # h5py is not safe for concurrent reads of one file
            return np.ascontiguousarray(self._frames[index])


class Episode:
    """One demonstration. Arrays load on first use and stay cached."""

    def __init__(
        self,
        dataset: Dataset,
        index: int,
        length: int,
        task: str | None = None,
        success: bool | None = None,
        source: str = "",
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.dataset = dataset
        self.index = int(index)
        self.length = int(length)
        self.task = task
        self.success = success
        self.source = source
        self.extra: dict[str, Any] = extra or {}
        self._arrays: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Episode({self.index}, length={self.length}, task={self.task!r}, success={self.success})"

    @property
    def duration(self) -> float:
        return self.length / self.dataset.fps if self.dataset.fps else 0.0

    @property
    def display_name(self) -> str:
        """The episode as its format names it: ``demo_3`` (HDF5), ``episode 3`` (LeRobot), the sample
        name (Cosmos outputs); messages about one episode use this."""
        if self.dataset.format is DatasetFormat.LEISAAC_HDF5:
            return str(self.extra.get("demo") or f"demo_{self.index}")
        if self.dataset.format is DatasetFormat.COSMOS_OUTPUTS:
            return str(self.extra.get("name") or self.source or self.index)
        return f"episode {self.index}"

    def array(self, key: str) -> np.ndarray:
        """The episode's values of feature ``key`` (T, ...), loaded lazily."""
        with self._lock:
            if key not in self._arrays:
                if key not in self.dataset.features:
                    raise KeyError(f"{key!r} is not a feature of {self.dataset.path}")
                self._arrays[key] = self.dataset.reader.read_array(self, key)
            return self._arrays[key]

    def joints(self, role: Role | str) -> JointValues:
        """Joint values of a role (action/state) or feature key, with their joint space."""
        key = self.dataset.key_for(role)
        feature = self.dataset.features[key]
        values = self.array(key)
        space = feature.space or JointSpace(
            tuple(feature.names or [f"{key}[{i}]" for i in range(values.shape[1])]), Unit.OTHER
        )
        values = np.asarray(values)
        width = int(np.prod(values.shape[1:], dtype=np.int64))  # -1 cannot be inferred with 0 rows
        if width != space.width:  # one episode unlike the others: the file is wrong, say where
            raise FormatError(
                f"{self.display_name}: {key} is {width} wide, the dataset's other episodes have {space.width}",
                self.dataset.path,
            )
        return JointValues(values.reshape(len(values), width), space)

    def timestamps(self) -> np.ndarray:
        return np.arange(self.length, dtype=np.float64) / self.dataset.fps

    def stream(self, camera: str) -> Stream:
        """A fresh stream for ``camera`` (a camera name such as 'front'); the caller closes it."""
        if camera not in self.dataset.cameras:
            raise KeyError(f"camera {camera!r} not in {sorted(self.dataset.cameras)}")
        return self.dataset.reader.open_stream(self, camera)

    def unload(self) -> None:
        with self._lock:
            self._arrays.clear()


class DatasetReader(ABC):
    """What a format module implements to back a ``Dataset``."""

    @abstractmethod
    def read_array(self, episode: Episode, key: str) -> np.ndarray: ...

    @abstractmethod
    def open_stream(self, episode: Episode, camera: str) -> Stream: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


@dataclass
class Dataset:
    path: Path
    format: DatasetFormat
    fps: float
    robot_type: str
    features: dict[str, Feature]
    tasks: list[str]
    reader: DatasetReader
    episodes: list[Episode] = field(default_factory=list)
    # role -> feature key, e.g. {"action": "actions", "state": "obs/joint_pos"}
    roles: dict[str, str] = field(default_factory=dict)
    # camera name ("front") -> feature key ("obs/front" or "observation.images.front")
    cameras: dict[str, str] = field(default_factory=dict)
    # format metadata as read (info.json, HDF5 attrs), for inspect/validate and round trips
    info: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.reader.close()

    @property
    def num_episodes(self) -> int:
        return len(self.episodes)

    @property
    def num_frames(self) -> int:
        return sum(e.length for e in self.episodes)

    def episode(self, index: int) -> Episode:
        """The episode whose ``index`` is ``index`` (not the list position)."""
        for episode in self.episodes:
            if episode.index == index:
                return episode
        raise StudioError(f"no episode {index} (has {self.num_episodes})", self.path)

    def key_for(self, role: Role | str) -> str:
        name = role.value if isinstance(role, Role) else role
        if name in self.roles:
            return self.roles[name]
        if name in self.features:
            return name
        raise KeyError(f"{self.path} has no {name!r} feature (roles: {sorted(self.roles)})")

    def joint_space(self, role: Role | str) -> JointSpace | None:
        try:
            return self.features[self.key_for(role)].space
        except KeyError:
            return None

    def camera_info(self, camera: str) -> VideoInfo | None:
        return self.features[self.cameras[camera]].video

    def check_finite(self, values: np.ndarray, key: str, episode: Episode) -> np.ndarray:
        """Readers call this so NaN/inf joint values surface as a clear error, not a broken plot.

        Corrupt values stop whatever reads them (a conversion would carry them into training data):
        the error names the episode in its format's terms, the key and the first bad frame."""
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            frame = int(np.argwhere(~np.isfinite(values))[0][0])
            what = "NaN" if np.isnan(values[frame]).any() else "inf"
            raise FormatError(
                f"{episode.display_name}: {key} has {what} at frame {frame}",
                self.path,
                "exclude or trim this episode (Browse, or `rollout-studio curate`) and export a clean copy",
            )
        return values

"""The streaming writer contract every output format implements.

Recording, conversion and curated export all write through it: frames go in one at a time (or a
block at a time) and never need to be held in memory for a whole episode. Nothing appears at the
destination until ``finish()``; ``abort()`` (or an exception inside ``with``) leaves nothing.

    with open_writer(fmt, out, spec) as writer:
        episode = writer.begin_episode(task="Pick the orange", seed=3)
        for t in range(T):
            episode.add_frame({"action": a[t], "observation.state": s[t]}, {"front": rgb})
        episode.end(success=True)

Readers and writers declare what they can do in ``capabilities`` (a ``Capability`` flag set);
converters read that declaration (``reader_capabilities``, ``writer.capabilities``) instead of
probing for methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Flag, auto
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from backend.model import Feature, FeatureKind

if TYPE_CHECKING:
    from backend.model import Dataset


class Capability(Flag):
    """What a format's reader or writer can do; a reader or writer holds its set in ``capabilities``."""

    NONE = 0
    VIDEO = auto()  # cameras are stored as encoded video files (mp4)
    IMAGES = auto()  # cameras are stored as arrays of raw RGB frames
    SUCCESS_FLAGS = auto()  # each episode keeps success True / False (None: not known)
    INITIAL_STATE = auto()  # the scene before the first frame (reader: ``read_initial_state(episode)``)
    TASKS = auto()  # task texts per episode
    STATS = auto()  # per-feature statistics stored with the data
    APPEND = auto()  # writer: publish each episode at end() and resume an existing output
    PACKET_COPY = auto()  # writer: ``add_video`` takes an mp4 window without re-encoding
    ENCODED_VIDEO = auto()  # writer: ``add_encoded_video`` adopts an mp4 encoded by another process
    FRAME_LOCATION = auto()  # reader: a camera stream's ``h5_location()`` names frames another process reads
    BLOCK_READ = auto()  # reader: ``read_block(episode, key, start, stop)`` / ``read_frames`` of a window


def reader_capabilities(dataset: Dataset) -> Capability:
    """What the reader of an open dataset declares (nothing for a reader that declares nothing)."""
    declared = getattr(dataset.reader, "capabilities", Capability.NONE)
    return declared if isinstance(declared, Capability) else Capability.NONE


@dataclass
class CameraSpec:
    name: str  # "front"
    width: int
    height: int


@dataclass
class WriterSpec:
    """What a writer needs before the first frame."""

    fps: float
    robot_type: str
    # vector/scalar features keyed by the *target format's* keys
    # (LeRobot: "action", "observation.state"; HDF5: "actions", "obs/joint_pos", ...)
    features: dict[str, Feature]
    cameras: list[CameraSpec] = field(default_factory=list)
    # format-specific options: codec ("h264"|"av1"), crf, gop, preset, env_args, ...
    options: dict[str, Any] = field(default_factory=dict)
    # provenance record (inputs, parameters, tool version) stored with the output
    provenance: dict[str, Any] | None = None

    def vector_keys(self) -> list[str]:
        return [k for k, f in self.features.items() if f.kind in (FeatureKind.VECTOR, FeatureKind.SCALAR)]


class EpisodeWriter(ABC):
    @abstractmethod
    def add_frame(self, values: Mapping[str, np.ndarray], images: Mapping[str, np.ndarray] | None = None) -> None:
        """Append one frame: a value per feature key and an RGB uint8 image per camera name."""

    def add_frames(
        self, values: Mapping[str, np.ndarray], images: Mapping[str, Iterable[np.ndarray]] | None = None
    ) -> None:
        """Append a block of frames: arrays (T, ...) per key and iterables of T images per camera."""
        length = len(next(iter(values.values())))
        iterators = {name: iter(frames) for name, frames in (images or {}).items()}
        for t in range(length):
            self.add_frame({k: v[t] for k, v in values.items()}, {n: next(it) for n, it in iterators.items()})

    @abstractmethod
    def end(self, success: bool | None = True) -> int:
        """Finish the episode; returns its index in the output."""

    @abstractmethod
    def discard(self) -> None:
        """Drop the episode (re-record); nothing of it stays in the output."""


class DatasetWriter(ABC):
    capabilities: Capability = Capability.NONE  # a class or (per format) instance declaration

    def __init__(self, out: str | Path, spec: WriterSpec, overwrite: bool = False) -> None:
        self.out = Path(out)
        self.spec = spec
        self.overwrite = overwrite

    @abstractmethod
    def begin_episode(self, task: str, **extra: Any) -> EpisodeWriter:
        """Start an episode. ``extra`` may carry seed, initial_state, source attributes..."""

    @abstractmethod
    def finish(self) -> Path:
        """Write metadata and publish the output atomically; returns the final path."""

    @abstractmethod
    def abort(self) -> None:
        """Remove everything written so far."""

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()

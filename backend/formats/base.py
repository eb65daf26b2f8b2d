"""The streaming writer contract every output format implements.

Recording, conversion and curated export all write through it: frames go in one at a time (or a
block at a time) and never need to be held in memory for a whole episode. Nothing appears at the
destination until ``finish()``; ``abort()`` (or an exception inside ``with``) leaves nothing.

    with open_writer(fmt, out, spec) as writer:
        episode = writer.begin_episode(task="Pick the orange", seed=3)
        for t in range(T):
            episode.add_frame({"action": a[t], "observation.state": s[t]}, {"front": rgb})
        episode.end(success=True)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.model import Feature, FeatureKind


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

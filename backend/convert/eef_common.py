"""What both end-effector conversions share (``backend.convert.eef`` joint -> EEF and
``backend.convert.eef_to_joint`` back): names, the end-effector frames, writing a demo block by block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from backend.errors import StudioError
from backend.formats import open_dataset
from backend.formats.base import Capability, WriterSpec, reader_capabilities
from backend.formats.leisaac_hdf5 import LeIsaacHDF5Writer, read_initial_state, writer_spec_for
from backend.formats.leisaac_hdf5._common import CHUNK_FRAMES
from backend.ik import TCP_LINK, TIP_LINK
from backend.kinematics import joint_angles_rad
from backend.model import Dataset, DatasetFormat, Episode, Feature, FeatureKind
from backend.progress import Progress

EEF_NAMES = ["x", "y", "z", "qw", "qx", "qy", "qz", "gripper"]
DATAGEN = "obs/datagen_info"
# the end effector: LeIsaac's "gripper" body (what its Mimic IK action term moves and its ee_frame
# "gripper" reports), or the URDF's tool point between the jaws
EEF_FRAMES = {"gripper": TIP_LINK, "tcp": TCP_LINK}


def link(frame: str) -> str:
    """The model link of an end-effector frame name (a key of ``EEF_FRAMES``)."""
    if frame not in EEF_FRAMES:
        raise StudioError(f"the end-effector frame is one of {', '.join(EEF_FRAMES)}, not {frame!r}")
    return EEF_FRAMES[frame]


def vector(
    key: str, shape: tuple[int, ...], names: list[str] | None = None, dtype: str = "float32"
) -> Feature:
    kind = FeatureKind.SCALAR if not shape else FeatureKind.VECTOR
    return Feature(key, kind, dtype, shape, names=names)


def open_source(source: Path) -> Dataset:
    return open_dataset(Path(source))


def joint_rad(episode: Episode, role: str) -> np.ndarray | None:
    try:
        values = episode.joints(role)
    except KeyError:
        return None
    return joint_angles_rad(values.values, values.space)


def base_spec(dataset: Dataset, drop: set[str]) -> WriterSpec:
    """The input's own layout when it is a LeIsaac HDF5 (less ``drop``), else only its cameras."""
    spec = writer_spec_for(dataset)
    if dataset.format is not DatasetFormat.LEISAAC_HDF5:
        spec.features = {}
        spec.options = {}
    spec.features = {k: f for k, f in spec.features.items() if k not in drop}
    return spec


def write_episode(
    writer: LeIsaacHDF5Writer,
    episode: Episode,
    values: dict[str, np.ndarray],
    cameras: list[str],
    success: bool | None,
    tree: dict[str, Any] | None,
    progress: Progress,
    done: int,
    total: int,
) -> None:
    """One demo, CHUNK_FRAMES frames at a time (camera frames are never all in memory)."""
    task, extra = episode_extra(episode)
    extra.update(tree or {})
    target = writer.begin_episode(task, **extra)
    block_read = Capability.BLOCK_READ in reader_capabilities(episode.dataset)
    streams = {} if block_read else {name: episode.stream(name) for name in cameras}
    try:
        for start in range(0, episode.length, CHUNK_FRAMES):
            stop = min(start + CHUNK_FRAMES, episode.length)
            images = {
                name: episode.dataset.reader.read_frames(episode, name, start, stop)
                if block_read
                else np.stack([streams[name].frame(i) for i in range(start, stop)])
                for name in cameras
            }
            target.add_frames({key: value[start:stop] for key, value in values.items()}, images)
            progress.report(done + stop, total, episode.display_name)
    finally:
        for stream in streams.values():
            stream.close()
    target.end(success=success)
    episode.unload()


def episode_extra(episode: Episode) -> tuple[str, dict[str, Any]]:
    attrs = dict(episode.extra.get("attrs") or {})
    task = attrs.get("task") if "attrs" in episode.extra else episode.task
    extra: dict[str, Any] = {"attrs": attrs}
    if episode.dataset.format is DatasetFormat.LEISAAC_HDF5:
        initial_state = read_initial_state(episode)
        if initial_state:
            extra["initial_state"] = initial_state
    if episode.extra.get("seed") is not None:
        extra["seed"] = episode.extra["seed"]
    return str(task or ""), extra


def selected(dataset: Dataset, include_failed: bool) -> tuple[list[Episode], list[dict[str, Any]]]:
    chosen, skipped = [], []
    for episode in dataset.episodes:
        if episode.success is False and not include_failed:
            skipped.append(
                {
                    "source": str(dataset.path),
                    "episode": episode.display_name,
                    "index": episode.index,
                    "reason": "failed demo",
                }
            )
        else:
            chosen.append(episode)
    return chosen, skipped


def error_stats(
    pos_errors: list[np.ndarray], rot_errors: list[np.ndarray], joint_errors: list[np.ndarray]
) -> dict[str, float]:
    """Max and mean reached-pose error (mm, degrees) and joint error (degrees) over all frames."""
    out: dict[str, float] = {}
    for name, parts, scale in (
        ("position_error_mm", pos_errors, 1000.0),
        ("rotation_error_deg", rot_errors, 180.0 / np.pi),
        ("joint_error_deg", joint_errors, 180.0 / np.pi),
    ):
        if parts:
            values = np.concatenate(parts) * scale
            out[f"max_{name}"] = float(np.max(values)) + 0.0
            out[f"mean_{name}"] = float(np.mean(values)) + 0.0
    return out

"""Copy any Dataset whose feature keys are HDF5 keys into a new LeIsaac HDF5 file.

HDF5 -> model -> HDF5 keeps every value: actions, obs, images, states, initial_state, demo and
/data attributes (demos are renumbered demo_0..demo_{N-1} in order; provenance and fps are added).
Synthetic features (the bi-arm ``obs/joint_pos``) are not written back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backend.formats.base import CameraSpec, Capability, WriterSpec, reader_capabilities
from backend.formats.leisaac_hdf5._common import CHUNK_FRAMES, OWN_DATA_ATTRS
from backend.formats.leisaac_hdf5.reader import read_initial_state
from backend.formats.leisaac_hdf5.writer import LeIsaacHDF5Writer, default_provenance
from backend.model import Dataset, Episode, FeatureKind
from backend.progress import Progress, ensure_progress


def writer_spec_for(dataset: Dataset) -> WriterSpec:
    """A WriterSpec reproducing ``dataset``'s HDF5 layout (vectors by key, cameras as obs/<name>)."""
    synthetic = set((dataset.info.get("synthetic_features") or {}).keys())
    camera_keys = set(dataset.cameras.values())
    features = {
        key: feature
        for key, feature in dataset.features.items()
        if feature.kind in (FeatureKind.VECTOR, FeatureKind.SCALAR)
        and key not in synthetic
        and key not in camera_keys
    }
    cameras = []
    for name, key in dataset.cameras.items():
        feature = dataset.features[key]
        if feature.video is not None:
            cameras.append(CameraSpec(name, feature.video.width, feature.video.height))
        else:
            cameras.append(CameraSpec(name, int(feature.shape[1]), int(feature.shape[0])))
    attrs = dict(dataset.info.get("attrs") or {})
    options: dict = {"data_attrs": {k: v for k, v in attrs.items() if k not in OWN_DATA_ATTRS}}
    if "env_args" in attrs:
        options["env_args"] = attrs["env_args"]
    elif dataset.info.get("env_name"):
        options["env_name"] = dataset.info["env_name"]
    return WriterSpec(
        fps=dataset.fps, robot_type=dataset.robot_type, features=features, cameras=cameras, options=options
    )


def _frames(episode: Episode, camera: str, start: int, stop: int) -> np.ndarray:
    if Capability.BLOCK_READ in reader_capabilities(episode.dataset):
        return episode.dataset.reader.read_frames(episode, camera, start, stop)
    stream = episode.stream(camera)
    try:
        return np.stack([stream.frame(i) for i in range(start, stop)])
    finally:
        stream.close()


def copy_to_hdf5(
    dataset: Dataset,
    out: str | Path,
    progress: Progress | None = None,
    overwrite: bool = False,
    episodes: Sequence[int] | None = None,
) -> Path:
    """Write ``dataset`` (or the episodes whose index is in ``episodes``) to ``out``; returns the path."""
    progress = ensure_progress(progress)
    chosen = [e for e in dataset.episodes if episodes is None or e.index in set(episodes)]
    spec = writer_spec_for(dataset)
    spec.provenance = default_provenance(
        "copy_to_hdf5", [str(dataset.path)], {"episodes": [e.index for e in chosen]}
    )
    total = sum(e.length for e in chosen)
    done = 0
    progress.report(0, total, "copying")
    with LeIsaacHDF5Writer(out, spec, overwrite=overwrite) as writer:
        for episode in chosen:
            attrs = dict(episode.extra.get("attrs") or {})
            task = attrs.get("task") if "attrs" in episode.extra else episode.task
            seed = episode.extra.get("seed")
            extra: dict = {"attrs": attrs}
            initial_state = read_initial_state(episode)
            if initial_state:
                extra["initial_state"] = initial_state
            if seed is not None:
                extra["seed"] = seed
            target = writer.begin_episode(task or "", **extra)
            try:
                for start in range(0, episode.length, CHUNK_FRAMES):
                    stop = min(start + CHUNK_FRAMES, episode.length)
                    values = {key: _block(episode, key, start, stop) for key in spec.vector_keys()}
                    images = {cam.name: _frames(episode, cam.name, start, stop) for cam in spec.cameras}
                    target.add_frames(values, images)
                    done += stop - start
                    progress.report(done, total, f"demo {episode.index}")
            finally:
                episode.unload()
            target.end(success=episode.success)
    return Path(out).absolute()


def _block(episode: Episode, key: str, start: int, stop: int) -> np.ndarray:
    if Capability.BLOCK_READ in reader_capabilities(episode.dataset):
        return episode.dataset.reader.read_block(episode, key, start, stop)
    return episode.array(key)[start:stop]

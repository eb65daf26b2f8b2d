"""Re-write any Dataset as LeRobot v2.1 / v3.0 through the streaming writer.

Without ``codec`` videos whose episode window can be cut at packet level (it starts on a keyframe and
has no B-frame reordering) are copied packet by packet: frames stay bit-identical and nothing is
re-encoded, so v2.1 -> v3.0 -> v2.1 gives back the same frames. Other cameras (image arrays, windows
not starting on a keyframe, or any camera when ``codec`` is given) are decoded and encoded again.
Values are written as they are, in the source's dtype; no unit conversion happens here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from backend import __version__
from backend.errors import StudioError
from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.lerobot.common import DEFAULT_FEATURES, MODALITY_PATH, read_json, video_block
from backend.formats.lerobot.remux import remux_problem
from backend.formats.lerobot.stream import VideoWindowStream
from backend.formats.lerobot.writer import LeRobotWriter
from backend.media import VideoProbe, probe
from backend.media.encoder import CODECS
from backend.model import Dataset, DatasetFormat, Episode, Feature, FeatureKind
from backend.progress import Progress, ensure_progress

LEROBOT_FORMATS = (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30)


class CopyExtras(Protocol):
    """Columns a converter writes afresh instead of copying them (the subtask columns:
    ``backend.subtask_export.CarriedSubtasks``): ``drop`` names source features not copied,
    ``prepare`` edits the writer's spec, ``attach`` hooks the writer, ``columns`` gives an episode's."""

    drop: frozenset[str]

    def prepare(self, spec: WriterSpec) -> None: ...

    def attach(self, writer: LeRobotWriter) -> None: ...

    def columns(self, number: int, episode: Episode) -> dict[str, np.ndarray]: ...


def lerobot_key(dataset: Dataset, key: str) -> str:
    """The LeRobot name of a source feature: roles map to action / observation.state."""
    if dataset.format in LEROBOT_FORMATS:
        return key
    for role, target in (("action", "action"), ("state", "observation.state")):
        if dataset.roles.get(role) == key:
            return target
    if key.startswith("obs/"):
        return "observation." + key[4:].replace("/", ".")
    return key.replace("/", ".")


def _spec(
    dataset: Dataset, codec: str | None, options: dict[str, Any] | None, extras: CopyExtras | None = None
) -> tuple[WriterSpec, dict[str, str]]:
    keys: dict[str, str] = {}
    features: dict[str, Feature] = {}
    drop = extras.drop if extras is not None else frozenset()
    for key, feature in dataset.features.items():
        if feature.kind not in (FeatureKind.VECTOR, FeatureKind.SCALAR) or not feature.has_files or key in drop:
            continue
        target = lerobot_key(dataset, key)
        if target in DEFAULT_FEATURES:
            continue
        keys[key] = target
        features[target] = Feature(
            target, feature.kind, feature.dtype, tuple(feature.shape), feature.names, space=feature.space
        )
    cameras = []
    for name, key in dataset.cameras.items():
        feature = dataset.features[key]
        width = feature.video.width if feature.video else feature.shape[1]
        height = feature.video.height if feature.video else feature.shape[0]
        cameras.append(CameraSpec(name, int(width), int(height)))
    opts: dict[str, Any] = {"tasks": list(dataset.tasks)}
    if codec:
        opts["codec"] = codec
    else:
        source_codecs = [
            dataset.features[key].video.codec
            for key in dataset.cameras.values()
            if dataset.features[key].video
        ]
        first = next((c for c in source_codecs if c in CODECS), None)
        opts["codec"] = first or "h264"
    if dataset.format in LEROBOT_FORMATS:
        features_info = dataset.info.get("features") or {}
        opts["source_video_info"] = {
            key: video_block(features_info.get(key) or {}) for key in dataset.cameras.values()
        }
    modality = dataset.path / MODALITY_PATH if dataset.path.is_dir() else None
    if modality is not None and modality.is_file():
        opts["modality"] = read_json(modality)
    opts.update(options or {})
    spec = WriterSpec(
        fps=dataset.fps,
        robot_type=dataset.robot_type,
        features=features,
        cameras=cameras,
        options=opts,
        provenance={
            "operation": "copy",
            "inputs": [
                {"path": str(dataset.path), "format": dataset.format.value, "episodes": dataset.num_episodes}
            ],
            "parameters": {"codec": codec, "reencode": bool(codec)},
            "tool_version": __version__,
        },
    )
    if extras is not None:
        extras.prepare(spec)
    return spec, keys


def _copyable(
    stream: object, length: int, probes: dict[Path, VideoProbe]
) -> tuple[Path, VideoProbe, int] | None:
    if not isinstance(stream, VideoWindowStream) or stream.num_frames != length or not stream.is_contiguous:
        return None
    info = probes.get(stream.path)
    if info is None:
        info = probes[stream.path] = probe(stream.path)
    first = stream.first_file_frame
    if remux_problem(stream.path, info, first, length) is not None:
        return None
    return stream.path, info, first


def _frames_of(stream: Any) -> Iterator[np.ndarray]:
    """Every frame of ``stream``, lazily. A function, not a generator expression in the camera loop:
    the expression would look ``stream`` up when first read, after the loop, and every camera would
    get the last camera's frames."""
    for index in range(stream.num_frames):
        yield stream.frame(index)


def copy_dataset(
    dataset: Dataset,
    out: str | Path,
    fmt: DatasetFormat | str,
    progress: Progress | None = None,
    codec: str | None = None,
    *,
    overwrite: bool = False,
    options: dict[str, Any] | None = None,
    extras: CopyExtras | None = None,
) -> Path:
    """Write ``dataset`` to ``out`` as LeRobot ``fmt`` (v2.1 or v3.0); returns the output folder.

    ``codec`` ("h264", "av1", "hevc") re-encodes every video; None copies packets where possible.
    ``options`` go to the writer (crf, gop, preset, chunks_size, data/video_files_size_in_mb, ...).
    ``extras`` writes some columns afresh (see ``CopyExtras``).
    """
    fmt = DatasetFormat(fmt)
    if fmt not in (DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30):
        raise StudioError(f"copy_dataset writes LeRobot v2.1 or v3.0, not {fmt.value}")
    if codec is not None and codec not in CODECS:
        raise StudioError(f"unknown codec {codec!r}; use one of {sorted(CODECS)}")
    progress = ensure_progress(progress)
    spec, keys = _spec(dataset, codec, options, extras)
    probes: dict[Path, VideoProbe] = {}
    total = dataset.num_episodes
    writer = LeRobotWriter(fmt, out, spec, overwrite=overwrite)
    if extras is not None:
        extras.attach(writer)
    try:
        for number, episode in enumerate(dataset.episodes):
            progress.report(number, total, f"episode {episode.index}")
            tasks = episode.extra.get("tasks") or ([episode.task] if episode.task is not None else [])
            ew = writer.begin_episode(episode.task if episode.task is not None else "", tasks=tasks)
            values = {target: episode.array(source) for source, target in keys.items()}
            if extras is not None:
                values.update(extras.columns(number, episode))
            for key, array in values.items():
                if len(array) != episode.length:
                    raise StudioError(
                        f"episode {episode.index}: {key} has {len(array)} rows for a length of "
                        f"{episode.length}",
                        dataset.path,
                        "validate the dataset; fix or drop the episode",
                    )
            images = {}
            streams = []
            for name in dataset.cameras:
                stream = episode.stream(name)
                streams.append(stream)
                if stream.num_frames != episode.length:
                    raise StudioError(
                        f"episode {episode.index}: camera {name!r} has {stream.num_frames} frames for "
                        f"{episode.length} rows",
                        dataset.path,
                        "validate the dataset; fix or drop the episode",
                    )
                window = None if codec else _copyable(stream, episode.length, probes)
                if window is not None:
                    path, info, first = window
                    ew.add_video(name, path, first, episode.length, info)
                else:
                    images[name] = _frames_of(stream)
            if values:
                ew.add_frames(values, images)
            else:
                ew.add_frames({}, images)
                ew.length = max(ew.length, episode.length)
            for stream in streams:
                stream.close()
            ew.end(episode.success)
            episode.unload()
        progress.report(total, total, "writing metadata")
        return writer.finish()
    except BaseException:
        writer.abort()
        raise

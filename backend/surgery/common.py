"""What every surgery plan needs: open inputs, their sizes, and pieces for whole episodes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from backend.atomic import check_output
from backend.errors import StudioError
from backend.model import Dataset
from backend.surgery.plan import Output, Piece


def disk_size(path: str | Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).stat().st_size
            except OSError:
                continue
    return total


def whole(dataset: Dataset, number: int, episodes: list[int] | None = None) -> list[Piece]:
    """A piece per episode (all of them, or those whose index is in ``episodes``, in that order)."""
    chosen = dataset.episodes if episodes is None else [dataset.episode(i) for i in episodes]
    return [Piece(number, e.index, 0, e.length, e.task or "") for e in chosen]


def estimate(output: Output, datasets: list[Dataset], sizes: list[int]) -> Output:
    """``output`` with its size estimated from each input's bytes per frame."""
    per_frame = [size / max(1, d.num_frames) for d, size in zip(datasets, sizes, strict=True)]
    output.bytes = int(sum(per_frame[p.input] * p.frames for p in output.pieces))
    return output


def check_outputs(outputs: list[str | Path], inputs: list[str | Path], overwrite: bool) -> list[str]:
    """Refuse outputs equal to, inside or containing an input (or each other); absolute paths back."""
    resolved = [str(check_output(out, list(inputs), overwrite)) for out in outputs]
    if len(set(resolved)) != len(resolved):
        raise StudioError("the same output is named twice", resolved[0], "give each output its own path")
    for a in resolved:
        for b in resolved:
            if a != b and Path(b).is_relative_to(Path(a)):
                raise StudioError(f"output {b} lies inside output {a}", b, "give outputs side by side")
    return resolved


def video_note(datasets: list[Dataset], codec: str | None, cut: bool) -> dict[str, str]:
    """What happens to each camera's video (for the plan)."""
    from backend.model import DatasetFormat

    notes: dict[str, str] = {}
    first = datasets[0]
    for camera in first.cameras:
        if first.format is DatasetFormat.LEISAAC_HDF5:
            notes[camera] = "frames copied as arrays (HDF5 stores images, no video)"
        elif codec:
            notes[camera] = f"decoded and encoded again as {codec}"
        elif cut:
            notes[camera] = (
                "packets copied where a window starts on a keyframe; a cut inside a GOP re-encodes only the "
                "frames up to the next keyframe (the whole window when the source's settings cannot be matched)"
            )
        else:
            notes[camera] = "packets copied (whole episodes, nothing re-encoded)"
    return notes


def open_all(paths: list[str | Path]) -> list[Dataset]:
    from backend.formats import open_dataset

    datasets: list[Dataset] = []
    try:
        for path in paths:
            datasets.append(open_dataset(path))
    except BaseException:
        for dataset in datasets:
            dataset.close()
        raise
    return datasets


def formats(datasets: list[Any]) -> list[str]:
    return [d.format.value for d in datasets]


_BOOKKEEPING = {"timestamp", "frame_index", "episode_index", "index", "task_index"}


def not_carried(dataset: Dataset) -> list[str]:
    """Warnings for columns an episode-by-episode rewrite does not write (only vectors, scalars and
    cameras travel; a join keeps every column)."""
    from backend.model import FeatureKind

    cameras = set(dataset.cameras.values())
    synthetic = set((dataset.info.get("synthetic_features") or {}).keys())
    left = sorted(
        key
        for key, f in dataset.features.items()
        if f.has_files
        and key not in cameras | _BOOKKEEPING | synthetic
        and f.kind not in (FeatureKind.VECTOR, FeatureKind.SCALAR)
    )
    return (
        [f"not carried: {', '.join(left)} (only numeric columns and cameras are rewritten)"] if left else []
    )


def video_hints(dataset: Dataset, camera: str) -> dict[str, Any]:
    """The dataset's video info of ``camera`` (``video.crf``, ``video.g``, ``video.preset`` ...)."""
    key = dataset.cameras.get(camera, camera)
    feature = (dataset.info.get("features") or {}).get(key) or {}
    return dict(feature.get("info") or {})


def cut_windows(dataset: Dataset, pieces: list[Piece]) -> list[dict[str, Any]]:
    """What happens to the video of each cut piece (one that does not start at frame 0), per camera:
    ``copy``, ``splice`` (frames re-encoded up to the next keyframe, the rest copied) or ``encode``."""
    from backend.formats.lerobot.splice import cut_plan
    from backend.formats.lerobot.stream import VideoWindowStream
    from backend.media import probe

    cuts: list[dict[str, Any]] = []
    for piece in pieces:
        if piece.start == 0:
            continue
        episode = dataset.episode(piece.episode)
        for camera in dataset.cameras:
            stream = episode.stream(camera)
            try:
                if not isinstance(stream, VideoWindowStream):
                    continue
                if stream.is_contiguous:
                    plan = cut_plan(
                        stream.path,
                        probe(stream.path),
                        stream.first_file_frame + piece.start,
                        piece.frames,
                        video_hints(dataset, camera),
                    )
                    mode, encoded, copied, reason = plan.mode, plan.encoded, plan.copied, plan.reason
                else:
                    mode, encoded, copied, reason = "encode", piece.frames, 0, "frames are not contiguous"
            finally:
                stream.close()
            cuts.append(
                {"episode": piece.episode, "camera": camera, "mode": mode, "encoded": encoded,
                 "copied": copied, "reason": reason}
            )  # fmt: skip
    return cuts

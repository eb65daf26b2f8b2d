"""What a viewer export reads from a dataset: ``DATASET[:EP]`` targets, each episode's joint tracks
(state and action, with joint names), cameras and subtask segments (the curation sidecar's, else
those the dataset carries)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from backend.errors import StudioError
from backend.subtasks import Segment

JPEG_QUALITY = 90
TRACK_ROLES = ("state", "action")


def parse_target(text: str) -> tuple[Path, list[int] | None]:
    """``DATASET`` (every episode) or ``DATASET:EP`` where EP is ``3``, ``0,2,5`` or ``1-4``.

    A path that exists as written wins, so a file name with a colon still works."""
    if Path(text).exists() or ":" not in text:
        return Path(text), None
    path, _, spec = text.rpartition(":")
    episodes: list[int] = []
    try:
        for part in spec.split(","):
            if "-" in part:
                first, last = (int(v) for v in part.split("-", 1))
                episodes.extend(range(first, last + 1))
            else:
                episodes.append(int(part))
    except ValueError:
        raise StudioError(f"episodes must be N, N,M or N-M, not {spec!r}", path) from None
    return Path(path), episodes


def pick(dataset: Any, episodes: list[int] | None) -> list[Any]:
    known = {e.index: e for e in dataset.episodes}
    if episodes is None:
        return list(dataset.episodes)
    missing = [i for i in episodes if i not in known]
    if missing:
        raise StudioError(f"no episode {missing[0]} (the dataset has {dataset.num_episodes})", dataset.path)
    return [known[i] for i in dict.fromkeys(episodes)]


@dataclass
class Track:
    role: str  # "state" | "action"
    key: str  # the dataset's feature key
    names: list[str]
    values: np.ndarray  # (frames, width) float64


def tracks(dataset: Any, episode: Any) -> list[Track]:
    out = []
    for role in TRACK_ROLES:
        key = dataset.roles.get(role)
        if key is None or key not in dataset.features:
            continue
        values = np.asarray(episode.array(key), dtype=np.float64).reshape(episode.length, -1)
        feature = dataset.features[key]
        names = list(feature.names or []) or [f"{role}_{i}" for i in range(values.shape[1])]
        if len(names) != values.shape[1]:
            names = [f"{role}_{i}" for i in range(values.shape[1])]
        out.append(Track(role, key, [str(n) for n in names], values))
    return out


def subtask_source(dataset: Any) -> Callable[[int], tuple[Segment, ...]]:
    """Episode index -> its segments: the curation sidecar's, else the dataset's own."""
    from backend.curation import Curation, sidecar_path
    from backend.subtask_import import segments_source

    curation = Curation.load(dataset.path, dataset) if sidecar_path(dataset.path).exists() else None
    return segments_source(dataset, curation)


def jpeg_frames(episode: Any, camera: str) -> Iterator[bytes]:
    """The camera's frames as JPEG bytes, in order."""
    stream = episode.stream(camera)
    try:
        for t in range(episode.length):
            rgb = np.ascontiguousarray(stream.frame(t))
            ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise StudioError(f"cannot encode frame {t} of camera {camera} as JPEG", episode.dataset.path)
            yield data.tobytes()
    finally:
        stream.close()

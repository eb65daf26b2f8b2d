"""Browse's work off the GUI thread: an episode's joint values and its timeline thumbnails."""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.model import Episode, Role
from backend.progress import Progress, ensure_progress

THUMBNAILS = 24
THUMB_WIDTH = 112


def load_joints(episode: Episode, progress: Progress | None = None) -> dict[str, Any]:
    """Joint values of an episode (action and state with their spaces; None when absent)."""
    out: dict[str, Any] = {}
    for role in (Role.ACTION, Role.STATE):
        try:
            out[role.value] = episode.joints(role)
        except KeyError:
            out[role.value] = None
    return out


def thumbnails(
    episode: Episode, camera: str, count: int = THUMBNAILS, width: int = THUMB_WIDTH,
    progress: Progress | None = None,
) -> list[tuple[int, np.ndarray]]:
    """``count`` frames spread over the episode, ``width`` pixels wide: (frame index, RGB)."""
    import cv2

    progress = ensure_progress(progress)
    stream = episode.stream(camera)
    try:
        n = stream.num_frames
        indices = sorted({int(round(x)) for x in np.linspace(0, max(0, n - 1), min(count, n))})
        frames = stream.frames(indices, progress)  # one batch: an HDF5 camera decompresses each chunk once
        thumbs = []
        for number, (index, rgb) in enumerate(zip(indices, frames, strict=True)):
            progress.report(number, len(indices), "thumbnails")
            height = max(1, int(round(rgb.shape[0] * width / rgb.shape[1])))
            small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
            thumbs.append((index, np.ascontiguousarray(small)))
        return thumbs
    finally:
        stream.close()

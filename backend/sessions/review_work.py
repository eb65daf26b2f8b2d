"""The review grid's work off the GUI thread: each episode's looping thumbnails, the stored score
table, and scoring a dataset (the same steps as ``rollout-studio score``).

Thumbnails go through the media layer: a video camera gives its frames with
``VideoStream.thumbnails`` (keyframes only when they are dense enough), a camera of images (HDF5)
its frames in one batch read (``Stream.frames``: each lzf chunk decompressed once), resized here. ``loop_frames`` calls ``on_episode`` as each episode is ready, so a page
fills in while it decodes, and a cancelled task stops between episodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backend.media.stream import VideoStream
from backend.model import Dataset
from backend.progress import Progress, ensure_progress
from backend.scores.table import ScoreTable

LOOP_FRAMES = 8
CELL_WIDTH = 160  # one camera's thumbnail; every camera side by side share about 1.5 of it
CELL_HEIGHT = 120


def camera_size(cameras: int) -> tuple[int, int]:
    """(width, height) of each camera's thumbnail when ``cameras`` are shown side by side."""
    if cameras <= 1:
        return CELL_WIDTH, CELL_HEIGHT
    width = max(80, (CELL_WIDTH * 3 // 2) // cameras // 4 * 4)
    return width, width * 3 // 4


def _camera_frames(episode: Any, camera: str, count: int, size: tuple[int, int]) -> list[np.ndarray]:
    import cv2

    stream = episode.stream(camera)
    try:
        if isinstance(stream, VideoStream):
            return list(stream.thumbnails(count, size)[1])
        n = stream.num_frames
        indices = sorted({int(round(x)) for x in np.linspace(0, max(0, n - 1), min(count, n))})
        # one batch read: an HDF5 camera decompresses each chunk once, only as far as it needs
        return [cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in stream.frames(indices)]
    finally:
        stream.close()


def episode_loop(
    dataset: Dataset,
    episode: int,
    cameras: Sequence[str],
    count: int = LOOP_FRAMES,
) -> list[np.ndarray]:
    """``count`` frames spread over ``episode``, the ``cameras`` side by side in each (RGB uint8).

    A camera that cannot be read shows dark grey (the grid says nothing is wrong with the others)."""
    size = camera_size(len(cameras))
    shown = dataset.episode(episode)
    strips: list[list[np.ndarray]] = []
    for camera in cameras:
        try:
            strips.append(_camera_frames(shown, camera, count, size))
        except Exception:  # noqa: BLE001 - a dark tile, the player tells the details
            strips.append([])
    length = max((len(s) for s in strips), default=0) or 1
    blank = np.full((size[1], size[0], 3), 40, np.uint8)
    frames = []
    for t in range(length):
        tiles = [strip[min(t, len(strip) - 1)] if strip else blank for strip in strips] or [blank]
        frames.append(np.ascontiguousarray(np.hstack(tiles)))
    return frames


def loop_frames(
    dataset: Dataset,
    episodes: Sequence[int],
    cameras: Sequence[str],
    on_episode: Callable[[int, list[np.ndarray]], None],
    count: int = LOOP_FRAMES,
    posters: Sequence[int] = (),
    first: int = 0,
    progress: Progress | None = None,
) -> int:
    """``episode_loop`` of each of ``episodes`` in order, handed to ``on_episode`` as it is ready;
    returns how many loops were made (a cancel raises between episodes).

    The first ``first`` episodes (those in view) get their loops at once; then the episodes of
    ``posters`` get one frame each (their middle one), all of them before the other loops: a page
    shows a picture in every cell soon even where each frame is costly (an HDF5 camera stored in lzf
    chunks of 100 frames decompresses a whole chunk for one frame)."""
    progress = ensure_progress(progress)
    steps = [(e, True) for e in episodes[:first]] + [(e, False) for e in posters]
    steps += [(e, True) for e in episodes[first:]]
    for done, (episode, loop) in enumerate(steps):
        progress.report(done, len(steps), "thumbnails" if loop else "posters")
        frames = (
            episode_loop(dataset, episode, cameras, count)
            if loop
            else poster_frame(dataset, episode, cameras)
        )
        on_episode(episode, frames)
    return len(episodes)


def poster_frame(dataset: Dataset, episode: int, cameras: Sequence[str]) -> list[np.ndarray]:
    """The middle frame of ``episode``, the ``cameras`` side by side (a loop of one frame)."""
    import cv2

    size = camera_size(len(cameras))
    shown = dataset.episode(episode)
    tiles = []
    for camera in cameras:
        try:
            stream = shown.stream(camera)
            try:
                middle = stream.frames([stream.num_frames // 2])[0]  # HDF5: half a chunk decompressed
                tiles.append(cv2.resize(middle, size, interpolation=cv2.INTER_AREA))
            finally:
                stream.close()
        except Exception:  # noqa: BLE001 - a dark tile, the player tells the details
            tiles.append(np.full((size[1], size[0], 3), 40, np.uint8))
    return [np.ascontiguousarray(np.hstack(tiles))] if tiles else []


def load_table(dataset_path: Any, progress: Progress | None = None) -> ScoreTable | None:
    """The stored score table of the dataset, None when it was never scored."""
    from backend.scores.store import load_scores

    return load_scores(dataset_path)


def score_dataset(dataset: Dataset, curation: Any, progress: Progress | None = None) -> ScoreTable:
    """Score every episode, fit the learned judgement on ``curation``'s ratings (a snapshot) and
    store the table beside the dataset, as ``rollout-studio score DATASET`` does."""
    from backend.scores.compute import compute_scores
    from backend.scores.judgement import judge_dataset
    from backend.scores.store import save_scores

    table = compute_scores(dataset, progress=progress)
    judge_dataset(table, dataset, curation, 0, progress)
    save_scores(table, dataset.path)
    return table

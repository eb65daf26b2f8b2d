"""The video part of a curated export to LeRobot: each episode's cameras encoded by worker processes.

``export_curated`` (``backend/curation.py``) writes the rows of every kept episode in order; when
the writer adopts videos encoded elsewhere (``Capability.ENCODED_VIDEO``: LeRobot v2.1 and v3.0),
each (episode, camera) is one task of ``backend.curation_export_worker``: the worker opens the
source dataset itself, decodes the kept frames and encodes them where the writer would
(``writer.encode_path``, inside its temporary folder) on one encoder thread, with the image
statistics. The parent adopts them episode by episode, so the output is the same for any
``jobs``. HDF5 outputs keep the frame-by-frame path (the writer compresses frames itself).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from backend import curation_export_worker as worker
from backend.episode_tasks import EpisodeTasks, Task, TaskFailed, worker_count
from backend.errors import FormatError
from backend.formats.base import Capability
from backend.formats.lerobot.stats import ImageStats


def _child_can_open(dataset: Any) -> bool:
    """Whether a worker process opening ``dataset.path`` reads what the parent reads: a dataset
    of one of the studio's readers, on disk (not one built in memory)."""
    reader = type(getattr(dataset, "reader", None)).__module__
    return reader.startswith("backend.formats.") and Path(dataset.path).exists()


def start_videos(
    dataset: Any,
    writer: Any,
    cameras: list[str],
    kept: list[Any],
    ranges: dict[int, tuple[int, int]],
    jobs: int | None,
) -> EpisodeTasks | None:
    """Every kept episode's cameras as tasks, started; None when the writer encodes frames itself."""
    capabilities = getattr(writer, "capabilities", Capability.NONE)
    if not cameras or Capability.ENCODED_VIDEO not in capabilities:
        return None
    workers = worker_count(jobs, len(kept)) if _child_can_open(dataset) else 1
    options = writer.video_options
    source = str(Path(dataset.path).absolute())
    tasks = []
    for number, episode in enumerate(kept):
        start, stop = ranges[episode.index]
        for camera in cameras:
            key, spec = writer.cameras[camera]
            video = {
                "width": spec.width,
                "height": spec.height,
                "fps": float(writer.spec.fps),
                "codec": options["codec"],
                "crf": options["crf"],
                "gop": options["gop"],
                "preset": options["preset"],
                "image_stats": bool(writer.image_stats),
            }
            payload = {
                "dataset": source,
                "episode": episode.index,
                "length": episode.length,
                "camera": camera,
                "start": start,
                "stop": stop,
                "out": str(Path(writer.encode_path(number, key)).absolute()),
                "video": video,
            }
            tasks.append(Task(number, payload))
    return EpisodeTasks.started(worker.MODULE, partial(worker.run_task, dataset=dataset), workers, tasks)


def write_videos(
    videos: EpisodeTasks,
    number: int,
    episode: Any,
    ep_writer: Any,
    values: dict[str, np.ndarray],
    frames: int,
    cameras: list[str],
    on_progress: Callable[[int], None],
) -> None:
    """Episode ``number``'s ``frames`` rows and its cameras' videos (from the workers).
    ``on_progress(frames)`` gets the frames encoded so far (per camera) and may raise Cancelled."""
    ep_writer.add_frames(values)
    try:
        results = videos.results(number, lambda: on_progress(videos.progress() // len(cameras)))
    except TaskFailed as error:
        path = getattr(getattr(episode, "dataset", None), "path", None)
        raise FormatError(f"cannot export episode {episode.index} ({error.about(path)})", path) from None
    for camera, result in zip(cameras, results, strict=True):
        if int(result["frames"]) != frames:
            raise FormatError(
                f"episode {episode.index}: camera {camera} gave {result['frames']} frames, {frames} expected",
                getattr(getattr(episode, "dataset", None), "path", None),
            )
        hist = result.get("hist")
        stats = ImageStats.from_counts(
            np.asarray(hist, dtype=np.int64) if hist is not None else None, int(result.get("stats_frames", 0))
        )
        ep_writer.add_encoded_video(camera, Path(result["out"]), frames, stats, result.get("settings"))

"""One camera of one episode of a curated export -> an mp4 for the LeRobot writer to adopt.

``python -m backend.curation_export_worker`` serves ``backend.pool`` tasks; ``run_task`` is the same
work in the parent (one worker, a dataset only the parent can read). A task:
``dataset`` (absolute path), ``episode`` (index), ``length`` (its frames, checked), ``camera``,
``start``/``stop`` (the frames kept), ``out`` (absolute, the writer's ``encode_path``: inside its
temporary folder) and ``video`` (the writer's encoder settings, size and fps). Frames are decoded
here and encoded on one thread with LeRobot's image statistics (``encode_frames``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from backend.episode_tasks import serve_dataset_tasks
from backend.media.episode_encode import encode_frames

MODULE = "backend.curation_export_worker"


def run_task(task: dict[str, Any], report: Callable[[int], None], dataset: Any) -> dict[str, Any]:
    """Encode frames ``start .. stop-1`` of the episode's camera to ``out`` (returned with
    ``encode_frames``'s summary)."""
    episode = dataset.episode(int(task["episode"]))
    if episode.length != int(task["length"]):
        raise ValueError(f"episode {episode.index} has {episode.length} frames, {task['length']} expected")
    stream = episode.stream(task["camera"])
    try:
        frames = (stream.frame(t) for t in range(int(task["start"]), int(task["stop"])))
        return {**encode_frames(frames, task["out"], task["video"], report), "out": task["out"]}
    finally:
        stream.close()
        episode.unload()


if __name__ == "__main__":
    sys.exit(serve_dataset_tasks(run_task, "curate export worker"))

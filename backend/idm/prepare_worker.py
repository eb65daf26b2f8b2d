"""One Cosmos sample -> the IDM's letterboxed H.264 video: the task of ``idm prepare``'s workers.

``python -m backend.idm.prepare_worker`` serves ``backend.pool`` tasks; ``run_task`` is the same
work done in the parent (one worker). A task: ``source`` (the sample's mp4),
``out`` (where to encode it, inside the output's temporary folder), ``video`` (size, fps and the
writer's encoder settings). Paths are absolute: the worker runs in ``/``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from backend.media.episode_encode import encode_frames
from backend.media.export import letterbox
from backend.media.reader import VideoReader
from backend.pool import serve

MODULE = "backend.idm.prepare_worker"


def run_task(task: dict[str, Any], report: Callable[[int], None]) -> dict[str, Any]:
    """Decode ``task['source']``, letterbox every frame to the video size, encode to ``task['out']``
    (returned as ``out`` with what ``encode_frames`` returns)."""
    video = task["video"]
    width, height = int(video["width"]), int(video["height"])
    with VideoReader(task["source"], cache_frames=4) as reader:
        frames = (letterbox(reader.frame(index), width, height) for index in range(reader.num_frames))
        return {**encode_frames(frames, task["out"], video, report), "out": task["out"]}


def handle(task: dict[str, Any], report: Callable[[int], None]) -> dict[str, Any]:
    for key in ("source", "out"):
        if not os.path.isabs(task[key]):
            raise ValueError(f"{task[key]}: not an absolute path (idm prepare worker)")
    return run_task(task, report)


if __name__ == "__main__":
    sys.exit(serve(handle))

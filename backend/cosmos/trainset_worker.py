"""One episode of a Cosmos training set -> ``videos/<stem>.mp4``: the task of ``cosmos trainset``'s workers.

``python -m backend.cosmos.trainset_worker`` serves ``backend.pool`` tasks; ``run_task`` is the same
work in the parent (one worker, a frozen bundle), reading the parent's open dataset. A task:
``dataset`` (absolute path), ``episode`` (index), ``camera``, ``start``/``stop`` (frames),
``out`` (absolute path inside the output's temporary folder). An H.264 file already usable is
copied; anything else is encoded on one thread, so the bytes do not depend on the workers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from backend.media.episode_encode import ONE_THREAD
from backend.media.export import export_episode_video
from backend.pool import serve

MODULE = "backend.cosmos.trainset_worker"
_open: dict[str, Any] = {}  # the child's datasets, opened once


def run_task(task: dict[str, Any], report: Callable[[int], None], dataset: Any) -> dict[str, Any]:
    """Write episode ``task['episode']`` of ``dataset``; returns export_episode_video's summary."""
    episode = dataset.episode(int(task["episode"]))
    try:
        return export_episode_video(
            episode,
            task["camera"],
            task["out"],
            frames=(int(task["start"]), int(task["stop"])),
            encoder_options=ONE_THREAD,
            report=report,
        )
    finally:
        episode.unload()


def handle(task: dict[str, Any], report: Callable[[int], None]) -> dict[str, Any]:
    from backend.formats import open_dataset  # noqa: PLC0415

    for key in ("dataset", "out"):
        if not os.path.isabs(task[key]):
            raise ValueError(f"{task[key]}: not an absolute path (cosmos trainset worker)")
    dataset = _open.get(task["dataset"])
    if dataset is None:
        dataset = _open[task["dataset"]] = open_dataset(task["dataset"])
    return run_task(task, report, dataset)


if __name__ == "__main__":
    sys.exit(serve(handle))

"""One episode of a Cosmos training set -> ``videos/<stem>.mp4``: the task of ``cosmos trainset``'s workers.

``python -m backend.cosmos.trainset_worker`` serves ``backend.pool`` tasks; ``run_task`` is the same
work in the parent (one worker), reading the parent's open dataset. A task:
``dataset`` (absolute path), ``episode`` (index), ``camera``, ``start``/``stop`` (frames),
``out`` (absolute path inside the output's temporary folder). An H.264 file already usable is
copied; anything else is encoded on one thread, so the bytes do not depend on the workers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from backend.episode_tasks import serve_dataset_tasks
from backend.media.episode_encode import ONE_THREAD
from backend.media.export import export_episode_video

MODULE = "backend.cosmos.trainset_worker"


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


if __name__ == "__main__":
    sys.exit(serve_dataset_tasks(run_task, "cosmos trainset worker"))

"""Re-encode mp4 videos in worker processes: one task per video (transcode) or per episode and camera
(a LeRobot version change that re-encodes), handed back in order.

A child (``python -m backend.convert.video_worker``, ``backend.pool``'s protocol) takes tasks:

* ``{"kind": "transcode", "src", "dst", "codec", "crf", "gop", "preset"}``: the whole file, through
  ``backend.media.transcode`` (frame i at i / fps); returns its result dict;
* ``{"kind": "encode", "src", "first", "count" | "indices", "out", "width", "height", "fps", "codec",
  "crf", "gop", "preset", "image_stats"}``: frames ``first .. first + count - 1`` (or the listed
  file frames) of ``src`` encoded to ``out``, with LeRobot's streamed image-statistics sample counted
  on the way; returns ``{"frames", "hist", "stats_frames", "settings"}``.

Each task encodes on ONE encoder thread, so the bytes do not depend on the number of workers; the
parent writes everything else and adopts the files in order. Paths are absolute (a child works in
``children.CHILD_CWD``); outputs go to the writer's temporary folder, never the final output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from backend import children
from backend.pool import Pool, PoolError, Task, worker_count

MODULE = "backend.convert.video_worker"
ENCODER_THREADS = 1


def available() -> bool:
    """Whether re-encoding uses worker processes: from a checkout, a pip install and the frozen
    bundle alike (``children.can_start``); elsewhere one video after the other, here."""
    return children.can_start()


def workers_for(jobs: int | None, tasks: int) -> int:
    """``jobs`` (None: the usable cores), never more than there are tasks."""
    return worker_count(jobs, tasks)


class VideoJobs:
    """A pool of video workers; ``add_groups`` lists every task in output order, ``wait`` hands results back."""

    def __init__(self, workers: int) -> None:
        self.pool = Pool(MODULE, workers)

    def add_groups(self, groups: Sequence[tuple[int, Sequence[dict[str, Any]]]]) -> None:
        """Every task at once (the pool's workers end when their input ends): (group, payloads)
        in output order."""
        tasks = []
        for group, payloads in groups:
            for payload in payloads:
                for key in ("src", "dst", "out"):
                    if key in payload and not Path(payload[key]).is_absolute():
                        raise ValueError(f"a worker needs absolute paths, got {payload[key]!r}")
                tasks.append(Task(group, dict(payload)))
        self.pool.submit(tasks)

    def progress(self) -> int:
        return self.pool.progress()

    def wait(self, group: int, on_progress: Callable[[], None]) -> list[Any]:
        """Raises ``PoolError`` (``error.task``: the failed task's number, see ``payload``)."""
        return self.pool.wait(group, on_progress)

    def payload(self, error: PoolError) -> dict[str, Any]:
        return self.pool.task(error.task).payload if error.task is not None else {}

    def close(self) -> None:
        self.pool.close()


# -- child side ------------------------------------------------------------------------------------


class _Report:
    """A ``Progress`` for ``transcode`` that sends frames done to the parent."""

    def __init__(self, report: Callable[[int], None]) -> None:
        from backend.progress import Progress  # noqa: PLC0415

        outer = report

        class _Sink(Progress):
            def report(self, done: int, total: int, text: str = "") -> None:  # noqa: ARG002
                outer(done)

        self.progress = _Sink()


def _transcode(task: dict[str, Any], report: Callable[[int], None]) -> dict[str, Any]:
    from backend.media.transcode import transcode  # noqa: PLC0415

    return transcode(
        task["src"],
        task["dst"],
        codec=task.get("codec", "h264"),
        crf=task.get("crf"),
        gop=task.get("gop"),
        preset=task.get("preset"),
        progress=_Report(report).progress,
        threads=ENCODER_THREADS,
    )


def _frames(reader: Any, task: dict[str, Any]) -> Iterator[Any]:
    if task.get("indices") is not None:
        for index in task["indices"]:
            yield reader.frame(int(index))
    else:
        first = int(task["first"])
        yield from reader.frames(first, first + int(task["count"]))


def _encode(task: dict[str, Any], report: Callable[[int], None]) -> dict[str, Any]:
    from backend.media.encoder import VideoEncoder  # noqa: PLC0415
    from backend.media.image_stats import image_histogram, streamed_sample  # noqa: PLC0415
    from backend.media.reader import VideoReader  # noqa: PLC0415

    out = Path(task["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    hist = None
    frames = sampled = 0
    reader = VideoReader(task["src"], cache_frames=1)
    try:
        encoder = VideoEncoder(
            out,
            int(task["width"]),
            int(task["height"]),
            float(task["fps"]),
            codec=task["codec"],
            crf=task.get("crf"),
            gop=task.get("gop"),
            preset=task.get("preset"),
            options={"threads": str(ENCODER_THREADS)},
        )
        with encoder:
            for frame in _frames(reader, task):
                encoder.write(frame)
                if task.get("image_stats", True) and streamed_sample(frames):
                    counts = image_histogram(frame)
                    hist = counts if hist is None else hist + counts
                    sampled += 1
                frames += 1
                if frames % 16 == 0:
                    report(frames)
        report(frames)
    finally:
        reader.close()
    return {
        "frames": frames,
        "hist": hist.tolist() if hist is not None else None,
        "stats_frames": sampled,
        "settings": {"crf": encoder.crf, "gop": encoder.gop, "preset": encoder.preset},
    }


def handle(task: dict[str, Any], report: Callable[[int], None]) -> dict[str, Any]:
    for key in ("src", "dst", "out"):
        if key in task and not Path(task[key]).is_absolute():
            raise ValueError(f"relative path {task[key]!r}: a worker needs absolute paths")
    if task.get("kind") == "transcode":
        return _transcode(task, report)
    if task.get("kind") == "encode":
        return _encode(task, report)
    raise ValueError(f"unknown task kind {task.get('kind')!r}")


if __name__ == "__main__":
    from backend.pool import serve

    try:
        import cv2

        cv2.setNumThreads(1)  # colour conversion: one thread per worker, like the encoder
    except ImportError:  # pragma: no cover
        pass
    sys.exit(serve(handle))

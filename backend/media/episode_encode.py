"""Encode one episode's frames to an mp4 on ONE encoder thread, with LeRobot's image statistics.

The task function of the export workers (``backend.episode_tasks``): the same bytes whether it runs
in a worker process or in the parent, and whatever the number of workers. The histogram counts the
frames a LeRobot writer samples while streaming (``streamed_sample``), so
``ImageStats.from_counts(hist, stats_frames)`` equals the writer's own statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from backend.media.encoder import VideoEncoder
from backend.media.image_stats import image_histogram, streamed_sample

ONE_THREAD = {"threads": "1"}
REPORT_EVERY = 10  # frames between progress reports


def encode_frames(
    frames: Iterable[np.ndarray],
    out: str | Path,
    video: dict[str, Any],
    report: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Encode ``frames`` (RGB uint8, ``video``'s size) to ``out``. ``video``: width, height, fps,
    codec, crf, gop, preset, image_stats. Returns {frames, hist, stats_frames, settings}."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    want_stats = bool(video.get("image_stats", True))
    hist: np.ndarray | None = None
    sampled = count = 0
    with VideoEncoder(
        out,
        int(video["width"]),
        int(video["height"]),
        float(video["fps"]),
        codec=str(video.get("codec") or "h264"),
        crf=video.get("crf"),
        gop=video.get("gop"),
        preset=video.get("preset"),
        options=ONE_THREAD,
    ) as encoder:
        for frame in frames:
            encoder.write(frame)
            if want_stats and streamed_sample(count):
                counts = image_histogram(frame)
                hist = counts if hist is None else hist + counts
                sampled += 1
            count += 1
            if report is not None and count % REPORT_EVERY == 0:
                report(count)
        settings = {"crf": encoder.crf, "gop": encoder.gop, "preset": encoder.preset}
    if report is not None:
        report(count)
    return {
        "frames": count,
        "hist": hist.tolist() if hist is not None else None,
        "stats_frames": sampled,
        "settings": settings,
    }

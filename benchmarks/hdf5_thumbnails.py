"""HDF5 thumbnails (issue #18 follow-up): one batch read per camera against frame-by-frame reads.

On the demo dataset (``rollout-studio demo-data``: six SO-101 demos of 92..117 frames, front and
wrist cameras of 640x480 in lzf chunks of 100 frames), each episode's thumbnails are made three ways,
as the GUI makes them:

- ``review_loop``: the review grid's looping thumbnail (8 frames spread over the episode, both
  cameras side by side, ``backend.sessions.review_work.episode_loop``);
- ``review_poster``: the review grid's poster (the middle frame of both cameras, ``poster_frame``);
- ``browse_timeline``: Browse's timeline (24 frames of the first camera, 112 pixels wide,
  ``app/panes/browse/work.thumbnails``).

``before`` is the code before the batch read (``stream.frame(i)`` for each frame, each chunk
decompressed once by HDF5's chunk cache), ``after`` the code now (``stream.frames(indices)``: each
chunk's stored bytes read once and decompressed by h5py's lzf decoder only as far as the last frame
wanted, the chunks of one read on several cores, the GIL free meanwhile). Both run in the same
process, alternating which goes first, ``--repeat`` times; the median seconds of all episodes are
reported, with the frames of both compared for equality.

Usage: .venv/bin/python benchmarks/hdf5_thumbnails.py [--repeat 3] [--data DIR]
Prints JSON only on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.demo_data import write_demo_dataset  # noqa: E402
from backend.formats import open_dataset  # noqa: E402
from backend.formats.leisaac_hdf5.chunks import MAX_WORKERS  # noqa: E402
from backend.formats.leisaac_hdf5.lzf_stream import lzf_decoder  # noqa: E402
from backend.model import Dataset  # noqa: E402
from backend.sessions.review_work import LOOP_FRAMES, camera_size, episode_loop, poster_frame  # noqa: E402

TIMELINE = 24  # app/panes/browse/work.THUMBNAILS
TIMELINE_WIDTH = 112  # app/panes/browse/work.THUMB_WIDTH


def _spread(n: int, count: int) -> list[int]:
    return sorted({int(round(x)) for x in np.linspace(0, max(0, n - 1), min(count, n))})


def _one_by_one(dataset: Dataset, episode: int, camera: str, indices: Callable[[int], list[int]]) -> list[np.ndarray]:
    stream = dataset.episode(episode).stream(camera)
    try:
        return [stream.frame(i) for i in indices(stream.num_frames)]
    finally:
        stream.close()


def _batch(dataset: Dataset, episode: int, camera: str, indices: Callable[[int], list[int]]) -> list[np.ndarray]:
    stream = dataset.episode(episode).stream(camera)
    try:
        return stream.frames(indices(stream.num_frames))
    finally:
        stream.close()


def _side_by_side(strips: Sequence[list[np.ndarray]], size: tuple[int, int]) -> list[np.ndarray]:
    small = [[cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in strip] for strip in strips]
    return [np.ascontiguousarray(np.hstack([s[t] for s in small])) for t in range(len(small[0]))]


def loop_before(dataset: Dataset, episode: int) -> list[np.ndarray]:
    cameras = sorted(dataset.cameras)
    strips = [_one_by_one(dataset, episode, c, lambda n: _spread(n, LOOP_FRAMES)) for c in cameras]
    return _side_by_side(strips, camera_size(len(cameras)))


def loop_after(dataset: Dataset, episode: int) -> list[np.ndarray]:
    return episode_loop(dataset, episode, sorted(dataset.cameras), LOOP_FRAMES)


def poster_before(dataset: Dataset, episode: int) -> list[np.ndarray]:
    cameras = sorted(dataset.cameras)
    strips = [_one_by_one(dataset, episode, c, lambda n: [n // 2]) for c in cameras]
    return _side_by_side(strips, camera_size(len(cameras)))


def poster_after(dataset: Dataset, episode: int) -> list[np.ndarray]:
    return poster_frame(dataset, episode, sorted(dataset.cameras))


def _timeline(frames: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for rgb in frames:
        height = max(1, int(round(rgb.shape[0] * TIMELINE_WIDTH / rgb.shape[1])))
        out.append(cv2.resize(rgb, (TIMELINE_WIDTH, height), interpolation=cv2.INTER_AREA))
    return out


def timeline_before(dataset: Dataset, episode: int) -> list[np.ndarray]:
    camera = next(iter(dataset.cameras))
    return _timeline(_one_by_one(dataset, episode, camera, lambda n: _spread(n, TIMELINE)))


def timeline_after(dataset: Dataset, episode: int) -> list[np.ndarray]:
    camera = next(iter(dataset.cameras))
    return _timeline(_batch(dataset, episode, camera, lambda n: _spread(n, TIMELINE)))


CASES = {
    "review_loop": (loop_before, loop_after),
    "review_poster": (poster_before, poster_after),
    "browse_timeline": (timeline_before, timeline_after),
}


def _time_all(fn: Callable[[Dataset, int], list[np.ndarray]], dataset: Dataset) -> tuple[float, list[Any]]:
    start = time.perf_counter()
    frames = [fn(dataset, e.index) for e in dataset.episodes]
    return time.perf_counter() - start, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="a folder holding the demo dataset (else written)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hdf5-thumbs-") as tmp:
        path = (next(args.data.glob("*.hdf5")) if args.data else write_demo_dataset(Path(tmp)))
        dataset = open_dataset(path)
        try:
            for before, _ in CASES.values():  # warm the page cache (both read the same bytes)
                _time_all(before, dataset)
            results: dict[str, Any] = {}
            for name, (before, after) in CASES.items():
                times: dict[str, list[float]] = {"before": [], "after": []}
                same = True
                for rep in range(args.repeat):
                    order = [("before", before), ("after", after)]
                    outputs = {}
                    for label, fn in order if rep % 2 == 0 else order[::-1]:
                        seconds, outputs[label] = _time_all(fn, dataset)
                        times[label].append(seconds)
                    same = same and all(
                        np.array_equal(a, b)
                        for ep_a, ep_b in zip(outputs["before"], outputs["after"], strict=True)
                        for a, b in zip(ep_a, ep_b, strict=True)
                    )
                b, a = statistics.median(times["before"]), statistics.median(times["after"])
                results[name] = {
                    "before_s": round(b, 3), "after_s": round(a, 3), "speedup": round(b / a, 2) if a else None,
                    "per_episode_before_s": round(b / dataset.num_episodes, 3),
                    "per_episode_after_s": round(a / dataset.num_episodes, 3),
                    "runs_before_s": [round(t, 3) for t in times["before"]],
                    "runs_after_s": [round(t, 3) for t in times["after"]],
                    "same_frames": same,
                }
            report = {
                "benchmark": "hdf5_thumbnails",
                "cpus": len(os.sched_getaffinity(0)),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "dataset": {"episodes": dataset.num_episodes, "lengths": [e.length for e in dataset.episodes],
                            "cameras": sorted(dataset.cameras), "frame": [640, 480], "chunk_frames": 100},
                "lzf_decoder": lzf_decoder() is not None,
                "chunk_workers": MAX_WORKERS,
                "repeat": args.repeat,
                "cases": results,
            }
        finally:
            dataset.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

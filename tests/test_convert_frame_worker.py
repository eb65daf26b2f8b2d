"""The worker process hands over exactly the frames h5py reads, across slabs and episodes."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from backend.convert import frame_worker

pytestmark = pytest.mark.skipif(not frame_worker.available(), reason="needs Linux memfd_create")


def test_frames_equal_direct_reads_across_episodes(tmp_path: Path) -> None:
    path = tmp_path / "frames.hdf5"
    rng = np.random.default_rng(3)
    with h5py.File(path, "w") as f:
        for demo, length in (("demo_0", 37), ("demo_1", 23)):
            for cam in ("front", "wrist"):
                data = rng.integers(0, 255, size=(length, 12, 16, 3), dtype=np.uint8)
                f.create_dataset(f"data/{demo}/obs/{cam}", data=data, chunks=(10, 12, 16, 3), compression="lzf")
    jobs = [
        (path, {c: (f"data/demo_0/obs/{c}", (37, 12, 16, 3), "uint8") for c in ("front", "wrist")}, 5, 37),
        (path, {c: (f"data/demo_1/obs/{c}", (23, 12, 16, 3), "uint8") for c in ("front", "wrist")}, 0, 23),
    ]
    with h5py.File(path) as f, frame_worker.FrameWorker() as worker:
        worker.submit(jobs)
        for (_p, datasets, start, stop) in jobs:
            seen = []
            for t, frames in worker.frames(start, stop):
                seen.append(t)
                for cam, (key, _shape, _dtype) in datasets.items():
                    assert np.array_equal(frames[cam], f[key][t]), (key, t)
            assert seen == list(range(start, stop))

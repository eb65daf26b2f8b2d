"""Camera encoder processes: exactly the frames h5py reads, encoded as the in-process writer would."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import av
import h5py
import numpy as np
import pytest

from backend.convert import camera_worker, hdf5_to_lerobot
from backend.convert.camera_worker import CameraWorkers, EncodeJob, VideoSettings, WorkerError
from backend.media.image_stats import image_histogram, streamed_sample
from tests.recordings import DemoSpec, RecordingSpec, write_recording


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def _reference_encode(source: Path, key: str, start: int, stop: int, out: Path) -> None:
    """Encode frames ``start:stop`` of ``key`` with the in-process VideoEncoder, in a fresh process."""
    import subprocess
    import sys

    code = (
        "import sys, h5py\n"
        "from backend.media.encoder import VideoEncoder\n"
        "source, key, start, stop, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]\n"
        "with h5py.File(source, 'r') as f:\n"
        "    frames = f[key][start:stop]\n"
        "with VideoEncoder(out, 64, 48, 30.0, options={'threads': '1'}) as writer:\n"
        "    for frame in frames:\n"
        "        writer.write(frame)\n"
    )
    repo = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", code, str(source), key, str(start), str(stop), str(out)],
        cwd=repo, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": repo},
    )
    assert done.returncode == 0, done.stderr


def _write_frames(path: Path, lengths: dict[str, int], chunk: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    frames = {}
    with h5py.File(path, "w") as f:
        for demo, length in lengths.items():
            # smooth images (noise would make x264 slow and the test pointless)
            base = rng.integers(0, 255, size=(1, 6, 8, 3)).astype(np.float32)
            ramp = np.linspace(0, 60, length, dtype=np.float32)[:, None, None, None]
            small = np.clip(base + ramp, 0, 255).astype(np.uint8)
            data = np.repeat(np.repeat(small, 8, axis=1), 8, axis=2)  # (length, 48, 64, 3)
            f.create_dataset(f"data/{demo}/obs/front", data=data, chunks=(chunk, 48, 64, 3), compression="lzf")
            frames[demo] = data
    return frames


def test_videos_are_bit_identical_to_in_process_encoding_across_episodes(tmp_path: Path) -> None:
    source = tmp_path / "frames.hdf5"
    frames = _write_frames(source, {"demo_0": 37, "demo_1": 23})
    settings = VideoSettings(width=64, height=48, fps=30.0, threads=1)
    jobs = [
        EncodeJob(str(source), "data/demo_0/obs/front", 5, 37, str(tmp_path / "out" / "e0.mp4")),
        EncodeJob(str(source), "data/demo_1/obs/front", 0, 23, str(tmp_path / "out" / "e1.mp4")),
    ]
    progress_calls = []
    with CameraWorkers(["front"]) as workers:
        workers.submit({"front": jobs}, {"front": settings})
        first = workers.wait(0, lambda: progress_calls.append(workers.frames_encoded()))["front"]
        second = workers.wait(1, lambda: None)["front"]
        assert workers.frames_encoded() == 32 + 23
    assert (first.frames, second.frames) == (32, 23)
    assert progress_calls and max(progress_calls) >= 32
    assert first.settings == {"crf": 30, "gop": 2, "preset": "veryfast"}
    for job, video, demo in ((jobs[0], first, "demo_0"), (jobs[1], second, "demo_1")):
        expected = frames[demo][job.start : job.stop]
        reference = tmp_path / f"reference-{demo}.mp4"
        # the in-process writer, in a fresh process like the camera process (the test process's
        # state after hundreds of other tests is not what either path runs in)
        _reference_encode(source, f"data/{demo}/obs/front", job.start, job.stop, reference)
        assert _packets(Path(job.out)) == _packets(reference)
        sampled = [frame for i, frame in enumerate(expected) if streamed_sample(i)]
        assert video.stats_frames == len(sampled)
        assert np.array_equal(video.hist, sum(image_histogram(frame) for frame in sampled))


def test_a_missing_frame_is_reported_with_its_episode(tmp_path: Path) -> None:
    source = tmp_path / "frames.hdf5"
    _write_frames(source, {"demo_0": 20, "demo_1": 12})
    jobs = [
        EncodeJob(str(source), "data/demo_0/obs/front", 0, 20, str(tmp_path / "e0.mp4")),
        EncodeJob(str(source), "data/demo_1/obs/front", 0, 30, str(tmp_path / "e1.mp4")),  # 12 there
    ]
    with CameraWorkers(["front"]) as workers:
        workers.submit({"front": jobs}, {"front": VideoSettings(width=64, height=48, fps=30.0)})
        assert workers.wait(0, lambda: None)["front"].frames == 20
        with pytest.raises(WorkerError) as raised:
            workers.wait(1, lambda: None)
    assert raised.value.job == 1
    assert "has 12 frames, 30 needed" in str(raised.value)


def test_close_stops_a_working_child(tmp_path: Path) -> None:
    source = tmp_path / "frames.hdf5"
    _write_frames(source, {"demo_0": 400}, chunk=100)
    workers = CameraWorkers(["front"], 1)
    proc = workers.pool._workers[0].proc
    assert proc is not None
    workers.submit(
        {"front": [EncodeJob(str(source), "data/demo_0/obs/front", 0, 400, str(tmp_path / "e0.mp4"))]},
        {"front": VideoSettings(width=64, height=48, fps=30.0, preset="medium")},
    )
    workers.close()
    assert proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)


def test_worker_and_thread_paths_write_the_same_dataset(tmp_path: Path, monkeypatch) -> None:
    spec = RecordingSpec([DemoSpec(30), DemoSpec(26)], cameras=("front", "wrist"), width=64, height=48)
    source = write_recording(tmp_path / "rec.hdf5", spec)
    outputs = {}
    for path_kind in ("workers", "threads"):
        if path_kind == "threads":  # as for frames a camera process cannot read
            monkeypatch.setattr(hdf5_to_lerobot, "_locate_frames", lambda *a: None)
        out = tmp_path / path_kind
        summary = hdf5_to_lerobot.run(
            [source], hdf5_to_lerobot.Hdf5ToLerobotOptions(out=out, task="Pick", hash_mode="fast")
        )
        assert summary.frames_written == 25 + 21
        outputs[path_kind] = out
    a, b = outputs["workers"], outputs["threads"]
    for name in ("episodes.jsonl", "episodes_stats.jsonl", "tasks.jsonl"):
        assert (a / "meta" / name).read_text() == (b / "meta" / name).read_text(), name
    info_a, info_b = (json.loads((o / "meta/info.json").read_text()) for o in (a, b))
    assert info_a == info_b
    for parquet in sorted((a / "data").rglob("*.parquet")):
        assert parquet.read_bytes() == (b / parquet.relative_to(a)).read_bytes()
    videos = sorted((a / "videos").rglob("*.mp4"))
    assert len(videos) == 4
    for video in videos:
        assert len(_packets(video)) == len(_packets(b / video.relative_to(a)))


def test_one_worker_per_usable_core_and_never_more_than_tasks() -> None:
    cores = len(os.sched_getaffinity(0))
    with CameraWorkers(["front"], tasks=1000) as workers:
        assert workers.pool.size == cores
    with CameraWorkers(["front"], 8, tasks=3) as workers:
        assert workers.pool.size == 3


def test_cameras_of_different_sizes_keep_their_own_size(tmp_path: Path) -> None:
    spec = RecordingSpec([DemoSpec(20)], cameras=("front", "wrist"), width=64, height=48)
    source = write_recording(tmp_path / "rec.hdf5", spec)
    with h5py.File(source, "r+") as f:
        wrist = f["data/demo_0/obs/wrist"]
        small = np.ascontiguousarray(wrist[:, ::2, ::2])
        del f["data/demo_0/obs/wrist"]
        f.create_dataset("data/demo_0/obs/wrist", data=small, chunks=(10, 24, 32, 3), compression="lzf")
    out = tmp_path / "out"
    hdf5_to_lerobot.run([source], hdf5_to_lerobot.Hdf5ToLerobotOptions(out=out, task="Pick", hash_mode="fast"))
    info = json.loads((out / "meta/info.json").read_text())
    sizes = {}
    for key in ("observation.images.front", "observation.images.wrist"):
        with av.open(str(next((out / "videos").rglob(f"{key}/*.mp4")))) as container:
            stream = container.streams.video[0]
            sizes[key] = (stream.width, stream.height, stream.frames)
        assert info["features"][key]["shape"][:2] == [sizes[key][1], sizes[key][0]]
    assert sizes == {"observation.images.front": (64, 48, 15), "observation.images.wrist": (32, 24, 15)}


def test_a_child_that_ends_at_once_is_reported(tmp_path: Path) -> None:
    workers = CameraWorkers(["front"], 1)
    proc = workers.pool._workers[0].proc
    assert proc is not None
    proc.kill()  # as if it crashed while starting
    proc.wait()
    job = EncodeJob(str(tmp_path / "none.hdf5"), "data/demo_0/obs/front", 0, 5, str(tmp_path / "e.mp4"))
    try:
        workers.submit({"front": [job]}, {"front": VideoSettings(width=64, height=48, fps=30.0)})
        with pytest.raises(WorkerError) as raised:
            workers.wait(0, lambda: None)
    finally:
        workers.close()
    assert "a worker process ended early" in str(raised.value)


def test_a_frozen_executable_converts_on_threads_unless_its_entry_runs_studio_children(
    tmp_path: Path, monkeypatch
) -> None:
    import sys

    from backend import children

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(children, "_DISPATCHES", False)
    # the bundle's entry point calls run_child_if_asked first: from then on it starts workers
    # (EXE --studio-child MODULE; tests/test_bundle.py sees them)
    children.run_child_if_asked(["rollout-studio", "--version"])
    assert camera_worker.available()
    monkeypatch.setattr(children, "_DISPATCHES", False)  # another frozen program importing the backend
    assert not camera_worker.available()

    def no_processes(*_a, **_k):
        raise AssertionError("a camera process was started by an executable that cannot run one")

    monkeypatch.setattr(camera_worker, "CameraWorkers", no_processes)
    spec = RecordingSpec([DemoSpec(20)], cameras=("front",), width=64, height=48)
    source = write_recording(tmp_path / "rec.hdf5", spec)
    summary = hdf5_to_lerobot.run(
        [source], hdf5_to_lerobot.Hdf5ToLerobotOptions(out=tmp_path / "out", task="Pick", hash_mode="fast")
    )
    assert summary.frames_written == 15


@pytest.mark.parametrize(
    "layout",
    [
        {"chunks": (10, 12, 16, 3), "compression": "lzf"},  # LeIsaac's layout: lzf chunks of whole frames
        {"chunks": (7, 12, 16, 3), "compression": "gzip"},  # another filter
        {"chunks": (10, 6, 16, 3), "compression": "lzf"},  # frames split over chunks
        {},  # contiguous
    ],
    ids=["lzf-frames", "gzip", "lzf-split", "contiguous"],
)
def test_the_worker_reads_exactly_the_frames_h5py_reads(tmp_path: Path, layout: dict, monkeypatch) -> None:
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 256, size=(43, 12, 16, 3), dtype=np.uint8)
    frames[:, :6] //= 7  # some of it compressible: lzf stores those chunks compressed
    frames[40:] = rng.integers(0, 256, size=(3, 12, 16, 3), dtype=np.uint8)  # a chunk lzf leaves as it is
    path = tmp_path / "cam.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("obs/front", data=frames, **layout)
    stop = threading.Event()
    lzf_frames = layout.get("chunks") == (10, 12, 16, 3)
    if lzf_frames:  # read from the stored chunks, a piece at a time, never through h5py
        def no_h5py(*_args, **_kwargs):
            raise AssertionError("read through h5py")

        monkeypatch.setattr(h5py.Dataset, "read_direct", no_h5py)
    files = camera_worker._Files()
    try:
        for through_fd in (True, False):
            h5, fd = files.get(str(path))
            assert (fd is not None) == (h5.driver == "sec2")
            for start, end in ((0, 43), (3, 41), (10, 20), (19, 21), (42, 43)):
                buffers = camera_worker._Buffers(2, stop)
                got = []
                for t0, block, buffer in camera_worker._slabs(
                    h5, {"dataset": "obs/front", "start": start, "stop": end}, buffers, fd if through_fd else None
                ):
                    assert t0 == start + len(got) and len(block) <= camera_worker.SLAB
                    got.extend(block.copy())
                    buffers.give_back(buffer)
                assert np.array_equal(np.array(got), frames[start:end]), (layout, start, end, through_fd)
    finally:
        files.close()
    if lzf_frames:
        with h5py.File(path, "r") as f:  # both kinds of stored chunk were read
            masks = {f["obs/front"].id.get_chunk_info_by_coord((c, 0, 0, 0)).filter_mask for c in (0, 40)}
        assert masks == {0, 1}

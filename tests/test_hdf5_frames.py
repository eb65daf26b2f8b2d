"""``Stream.frames`` of an HDF5 camera (backend/formats/leisaac_hdf5/chunks.py): one batch read gives
exactly the frames of single reads, through h5py's lzf decoder on the stored chunks and through every
fallback (other filters, split chunks, no chunks, a chunk stored unfiltered, a corrupt chunk)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

from backend.errors import FormatError
from backend.formats import open_dataset
from backend.formats.leisaac_hdf5.chunks import read_frames
from backend.formats.leisaac_hdf5.lzf_stream import lzf_decoder
from backend.sessions.review_work import camera_size, episode_loop, poster_frame
from tests.browse_data import write_hdf5

LENGTHS = (250, 37)  # three chunks of 100 frames (the last partial), and one partial chunk
WIDTH, HEIGHT = 64, 48
# unsorted, repeated, both ends, both sides of each chunk boundary
INDICES = [249, 0, 99, 100, 5, 100, 199, 200, 150, 1]


def _textured(length: int, seed: int) -> np.ndarray:
    """Frames with noise and gradients (lzf literal runs and back references both)."""
    rng = np.random.default_rng(seed)
    frames = np.zeros((length, HEIGHT, WIDTH, 3), np.uint8)
    frames[:, :, : WIDTH // 2] = rng.integers(0, 256, (length, HEIGHT, WIDTH // 2, 3), dtype=np.uint8)
    frames[:, :, WIDTH // 2 :] = (np.arange(length)[:, None, None, None] * 3 + np.arange(WIDTH // 2)[None, None, :, None]) % 256
    return frames


def _store(path: Path, **storage) -> None:
    """Rewrite each demo's cameras with textured frames stored as ``storage`` says (h5py arguments)."""
    with h5py.File(path, "a") as handle:
        for number, length in enumerate(LENGTHS):
            obs = handle[f"data/demo_{number}/obs"]
            for camera in ("front", "wrist"):
                del obs[camera]
                extra = {"maxshape": (None, HEIGHT, WIDTH, 3)} if "chunks" in storage else {}  # as the writer
                obs.create_dataset(camera, data=_textured(length, 10 * number + len(camera)), **storage, **extra)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_hdf5(tmp_path_factory.mktemp("frames") / "lzf.hdf5", lengths=LENGTHS, width=WIDTH, height=HEIGHT)
    _store(path, chunks=(100, HEIGHT, WIDTH, 3), compression="lzf")  # the writer's layout
    return path


def _same_as_single_reads(path: Path) -> None:
    with open_dataset(path) as dataset:
        for episode in dataset.episodes:
            for camera in dataset.cameras:
                stream = episode.stream(camera)
                try:
                    indices = [i for i in INDICES if i < stream.num_frames]
                    single = [stream.frame(i) for i in indices]
                    batch = stream.frames(indices)
                finally:
                    stream.close()
                assert len(batch) == len(single)
                for one, many in zip(single, batch, strict=True):
                    assert many.dtype == np.uint8 and many.shape == (HEIGHT, WIDTH, 3)
                    assert np.array_equal(one, many)


def test_lzf_batch_read_is_exactly_the_single_reads(recording: Path) -> None:
    assert lzf_decoder() is not None  # the direct path is the one under test
    _same_as_single_reads(recording)
    with open_dataset(recording) as dataset:
        stream = dataset.episodes[0].stream("front")
        try:
            assert [f[0, 0, 0] for f in stream.frames([3, 3])] == [stream.frame(3)[0, 0, 0]] * 2
            assert stream.frames([]) == []
            with pytest.raises(IndexError):
                stream.frames([0, 250])
        finally:
            stream.close()


@pytest.mark.parametrize("storage", [
    {"chunks": (100, HEIGHT, WIDTH, 3), "compression": "gzip"},  # another filter
    {"chunks": (30, HEIGHT // 2, WIDTH, 3), "compression": "lzf"},  # a frame split over two chunks
    {},  # contiguous, no chunks
])
def test_other_layouts_read_the_same(recording: Path, tmp_path: Path, storage: dict) -> None:
    path = Path(shutil.copy(recording, tmp_path / "other.hdf5"))
    _store(path, **storage)
    _same_as_single_reads(path)


def test_a_chunk_stored_unfiltered_reads_the_same(recording: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(recording, tmp_path / "raw.hdf5"))
    with h5py.File(path, "a") as handle:
        front = handle["data/demo_0/obs/front"]
        block = np.zeros((100, HEIGHT, WIDTH, 3), np.uint8)
        block[:] = front[100:200]
        front.id.write_direct_chunk((100, 0, 0, 0), block.tobytes(), filter_mask=1)  # lzf skipped
    _same_as_single_reads(path)


def test_a_corrupt_chunk_is_an_error_naming_the_file(recording: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(recording, tmp_path / "corrupt.hdf5"))
    with h5py.File(path, "a") as handle:
        handle["data/demo_0/obs/front"].id.write_direct_chunk((0, 0, 0, 0), b"\xff" * 4000)
    with open_dataset(path) as dataset:
        stream = dataset.episodes[0].stream("front")
        try:
            with pytest.raises(FormatError) as caught:
                stream.frames([0, 10])
            assert Path(caught.value.path) == path and "demo_0/obs/front" in str(caught.value)
            assert np.array_equal(stream.frames([150, 120]), [stream.frame(150), stream.frame(120)])
        finally:
            stream.close()


def test_review_thumbnails_use_the_batch(recording: Path) -> None:
    with open_dataset(recording) as dataset:
        loop = episode_loop(dataset, 0, ["front", "wrist"], count=8)
        poster = poster_frame(dataset, 0, ["front"])
    width, height = camera_size(2)
    assert len(loop) == 8 and loop[0].shape == (height, 2 * width, 3)  # two cameras side by side
    assert loop[0][:, :width].std() > 10 and loop[-1][:, width:].std() > 10  # pictures, not grey tiles
    width, height = camera_size(1)
    assert len(poster) == 1 and poster[0].shape == (height, width, 3) and poster[0].std() > 10


@pytest.mark.parametrize(("compression", "one_by_one"), [("lzf", 0), ("gzip", 4)])
def test_lzf_chunks_are_decoded_directly(recording: Path, tmp_path: Path, compression: str, one_by_one: int) -> None:
    """The lzf chunks never fall back to the frame-by-frame read (other filters always do)."""
    path = Path(shutil.copy(recording, tmp_path / f"{compression}.hdf5"))
    _store(path, chunks=(100, HEIGHT, WIDTH, 3), compression=compression)
    fallback: list[int] = []
    with h5py.File(path, "r") as handle:
        front = handle["data/demo_0/obs/front"]

        def read_one(index: int) -> np.ndarray:
            fallback.append(index)
            return front[index]

        got = read_frames(front.id, [0, 99, 100, 249], threading.Lock(), read_one)
        assert all(np.array_equal(got[i], front[i]) for i in (0, 99, 100, 249))
    assert len(fallback) == one_by_one

"""An lzf chunk decoded a piece at a time gives exactly h5py's bytes, whatever the pieces and the data."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.formats.leisaac_hdf5 import lzf_stream
from backend.formats.leisaac_hdf5.lzf_stream import LzfStream, Stored, chunk_stream

SHAPE = (24, 20, 3)
FRAME = int(np.prod(SHAPE))


def _frames(kind: str, count: int, seed: int) -> np.ndarray:
    """Frames lzf codes in different ways: noise (literal runs), flat (long back references),
    stripes (short ones), and a mix of them row by row."""
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return rng.integers(0, 256, (count, *SHAPE), dtype=np.uint8)
    if kind == "flat":
        frames = np.zeros((count, *SHAPE), np.uint8)
        frames[:, 5:9] = rng.integers(0, 256, dtype=np.uint8)
        return frames
    if kind == "stripes":
        row = np.arange(SHAPE[1] * 3, dtype=np.uint8).reshape(SHAPE[1], 3) * 17
        return np.broadcast_to(row, (count, *SHAPE)).copy() + np.arange(count, dtype=np.uint8)[:, None, None, None]
    frames = rng.integers(0, 256, (count, *SHAPE), dtype=np.uint8)
    frames[:, rng.random(SHAPE[0]) < 0.6] //= 64  # rows of few values among rows of noise
    return frames


def _write(path: Path, frames: np.ndarray, per: int, **options) -> None:
    with h5py.File(path, "w", **options) as f:
        f.create_dataset("cam", data=frames, chunks=(per, *SHAPE), compression="lzf")


def _read_chunk(path: Path, start: int, per: int, cuts: list[int], piece: int, through_fd: bool) -> bytes:
    """The chunk starting at ``start`` read in parts of the sizes in ``cuts`` (then the rest)."""
    fd = os.open(path, os.O_RDONLY) if through_fd else None
    try:
        with h5py.File(path, "r") as f:
            stream = chunk_stream(f["cam"].id, start, per * FRAME, fd)
            assert stream is not None
            if isinstance(stream, LzfStream):
                stream._piece = piece
            parts = []
            left = per * FRAME
            for size in [*cuts, left]:
                size = min(size, left)
                if size <= 0:
                    break
                out = np.empty(size, np.uint8)
                assert stream.read_into(out)
                parts.append(out.tobytes())
                left -= size
            return b"".join(parts)
    finally:
        if fd is not None:
            os.close(fd)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["noise", "flat", "stripes", "mixed"]),
    per=st.integers(1, 6),
    cuts=st.lists(st.integers(1, 3 * FRAME), max_size=6),
    piece=st.sampled_from([1, 7, 300, FRAME // 3, FRAME, 10 * FRAME]),
    through_fd=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_any_pieces_give_the_chunk_h5py_reads(tmp_path: Path, kind: str, per: int, cuts: list[int], piece: int,
                                             through_fd: bool, seed: int) -> None:
    frames = _frames(kind, per * 2, seed)
    path = tmp_path / f"{kind}-{seed}.hdf5"
    _write(path, frames, per)
    for start in (0, per):
        got = _read_chunk(path, start, per, cuts, piece, through_fd)
        assert got == frames[start:start + per].tobytes()


def test_a_wrong_guess_of_a_piece_end_is_found_again(tmp_path: Path) -> None:
    """Flat frames are runs of the same back reference (3 bytes, E0 FF 00): a reading of the tokens
    started at a guess stays out of step, the decoder refuses that end, and the end is looked for
    from further back."""
    frames = np.zeros((10, 240, 320, 3), np.uint8)
    frames[:, 100:140] = np.arange(10, dtype=np.uint8)[:, None, None, None] * 20 + 1
    path = tmp_path / "flat.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("cam", data=frames, chunks=frames.shape, compression="lzf")
    with h5py.File(path, "r") as f:
        stream = chunk_stream(f["cam"].id, 0, frames.nbytes, None)
        assert isinstance(stream, LzfStream)
        stream._piece = 200_000
        out = np.empty(frames.nbytes, np.uint8)
        assert stream.read_into(out)
    assert stream.lookups > 0
    assert out.tobytes() == frames.tobytes()


def test_skip_then_read(tmp_path: Path) -> None:
    frames = _frames("mixed", 10, 4)
    path = tmp_path / "mixed.hdf5"
    _write(path, frames, 10)
    with h5py.File(path, "r") as f:
        stream = chunk_stream(f["cam"].id, 0, 10 * FRAME, None)
        assert stream is not None and stream.skip(3 * FRAME + 5)
        out = np.empty(2 * FRAME, np.uint8)
        assert stream.read_into(out)
    assert out.tobytes() == frames.tobytes()[3 * FRAME + 5:5 * FRAME + 5]


def test_a_chunk_lzf_left_as_it_is_is_read_as_stored(tmp_path: Path) -> None:
    frames = _frames("noise", 4, 5)  # does not compress: h5py stores it with lzf skipped
    path = tmp_path / "noise.hdf5"
    _write(path, frames, 4)
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            assert f["cam"].id.get_chunk_info_by_coord((0, 0, 0, 0)).filter_mask & 1
            stream = chunk_stream(f["cam"].id, 0, 4 * FRAME, fd)
            assert isinstance(stream, Stored)
            assert stream.skip(FRAME)
            out = np.empty(3 * FRAME, np.uint8)
            assert stream.read_into(out)
            assert not stream.read_into(np.empty(1, np.uint8))  # nothing more stored
    finally:
        os.close(fd)
    assert out.tobytes() == frames[1:].tobytes()


def test_a_file_with_a_user_block_is_read_at_its_chunks(tmp_path: Path) -> None:
    frames = _frames("mixed", 6, 6)
    path = tmp_path / "ub.hdf5"
    _write(path, frames, 3, userblock_size=1024)
    assert _read_chunk(path, 3, 3, [FRAME], FRAME, True) == frames[3:].tobytes()


def test_a_chunk_never_written_has_no_stream(tmp_path: Path) -> None:
    path = tmp_path / "empty.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("cam", shape=(6, *SHAPE), dtype=np.uint8, chunks=(3, *SHAPE), compression="lzf")
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            assert chunk_stream(f["cam"].id, 0, 3 * FRAME, fd) is None
            assert chunk_stream(f["cam"].id, 0, 3 * FRAME, None) is None
    finally:
        os.close(fd)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "file_ends"])
def test_corrupt_stored_bytes_do_not_decode(tmp_path: Path, damage: str) -> None:
    frames = _frames("mixed", 8, 7)
    path = tmp_path / "bad.hdf5"
    _write(path, frames, 8)
    with h5py.File(path, "r") as f:
        _mask, stored = f["cam"].id.read_direct_chunk((0, 0, 0, 0))
    if damage == "garbage":  # a back reference to before the chunk's start, at its first token
        data = bytes([0xFF, 0xFF, 0xFF]) + stored[3:]
    else:
        data = stored[: len(stored) // 2]
    size = len(stored) if damage == "file_ends" else len(data)  # the file is shorter than the chunk says
    stream = LzfStream(lambda offset, count: data[offset:offset + count], size, 8 * FRAME, piece=FRAME)
    assert not stream.read_into(np.empty(8 * FRAME, np.uint8))


def test_the_window_is_emitted_as_literal_tokens() -> None:
    for size in (0, 1, 31, 32, 33, lzf_stream.WINDOW):
        window = bytes(range(256)) * (size // 256 + 1)
        window = window[:size]
        tokens = lzf_stream._literals(window)
        out = np.empty(max(1, size), np.uint8)
        if size:
            decode = lzf_stream.lzf_decoder()
            source = np.frombuffer(tokens, np.uint8)
            assert decode(source.ctypes.data, source.size, out.ctypes.data, size) == size
            assert out.tobytes() == window
        else:
            assert tokens == b""


@pytest.mark.parametrize("piece", [500, 3000, 20_000])
def test_camera_sized_frames_in_pieces_that_end_on_guessed_boundaries(tmp_path: Path, piece: int) -> None:
    """Frames large enough that a piece's end is guessed (read as tokens from before it, not from the
    piece's start): rows of noise among rows of few values, and a gradient."""
    rng = np.random.default_rng(piece)
    shape = (96, 128, 3)
    mixed = rng.integers(0, 256, (8, *shape), dtype=np.uint8)
    mixed[:, rng.random(shape[0]) < 0.7] //= 64
    y, x = np.arange(shape[0])[:, None, None], np.arange(shape[1])[None, :, None]
    gradient = np.stack([((y * (k + 1) + x * 3 + rng.integers(0, 3, shape)) % 256).astype(np.uint8) for k in range(8)])
    for frames in (mixed, gradient):
        path = tmp_path / "big.hdf5"
        with h5py.File(path, "w") as f:
            f.create_dataset("cam", data=frames, chunks=frames.shape, compression="lzf")
        fd = os.open(path, os.O_RDONLY)
        try:
            with h5py.File(path, "r") as f:
                stream = chunk_stream(f["cam"].id, 0, frames.nbytes, fd)
                assert isinstance(stream, LzfStream)
                stream._piece = piece
                out = np.empty(frames.nbytes, np.uint8)
                for at in range(0, frames.nbytes, 7_001):  # reads cut anywhere
                    assert stream.read_into(out[at:at + 7_001])
        finally:
            os.close(fd)
        assert out.tobytes() == frames.tobytes()

"""Many frames of an HDF5 camera at once, each stored chunk read and decompressed once, in chunk order.

A LeIsaac camera (``obs/<camera>``, (T, H, W, 3) uint8) is stored in lzf chunks of 100 frames
(640x480: 92 MB a chunk); HDF5 decompresses a whole chunk to give one frame of it (~0.2 s). Thumbnails
want a few frames spread over an episode, so :func:`read_frames` groups the wanted frames by chunk and,
where the chunk is lzf compressed, reads its stored bytes once (``read_direct_chunk``) and decodes
them a piece at a time (``lzf_stream``, h5py's own decoder) only as far as the last wanted frame of
that chunk, keeping the wanted frames and a piece, not the chunk. The decoder is called through ctypes,
which lets go of the GIL: decompression does not hold up other Python threads (the GUI) and the chunks
of one read decompress on several cores at once (``MAX_WORKERS``), as do two cameras read from two
threads. Only the stored-bytes read holds the file's lock.

Anything else (another filter, frames split over chunks in H or W, a decoder error, an h5py without
the exported decoder) goes through the ordinary read, frame by frame in chunk order, so each chunk
still decompresses once with the file's chunk cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from h5py import h5d

from backend.formats.leisaac_hdf5 import lzf_stream

LZF_FILTER = 32000
MAX_WORKERS = 4  # chunks decompressed at once in the process
_decoding = threading.BoundedSemaphore(MAX_WORKERS)


def _chunk_shape(dataset: h5d.DatasetID) -> tuple[int, ...] | None:
    """The dataset's chunk shape; None when it is not chunked."""
    if not dataset.rank:
        return None
    plist = dataset.get_create_plist()
    try:
        return tuple(int(c) for c in plist.get_chunk()) if plist.get_layout() == h5d.CHUNKED else None
    finally:
        plist.close()


def _lzf_only(dataset: h5d.DatasetID) -> bool:
    plist = dataset.get_create_plist()
    try:
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    finally:
        plist.close()
    return filters == [LZF_FILTER]


def whole_frame_lzf_chunks(dataset: h5d.DatasetID) -> tuple[int, ...] | None:
    """The chunk shape of a uint8 camera stored in lzf chunks of whole frames (what
    ``lzf_stream`` reads), else None."""
    chunk = _chunk_shape(dataset)
    if chunk is None or dataset.dtype != np.uint8 or chunk[1:] != tuple(int(s) for s in dataset.shape[1:]):
        return None
    return chunk if _lzf_only(dataset) and lzf_stream.lzf_decoder() is not None else None


def _direct(dataset: h5d.DatasetID, start: int, rows: list[int], frame_shape: tuple[int, ...],
            chunk: tuple[int, ...], lock: threading.Lock) -> dict[int, np.ndarray] | None:
    """Frames ``rows`` of the chunk starting at frame ``start``, from its stored bytes; None where the
    ordinary read must say what it finds instead (a chunk never written, a decoder error)."""
    frame_bytes = int(np.prod(frame_shape))  # uint8
    with lock:  # h5py: one thread per file; the stream then reads the stored bytes it was given
        stream = lzf_stream.chunk_stream(dataset, start, int(np.prod(chunk)), None)
    if stream is None:
        return None
    out: dict[int, np.ndarray] = {}
    at = start
    with _decoding:  # the GIL is free while it decodes
        for row in sorted(rows):
            frame = np.empty(frame_shape, np.uint8)
            if not stream.skip((row - at) * frame_bytes) or not stream.read_into(frame.reshape(-1)):
                return None
            out[row] = frame
            at = row + 1
    return out


def read_frames(dataset: h5d.DatasetID, indices: Sequence[int], lock: threading.Lock,
                read_one: Callable[[int], np.ndarray]) -> dict[int, np.ndarray]:
    """Frame of each of ``indices`` (valid rows of ``dataset``), each chunk read once, in chunk order.

    ``read_one(i)`` is the ordinary read of one frame (it takes the lock itself): the fallback."""
    wanted = sorted({int(i) for i in indices})
    with lock:  # h5py: one thread per file
        chunk = _chunk_shape(dataset)
        frame_shape = tuple(int(s) for s in dataset.shape[1:])
        direct = chunk is not None and dataset.dtype == np.uint8 and _lzf_only(dataset)
    if chunk is None:
        return {i: read_one(i) for i in wanted}
    per_chunk = chunk[0]
    direct = direct and chunk[1:] == frame_shape  # whole frames in each chunk
    groups: dict[int, list[int]] = {}
    for index in wanted:
        groups.setdefault(index // per_chunk * per_chunk, []).append(index)

    def one_chunk(start: int) -> dict[int, np.ndarray]:
        rows = groups[start]
        got = _direct(dataset, start, rows, frame_shape, chunk, lock) if direct else None
        return got if got is not None else {i: read_one(i) for i in rows}

    out: dict[int, np.ndarray] = {}
    workers = min(len(groups), _cores(), MAX_WORKERS) if direct else 1
    if workers < 2:
        for start in groups:
            out.update(one_chunk(start))
        return out
    # the decoder lets go of the GIL: chunks decompress on several cores (each holds one chunk's bytes)
    with ThreadPoolExecutor(workers, thread_name_prefix="hdf5-chunks") as pool:
        for got in pool.map(one_chunk, list(groups)):
            out.update(got)
    return out


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)

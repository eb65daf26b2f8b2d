"""Many frames of an HDF5 camera at once, each stored chunk read and decompressed once, in chunk order.

A LeIsaac camera (``obs/<camera>``, (T, H, W, 3) uint8) is stored in lzf chunks of 100 frames
(640x480: 92 MB a chunk); HDF5 decompresses a whole chunk to give one frame of it (~0.2 s). Thumbnails
want a few frames spread over an episode, so :func:`read_frames` groups the wanted frames by chunk and,
where the chunk is lzf compressed, reads its stored bytes once (``read_direct_chunk``) and
decompresses them with h5py's own LZF decoder only as far as the last wanted frame of that chunk:
lzf is a stream, its output is written in order, so a prefix is exact. The decoder is called through
ctypes, which lets go of the GIL: decompression does not hold up other Python threads (the GUI) and
the chunks of one read decompress on several cores at once (``MAX_WORKERS``), as do two cameras read
from two threads. Only the stored-bytes read holds the file's lock.

Anything else (another filter, a chunk stored unfiltered, frames split over chunks in H or W, a
decoder error, an h5py without the exported decoder) goes through the ordinary read, frame by frame
in chunk order, so each chunk still decompresses once with the file's chunk cache.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from h5py import h5d

LZF_FILTER = 32000
MAX_WORKERS = 4  # chunks decompressed at once in the process (each holds up to a chunk: 92 MB at 640x480)
# the most bytes one lzf token writes (a back reference of 7 + 255 + 2 bytes): a prefix decoded into a
# buffer this much longer than needed is whole when the decoder stops for want of room
_LZF_TOKEN = 264
_decoder: Any = None
_decoding = threading.BoundedSemaphore(MAX_WORKERS)
_decoder_lock = threading.Lock()


def lzf_decoder() -> Callable[..., int] | None:
    """h5py's ``lzf_decompress(in, in_len, out, out_len)`` (it sets errno), or None where h5py does not
    export it."""
    global _decoder
    with _decoder_lock:
        if _decoder is None:
            _decoder = False
            try:
                from h5py import h5z

                library = ctypes.CDLL(str(Path(h5z.__file__)), use_errno=True)
                function = library.lzf_decompress
                function.restype = ctypes.c_uint
                function.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_uint]
                _decoder = function
            except (OSError, AttributeError, ImportError):
                _decoder = False
        return _decoder or None


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
    :func:`decode_prefix` reads), else None."""
    chunk = _chunk_shape(dataset)
    if chunk is None or dataset.dtype != np.uint8 or chunk[1:] != tuple(int(s) for s in dataset.shape[1:]):
        return None
    return chunk if _lzf_only(dataset) and lzf_decoder() is not None else None


def decode_prefix(stored: bytes, length: int, chunk_bytes: int, out: np.ndarray | None = None) -> np.ndarray | None:
    """The first ``length`` bytes of an lzf chunk that holds ``chunk_bytes`` bytes, decoded into ``out``
    (a flat uint8 buffer of at least ``chunk_bytes``, used over and over by the caller) or a new
    buffer; None on a decoder error (corrupt data: the ordinary read then reports it)."""
    decode = lzf_decoder()
    if decode is None:
        return None
    room = min(chunk_bytes, length + _LZF_TOKEN)
    if out is None or out.size < room:
        out = np.empty(room, np.uint8)
    source = np.frombuffer(stored, np.uint8)
    ctypes.set_errno(0)
    written = decode(source.ctypes.data, len(source), out.ctypes.data, room)
    if written == 0 and not (room < chunk_bytes and ctypes.get_errno() == errno.E2BIG):
        return None  # not "out of room before the end": the data is not what it should be
    if written and written < length:
        return None
    return out[:length]


def chunk_prefix(dataset: h5d.DatasetID, start: int, length: int, chunk_bytes: int,
                 out: np.ndarray | None = None, lock: threading.Lock | None = None) -> np.ndarray | None:
    """The first ``length`` bytes (flat uint8) of the stored lzf chunk that starts at frame ``start``,
    decoded into ``out`` (see :func:`decode_prefix`) or a new buffer; None where the ordinary read must
    say what it finds instead (a chunk never written, a decoder error, too few bytes). ``lock``: held
    for the stored-bytes read only (h5py: one thread per file)."""
    with lock if lock is not None else contextlib.nullcontext():
        try:
            mask, stored = dataset.read_direct_chunk((start,) + (0,) * (dataset.rank - 1))
        except (OSError, ValueError, KeyError):
            return None
    if mask & 1:  # lzf skipped for this chunk (it did not compress): stored as is
        flat: np.ndarray | None = np.frombuffer(stored, np.uint8)
    else:
        with _decoding:  # at most MAX_WORKERS chunk buffers in the process, whoever reads
            flat = decode_prefix(stored, length, chunk_bytes, out)  # the GIL is free while it decodes
    return flat[:length] if flat is not None and flat.size >= length else None


def _direct(dataset: h5d.DatasetID, start: int, rows: list[int], frame_shape: tuple[int, ...],
            chunk: tuple[int, ...], lock: threading.Lock) -> dict[int, np.ndarray] | None:
    """Frames ``rows`` of the chunk starting at frame ``start``, from its stored bytes; None: not here."""
    frame_bytes = int(np.prod(frame_shape))  # uint8
    length = (max(rows) - start + 1) * frame_bytes
    flat = chunk_prefix(dataset, start, length, int(np.prod(chunk)), lock=lock)
    if flat is None:
        return None
    return {
        row: flat[(row - start) * frame_bytes:(row - start + 1) * frame_bytes].reshape(frame_shape).copy()
        for row in rows
    }


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

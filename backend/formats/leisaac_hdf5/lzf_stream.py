"""One stored lzf chunk decoded a piece at a time, in order, holding a few frames instead of the chunk.

lzf (h5py's filter 32000) is a stream of tokens: a literal run (a control byte c < 32, then c + 1
bytes) or a back reference (c >= 32: length c >> 5, where 7 means a length byte follows, then the low
byte of an offset of at most 8,192 bytes) that copies what was decoded just before it. h5py's decoder
decodes one whole buffer per call and cannot stop and go on, so reading some frames of a LeIsaac chunk
(100 frames, 92 MB decoded at 640x480) used to mean holding the decoded chunk up to those frames.

Here each call of that decoder (through ctypes: the GIL is free while it works) gets a piece of the
stored bytes that ends on a token boundary, after literal tokens that emit again the last 8,192 bytes
decoded: the piece's back references find what they copy there, and the piece's output follows them.
The piece's end is found by reading tokens from a little before the wanted place (two readings of a
token stream fall into step within a few tokens) and the decoder confirms it: a piece that starts on
a boundary decodes without error exactly when it also ends on one. When it does not, the end is looked
for again from further back, at last from the piece's start, so the result is always the stream's.
Corrupt data (no boundary decodes) ends the stream: the caller reads through h5py, which says why.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from h5py import h5d

WINDOW = 8192  # the farthest back an lzf back reference reaches
PIECE = 1 << 20  # decoded bytes a call aims at (a 640x480 frame is 921,600)
_TOKEN = 264  # the most bytes one token writes
_LOOK_BACK = 512  # stored bytes read as tokens before a piece's wanted end, at first


_decoder: Any = None
_decoder_lock = threading.Lock()


def lzf_decoder() -> Callable[..., int] | None:
    """h5py's ``lzf_decompress(in, in_len, out, out_len)`` (it sets errno), or None where h5py does not
    export it."""
    global _decoder
    with _decoder_lock:
        if _decoder is None:
            _decoder = False
            try:
                from h5py import h5z  # noqa: PLC0415

                library = ctypes.CDLL(str(Path(h5z.__file__)), use_errno=True)
                function = library.lzf_decompress
                function.restype = ctypes.c_uint
                function.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_uint]
                _decoder = function
            except (OSError, AttributeError, ImportError):
                _decoder = False
        return _decoder or None


def _literals(window: bytes) -> bytes:
    """Literal tokens that emit ``window``."""
    whole, rest = divmod(len(window), 32)
    tokens = np.empty((whole, 33), np.uint8)
    tokens[:, 0] = 31
    tokens[:, 1:] = np.frombuffer(window, np.uint8, whole * 32).reshape(whole, 32)
    tail = bytes([rest - 1]) + window[whole * 32:] if rest else b""
    return tokens.tobytes() + tail


def _boundary(data: bytes, start: int, target: int) -> int:
    """The first token start at or after ``target`` when ``data`` is read as tokens from ``start``."""
    p = start
    size = len(data)
    while p < target and p < size:
        c = data[p]
        p += c + 2 if c < 32 else (3 if c >= 224 else 2)
    return p


class LzfStream:
    """The decoded bytes of one lzf chunk, in order. ``read(offset, size)`` gives the stored bytes
    (fewer at their end); ``stored`` and ``decoded`` are the chunk's two sizes."""

    def __init__(self, read: Callable[[int, int], bytes], stored: int, decoded: int,
                 piece: int = PIECE) -> None:
        decode = lzf_decoder()
        if decode is None:
            raise RuntimeError("h5py does not export its lzf decoder")
        self._decode = decode
        self._read = read
        self.stored = stored
        self.decoded = decoded
        self._piece = max(1, piece)
        self._at = 0  # stored bytes used: a token boundary
        self._window = b""  # the last WINDOW bytes decoded
        self._left = np.empty(0, np.uint8)  # decoded, not yet handed out
        self._ratio = max(stored / max(1, decoded), 1 / _TOKEN)  # stored bytes per decoded byte
        self._out = np.empty(0, np.uint8)
        self.lookups = 0  # ends looked for again (tests: the slow path is taken)

    def read_into(self, dest: np.ndarray) -> bool:
        """Fill ``dest`` (flat uint8) with the next decoded bytes; False when the stored bytes do not
        decode (corrupt, or fewer than the chunk's size)."""
        done = min(dest.size, self._left.size)
        dest[:done] = self._left[:done]
        self._left = self._left[done:]
        while done < dest.size:
            piece = self._next(dest.size - done)
            if piece is None:
                return False
            take = min(piece.size, dest.size - done)
            dest[done:done + take] = piece[:take]
            self._left = piece[take:].copy()
            done += take
        return True

    def skip(self, size: int) -> bool:
        """Decode and drop the next ``size`` bytes."""
        drop = min(size, self._left.size)
        self._left = self._left[drop:]
        size -= drop
        while size > 0:
            piece = self._next(size)
            if piece is None:
                return False
            if piece.size > size:
                self._left = piece[size:].copy()
            size -= min(size, piece.size)
        return True

    def _next(self, wanted: int) -> np.ndarray | None:
        """The next decoded piece (a view of a buffer used again next call), None when it cannot be."""
        left = self.stored - self._at
        if left <= 0:
            return None
        aim = min(wanted, self._piece)
        size = min(left, int(aim * self._ratio) + 64)
        back = _LOOK_BACK
        room = len(self._window) + 2 * self._piece + _TOKEN
        if self._out.size < room:
            self._out = np.empty(room, np.uint8)
        head = _literals(self._window)
        while True:
            data = self._read(self._at, min(left, size + 40))  # a token ends within 33 bytes of `size`
            if not data:
                return None  # the file ends before the chunk does
            end = len(data) if size >= left else min(len(data), _boundary(data, max(0, size - back), size))
            source = np.frombuffer(head + data[:end], np.uint8)
            ctypes.set_errno(0)
            written = self._decode(source.ctypes.data, source.size, self._out.ctypes.data, room)
            if written:
                break
            if ctypes.get_errno() == errno.E2BIG and size > 1:
                size //= 2  # more came out than there is room for
                continue
            if size >= left or back >= size:
                return None  # read from the piece's start, or to the end: the data is bad
            back *= 8
            self.lookups += 1
        start = len(self._window)
        piece = self._out[start:written]
        self._at += end
        self._ratio = min(1.1, max(1 / _TOKEN, end / max(1, piece.size)))
        keep = self._out[max(0, written - WINDOW):written]
        self._window = keep.tobytes()
        return piece


class Stored:
    """A chunk stored as it is (lzf skipped it: it did not compress), read in order."""

    def __init__(self, read: Callable[[int, int], bytes], stored: int) -> None:
        self._read = read
        self.stored = stored
        self._at = 0

    def read_into(self, dest: np.ndarray) -> bool:
        data = self._read(self._at, dest.size)
        if len(data) < dest.size:
            return False
        dest[:] = np.frombuffer(data, np.uint8)
        self._at += dest.size
        return True

    def skip(self, size: int) -> bool:
        self._at += size
        return self._at <= self.stored


class ChunkStream(Protocol):
    def read_into(self, dest: np.ndarray) -> bool: ...

    def skip(self, size: int) -> bool: ...


def chunk_stream(dataset: h5d.DatasetID, start: int, decoded: int, fd: int | None) -> ChunkStream | None:
    """The stored lzf chunk of ``dataset`` that starts at frame ``start`` (``decoded`` bytes), read in
    order: from the file's descriptor ``fd`` where given (the file on disk, plain driver), else from
    its stored bytes read whole. None: a chunk never written, or not readable so (h5py then reads)."""
    coord = (start,) + (0,) * (dataset.rank - 1)
    try:
        info = dataset.get_chunk_info_by_coord(coord)
    except (AttributeError, OSError, ValueError, KeyError):  # an HDF5 older than 1.10.5
        info = None
    if info is None or info.byte_offset is None:
        return None  # never written (h5py's read_direct_chunk fails on it with a MemoryError)
    if fd is not None:
        base, size, mask = int(info.byte_offset), int(info.size), int(info.filter_mask)

        def read(offset: int, count: int) -> bytes:
            return os.pread(fd, max(0, min(count, size - offset)), base + offset)
    else:
        try:
            mask, data = dataset.read_direct_chunk(coord)
        except (OSError, ValueError, KeyError, MemoryError):
            return None
        size = len(data)

        def read(offset: int, count: int) -> bytes:
            return data[offset:offset + count]
    if mask & 1:
        return Stored(read, size)
    if lzf_decoder() is None:
        return None
    return LzfStream(read, size, decoded)

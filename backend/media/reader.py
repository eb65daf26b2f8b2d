"""Frame-accurate random access to a video file by frame index, with an LRU frame cache.

Seeks go to the keyframe at or before the target (from the probed packet table) and decode
forward; every frame decoded on the way is cached, so stepping and scrubbing near the playhead
are cache hits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import av
import numpy as np

from backend.errors import FormatError
from backend.media.probe import VideoProbe, probe


class VideoReader:
    def __init__(self, path: str | Path, cache_frames: int = 96) -> None:
        self.path = Path(path)
        self.info: VideoProbe = probe(self.path)
        self.num_frames = self.info.num_frames
        self.fps = self.info.fps
        self.width, self.height = self.info.width, self.info.height
        self.codec = self.info.codec
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_frames = cache_frames
        self._lock = threading.RLock()
        self._container: av.container.InputContainer | None = None
        self._decoder = None
        self._next_index = -1  # index the open decoder will produce next
        self._time_base = None

    # -- public -----------------------------------------------------------------------------------
    @property
    def frame_times(self) -> np.ndarray:
        """Seconds of each frame relative to the first frame."""
        return self.info.frame_times - self.info.frame_times[0]

    def frame(self, index: int) -> np.ndarray:
        """RGB uint8 frame ``index`` (0-based)."""
        if not 0 <= index < self.num_frames:
            raise IndexError(f"frame {index} outside 0..{self.num_frames - 1} of {self.path}")
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None:
                self._cache.move_to_end(index)
                return cached
            self._decode_until(index)
            return self._cache[index]

    def frames(self, start: int = 0, stop: int | None = None):
        """Yield frames start..stop-1 in order (sequential decode, one seek at most)."""
        stop = self.num_frames if stop is None else min(stop, self.num_frames)
        for index in range(start, stop):
            yield self.frame(index)

    def cached(self, index: int) -> np.ndarray | None:
        with self._lock:
            return self._cache.get(index)

    def close(self) -> None:
        with self._lock:
            if self._container is not None:
                self._container.close()
            self._container = None
            self._decoder = None
            self._cache.clear()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decoding ---------------------------------------------------------------------------------
    def _keyframe_before(self, index: int) -> int:
        keys = self.info.keyframes
        pos = int(np.searchsorted(keys, index, side="right")) - 1
        return int(keys[pos]) if pos >= 0 else 0

    def _open(self) -> None:
        try:
            self._container = av.open(str(self.path))
        except av.error.FFmpegError as error:
            raise FormatError(f"cannot open video ({error})", self.path) from error
        stream = self._container.streams.video[0]
        stream.thread_type = "SLICE"
        self._time_base = stream.time_base
        self._stream = stream

    def _seek_to(self, index: int) -> None:
        if self._container is None:
            self._open()
        key = self._keyframe_before(index)
        pts = int(round(self.info.frame_times[key] / float(self._time_base)))
        self._container.seek(pts, stream=self._stream, backward=True, any_frame=False)
        self._decoder = self._container.decode(self._stream)
        self._next_index = -1  # unknown until the first frame tells its pts

    def _index_of(self, frame: av.VideoFrame) -> int:
        seconds = float(frame.pts * self._time_base) if frame.pts is not None else float(frame.time)
        pos = int(np.searchsorted(self.info.frame_times, seconds - 1e-6))
        return min(pos, self.num_frames - 1)

    def _decode_until(self, index: int) -> None:
        gop_guess = 64
        near = 0 <= self._next_index <= index and index - self._next_index <= gop_guess
        if self._decoder is None or not near:
            self._seek_to(index)
        try:
            for frame in self._decoder:
                got = self._index_of(frame)
                self._next_index = got + 1
                if got >= index - self._cache_frames // 2 or got == index:
                    self._store(got, frame.to_ndarray(format="rgb24"))
                if got >= index:
                    break
        except av.error.FFmpegError as error:
            raise FormatError(f"decoding frame {index} failed ({error})", self.path) from error
        if index not in self._cache:
            # decoder ran dry or landed after the target: restart from a keyframe once
            self._seek_to(index)
            for frame in self._decoder:
                got = self._index_of(frame)
                self._next_index = got + 1
                self._store(got, frame.to_ndarray(format="rgb24"))
                if got >= index:
                    break
            if index not in self._cache:
                raise FormatError(f"frame {index} could not be decoded", self.path)

    def _store(self, index: int, rgb: np.ndarray) -> None:
        self._cache[index] = rgb
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)

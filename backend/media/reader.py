"""Frame-accurate random access to a video file by frame index, with an LRU cache.

How a frame is found: the probe gives every frame's pts and the keyframes; a decoder seeks to the
keyframe at or before the target and decodes forward, or simply keeps decoding when the target lies
ahead in the same GOP. Frames decoded on the way (up to half the cache) are kept too, so stepping
back and scrubbing near the playhead are cache hits even with long GOPs.

Threads: a reader starts none. ``frame()`` decodes on the caller's thread with one decoder (callers
on several threads take turns on its lock); ``frames()`` and ``thumbnails()`` open a private
container on the caller's thread. Prefetching is the caller's business: in the GUI the frame loader
(``app/frame_loader.py``) runs one decode loop per camera as a task on the task layer's STREAM lane
and decodes the frames after the playhead ahead of time while playing.

Frames are RGB uint8 (H, W, 3) arrays marked read-only (they are shared through the cache): copy
before drawing on them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from backend.errors import FormatError
from backend.media.probe import VideoProbe, probe


class _FrameCache:
    """LRU of index -> frame (thread safe: ``cached()`` may run on another thread than ``frame()``).

    Entries are RGB arrays (read-only) or decoded ``av.VideoFrame``s not converted yet: frames a
    decode passes on its way to a target are kept as they come out of the decoder (no cost, half the
    memory of RGB) and converted to RGB (~0.15 ms at 640x480) the first time someone reads them.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, int(capacity))
        self._items: OrderedDict[int, np.ndarray | av.VideoFrame] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, index: int, count: bool = True) -> np.ndarray | None:
        with self._lock:
            frame = self._items.get(index)
            if count:
                if frame is None:
                    self.misses += 1
                else:
                    self.hits += 1
            if frame is None:
                return None
            self._items.move_to_end(index)
            if isinstance(frame, np.ndarray):
                return frame
            # convert under the lock: a frame's converter must not run on two threads at once
            rgb = frame.to_ndarray(format="rgb24")
            rgb.flags.writeable = False
            self._items[index] = rgb
            return rgb

    def __contains__(self, index: int) -> bool:
        return index in self._items

    def __len__(self) -> int:
        return len(self._items)

    def put(self, index: int, frame: np.ndarray | av.VideoFrame) -> None:
        if isinstance(frame, np.ndarray):
            frame.flags.writeable = False
        with self._lock:
            self._items[index] = frame
            self._items.move_to_end(index)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def indices(self) -> list[int]:
        with self._lock:
            return sorted(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class _Decoder:
    """One container + decoder on the file, positioned after the last frame it produced.

    Not thread safe: its owner serialises use (the reader's lock, or one caller's thread).
    """

    def __init__(self, path: Path, info: VideoProbe, thread_type: str = "SLICE") -> None:
        self.path = path
        self.info = info
        self.thread_type = thread_type
        self.next_index = -1  # frame the decoder yields next; -1: unknown (seek first)
        self._container: av.container.InputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._frames: Iterator[av.VideoFrame] | None = None
        self._fresh = False  # just opened: positioned at the start without a seek
        self._floor = 0  # frames before the keyframe we seeked to are not trusted
        assert info.pts is not None
        self._pts = info.pts
        self._pts_index = {int(p): i for i, p in enumerate(info.pts)}

    def _open(self) -> None:
        self.close()
        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as error:
            raise FormatError(
                f"cannot open video ({error})", self.path, "the file is truncated or not a video"
            ) from error
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = self.thread_type
        self._fresh = True

    def close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - closing a broken container
                pass
        self._container = None
        self._stream = None
        self._frames = None
        self.next_index = -1

    def can_continue_to(self, target: int) -> bool:
        """Whether decoding on (no seek) reaches ``target`` at least as cheaply as seeking."""
        return (
            self._frames is not None
            and 0 <= self.next_index <= target
            and self.info.keyframe_before(target) <= self.next_index
        )

    def seek_for(self, target: int) -> None:
        key = self.info.keyframe_before(target)
        if self._container is None:
            self._open()
        assert self._container is not None and self._stream is not None
        if not (self._fresh and key == 0):
            try:
                self._container.seek(int(self._pts[key]), stream=self._stream, backward=True, any_frame=False)
            except av.error.FFmpegError as error:
                self.close()
                raise FormatError(f"seeking to frame {target} failed ({error})", self.path) from error
        self._fresh = False
        self._frames = self._container.decode(self._stream)
        self._floor = key
        self.next_index = key

    def restart_from_zero(self) -> None:
        """Reopen and decode from the very start (when a seek landed past the target)."""
        self._open()
        assert self._container is not None and self._stream is not None
        self._fresh = False
        self._frames = self._container.decode(self._stream)
        self._floor = 0
        self.next_index = 0

    def index_of(self, frame: av.VideoFrame) -> int:
        pts = frame.pts
        if pts is not None:
            index = self._pts_index.get(int(pts))
            if index is not None:
                return index
            pos = int(np.searchsorted(self._pts, pts))
        else:
            pos = int(np.searchsorted(self.info.frame_times, float(frame.time or 0.0) - 1e-6))
        return min(max(pos, 0), self.info.num_frames - 1)

    def decode_to(
        self,
        target: int,
        keep_from: int,
        store: Callable[[int, np.ndarray | av.VideoFrame], None],
        wanted: Callable[[int], bool],
    ) -> np.ndarray:
        """Decode until frame ``target`` and return its RGB; frames >= ``keep_from`` passed on the way
        that ``wanted`` are stored as they are (``keep_from`` never causes an earlier seek)."""
        if not self.can_continue_to(target):
            self.seek_for(target)
        restarted = False
        while True:
            assert self._frames is not None
            try:
                for frame in self._frames:
                    index = self.index_of(frame)
                    if index < self._floor:
                        continue  # leading pictures of an open GOP: references before the seek
                    self.next_index = index + 1
                    if index == target:
                        rgb = frame.to_ndarray(format="rgb24")
                        store(index, rgb)
                        return rgb
                    if index > target:
                        break  # target missing from the stream after this seek
                    if index >= keep_from and wanted(index):
                        store(index, frame)  # converted to RGB when first read
                else:
                    self._frames = None  # end of stream
            except av.error.FFmpegError as error:
                self.close()
                raise FormatError(
                    f"decoding frame {target} failed ({error})", self.path, "the video is corrupt"
                ) from error
            if restarted:
                self.close()
                raise FormatError(
                    f"frame {target} of {self.info.num_frames} could not be decoded",
                    self.path,
                    "the video is truncated or corrupt",
                )
            restarted = True
            self.restart_from_zero()


class VideoReader:
    """Frames of one video file by index (0-based), RGB uint8.

    ``cache_frames``: LRU capacity (640x480 RGB is 0.9 MB a frame). Starts no thread (see the module).
    """

    def __init__(
        self,
        path: str | Path,
        cache_frames: int = 96,
        thread_type: str = "SLICE",
    ) -> None:
        self.path = Path(path)
        self.info: VideoProbe = probe(self.path)
        self.num_frames = self.info.num_frames
        self.fps = self.info.fps
        self.width, self.height = self.info.width, self.info.height
        self.codec = self.info.codec
        self._cache = _FrameCache(cache_frames)
        self._keep_before = max(0, self._cache.capacity // 2 - 1)
        self._decoder = _Decoder(self.path, self.info, thread_type)
        self._lock = threading.Lock()

    # -- properties -------------------------------------------------------------------------------
    @property
    def frame_times(self) -> np.ndarray:
        """Seconds of each frame relative to the first frame."""
        return self.info.frame_times - self.info.frame_times[0]

    @property
    def keyframes(self) -> np.ndarray:
        return self.info.keyframes

    def keyframe_before(self, index: int) -> int:
        return self.info.keyframe_before(index)

    @property
    def cache_capacity(self) -> int:
        return self._cache.capacity

    def cache_info(self) -> dict[str, int]:
        return {
            "hits": self._cache.hits,
            "misses": self._cache.misses,
            "size": len(self._cache),
            "capacity": self._cache.capacity,
        }

    # -- access --------------------------------------------------------------------------------------
    def _check(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < self.num_frames:
            raise IndexError(f"frame {index} outside 0..{self.num_frames - 1} of {self.path}")
        return index

    def frame(self, index: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """RGB uint8 frame ``index`` (read-only); ``size=(w, h)`` gives a downscaled copy."""
        index = self._check(index)
        rgb = self._cache.get(index)
        if rgb is None:
            with self._lock:
                rgb = self._cache.get(index, count=False)
                if rgb is None:
                    rgb = self._decoder.decode_to(
                        index, index - self._keep_before, self._cache.put, self._not_cached
                    )
        return _resize(rgb, size) if size is not None else rgb

    def cached(self, index: int) -> np.ndarray | None:
        """The frame if it is in the cache (never decodes)."""
        return self._cache.get(int(index), count=False)

    def cached_indices(self) -> list[int]:
        return self._cache.indices()

    def nearest_cached(self, index: int, max_distance: int | None = None) -> tuple[int, np.ndarray] | None:
        """The cached frame closest to ``index`` (a placeholder to show while ``index`` decodes)."""
        indices = self._cache.indices()
        if not indices:
            return None
        pos = int(np.searchsorted(indices, index))
        best = min(indices[max(0, pos - 1) : pos + 1], key=lambda i: abs(i - index))
        if max_distance is not None and abs(best - index) > max_distance:
            return None
        frame = self._cache.get(best, count=False)
        return (best, frame) if frame is not None else None

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Yield frames start..stop-1 in order: one sequential decode on a private container,
        bypassing the cache (so a long export does not flush the playhead's neighbourhood)."""
        stop = self.num_frames if stop is None else min(int(stop), self.num_frames)
        start = max(0, int(start))
        if start >= stop:
            return
        decoder = _Decoder(self.path, self.info, self._decoder.thread_type)
        try:
            for index in range(start, stop):
                yield decoder.decode_to(index, index, _discard, _never)
        finally:
            decoder.close()

    def thumbnails(
        self,
        count_or_indices: int | Sequence[int],
        size: tuple[int, int] = (160, 120),
        exact: bool | None = None,
        within: tuple[int, int] | None = None,
    ) -> tuple[list[int], list[np.ndarray]]:
        """Small frames for a timeline strip: ``count`` evenly spread (or the given indices).

        With ``exact=False`` (default when the keyframes are dense enough) positions snap to the
        nearest keyframe and only keyframes are decoded, which is much faster on long videos.
        ``within=(lo, hi)`` keeps snapped positions inside frames lo..hi (an episode's window).
        Returns (frame indices, RGB frames of ``size``). Uses a private container.
        """
        if isinstance(count_or_indices, int):
            count = max(1, min(count_or_indices, self.num_frames))
            wanted = [int(round(x)) for x in np.linspace(0, self.num_frames - 1, count)]
        else:
            wanted = [self._check(i) for i in count_or_indices]
        keys = self.info.keyframes
        if within is not None:
            keys = keys[(keys >= within[0]) & (keys <= within[1])]
        if len(keys) == 0:
            exact = True
        elif exact is None:
            exact = len(keys) < 2 * len(set(wanted)) or len(keys) == self.num_frames
        if not exact:
            snapped = [int(keys[int(np.argmin(np.abs(keys - i)))]) for i in wanted]
            frames = self._keyframe_thumbnails(sorted(set(snapped)), size)
            return snapped, [frames[i] for i in snapped]
        decoder = _Decoder(self.path, self.info, self._decoder.thread_type)
        got: dict[int, np.ndarray] = {}
        try:
            for index in sorted(set(wanted)):
                got[index] = _resize(decoder.decode_to(index, index, _discard, _never), size)
        finally:
            decoder.close()
        return wanted, [got[i] for i in wanted]

    def _keyframe_thumbnails(self, indices: list[int], size: tuple[int, int]) -> dict[int, np.ndarray]:
        got: dict[int, np.ndarray] = {}
        want = set(indices)
        try:
            container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as error:
            raise FormatError(f"cannot open video ({error})", self.path) from error
        try:
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"
            index_of = _Decoder(self.path, self.info).index_of
            for frame in container.decode(stream):
                index = index_of(frame)
                if index in want:
                    got[index] = frame.to_ndarray(
                        width=size[0], height=size[1], format="rgb24", interpolation="AREA"
                    )
                    if len(got) == len(want):
                        break
        except av.error.FFmpegError as error:
            raise FormatError(f"decoding keyframes failed ({error})", self.path) from error
        finally:
            container.close()
        for index in want - set(got):  # a keyframe the decoder skipped: decode it exactly
            got[index] = _resize(self.frame(index), size)
        return got

    def close(self) -> None:
        """Release the decoder and the cache (the reader can still be used: it reopens on demand)."""
        with self._lock:
            self._decoder.close()
        self._cache.clear()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _not_cached(self, index: int) -> bool:
        return index not in self._cache


def _discard(index: int, frame: np.ndarray | av.VideoFrame) -> None:
    pass


def _never(index: int) -> bool:
    return False


def _resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = int(size[0]), int(size[1])
    if (width, height) == (rgb.shape[1], rgb.shape[0]):
        return rgb
    shrink = width < rgb.shape[1] or height < rgb.shape[0]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)

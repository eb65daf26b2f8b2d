"""Camera streams of LeRobot episodes: a window of frames of an mp4, with one shared reader per file.

v2.x: one mp4 per episode, the window is the whole file. v3.0: many episodes share one mp4; frame i
of an episode is the video frame shown at ``from_timestamp + i / fps``, located frame-exactly in the
probed frame times (LeRobot accepts a frame within 1e-4 s of the requested time).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from backend.errors import FormatError
from backend.media import VideoReader
from backend.model import Stream


class VideoPool:
    """One ``VideoReader`` per mp4 file, shared by every stream of a dataset that shows that file.

    Readers in use are kept; up to ``idle`` unused readers stay open (their frame caches warm: up to
    ~90 MB each at 640x480) and older ones are closed.
    """

    def __init__(self, idle: int = 2) -> None:
        self._idle_max = idle
        self._lock = threading.Lock()
        self._readers: dict[Path, VideoReader] = {}
        self._refs: dict[Path, int] = {}
        self._idle: OrderedDict[Path, None] = OrderedDict()
        self._times: dict[Path, np.ndarray] = {}

    def acquire(self, path: Path) -> VideoReader:
        path = Path(path)
        with self._lock:
            reader = self._readers.get(path)
            if reader is None:
                if not path.is_file():
                    raise FormatError(
                        "video file is missing", path, "re-export the dataset or restore the file"
                    )
                reader = VideoReader(path)
                self._readers[path] = reader
            self._refs[path] = self._refs.get(path, 0) + 1
            self._idle.pop(path, None)
            return reader

    def release(self, path: Path) -> None:
        path = Path(path)
        to_close: list[VideoReader] = []
        with self._lock:
            if path not in self._refs:
                return
            self._refs[path] -= 1
            if self._refs[path] > 0:
                return
            del self._refs[path]
            self._idle[path] = None
            while len(self._idle) > self._idle_max:
                old, _ = self._idle.popitem(last=False)
                reader = self._readers.pop(old, None)
                self._times.pop(old, None)
                if reader is not None:
                    to_close.append(reader)
        for reader in to_close:
            reader.close()

    def absolute_times(self, path: Path, reader: VideoReader) -> np.ndarray:
        """Presentation time (s) of every frame of the file, as LeRobot's decoders see it (pts * time_base)."""
        with self._lock:
            times = self._times.get(path)
            if times is None:
                info = getattr(reader, "info", None)
                start = float(getattr(info, "start_time", 0.0) or 0.0)
                times = np.asarray(reader.frame_times, dtype=np.float64) + start
                self._times[path] = times
            return times

    def close(self) -> None:
        with self._lock:
            readers = list(self._readers.values())
            self._readers.clear()
            self._refs.clear()
            self._idle.clear()
            self._times.clear()
        for reader in readers:
            reader.close()


def window_indices(times: np.ndarray, from_timestamp: float, length: int, fps: float) -> np.ndarray:
    """File frame index of each episode frame: the frame nearest ``from_timestamp + i / fps``.

    Frames past the end of the file (or farther than half a frame from their time) end the window.
    """
    if length <= 0 or len(times) == 0:
        return np.zeros(0, dtype=np.int64)
    targets = from_timestamp + np.arange(length, dtype=np.float64) / fps
    right = np.clip(np.searchsorted(times, targets), 0, len(times) - 1)
    left = np.clip(right - 1, 0, len(times) - 1)
    pick = np.where(np.abs(times[left] - targets) <= np.abs(times[right] - targets), left, right)
    ok = np.abs(times[pick] - targets) <= 0.5 / fps + 1e-9
    if not ok.all():
        pick = pick[: int(np.argmin(ok))]
    return pick.astype(np.int64)


class VideoWindowStream(Stream):
    """Frames ``first .. first + num_frames - 1`` of a shared mp4 reader, addressed 0-based."""

    def __init__(
        self,
        name: str,
        pool: VideoPool,
        path: Path,
        fps: float,
        from_timestamp: float | None = None,
        length: int | None = None,
    ) -> None:
        self.name = name
        self.path = Path(path)
        self._pool = pool
        self._reader = pool.acquire(self.path)
        self._closed = False
        reader = self._reader
        self.fps = float(fps)
        self.width, self.height = int(reader.width), int(reader.height)
        self.codec = reader.codec
        if from_timestamp is None:  # the whole file is the episode (v2.x)
            self.indices = np.arange(reader.num_frames, dtype=np.int64)
        else:
            times = pool.absolute_times(self.path, reader)
            self.indices = window_indices(times, float(from_timestamp), int(length or 0), self.fps)
        self.num_frames = len(self.indices)
        self.from_timestamp = from_timestamp

    @property
    def reader(self) -> VideoReader:
        """The shared reader of the whole file (frame indices of the file, see ``file_index``)."""
        return self._reader

    def file_index(self, index: int) -> int:
        """Index in the file of the episode's frame ``index``."""
        return int(self.indices[self._check_index(index)])

    @property
    def first_file_frame(self) -> int:
        return int(self.indices[0]) if self.num_frames else 0

    @property
    def is_contiguous(self) -> bool:
        return bool(self.num_frames == 0 or np.all(np.diff(self.indices) == 1))

    @property
    def file_frames(self) -> int:
        return int(self._reader.num_frames)

    def frame(self, index: int) -> np.ndarray:
        index = self._check_index(index)
        return self._reader.frame(int(self.indices[index]))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.release(self.path)

    def __del__(self) -> None:  # a forgotten stream must not pin its reader forever
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown
            pass


class ImageColumnStream(Stream):
    """Frames stored in the parquet as encoded images (LeRobot dtype "image": struct{bytes, path})."""

    def __init__(self, name: str, column: list, fps: float, root: Path, source: Path) -> None:
        self.name = name
        self._cells = column
        self._root = root
        self._source = source
        self.fps = float(fps)
        self.num_frames = len(column)
        self.codec = None
        first = self._decode(0) if self.num_frames else np.zeros((0, 0, 3), np.uint8)
        self.height, self.width = int(first.shape[0]), int(first.shape[1])

    def _decode(self, index: int) -> np.ndarray:
        import cv2

        cell = self._cells[index]
        data = None
        if isinstance(cell, dict):
            data = cell.get("bytes")
            if data is None and cell.get("path"):
                data = (self._root / cell["path"]).read_bytes()
        elif isinstance(cell, bytes | bytearray):
            data = bytes(cell)
        if not data:
            raise FormatError(f"image {index} of {self.name} has no bytes", self._source)
        array = cv2.imdecode(np.frombuffer(io.BytesIO(data).getbuffer(), np.uint8), cv2.IMREAD_COLOR)
        if array is None:
            raise FormatError(f"image {index} of {self.name} cannot be decoded", self._source)
        return cv2.cvtColor(array, cv2.COLOR_BGR2RGB)

    def frame(self, index: int) -> np.ndarray:
        return self._decode(self._check_index(index))

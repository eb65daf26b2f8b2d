"""A camera stream over a window of a video file: episode frame i is file frame first + i.

LeRobot v3.0 packs many episodes into one mp4 per camera and says where each starts with
``from_timestamp``; ``frame_index_at`` turns that into a file frame index exactly (LeRobot's own
check allows 1e-4 s), and ``VideoStream`` serves the episode's frames from a shared or private
``VideoReader``. Like the reader, a stream decodes on the caller's thread and starts no thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.errors import FormatError
from backend.media.probe import VideoProbe, probe
from backend.media.reader import VideoReader
from backend.model import Stream

LEROBOT_TOLERANCE_S = 1e-4


def frame_index_at(
    source: VideoReader | VideoProbe | str | Path, seconds: float, tolerance: float = LEROBOT_TOLERANCE_S
) -> int:
    """Index of the frame presented at ``seconds`` (the file's own pts, as LeRobot compares them).

    Raises FormatError naming the file when no frame lies within ``tolerance`` seconds.
    """
    info = (
        source.info
        if isinstance(source, VideoReader)
        else source
        if isinstance(source, VideoProbe)
        else probe(source)
    )
    times = info.frame_times
    pos = int(np.searchsorted(times, seconds))
    best = None
    for candidate in (pos - 1, pos):
        if 0 <= candidate < len(times) and (
            best is None or abs(times[candidate] - seconds) < abs(times[best] - seconds)
        ):
            best = candidate
    if best is None or abs(float(times[best]) - seconds) > tolerance:
        nearest = f"nearest frame {best} at {float(times[best]):.6f} s" if best is not None else "no frames"
        raise FormatError(
            f"no video frame at {seconds:.6f} s within {tolerance:g} s ({nearest}; "
            f"{info.num_frames} frames at {info.fps:g} fps from {info.start_time:g} s)",
            info.path,
            "the episode's from_timestamp does not match this video; re-encode or fix the metadata",
        )
    return best


class VideoStream(Stream):
    """Frames ``first_frame_index .. first_frame_index + num_frames - 1`` of a video as one stream.

    ``source`` is a path (the stream opens and closes its own reader) or a ``VideoReader`` shared
    between streams of the same file (``own_reader`` says whether ``close()`` closes it; default:
    only readers the stream opened itself).
    """

    def __init__(
        self,
        name: str,
        source: VideoReader | str | Path,
        first_frame_index: int = 0,
        num_frames: int | None = None,
        fps: float | None = None,
        own_reader: bool | None = None,
        cache_frames: int = 96,
    ) -> None:
        opened = not isinstance(source, VideoReader)
        self.reader = VideoReader(source, cache_frames=cache_frames) if opened else source
        self._own = opened if own_reader is None else own_reader
        total = self.reader.num_frames
        first = int(first_frame_index)
        count = total - first if num_frames is None else int(num_frames)
        if first < 0 or count < 0 or first + count > total:
            if self._own:
                self.reader.close()
            raise FormatError(
                f"episode needs video frames {first}..{first + count - 1} but the file has {total}",
                self.reader.path,
                "the video is shorter than its metadata says (truncated or wrong episode bounds)",
            )
        self.name = name
        self.first = first
        self.num_frames = count
        self.fps = float(fps) if fps else self.reader.fps
        self.width, self.height = self.reader.width, self.reader.height
        self.codec = self.reader.codec
        self.path = self.reader.path

    @classmethod
    def from_timestamp(
        cls,
        name: str,
        source: VideoReader | str | Path,
        from_timestamp: float,
        num_frames: int,
        fps: float | None = None,
        tolerance: float = LEROBOT_TOLERANCE_S,
        own_reader: bool | None = None,
    ) -> VideoStream:
        """A LeRobot v3.0 episode: ``num_frames`` frames starting at ``from_timestamp`` in the file."""
        opened = not isinstance(source, VideoReader)
        reader = VideoReader(source) if opened else source
        try:
            first = frame_index_at(reader, from_timestamp, tolerance)
        except FormatError:
            if opened:
                reader.close()
            raise
        return cls(
            name, reader, first, num_frames, fps, own_reader=opened if own_reader is None else own_reader
        )

    def frame(self, index: int, size: tuple[int, int] | None = None) -> np.ndarray:
        return self.reader.frame(self.first + self._check_index(index), size=size)

    def cached(self, index: int) -> np.ndarray | None:
        return self.reader.cached(self.first + self._check_index(index))

    def timestamps(self) -> np.ndarray:
        """Seconds of each frame relative to the episode's first frame (from the file's pts)."""
        times = self.reader.info.frame_times[self.first : self.first + self.num_frames]
        return times - times[0] if len(times) else times.copy()

    def file_index(self, index: int) -> int:
        return self.first + self._check_index(index)

    def thumbnails(
        self, count: int, size: tuple[int, int] = (160, 120), exact: bool | None = None
    ) -> tuple[list[int], list[np.ndarray]]:
        if self.num_frames == 0:
            return [], []
        count = max(1, min(count, self.num_frames))
        wanted = [self.first + int(round(x)) for x in np.linspace(0, self.num_frames - 1, count)]
        indices, frames = self.reader.thumbnails(
            wanted, size, exact, within=(self.first, self.first + self.num_frames - 1)
        )
        return [i - self.first for i in indices], frames

    def close(self) -> None:
        if self._own:
            self.reader.close()

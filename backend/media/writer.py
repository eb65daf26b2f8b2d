"""Streaming video encoder: RGB frames in, mp4 out, no PNG detour.

Frame i gets pts i in a 1/fps time base, so frame times are exactly i / fps (what LeRobot's
1e-4 s timestamp check needs).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from backend.errors import StudioError

CODECS = {"h264": "libx264", "av1": "libsvtav1", "hevc": "libx265"}


class VideoWriter:
    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        codec: str = "h264",
        crf: int | None = None,
        gop: int | None = None,
        preset: str | None = None,
        pix_fmt: str = "yuv420p",
    ) -> None:
        if codec not in CODECS:
            raise StudioError(f"unknown codec {codec!r}; use one of {sorted(CODECS)}")
        self.path = Path(path)
        self.width, self.height = int(width), int(height)
        self.fps = fps
        self.codec = codec
        self.frames_written = 0
        rate = Fraction(fps).limit_denominator(1001)
        self._container = av.open(str(self.path), mode="w", format="mp4")
        self._stream = self._container.add_stream(CODECS[codec], rate=rate)
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = pix_fmt
        self._frame_time_base = Fraction(1, 1) / rate
        options: dict[str, str] = {}
        if codec == "h264":
            options["crf"] = str(23 if crf is None else crf)
            options["preset"] = preset or "veryfast"
            self._stream.codec_context.gop_size = int(gop or 30)
            options["bf"] = "0"  # no B-frames: decode order == display order, cheaper seeks
        elif codec == "av1":
            options["crf"] = str(30 if crf is None else crf)
            options["preset"] = str(preset or 10)
            options["g"] = str(gop or 30)
        elif codec == "hevc":
            options["crf"] = str(28 if crf is None else crf)
            options["preset"] = preset or "veryfast"
            self._stream.codec_context.gop_size = int(gop or 30)
        self._stream.options = options
        self._closed = False

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame (H, W, 3)."""
        if frame.shape[:2] != (self.height, self.width):
            raise StudioError(
                f"frame of size {frame.shape[1]}x{frame.shape[0]} given to a "
                f"{self.width}x{self.height} video", self.path,
            )
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")
        video_frame.pts = self.frames_written
        video_frame.time_base = self._frame_time_base
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

    def abort(self) -> None:
        """Close without caring about the file (the caller deletes it)."""
        if not self._closed:
            self._closed = True
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - the file is thrown away anyway
                pass

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

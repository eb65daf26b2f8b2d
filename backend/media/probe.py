"""Probe a video file: codec, size, fps, frame count and frame times, from the container alone."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from backend.errors import FormatError


@dataclass(frozen=True)
class VideoProbe:
    path: str
    codec: str
    width: int
    height: int
    fps: float
    num_frames: int
    pix_fmt: str | None
    frame_times: np.ndarray  # seconds of each frame's presentation time, sorted, from the first pts
    keyframes: np.ndarray  # indices of keyframes
    start_time: float  # pts of the first frame in seconds

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps else 0.0


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise FormatError("video file is missing", path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as error:
        raise FormatError(f"cannot open video ({error})", path, "the file is truncated or not a video") from error
    if not container.streams.video:
        container.close()
        raise FormatError("file has no video stream", path)
    return container


def probe(path: str | Path) -> VideoProbe:
    """Read the packet table (no decoding) to get exact frame times and keyframes."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        codec = ctx.name
        if codec == "libdav1d":
            codec = "av1"
        time_base = stream.time_base or Fraction(1, 1000)
        pts_list: list[int] = []
        key_pts: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                pts_list.append(packet.pts)
                if packet.is_keyframe:
                    key_pts.append(packet.pts)
        except av.error.FFmpegError as error:
            raise FormatError(f"video is corrupt ({error})", path, "re-encode or re-record it") from error
        if not pts_list:
            raise FormatError("video has no frames", path)
        pts = np.array(sorted(pts_list), dtype=np.int64)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if len(pts) > 1:
            # exact fps from the pts grid when the container rate is missing or odd
            step = np.median(np.diff(pts)) * float(time_base)
            if step > 0 and (fps <= 0 or abs(1.0 / step - fps) > 0.01 * fps):
                fps = 1.0 / step
        key_index = np.searchsorted(pts, np.array(sorted(key_pts), dtype=np.int64))
        return VideoProbe(
            path=str(path),
            codec=codec,
            width=ctx.width,
            height=ctx.height,
            fps=fps,
            num_frames=len(pts),
            pix_fmt=ctx.pix_fmt,
            frame_times=pts.astype(np.float64) * float(time_base),
            keyframes=key_index.astype(np.int64),
            start_time=float(pts[0] * time_base),
        )
    finally:
        container.close()

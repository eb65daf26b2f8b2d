"""Probe a video file: codec, size, fps, frame count and frame times, from the container alone.

Probing reads the packet table (demux, no decoding): exact per-frame presentation times and
keyframe positions, which the reader needs for frame-accurate seeks. Results are cached per
(path, size, mtime), so opening a second reader on the same file (another episode of a LeRobot
v3.0 file, another pane) costs nothing.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from backend.errors import FormatError

_CODEC_NAMES = {
    "libdav1d": "av1",
    "libaom-av1": "av1",
    "libsvtav1": "av1",
    "libx264": "h264",
    "libx265": "hevc",
}


@dataclass(frozen=True)
class VideoProbe:
    path: str
    codec: str
    width: int
    height: int
    fps: float
    num_frames: int
    pix_fmt: str | None
    frame_times: (
        np.ndarray
    )  # seconds of each frame's presentation time, sorted (absolute: first is start_time)
    keyframes: np.ndarray  # indices of keyframes (sorted)
    start_time: float  # pts of the first frame in seconds
    pts: np.ndarray | None = None  # int64 presentation timestamps of each frame, in time_base units
    time_base: Fraction | None = None
    reordered: bool = False  # decode order differs from display order (B-frames)

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps else 0.0

    def keyframe_before(self, index: int) -> int:
        """The last keyframe at or before frame ``index`` (0 when none)."""
        pos = int(np.searchsorted(self.keyframes, index, side="right")) - 1
        return int(self.keyframes[pos]) if pos >= 0 else 0


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise FormatError("video file is missing", path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise FormatError(
            f"cannot open video ({error})", path, "the file is truncated or not a video"
        ) from error
    if not container.streams.video:
        container.close()
        raise FormatError("file has no video stream", path)
    return container


_CACHE: OrderedDict[tuple[str, int, int], VideoProbe] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256


def probe(path: str | Path) -> VideoProbe:
    """Codec, size, fps, exact frame count, frame times and keyframes of ``path`` (cached)."""
    path = Path(path)
    try:
        stat = os.stat(path)
    except OSError:
        raise FormatError("video file is missing", path) from None
    key = (str(path.absolute()), stat.st_size, stat.st_mtime_ns)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit if hit.path == str(path) else _with_path(hit, path)
    info = _probe_uncached(path)
    with _CACHE_LOCK:
        _CACHE[key] = info
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return info


def clear_probe_cache() -> None:
    """Forget cached probes (benchmarks; files are re-probed anyway when they change)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _with_path(info: VideoProbe, path: Path) -> VideoProbe:
    from dataclasses import replace

    return replace(info, path=str(path))


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _seconds(pts: np.ndarray, time_base: Fraction) -> np.ndarray:
    """pts * time_base rounded once (the float nearest to the exact fraction, e.g. exactly i/fps)."""
    return (pts.astype(np.float64) * time_base.numerator) / time_base.denominator


class _Truncated(Exception):
    def __init__(self, end: int, frames: int) -> None:
        super().__init__(end, frames)
        self.end, self.frames = end, frames


def _from_index(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, file_size: int
) -> tuple[list[int], list[int]] | None:
    """Frame pts and keyframes from the container's sample index (mp4 moov), without reading the
    packets: ~1000x less I/O on big files. Only used when it must equal the packet pts: no frame
    reordering (the index holds decode times) and the first packet's pts matches (no edit shift)."""
    if "mp4" not in container.format.name and "mov" not in container.format.name:
        return None
    try:
        entries = stream.index_entries
        if entries is None or len(entries) == 0:
            return None
        pts: list[int] = []
        keys: list[int] = []
        end = 0
        for entry in entries:
            if entry.is_discard or entry.size <= 0:
                continue
            end = max(end, entry.pos + entry.size)
            pts.append(entry.timestamp)
            if entry.is_keyframe:
                keys.append(entry.timestamp)
        if end > file_size:
            raise _Truncated(end, len(pts))
        if stream.codec_context.has_b_frames:
            return None  # index times are decode times: read the packets for presentation times
        if not pts or any(b <= a for a, b in zip(pts, pts[1:], strict=False)):
            return None
        if stream.frames and stream.frames != len(pts):
            return None
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            return (pts, keys) if packet.pts == pts[0] else None
    except (av.error.FFmpegError, AttributeError):
        return None
    return None


def _from_packets(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> tuple[list[int], list[int], bool]:
    """Frame pts, keyframe pts and whether decode order differs from display order, by demuxing."""
    pts_list: list[int] = []
    key_pts: list[int] = []
    reordered = False
    highest = None
    # The h264 parser flags every I-frame as key, but only IDR frames are clean seek points (later
    # frames may reference frames before a plain I-frame). In mp4 the sync-sample table (the index,
    # by decode time) lists exactly the clean ones: trust it when there is one.
    sync: set[int] | None = None
    if "mp4" in container.format.name or "mov" in container.format.name:
        try:
            sync = {e.timestamp for e in stream.index_entries if e.is_keyframe} or None
        except (AttributeError, av.error.FFmpegError):
            sync = None
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            pts = packet.pts
            if highest is not None and pts < highest:
                reordered = True
            highest = pts if highest is None else max(highest, pts)
            pts_list.append(pts)
            if packet.is_keyframe and (sync is None or packet.dts in sync):
                key_pts.append(pts)
    except av.error.FFmpegError as error:
        raise FormatError(f"video is corrupt ({error})", path, "re-encode or re-record it") from error
    return pts_list, key_pts, reordered


def _probe_uncached(path: Path) -> VideoProbe:
    container = _open(path)
    try:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        codec = _CODEC_NAMES.get(ctx.name, ctx.name)
        time_base = stream.time_base or Fraction(1, 1000)
        size = path.stat().st_size
        try:
            indexed = _from_index(container, stream, size)
        except _Truncated as cut:
            raise FormatError(
                f"video is truncated: its index lists {cut.frames} frames in {cut.end} bytes but the file has {size}",
                path,
                "the recording or copy was interrupted; re-encode what is left or re-record",
            ) from None
        if indexed is not None:
            pts_list, key_pts = indexed
            reordered = False
        else:
            pts_list, key_pts, reordered = _from_packets(container, stream, path)
        if not pts_list:
            raise FormatError("video has no frames", path, "the file is truncated or empty")
        if ctx.width <= 0 or ctx.height <= 0:
            raise FormatError("video has no frame size", path, "the file is truncated or corrupt")
        pts = np.array(sorted(pts_list), dtype=np.int64)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if len(pts) > 1:
            # exact fps from the pts grid when the container rate is missing or odd
            step = float(np.median(np.diff(pts))) * float(time_base)
            if step > 0 and (fps <= 0 or abs(1.0 / step - fps) > 0.01 * fps):
                fps = 1.0 / step
        key_index = np.searchsorted(pts, np.array(sorted(key_pts), dtype=np.int64))
        if len(key_index) == 0 or key_index[0] != 0:
            key_index = np.concatenate([[0], key_index])  # decoding from the start always works
        return VideoProbe(
            path=str(path),
            codec=codec,
            width=ctx.width,
            height=ctx.height,
            fps=fps,
            num_frames=len(pts),
            pix_fmt=ctx.pix_fmt,
            frame_times=_readonly(_seconds(pts, time_base)),
            keyframes=_readonly(np.unique(key_index).astype(np.int64)),
            start_time=float(Fraction(int(pts[0])) * time_base),
            pts=_readonly(pts),
            time_base=Fraction(time_base),
            reordered=reordered,
        )
    finally:
        container.close()

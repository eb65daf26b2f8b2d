"""Write one camera of one episode as its own H.264 mp4, optionally letterboxed to a fixed size.

Used wherever a tool wants a plain per-episode video (Cosmos training sets and batch inputs, IDM
inputs). When the episode already is a whole H.264 yuv420p file at the wanted size and frame rate,
the file is copied byte for byte instead of re-encoded; anything else (AV1, HEVC, a window of a
shared v3.0 file, frames stored as images, a trimmed range) is encoded to H.264.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from backend.media.encoder import VideoEncoder
from backend.media.probe import VideoProbe, probe
from backend.model import Episode
from backend.progress import Progress

PLAIN_CODEC, PLAIN_PIX_FMT = "h264", "yuv420p"


def letterbox(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize keeping the aspect ratio and pad with black bars to exactly width x height.

    640x480 into 256x256 gives a 256x192 picture with 32-pixel bars above and below.
    """
    src_h, src_w = frame.shape[:2]
    if (src_w, src_h) == (width, height):
        return np.ascontiguousarray(frame)
    scale = min(width / src_w, height / src_h)
    new_w = min(width, max(1, round(src_w * scale)))
    new_h = min(height, max(1, round(src_h * scale)))
    resized = cv2.resize(
        frame, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    out = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top : top + new_h, left : left + new_w] = resized
    return out


def whole_file_of(stream: object) -> Path | None:
    """The mp4 a stream plays in full, when it plays a whole file (v2.1 episodes, Cosmos outputs)."""
    path = getattr(stream, "path", None) or getattr(getattr(stream, "_reader", None), "path", None)
    if path is None:
        return None
    path = Path(path)
    try:
        info = probe(path)
    except Exception:  # noqa: BLE001 - no fast path; the caller re-encodes
        return None
    first = getattr(stream, "first_file_frame", 0)
    return path if first == 0 and info.num_frames == getattr(stream, "num_frames", -1) else None


def is_plain_h264(info: VideoProbe) -> bool:
    """What Cosmos, decord and the IDM read without trouble."""
    return info.codec == PLAIN_CODEC and info.pix_fmt == PLAIN_PIX_FMT


def plain_file_of(stream: object) -> Path | None:
    """The stream's whole file when it is already plain H.264 (usable as is), else None."""
    source = whole_file_of(stream)
    if source is None:
        return None
    return source if is_plain_h264(probe(source)) else None


def export_episode_video(
    episode: Episode,
    camera: str,
    dst: Path,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    crf: int = 18,
    gop: int = 30,
    frames: tuple[int, int] | None = None,
    progress: Progress | None = None,
    encoder_options: dict[str, str] | None = None,
    report: Callable[[int], None] | None = None,
) -> dict[str, object]:
    """Write ``episode``'s ``camera`` to ``dst`` (H.264 yuv420p).

    ``frames``: (start, stop) of the episode's frames to write (stop exclusive); default all.
    ``size``: letterbox to (width, height). ``fps``: the frame rate written (frames are not resampled).
    ``encoder_options``: extra libx264 options (``{"threads": "1"}``: the same bytes on any machine
    load). ``report(n)``: called with the frames written so far, every 10 frames.
    Returns {frames, copied, width, height, fps, source_codec}.
    """
    stream = episode.stream(camera)
    try:
        start, stop = frames if frames is not None else (0, stream.num_frames)
        start, stop = max(0, int(start)), min(int(stop), stream.num_frames)
        out_fps = fps or stream.fps
        whole = (start, stop) == (0, stream.num_frames)
        source = whole_file_of(stream) if whole else None
        source_codec = stream.codec
        if (
            source is not None
            and size in (None, (stream.width, stream.height))
            and abs(out_fps - stream.fps) < 1e-6
        ):
            info = probe(source)
            source_codec = info.codec
            if is_plain_h264(info):
                shutil.copyfile(source, dst)
                return {
                    "frames": info.num_frames,
                    "copied": True,
                    "width": info.width,
                    "height": info.height,
                    "fps": info.fps,
                    "source_codec": info.codec,
                }
        width, height = size or (stream.width, stream.height)
        width, height = width + width % 2, height + height % 2  # yuv420p needs even sizes
        with VideoEncoder(
            dst,
            width,
            height,
            out_fps,
            codec="h264",
            crf=crf,
            gop=gop,
            preset="veryfast",
            options=encoder_options,
        ) as writer:
            for number, index in enumerate(range(start, stop)):
                frame = stream.frame(index)
                if (frame.shape[1], frame.shape[0]) != (width, height):
                    frame = letterbox(frame, width, height)
                writer.write(frame)
                if progress is not None and number % 30 == 0:
                    progress.check_cancelled()
                if report is not None and number % 10 == 9:
                    report(number + 1)
        return {
            "frames": stop - start,
            "copied": False,
            "width": width,
            "height": height,
            "fps": out_fps,
            "source_codec": source_codec,
        }
    finally:
        stream.close()

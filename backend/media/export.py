"""Write one camera of one episode as its own H.264 mp4, optionally letterboxed to a fixed size.

Used wherever a tool wants a plain per-episode video (Cosmos training sets and batch inputs, IDM
inputs). When the episode already is a whole H.264 file at the wanted size, the file is copied
byte for byte instead of re-encoded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from backend.media.probe import probe
from backend.media.writer import VideoWriter
from backend.model import Episode
from backend.progress import Progress


def letterbox(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize keeping the aspect ratio and pad with black bars to exactly width x height."""
    src_h, src_w = frame.shape[:2]
    scale = min(width / src_w, height / src_h)
    new_w, new_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top:top + new_h, left:left + new_w] = resized
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
    return path if info.num_frames == getattr(stream, "num_frames", -1) else None


def export_episode_video(
    episode: Episode,
    camera: str,
    dst: Path,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    crf: int = 18,
    gop: int = 30,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Write ``episode``'s ``camera`` to ``dst`` (H.264). Returns {frames, copied, width, height, fps}."""
    stream = episode.stream(camera)
    try:
        out_fps = fps or stream.fps
        source = whole_file_of(stream)
        if source is not None and size in (None, (stream.width, stream.height)) and out_fps == stream.fps:
            info = probe(source)
            if info.codec == "h264" and info.pix_fmt == "yuv420p":
                shutil.copyfile(source, dst)
                return {"frames": info.num_frames, "copied": True, "width": info.width,
                        "height": info.height, "fps": info.fps}
        width, height = size or (stream.width, stream.height)
        with VideoWriter(dst, width, height, out_fps, codec="h264", crf=crf, gop=gop, preset="veryfast") as writer:
            for index in range(stream.num_frames):
                frame = stream.frame(index)
                if (frame.shape[1], frame.shape[0]) != (width, height):
                    frame = letterbox(frame, width, height)
                writer.write(frame)
                if progress is not None and index % 30 == 0:
                    progress.check_cancelled()
        return {"frames": stream.num_frames, "copied": False, "width": width, "height": height, "fps": out_fps}
    finally:
        stream.close()

"""A few grey frames of a video file, cheaply: the luma plane of chosen frames, without RGB conversion.

For checks that look at a handful of frames in each of many episodes (the dataset doctor,
``backend/signals/``). Converting a 640x480 frame to RGB costs about four times its decoding; the
Y plane of a YUV frame *is* the picture's grey (BT.601 luma), so it is copied out and mapped from
the limited range (16..235) to 0..255 when the stream is not full range. Frames are visited in file
order on one private container; a seek happens only when the next wanted frame lies past the next
keyframe, and the keyframe table and frame times come from ``backend.media.probe`` (cached).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from backend.errors import FormatError
from backend.media.probe import probe

# pixel formats whose first plane is 8-bit luma
_LUMA_8BIT = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "yuv411p"}
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG
# limited-range luma (16..235) -> 0..255, as a lookup table (a float conversion costs more than decoding)
_LIMITED_TO_FULL = np.clip(np.round((np.arange(256) - 16.0) * 255.0 / 219.0), 0, 255).astype(np.uint8)


def _luma(frame: av.VideoFrame) -> np.ndarray:
    """(H, W) uint8 grey of a decoded frame."""
    name = frame.format.name
    if name not in _LUMA_8BIT:
        return frame.to_ndarray(format="gray")
    plane = frame.planes[0]
    y = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[: frame.height, : frame.width]
    if name.startswith("yuvj") or getattr(frame, "color_range", 0) == _FULL_RANGE:
        return y.copy()
    return cv2.LUT(y, _LIMITED_TO_FULL)


@functools.lru_cache(maxsize=8)
def _index_of(path: str, mtime_ns: int, size: int) -> dict[int, int]:
    """pts -> frame index of a file (cached: a v3.0 video holds every episode, asked once per episode)."""
    info = probe(Path(path))
    assert info.pts is not None
    return {int(p): i for i, p in enumerate(info.pts)}


_OPEN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("open_containers", default=None)


@contextlib.contextmanager
def keep_open() -> Iterator[None]:
    """Within this block ``grey_frames`` keeps each file's container open for the next call (a v3.0
    video holds many episodes: opening it once per episode costs more than decoding a few frames)."""
    containers: dict[str, Any] = {}
    token = _OPEN.set(containers)
    try:
        yield
    finally:
        _OPEN.reset(token)
        for container in containers.values():
            with contextlib.suppress(Exception):
                container.close()


def _container(path: Path) -> tuple[Any, bool]:
    """(an open container of ``path``, whether the caller closes it)."""
    cache = _OPEN.get()
    key = str(path)
    if cache is not None and key in cache:
        return cache[key], False
    try:
        container = av.open(key)
    except (av.error.FFmpegError, OSError) as error:
        raise FormatError(f"cannot open video ({error})", path, "the file is truncated or not a video") from None
    if cache is None:
        return container, True
    if len(cache) >= 4:  # a few files at a time (one per camera)
        with contextlib.suppress(Exception):
            cache.pop(next(iter(cache))).close()
    cache[key] = container
    return container, False


def _forget(path: Path) -> bool:
    """Drop a kept container after an error (its state is unknown); True: the caller closes it."""
    cache = _OPEN.get()
    return cache is not None and cache.pop(str(path), None) is not None


def grey_frames(path: str | Path, indices: Iterable[int]) -> dict[int, np.ndarray]:
    """File frame index -> (H, W) uint8 grey frame, for each index of ``indices`` inside the file."""
    path = Path(path)
    info = probe(path)
    wanted = sorted({int(i) for i in indices if 0 <= int(i) < info.num_frames})
    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    assert info.pts is not None
    st = path.stat()
    index_of = _index_of(str(path), st.st_mtime_ns, st.st_size)
    want = set(wanted)
    container, owned = _container(path)
    try:
        stream = container.streams.video[0]
        frames = None
        position = -1  # the frame the decoder yields next (-1: unknown, seek first)
        for target in wanted:
            if target in out:
                continue
            key = info.keyframe_before(target)
            for attempt in range(2):
                if frames is None or not (0 <= position <= target and key <= position):
                    start = key if attempt == 0 else 0
                    container.seek(int(info.pts[start]), stream=stream, backward=True, any_frame=False)
                    frames, position, floor = container.decode(stream), start, start
                for frame in frames:
                    index = index_of.get(int(frame.pts)) if frame.pts is not None else None
                    if index is None or index < floor:
                        continue  # leading pictures of an open GOP
                    position = index + 1
                    if index in want and index not in out:
                        out[index] = _luma(frame)
                    if index >= target:
                        break
                else:
                    frames, position = None, -1
                if target in out:
                    break
                frames, position = None, -1  # the seek landed past the target: decode from the start
            if target not in out:
                raise FormatError(f"frame {target} of {info.num_frames} could not be decoded", path,
                                  "the video is truncated or corrupt")
    except av.error.FFmpegError as error:
        owned = owned or _forget(path)
        raise FormatError(f"decoding failed ({error})", path, "the video is corrupt") from None
    except FormatError:
        owned = owned or _forget(path)
        raise
    finally:
        if owned:
            container.close()
    return out

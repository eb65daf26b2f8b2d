"""Signals of sampled camera frames: black, saturated, blank, frozen, repeated, identical cameras."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.signals.base import (
    BLACK_LEVEL,
    BLANK_STD,
    FROZEN_CELL_LEVELS,
    FROZEN_PICTURE_MOTION_DEGREES,
    IDENTICAL_TOLERANCE,
    MOTION_RELATIVE,
    PIXEL_CHANGE_LEVEL,
    REPEAT_CHANGED_FRACTION,
    REPEAT_MIN_FRACTION,
    REPEAT_MIN_PAIRS,
    REPEAT_MOTION_DEGREES,
    SATURATED_LEVEL,
    JointTrack,
    Reading,
    frame_list,
    frame_text,
)

# -- cameras ------------------------------------------------------------------------------------------
THUMB_SIZE = (32, 24)


@dataclass(frozen=True)
class CameraSample:
    """Frames sampled from one camera of one episode.

    ``indices``: the sampled episode frames; ``thumbs``: their 32x24 grey thumbnails (area average);
    ``signatures``: their 8x8 fingerprints (backend/media/fingerprint.py); ``changed``: for each sample
    the fraction of pixels that changed by more than PIXEL_CHANGE_LEVEL at the next frame (NaN when
    the next frame was not decoded).
    """

    camera: str
    indices: np.ndarray
    thumbs: np.ndarray
    signatures: np.ndarray
    changed: np.ndarray


def sample_positions(length: int, count: int, block: int = 1) -> list[int]:
    """``count`` evenly spread frames of ``length``; with ``block`` > 1 (frames stored in chunks that
    decompress as a whole, e.g. HDF5 images in chunks of 100) spread inside max(1, count // 4) chunks
    so that each sampled chunk is decompressed once."""
    if length <= 0 or count <= 0:
        return []
    last = max(length - 2, 0)  # keep room for the next frame of each sample
    if block <= 1 or length <= block:
        return sorted({int(round(x)) for x in np.linspace(0, last, min(count, last + 1))})
    chunks = int(np.ceil(length / block))
    take = max(1, min(chunks, count // 4))
    # the chunks holding frames evenly spread over the episode (one chunk: the middle frame's)
    chosen = sorted({min(chunks - 1, int((i + 0.5) * length / take) // block) for i in range(take)})
    per = max(1, int(np.ceil(count / len(chosen))))
    positions: set[int] = set()
    for c in chosen:
        lo = c * block
        hi = min(lo + block - 2, last)  # the pair stays inside the chunk
        if hi < lo:
            hi = lo
        positions.update(int(round(x)) for x in np.linspace(lo, hi, per))
    return sorted(p for p in positions if p <= last)


def grey_frame(frame: np.ndarray) -> np.ndarray:
    import cv2

    frame = np.asarray(frame)
    if frame.ndim == 2:
        return frame.astype(np.uint8, copy=False)
    if frame.shape[-1] == 1:
        return np.ascontiguousarray(frame[..., 0]).astype(np.uint8, copy=False)
    return cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2GRAY)


_VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm")


def grey_source(stream: Any, wanted: Sequence[int]) -> dict[int, np.ndarray] | None:
    """Grey frames straight from the video file for streams that show one (``path`` + ``file_index``):
    the luma plane, no RGB conversion (backend/media/sample.py). None for other streams."""
    path = getattr(stream, "path", None)
    file_index = getattr(stream, "file_index", None)
    if not isinstance(path, (str, Path)) or not callable(file_index):
        return None
    if Path(path).suffix.lower() not in _VIDEO_SUFFIXES:
        return None
    from backend.media.sample import grey_frames

    files = {i: int(file_index(i)) for i in wanted}
    decoded = grey_frames(path, files.values())
    return {i: decoded[f] for i, f in files.items() if f in decoded}


def sample_camera(stream: Any, camera: str, positions: Sequence[int], pairs: bool = True) -> CameraSample:
    """Decode ``positions`` of a ``backend.model.Stream`` (and each one's next frame when ``pairs``)."""
    import cv2

    from backend.media.fingerprint import frame_signature

    inside = [p for p in positions if 0 <= p < stream.num_frames]
    wanted = sorted({*inside, *(p + 1 for p in inside if pairs and p + 1 < stream.num_frames)})
    grey = grey_source(stream, wanted)
    if grey is None:
        grey = {i: grey_frame(stream.frame(i)) for i in wanted}
    indices: list[int] = []
    thumbs: list[np.ndarray] = []
    signatures: list[np.ndarray] = []
    changed: list[float] = []
    for index in inside:
        picture = grey.get(index)
        if picture is None:
            continue
        indices.append(index)
        thumbs.append(cv2.resize(picture, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32))
        signatures.append(frame_signature(picture))
        following = grey.get(index + 1) if pairs else None
        if following is not None:
            changed.append(float((cv2.absdiff(picture, following) > PIXEL_CHANGE_LEVEL).mean()))
        else:
            changed.append(float("nan"))
    size = (THUMB_SIZE[1], THUMB_SIZE[0])
    return CameraSample(
        camera,
        np.asarray(indices, dtype=np.int64),
        np.stack(thumbs) if thumbs else np.zeros((0, *size), np.float32),
        np.stack(signatures) if signatures else np.zeros((0, 8, 8), np.float32),
        np.asarray(changed, dtype=np.float64),
    )


def black_frames(sample: CameraSample) -> Reading:
    bright = sample.thumbs.reshape(len(sample.thumbs), -1).max(axis=1) if len(sample.thumbs) else np.zeros(0)
    dark = sample.indices[bright < BLACK_LEVEL]
    return Reading(
        "black_frames", len(dark), BLACK_LEVEL, bool(len(dark)),
        f"{sample.camera}: {len(dark)} of {len(sample.indices)} sampled frames are black "
        f"(frames {frame_text(dark.tolist())})", frame_list(dark), sample.camera,
    )


def saturated_frames(sample: CameraSample) -> Reading:
    dim = sample.thumbs.reshape(len(sample.thumbs), -1).min(axis=1) if len(sample.thumbs) else np.zeros(0)
    white = sample.indices[dim > SATURATED_LEVEL]
    return Reading(
        "saturated_frames", len(white), SATURATED_LEVEL, bool(len(white)),
        f"{sample.camera}: {len(white)} of {len(sample.indices)} sampled frames are white "
        f"(frames {frame_text(white.tolist())})", frame_list(white), sample.camera,
    )


def blank_camera(sample: CameraSample) -> Reading:
    """Every sampled frame is one flat colour (whatever the colour)."""
    if not len(sample.thumbs):
        return Reading("blank_camera", 0, BLANK_STD, False, "not sampled", (), sample.camera)
    spread = float(sample.thumbs.reshape(len(sample.thumbs), -1).std(axis=1).max())
    return Reading("blank_camera", spread, BLANK_STD, spread < BLANK_STD,
                   f"{sample.camera}: every sampled frame is one flat grey level (spread {spread:.2f})",
                   frame_list(sample.indices), sample.camera)


def _moved(track: JointTrack | None, a: np.ndarray, b: np.ndarray, degrees: float) -> np.ndarray:
    """For frame pairs (a[k], b[k]): whether the arm moved between them (True for all without joints)."""
    if track is None or not len(track.values):
        return np.ones(len(a), dtype=bool)
    values = track.values[:, track.body]
    a = np.clip(a, 0, len(values) - 1)
    b = np.clip(b, 0, len(values) - 1)
    step = np.abs(values[b] - values[a])
    if track.degrees:
        return step.max(axis=1) >= degrees
    spans = track.spans()[track.body]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(spans > 0, step / spans, 0.0)
    return relative.max(axis=1) >= MOTION_RELATIVE * degrees / FROZEN_PICTURE_MOTION_DEGREES


def frozen_camera(sample: CameraSample, track: JointTrack | None) -> Reading:
    """Samples far apart that show the same picture while the arm moved between them."""
    count = len(sample.indices)
    if count < 3:
        return Reading("frozen_camera", 0, 0.5, False, "too few samples", (), sample.camera)
    diff = np.abs(sample.thumbs[1:] - sample.thumbs[:-1]).reshape(count - 1, -1).max(axis=1)
    same = diff <= FROZEN_CELL_LEVELS
    moved = _moved(track, sample.indices[:-1], sample.indices[1:], FROZEN_PICTURE_MOTION_DEGREES)
    if track is None:  # no joints (Cosmos): only a picture that never changes at all
        fraction = float(same.mean())
        fired = bool(same.all())
    else:
        considered = int(moved.sum())
        fraction = float((same & moved).sum() / considered) if considered else 0.0
        fired = considered >= 2 and fraction >= 0.5
    frames = sample.indices[1:][same & moved]
    # every sampled interval with motion shows the same picture: the camera delivered no new frames
    dead = fired and track is not None and int(moved.sum()) >= 3 and fraction >= 1.0
    return Reading(
        "frozen_camera", fraction, 0.5, fired,
        f"{sample.camera}: {int((same & moved).sum())} of {int(moved.sum())} sampled intervals show the same "
        f"picture at both ends although the arm moved (frames {frame_text(frames.tolist())})",
        frame_list(frames), sample.camera, "error" if dead else None,
    )


def repeated_frames(sample: CameraSample, track: JointTrack | None) -> Reading:
    """Sampled frames whose next frame is the same picture while the arm moved."""
    valid = ~np.isnan(sample.changed)
    starts = sample.indices[valid]
    repeated = sample.changed[valid] < REPEAT_CHANGED_FRACTION
    if track is None:
        return Reading("repeated_frames", 0, REPEAT_MIN_FRACTION, False, "no joints to tell motion", (),
                       sample.camera)
    moved = _moved(track, starts, starts + 1, REPEAT_MOTION_DEGREES)
    considered = int(moved.sum())
    hits = repeated & moved
    fraction = float(hits.sum() / considered) if considered else 0.0
    fired = int(hits.sum()) >= REPEAT_MIN_PAIRS and fraction >= REPEAT_MIN_FRACTION
    frames = starts[hits] + 1
    return Reading(
        "repeated_frames", fraction, REPEAT_MIN_FRACTION, fired,
        f"{sample.camera}: {int(hits.sum())} of {considered} sampled frames repeat the previous picture while "
        f"the arm moved (frames {frame_text(frames.tolist())})",
        frame_list(frames), sample.camera,
    )


def identical_cameras(a: CameraSample, b: CameraSample) -> Reading:
    """Two cameras whose sampled frames (same frame numbers) have the same signatures."""
    from backend.media.fingerprint import cameras_look_identical

    common, ia, ib = np.intersect1d(a.indices, b.indices, return_indices=True)
    if len(common) < 2:
        return Reading("identical_cameras", 0, IDENTICAL_TOLERANCE, False, "too few common samples", (), f"{a.camera}+{b.camera}")
    sig_a, sig_b = a.signatures[ia], b.signatures[ib]
    distance = float(np.abs(sig_a - sig_b).reshape(len(common), -1).mean(axis=1).max())
    fired = cameras_look_identical(sig_a, sig_b, IDENTICAL_TOLERANCE)
    return Reading(
        "identical_cameras", distance, IDENTICAL_TOLERANCE, fired,
        f"{a.camera} and {b.camera} show the same picture in all {len(common)} sampled frames "
        f"(signatures at most {distance:.1f} grey levels apart)",
        frame_list(common), f"{a.camera}+{b.camera}",
    )

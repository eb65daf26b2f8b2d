"""Signals of generated episodes against their source (paired by provenance): the conditioning frame,
per-frame similarity to the source video, IDM actions outside the source's envelope, and jumps at
the IDM's chunk boundaries.

Generated frame t is compared with source frame ``frame_offset + t`` (what the pairing records say;
Cosmos video2world continues the source from its conditioning frame at ``frame_offset``).
"""

from __future__ import annotations

import numpy as np

from backend.signals.base import ACTION_CHUNK, JointTrack, Reading, frame_list, frame_text
from backend.signals.specs import (
    CHUNK_JUMP_FACTOR,
    CHUNK_MIN_STEP,
    DRIFT_LEVELS,
    ENVELOPE_FRACTION,
    ENVELOPE_MARGIN,
    ENVELOPE_SPEED_MARGIN,
    PSNR_DB,
    SSIM_MIN,
)


def fit(frame: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``frame`` (H, W) uint8 resized to ``shape`` (area average) when the sizes differ."""
    if frame.shape == tuple(shape):
        return frame
    import cv2

    return cv2.resize(frame, (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_AREA)


def conditioning_drift(first: np.ndarray, conditioning: np.ndarray, camera: str = "") -> Reading:
    """Mean |difference| (grey levels) of the first generated frames (K, H, W) from the conditioning
    frame (the source frame the generation started from)."""
    if not len(first):
        return Reading("conditioning_drift", 0.0, DRIFT_LEVELS, False, "no frames", (), camera)
    reference = fit(conditioning, first.shape[1:]).astype(np.float64)
    distances = np.abs(first.astype(np.float64) - reference[None]).mean(axis=(1, 2))
    value = float(distances.mean())
    fired = value > DRIFT_LEVELS
    return Reading(
        "conditioning_drift", value, DRIFT_LEVELS, fired,
        f"{camera}: the first {len(first)} frames are {value:.1f} grey levels (mean) from the conditioning frame",
        tuple(range(len(first))) if fired else (), camera,
    )


def source_similarity(psnr: np.ndarray, ssim: np.ndarray, camera: str = "", offset: int = 0) -> list[Reading]:
    """Mean per-frame PSNR and SSIM of the generated video against its source (info when low)."""
    if not len(psnr):
        return []
    mean_psnr, mean_ssim = float(np.mean(psnr)), float(np.mean(ssim))
    worst = int(np.argmin(ssim))
    return [
        Reading("source_psnr", mean_psnr, PSNR_DB, mean_psnr < PSNR_DB,
                f"{camera}: PSNR to the source video {mean_psnr:.1f} dB (mean of {len(psnr)} frames, lowest "
                f"{float(np.min(psnr)):.1f} dB)", frame_list(np.flatnonzero(psnr < PSNR_DB)), camera),
        Reading("source_ssim", mean_ssim, SSIM_MIN, mean_ssim < SSIM_MIN,
                f"{camera}: SSIM to the source video {mean_ssim:.2f} (mean of {len(ssim)} frames, lowest "
                f"{float(ssim[worst]):.2f} at frame {worst}; source frames from {offset})",
                frame_list(np.flatnonzero(ssim < SSIM_MIN)), camera),
    ]


def idm_envelope(labels: JointTrack, source: JointTrack) -> Reading:
    """The fraction of frames whose (IDM) action lies outside the source episode's range or moves
    faster than its peak speed (widened by ENVELOPE_MARGIN of the span, ENVELOPE_SPEED_MARGIN of the speed)."""
    a, s = labels.values, source.values
    if a.ndim != 2 or s.ndim != 2 or a.shape[1] != s.shape[1] or len(a) < 2 or len(s) < 2:
        return Reading("idm_envelope", 0.0, ENVELOPE_FRACTION, False, "no comparable source action")
    low, high = s.min(axis=0), s.max(axis=0)
    span = high - low
    margin = ENVELOPE_MARGIN * np.where(span > 0, span, np.abs(high) + 1.0)
    outside = ((a < low - margin) | (a > high + margin)).any(axis=1)
    peak = np.abs(np.diff(s, axis=0)).max(axis=0) * source.fps
    speed = np.abs(np.diff(a, axis=0)) * labels.fps
    limit = peak * (1 + ENVELOPE_SPEED_MARGIN) + 1e-9
    fast = np.zeros(len(a), dtype=bool)
    fast[1:] = (speed > limit).any(axis=1)
    bad = outside | fast
    fraction = float(bad.mean())
    frames = np.flatnonzero(bad)
    return Reading(
        "idm_envelope", fraction, ENVELOPE_FRACTION, fraction >= ENVELOPE_FRACTION,
        f"the {labels.role} leaves the source episode's range in {int(outside.sum())} frames and its speed in "
        f"{int(fast.sum())} of {len(a)} (frames {frame_text(frames.tolist())})", frame_list(frames),
    )


def chunk_boundary_jumps(track: JointTrack, chunk: int = ACTION_CHUNK) -> Reading:
    """Median step at chunk boundaries (frame k * chunk - 1 -> k * chunk) over the median other step."""
    values = track.values[:, track.body]
    if len(values) < 2 * chunk + 2:
        return Reading("chunk_boundary_jumps", 0.0, CHUNK_JUMP_FACTOR, False, "shorter than two chunks")
    if track.degrees:
        scale = 1.0
    else:
        spans = track.spans()[track.body]
        scale = float(spans.max()) / 100.0 if len(spans) and spans.max() > 0 else 1.0
    steps = np.sqrt((np.diff(values, axis=0) ** 2).sum(axis=1)) / scale  # step t -> t + 1 at row t
    at = np.arange(chunk - 1, len(steps), chunk)
    boundary = np.zeros(len(steps), dtype=bool)
    boundary[at] = True
    inner = float(np.median(steps[~boundary]))
    edge = float(np.median(steps[boundary]))
    ratio = edge / max(inner, CHUNK_MIN_STEP / 10)
    fired = ratio > CHUNK_JUMP_FACTOR and edge > CHUNK_MIN_STEP
    frames = at[steps[at] > CHUNK_JUMP_FACTOR * max(inner, CHUNK_MIN_STEP / 10)] + 1
    return Reading(
        "chunk_boundary_jumps", ratio, CHUNK_JUMP_FACTOR, fired,
        f"the {track.role} steps {ratio:.1f} times further at its {chunk}-frame chunk boundaries than between "
        f"them (frames {frame_text(frames.tolist())})", frame_list(frames),
    )

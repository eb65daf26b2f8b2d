"""Signals of measured frames (:class:`FrameStats` from ``video_batch``): blur, exposure jumps, and for
generated videos flicker and frame-difference spikes; the video/labels length mismatch."""

from __future__ import annotations

import numpy as np

from backend.signals.base import Reading, frame_list, frame_text
from backend.signals.specs import (
    BLUR_MIN_FRACTION,
    BLUR_MIN_FRAMES,
    BLUR_RELATIVE,
    DIFF_SPIKE_FACTOR,
    DIFF_SPIKE_FLOOR,
    EXPOSURE_GAP,
    EXPOSURE_JUMP,
    FLICKER_LEVELS,
    LENGTH_MISMATCH_FRAMES,
)
from backend.signals.video_batch import FrameStats


def blurred_frames(stats: FrameStats) -> Reading:
    """Frames much less sharp than the camera's median in the episode. Sharpness: the variance of the
    Laplacian over the variance of the grey levels (so a darker or clipped picture is not "blurred")."""
    textured = stats.contrast > 1.0
    if int(textured.sum()) < 4:
        return Reading("blurred_frames", 0.0, BLUR_MIN_FRACTION, False, "too few textured frames", (),
                       stats.camera)
    sharp = np.where(textured, stats.sharpness / np.maximum(stats.contrast, 1.0), np.nan)
    median = float(np.nanmedian(sharp))
    blurred = textured & (np.nan_to_num(sharp, nan=median) < BLUR_RELATIVE * median)
    fraction = float(blurred.sum() / textured.sum())
    frames = stats.indices[blurred]
    fired = fraction >= BLUR_MIN_FRACTION and len(frames) >= BLUR_MIN_FRAMES
    worst = float(np.nanmin(sharp) / median) if median > 0 else 1.0
    return Reading(
        "blurred_frames", fraction, BLUR_MIN_FRACTION, fired,
        f"{stats.camera}: {len(frames)} of {int(textured.sum())} measured frames are blurred (sharpness down "
        f"to {worst:.0%} of the camera's median; frames {frame_text(frames.tolist())})",
        frame_list(frames), stats.camera,
    )


def exposure_change(stats: FrameStats) -> Reading:
    """The largest jump of the mean brightness from a measured frame to the next frame, or to the next
    measured frame when it lies at most EXPOSURE_GAP frames later (a step in brightness persists)."""
    jumps = [np.abs(stats.next_mean - stats.mean)]
    ends = [stats.indices + 1]
    if len(stats.indices) >= 2:
        close = np.diff(stats.indices) <= EXPOSURE_GAP
        step = np.full(len(stats.indices), np.nan)
        step[:-1] = np.where(close, np.abs(np.diff(stats.mean)), np.nan)
        jumps.append(step)
        ends.append(np.append(stats.indices[1:], stats.indices[-1]))
    jump, end = np.concatenate(jumps), np.concatenate(ends)
    valid = ~np.isnan(jump)
    if not valid.any():
        return Reading("exposure_change", 0.0, EXPOSURE_JUMP, False, "no frame pairs", (), stats.camera)
    hits = valid & (np.nan_to_num(jump) > EXPOSURE_JUMP)
    frames = np.unique(end[hits])
    peak = float(np.nanmax(jump))
    return Reading(
        "exposure_change", peak, EXPOSURE_JUMP, bool(hits.any()),
        f"{stats.camera}: the brightness jumps by up to {peak:.0f} grey levels from one frame to the next "
        f"(frames {frame_text(frames.tolist())})", frame_list(frames), stats.camera,
    )


def _consecutive(stats: FrameStats) -> bool:
    return len(stats.indices) >= 4 and bool(np.all(np.diff(stats.indices) == 1))


def flicker(stats: FrameStats) -> Reading:
    """Median |second difference| of the mean brightness over consecutive frames (generated videos)."""
    if not _consecutive(stats):
        return Reading("flicker", 0.0, FLICKER_LEVELS, False, "needs consecutive frames", (), stats.camera)
    second = np.abs(np.diff(stats.mean, n=2))
    value = float(np.median(second))
    frames = stats.indices[1:-1][second > FLICKER_LEVELS]
    return Reading(
        "flicker", value, FLICKER_LEVELS, value > FLICKER_LEVELS,
        f"{stats.camera}: the brightness flickers by {value:.1f} grey levels (median second difference) "
        f"from frame to frame", frame_list(frames), stats.camera,
    )


def frame_diff_spikes(stats: FrameStats) -> Reading:
    """Frame-to-frame differences far over the video's median difference (a cut or a glitch)."""
    diff = stats.diff
    valid = ~np.isnan(diff)
    if valid.sum() < 4:
        return Reading("frame_diff_spikes", 0.0, DIFF_SPIKE_FACTOR, False, "too few frame pairs", (),
                       stats.camera)
    median = float(np.median(diff[valid]))
    ratio = np.nan_to_num(diff) / max(median, 1.0)
    hits = valid & (ratio > DIFF_SPIKE_FACTOR) & (np.nan_to_num(diff) > DIFF_SPIKE_FLOOR)
    frames = stats.indices[hits] + 1
    peak = float(ratio[valid].max())
    return Reading(
        "frame_diff_spikes", peak, DIFF_SPIKE_FACTOR, bool(hits.any()),
        f"{stats.camera}: {int(hits.sum())} frames change {peak:.1f} times more than the video's median "
        f"({median:.1f} grey levels; frames {frame_text(frames.tolist())})", frame_list(frames), stats.camera,
    )


def length_mismatch(camera: str, video_frames: int, label_frames: int) -> Reading:
    """A camera's frame count against the episode's label (action/state) count."""
    gap = abs(int(video_frames) - int(label_frames))
    fired = gap > LENGTH_MISMATCH_FRAMES
    frame = min(video_frames, label_frames)
    return Reading(
        "length_mismatch", float(gap), LENGTH_MISMATCH_FRAMES, fired,
        f"{camera}: the video holds {video_frames} frames, the labels {label_frames}",
        (frame, max(video_frames, label_frames) - 1) if fired else (), camera,
    )

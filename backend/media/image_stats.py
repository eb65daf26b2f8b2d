"""Pixel histograms of video frames, the raw material of LeRobot's image statistics.

Kept free of the dataset packages so that an encoder process (``backend.convert.camera_worker``)
can count pixels without importing them; ``backend.formats.lerobot.stats.ImageStats`` turns the
counts into LeRobot's min / max / mean / std / quantiles.
"""

from __future__ import annotations

import numpy as np

_CHANNEL_OFFSETS = {channels: np.arange(channels, dtype=np.intp) * 256 for channels in (1, 3, 4)}


def downsample(frame: np.ndarray, target: int = 150, threshold: int = 300) -> np.ndarray:
    """(H, W, C) frame strided to about ``target`` px on its long side when bigger than ``threshold``
    (what LeRobot does before computing image stats)."""
    height, width = frame.shape[:2]
    if max(width, height) < threshold:
        return frame
    factor = int(width / target) if width > height else int(height / target)
    return frame[::factor, ::factor]


def streamed_sample(t: int) -> bool:
    """Frames used for image stats while streaming (length unknown): all of the first 100, then every
    2nd up to 200, every 4th up to 400, ... (about 100 + 50 per doubling, like LeRobot's ~length**0.75)."""
    if t < 100:
        return True
    stride = 1 << (int(np.log2(t / 100)) + 1)
    return t % stride == 0


def image_histogram(frame: np.ndarray) -> np.ndarray:
    """(channels, 256) pixel counts of the downsampled uint8 ``frame``."""
    small = downsample(np.asarray(frame))
    channels = small.shape[2] if small.ndim == 3 else 1
    flat = small.reshape(-1, channels).astype(np.intp)
    offsets = _CHANNEL_OFFSETS.get(channels)
    if offsets is None:
        offsets = np.arange(channels, dtype=np.intp) * 256
    return np.bincount((flat + offsets).ravel(), minlength=256 * channels).reshape(channels, 256)

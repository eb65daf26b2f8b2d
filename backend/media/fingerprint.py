"""Tiny picture fingerprints: tell which camera a frame shows, and whether two cameras are the same.

A *signature* is an 8x8 grey thumbnail of a frame (float32, grey levels 0..255, each cell the mean of
its block of pixels, BT.601 luma weights). It keeps the layout of the picture (where it is dark or
bright, where an object is) and forgets fine detail and colour, so it survives lossy video coding:
the same frames encoded twice (H.264 or AV1 at the default quality, even at 64x48) give signatures
at most a few grey levels apart, while two cameras looking at different things are tens of levels
apart (numbers at ``IDENTICAL_TOLERANCE``).

Typical uses:

- checking a writer kept each camera's frames in its own camera (``tests/test_camera_identity.py``);
- the dataset doctor: cameras of one episode whose frames have (almost) the same signatures are the
  same picture written twice (a copy/re-encode bug, or one physical camera recorded under two names)::

      a = np.stack([frame_signature(front.frame(t)) for t in picks])
      b = np.stack([frame_signature(wrist.frame(t)) for t in picks])
      if cameras_look_identical(a, b):
          ...  # "front" and "wrist" show the same picture

  Compare several frames spread over the episode, not one: two cameras can agree on a single black
  frame. Two cameras that are both black (or both one flat colour) all along do look identical; the
  doctor may want to report "blank camera" separately (``signature.std() < 1``). Synthetic data can
  trip it on purpose: ``../shared/data/lerobot061_so101_v30_h264`` has a "wrist" camera that is
  its "front" camera plus one grey level (signatures ~1 level apart: identical by this measure).

Signatures of frames of different sizes are comparable (each is 8x8). Nothing here reads files.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 8  # signature side in cells
# largest mean absolute difference (grey levels) between signatures of "the same picture". Measured:
# 640x480 camera frames re-encoded with H.264 or AV1 at crf 30 stay within 0.8 levels of the source,
# H.264 at crf 45 within 3.3; 64x48 frames with sharp bars, AV1 then H.264 (two lossy passes), within
# 3.5. Different cameras are tens of levels apart (the test pictures: 60 and more).
IDENTICAL_TOLERANCE = 4.0
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def frame_signature(frame: np.ndarray) -> np.ndarray:
    """The (8, 8) float32 signature of one frame.

    ``frame``: (H, W, 3) RGB (an RGBA frame's alpha is ignored) or (H, W) grey, uint8 or float in
    0..255; give both cameras' frames in the same channel order. Each cell is the mean grey level of its (H/8 x W/8) block (area averaging, so every
    pixel counts and sizes need not divide by 8).
    """
    array = np.asarray(frame)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        grey = array[:, :, :3].astype(np.float32) @ _LUMA
    elif array.ndim == 2:
        grey = array.astype(np.float32)
    else:
        raise ValueError(f"expected an (H, W, 3) or (H, W) frame, got shape {array.shape}")
    if grey.size == 0:
        raise ValueError("empty frame")
    return cv2.resize(grey, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)


def signature_distance(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Mean absolute difference in grey levels (0: same picture, 255: black against white).

    Takes one signature each ((8, 8)) or matching stacks ((N, 8, 8): frame k against frame k).
    """
    a = np.asarray(sig_a, dtype=np.float32)
    b = np.asarray(sig_b, dtype=np.float32)
    if a.shape != b.shape or a.shape[-2:] != (SIZE, SIZE):
        raise ValueError(f"signatures must have the same (..., {SIZE}, {SIZE}) shape: {a.shape} vs {b.shape}")
    return float(np.mean(np.abs(a - b)))


def cameras_look_identical(
    sig_a: np.ndarray, sig_b: np.ndarray, tolerance: float = IDENTICAL_TOLERANCE
) -> bool:
    """Whether two cameras show the same picture: their signatures are within ``tolerance`` grey levels.

    ``sig_a`` / ``sig_b``: one signature each ((8, 8)), or the signatures of the same frame numbers
    of the two cameras stacked ((N, 8, 8)); then every frame pair must be within ``tolerance`` (one
    frame that differs is enough to tell the cameras apart). Encoding noise stays well under the
    default tolerance; raise it for heavily compressed videos.
    """
    a = np.asarray(sig_a, dtype=np.float32)
    b = np.asarray(sig_b, dtype=np.float32)
    signature_distance(a, b)  # shape check
    per_frame = np.abs(a - b).reshape(-1, SIZE * SIZE).mean(axis=1)
    return bool(np.all(per_frame <= tolerance))

"""Small synthetic camera videos for tests and the demo (no real footage is shipped).

``front``: a table seen from above with an orange moving in an arc and a plate; ``wrist``: a closer,
tilted view with the gripper jaws. Deterministic (frame t depends only on t), H.264 through
``backend.media.VideoEncoder``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from backend.atomic import atomic_file
from backend.media import VideoEncoder


def _disc(image: np.ndarray, cx: float, cy: float, r: float, color: tuple[int, int, int]) -> None:
    h, w = image.shape[:2]
    y0, y1 = max(0, int(cy - r)), min(h, int(cy + r) + 1)
    x0, x1 = max(0, int(cx - r)), min(w, int(cx + r) + 1)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    image[y0:y1, x0:x1][mask] = color


def demo_frame(kind: str, t: int, width: int, height: int, fps: float = 30.0) -> np.ndarray:
    s = t / fps
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.empty((height, width, 3), np.uint8)
    wood = (120 + 25 * np.sin(xx / (9.0 if kind == "front" else 5.0) + yy / 40.0)).astype(np.uint8)
    base[..., 0] = wood
    base[..., 1] = (wood * 0.72).astype(np.uint8)
    base[..., 2] = (wood * 0.45).astype(np.uint8)
    scale = width / 640.0
    if kind == "front":
        _disc(base, width * 0.72, height * 0.62, 70 * scale, (225, 225, 225))  # plate
        angle = 0.6 * math.sin(2 * math.pi * s / 8.0)
        _disc(
            base,
            width * (0.4 + 0.25 * math.cos(angle)),
            height * (0.45 + 0.2 * math.sin(angle)),
            26 * scale,
            (240, 140, 20),
        )  # orange
        arm_x = int(width * (0.5 + 0.3 * math.sin(2 * math.pi * s / 6.0)))
        base[: int(height * 0.4), max(0, arm_x - int(12 * scale)) : arm_x + int(12 * scale)] = (40, 40, 45)
    else:
        open_ = 0.5 + 0.5 * math.sin(2 * math.pi * s / 4.0)
        gap = int(width * (0.08 + 0.12 * open_))
        jaw = int(width * 0.12)
        base[int(height * 0.55) :, width // 2 - gap - jaw : width // 2 - gap] = (30, 30, 35)
        base[int(height * 0.55) :, width // 2 + gap : width // 2 + gap + jaw] = (30, 30, 35)
        _disc(base, width * (0.5 + 0.15 * math.sin(s)), height * 0.35, 40 * scale, (240, 140, 20))
    rng = np.random.default_rng(t)
    noise = rng.integers(0, 6, size=(height, width, 1), dtype=np.uint8)
    return base + noise


def write_demo_video(
    path: str | Path,
    kind: str = "front",
    width: int = 640,
    height: int = 480,
    fps: float = 30.0,
    seconds: float = 4.0,
    crf: int = 28,
) -> Path:
    path = Path(path)
    with atomic_file(path) as tmp:  # VideoEncoder names the container format: the suffix does not matter
        writer = VideoEncoder(tmp, width, height, fps, codec="h264", crf=crf, gop=30, preset="veryfast")
        try:
            for t in range(int(round(fps * seconds))):
                writer.write(demo_frame(kind, t, width, height, fps))
        finally:
            writer.close()
    return path


def ensure_demo_videos(
    folder: str | Path, width: int = 640, height: int = 480, seconds: float = 4.0
) -> dict[str, Path]:
    """front.mp4 and wrist.mp4 in ``folder`` (made once, reused)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind in ("front", "wrist"):
        path = folder / f"demo_{kind}_{width}x{height}.mp4"
        if not path.is_file():
            write_demo_video(path, kind, width, height, seconds=seconds)
        out[kind] = path
    return out

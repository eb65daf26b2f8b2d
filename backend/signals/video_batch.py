"""Video signals in batches with torch: per-frame statistics of many grey frames at once.

Frames are decoded through the media layer (the luma plane of video files, ``backend/media/sample.py``;
other streams through ``Stream.frame``), stacked into (N, H, W) tensors and measured on ``cuda`` when
asked (and present) or ``cpu``: the same numbers on both within float32 tolerance, and the same as
the float64 numpy reference (``tests/test_signals_video_batch.py``). :class:`FrameStats` holds, per
measured frame: the mean grey level, the variance of the Laplacian (sharpness) and of the picture
(contrast), the 32x24 and 8x8 area averages (the doctor's thumbnails and signatures), and against
the next frame the fraction of pixels that changed by more than ``PIXEL_CHANGE_LEVEL`` and the mean
absolute difference. Frames HALF_FROM pixels wide or more are measured at half resolution (2x2
averages): the averages are the same, the Laplacian and differences those of the half-size picture.
Each distinct frame is converted once, so consecutive frames share the work.
Decode time and compute time are kept apart (``decode_s``, ``compute_s``) for the benchmark.

torch is imported on first use, so ``from backend import signals`` stays cheap.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.signals.base import PIXEL_CHANGE_LEVEL
from backend.signals.camera import THUMB_SIZE, CameraSample, grey_frame, grey_source
from backend.torch_threads import torch_threads

BATCH = 8  # frames per tensor on the CPU (640x480 float32: 10 MB, near the caches: twice as fast as 32)
CUDA_BATCH = 64  # frames per tensor on a GPU
HALF_FROM = 256  # frames at least this wide are measured at half resolution
SMALL_PIXELS = 256 * 256  # smaller frames are measured on one CPU thread
CPU_THREADS = 0  # torch threads for larger frames on the CPU (0: by the machine's load, cpu_threads)
SSIM_WINDOW = 7  # uniform window of the SSIM (as scikit-image's default)
SSIM_C1 = (0.01 * 255) ** 2
SSIM_C2 = (0.03 * 255) ** 2


@dataclass
class FrameStats:
    """Per-frame statistics of one camera of one episode (arrays of length N, in ``indices`` order)."""

    camera: str
    indices: np.ndarray  # (N,) episode frames measured
    mean: np.ndarray  # (N,) mean grey level
    sharpness: np.ndarray  # (N,) variance of the Laplacian
    contrast: np.ndarray  # (N,) variance of the grey levels
    thumbs: np.ndarray  # (N, 24, 32) area averages
    signatures: np.ndarray  # (N, 8, 8) area averages
    changed: np.ndarray  # (N,) fraction of pixels changed at the next frame (NaN: next not measured)
    diff: np.ndarray  # (N,) mean |next - this| grey levels (NaN: next not measured)
    next_mean: np.ndarray  # (N,) the next frame's mean grey level (NaN: next not measured)
    decode_s: float = 0.0
    compute_s: float = 0.0
    grey: dict[int, np.ndarray] | None = None  # the decoded frames, when asked to keep them

    def sample(self) -> CameraSample:
        """The doctor's :class:`CameraSample` of the same frames (for the camera signals)."""
        return CameraSample(self.camera, self.indices, self.thumbs, self.signatures, self.changed)


def cpu_threads() -> int:
    """Torch threads for large frames on the CPU: CPU_THREADS when set, else every core of this
    process's affinity while the machine is idle (1-minute load under the core count), else one."""
    import os

    if CPU_THREADS > 0:
        return CPU_THREADS
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        busy = os.getloadavg()[0] >= cores - 0.5
    except OSError:
        busy = False
    return 1 if busy else cores


@contextlib.contextmanager
def _threads_for(pixels: int, where: Any) -> Iterator[None]:
    """The torch threads of one measurement on the CPU: one for small frames, :func:`cpu_threads` for
    large ones. On a busy shared machine a thread pool waits on taken cores longer than it computes
    (measured on 2 cores at load 10: 640x480 frames 7x slower with 2 threads than with 1; idle: 2x
    faster with 2)."""
    if where.type != "cpu":
        yield
        return
    wanted = cpu_threads() if pixels >= SMALL_PIXELS else 1
    with torch_threads(wanted):  # shared with other overlapping users (backend/torch_threads.py)
        yield


def torch_device(device: str) -> Any:
    """A torch device for ``cpu`` / ``cuda`` (``cuda`` without a GPU raises ValueError)."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda asked for but torch sees no CUDA GPU")
    return torch.device(device)


def _half(frames: Any) -> Any:
    """(B, H, W) uint8 -> float32 at half resolution (2x2 averages) when at least HALF_FROM wide."""
    import torch.nn.functional as F  # noqa: N812

    x = frames.float()
    if x.shape[2] >= HALF_FROM and x.shape[1] >= 2:
        rows, cols = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
        x = F.avg_pool2d(x[:, None, :rows, :cols], 2)[:, 0]
    return x


def _stats_batch(x: Any, y: Any | None) -> dict[str, Any]:
    """Torch statistics of a (B, h, w) float tensor (and its next frames ``y``), in as few passes over
    the pixels as possible (CPU time goes to memory traffic: one pass per operation)."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    count = x.shape[1] * x.shape[2]
    rows, cols = THUMB_SIZE[1], THUMB_SIZE[0]
    thumbs = F.adaptive_avg_pool2d(x[:, None], (rows, cols))
    if x.shape[1] % rows == 0 and x.shape[2] % cols == 0:  # cells of equal size: the averages compose
        mean = thumbs.mean(dim=(1, 2, 3))
        signatures = F.adaptive_avg_pool2d(thumbs, (8, 8))[:, 0] if rows % 8 == 0 and cols % 8 == 0 else None
    else:
        mean = x.mean(dim=(1, 2))
        signatures = None
    if signatures is None:
        signatures = F.adaptive_avg_pool2d(x[:, None], (8, 8))[:, 0]
    out: dict[str, Any] = {"mean": mean, "thumbs": thumbs[:, 0], "signatures": signatures}
    out["contrast"] = (x * x).sum(dim=(1, 2)) / count - mean * mean
    if x.shape[1] >= 3 and x.shape[2] >= 3:
        lap = x[:, 1:-1, :-2] + x[:, 1:-1, 2:]
        lap += x[:, :-2, 1:-1]
        lap += x[:, 2:, 1:-1]
        lap -= 4 * x[:, 1:-1, 1:-1]
        inner = lap.shape[1] * lap.shape[2]
        lap_mean = lap.sum(dim=(1, 2)) / inner
        out["sharpness"] = (lap * lap).sum(dim=(1, 2)) / inner - lap_mean * lap_mean
    else:
        out["sharpness"] = torch.zeros(len(x), dtype=x.dtype, device=x.device)
    if y is not None:
        delta = (y - x).abs_()
        out["changed"] = (delta > PIXEL_CHANGE_LEVEL).sum(dim=(1, 2)).to(x.dtype) / count
        out["diff"] = delta.sum(dim=(1, 2)) / count
        out["next_mean"] = y.sum(dim=(1, 2)) / count
    return out


def measure(frames: np.ndarray, following: np.ndarray | None = None, device: str = "cpu") -> dict[str, np.ndarray]:
    """Statistics of (N, H, W) uint8 grey ``frames`` (and their (N, H, W) next frames), in batches
    on ``device``: keys mean, sharpness, contrast, thumbs, signatures (and changed, diff, next_mean
    with ``following``), float64 numpy arrays. Frames HALF_FROM pixels wide or more are measured at
    half resolution (2x2 averages): the mean, thumbnails and signatures are the same, and the
    Laplacian, differences and changed pixels are those of the half-size picture."""
    if following is None:
        return measure_pairs(frames, np.arange(len(frames)), None, device)
    both = np.concatenate([frames, following])
    count = len(frames)
    return measure_pairs(both, np.arange(count), np.arange(count, 2 * count), device)


def measure_pairs(unique: np.ndarray, at: np.ndarray, following: np.ndarray | None, device: str = "cpu"
                  ) -> dict[str, np.ndarray]:
    """Statistics of frames ``unique[at]`` (and against ``unique[following]``; -1: no next frame,
    measured against itself): each distinct frame is converted once (consecutive frames share)."""
    import torch

    where = torch_device(device)
    parts: dict[str, list[np.ndarray]] = {}
    pixels = int(np.prod(unique.shape[1:])) if unique.ndim == 3 else 0
    with torch.inference_mode(), _threads_for(pixels, where):
        step = CUDA_BATCH if where.type == "cuda" else BATCH
        halves = torch.cat([
            _half(torch.from_numpy(np.ascontiguousarray(unique[s: s + step])).to(where))
            for s in range(0, len(unique), step)
        ]) if len(unique) else None
        for start in range(0, len(at), step):
            rows = torch.from_numpy(np.asarray(at[start: start + step], dtype=np.int64)).to(where)
            x = halves[rows]
            y = None
            if following is not None:
                nxt = np.asarray(following[start: start + step], dtype=np.int64)
                nxt = np.where(nxt < 0, at[start: start + step], nxt)
                y = halves[torch.from_numpy(nxt).to(where)]
            for key, value in _stats_batch(x, y).items():
                parts.setdefault(key, []).append(value.double().cpu().numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def decode_grey(stream: Any, positions: Sequence[int], pairs: bool = True) -> dict[int, np.ndarray]:
    """Grey frames of ``positions`` (and each one's next frame when ``pairs``) of a ``Stream``."""
    inside = [p for p in positions if 0 <= p < stream.num_frames]
    wanted = sorted({*inside, *(p + 1 for p in inside if pairs and p + 1 < stream.num_frames)})
    grey = grey_source(stream, wanted)
    if grey is None:
        grey = {i: grey_frame(stream.frame(i)) for i in wanted}
    return grey


def frame_stats(stream: Any, camera: str, positions: Sequence[int], device: str = "cpu",
                keep: bool = False) -> FrameStats:
    """Decode ``positions`` of ``stream`` (each with its next frame) and measure them on ``device``;
    ``keep``: the decoded frames stay in ``FrameStats.grey``."""
    started = time.perf_counter()
    grey = decode_grey(stream, positions, pairs=True)
    decoded = time.perf_counter()
    indices = np.asarray([p for p in positions if p in grey], dtype=np.int64)
    stats = stats_of(camera, indices, grey, device, decoded - started)
    if keep:
        stats.grey = grey
    return stats


def stats_of(camera: str, indices: np.ndarray, grey: dict[int, np.ndarray], device: str = "cpu",
             decode_s: float = 0.0) -> FrameStats:
    """:class:`FrameStats` of the decoded frames ``grey`` (index -> (H, W) uint8) at ``indices``."""
    started = time.perf_counter()
    count = len(indices)
    if not count:
        empty = np.zeros(0)
        return FrameStats(camera, indices, empty, empty, empty, np.zeros((0, THUMB_SIZE[1], THUMB_SIZE[0])),
                          np.zeros((0, 8, 8)), empty, empty, empty, decode_s, 0.0)
    order = sorted(grey)
    position = {index: k for k, index in enumerate(order)}
    unique = np.stack([grey[i] for i in order])
    has_next = np.asarray([int(i) + 1 in grey for i in indices])
    following = np.asarray([position.get(int(i) + 1, -1) for i in indices])
    values = measure_pairs(unique, np.asarray([position[int(i)] for i in indices]), following, device)
    nan = np.where(has_next, 1.0, np.nan)
    return FrameStats(
        camera, indices, values["mean"], values["sharpness"], values["contrast"],
        values["thumbs"].astype(np.float32), values["signatures"].astype(np.float32),
        values["changed"] * nan, values["diff"] * nan, values["next_mean"] * nan,
        decode_s, time.perf_counter() - started,
    )


def similarity(a: np.ndarray, b: np.ndarray, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (PSNR dB, SSIM) of (N, H, W) uint8 grey frames ``a`` against ``b`` (same shape).

    Measured at the same resolution as :func:`measure` (half size from HALF_FROM pixels wide); PSNR is
    capped at 100 dB for identical frames; SSIM uses a uniform 7x7 window (valid region).
    """
    import torch
    import torch.nn.functional as F  # noqa: N812

    where = torch_device(device)
    psnr: list[np.ndarray] = []
    ssim: list[np.ndarray] = []
    with torch.inference_mode(), _threads_for(int(np.prod(a.shape[1:])), where):
        step = CUDA_BATCH if where.type == "cuda" else BATCH
        for start in range(0, len(a), step):
            x = _half(torch.from_numpy(np.ascontiguousarray(a[start: start + step])).to(where))[:, None]
            y = _half(torch.from_numpy(np.ascontiguousarray(b[start: start + step])).to(where))[:, None]
            mse = ((x - y) ** 2).mean(dim=(1, 2, 3))
            value = 10 * torch.log10(255.0**2 / mse.clamp_min(255.0**2 * 1e-10))
            psnr.append(value.double().cpu().numpy())
            pool = lambda t: F.avg_pool2d(t, SSIM_WINDOW, stride=1)  # noqa: E731
            mx, my = pool(x), pool(y)
            vx = pool(x * x) - mx * mx
            vy = pool(y * y) - my * my
            cov = pool(x * y) - mx * my
            n = SSIM_WINDOW * SSIM_WINDOW
            vx, vy, cov = vx * n / (n - 1), vy * n / (n - 1), cov * n / (n - 1)  # sample (co)variances
            s = ((2 * mx * my + SSIM_C1) * (2 * cov + SSIM_C2)) / ((mx * mx + my * my + SSIM_C1) * (vx + vy + SSIM_C2))
            ssim.append(s.mean(dim=(1, 2, 3)).double().cpu().numpy())
    if not psnr:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(psnr), np.concatenate(ssim)

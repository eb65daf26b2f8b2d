"""Video signals in torch batches give the float64 numpy reference's numbers (CPU here; CUDA on the
device machine through benchmarks/quality_speed.py --device cuda)."""

from __future__ import annotations

import numpy as np
import pytest

from backend.signals import video_batch
from backend.signals.base import PIXEL_CHANGE_LEVEL


def _half(frames: np.ndarray) -> np.ndarray:
    x = frames.astype(np.float64)
    if x.shape[2] < video_batch.HALF_FROM:
        return x
    rows, cols = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
    x = x[:, :rows, :cols]
    return (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) / 4


def _cells(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    n, h, w = x.shape
    return x.reshape(n, rows, h // rows, cols, w // cols).mean(axis=(2, 4))


def reference(frames: np.ndarray, following: np.ndarray) -> dict[str, np.ndarray]:
    """The same statistics in float64 numpy, written out plainly."""
    x, y = _half(frames), _half(following)
    lap = x[:, 1:-1, :-2] + x[:, 1:-1, 2:] + x[:, :-2, 1:-1] + x[:, 2:, 1:-1] - 4 * x[:, 1:-1, 1:-1]
    delta = np.abs(y - x)
    return {
        "mean": x.mean(axis=(1, 2)),
        "sharpness": lap.reshape(len(x), -1).var(axis=1),
        "contrast": x.reshape(len(x), -1).var(axis=1),
        "thumbs": _cells(x, 24, 32),
        "signatures": _cells(x, 8, 8),
        "changed": (delta > PIXEL_CHANGE_LEVEL).mean(axis=(1, 2)),
        "diff": delta.mean(axis=(1, 2)),
        "next_mean": y.mean(axis=(1, 2)),
    }


@pytest.fixture(scope="module")
def frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    out = {}
    for name, (h, w) in {"small": (48, 64), "half": (192, 256)}.items():
        base = rng.integers(0, 256, (40, h, w)).astype(np.int16)
        out[name] = base.astype(np.uint8)
        out[name + "_next"] = np.clip(base + rng.integers(-12, 13, base.shape), 0, 255).astype(np.uint8)
    return out


@pytest.mark.parametrize("size", ["small", "half"])
def test_torch_cpu_matches_float64_reference(frames: dict[str, np.ndarray], size: str) -> None:
    a, b = frames[size], frames[size + "_next"]
    got = video_batch.measure(a, b, device="cpu")  # 40 frames: several batches
    want = reference(a, b)
    for key, value in want.items():
        scale = max(1.0, float(np.abs(value).max()))
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-5 * scale, err_msg=key)


def test_stats_of_shares_consecutive_frames_and_marks_the_last() -> None:
    rng = np.random.default_rng(4)
    grey = {i: rng.integers(0, 256, (48, 64)).astype(np.uint8) for i in range(6)}
    stats = video_batch.stats_of("front", np.arange(6), grey)
    want = reference(np.stack([grey[i] for i in range(5)]), np.stack([grey[i + 1] for i in range(5)]))
    np.testing.assert_allclose(stats.diff[:5], want["diff"], rtol=1e-5)
    assert np.isnan(stats.diff[5]) and np.isnan(stats.changed[5])  # no frame after the last
    np.testing.assert_allclose(stats.mean[5], grey[5].mean(), rtol=1e-5)
    assert stats.sample().thumbs.shape == (6, 24, 32)


def test_similarity_matches_reference() -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (5, 48, 64)).astype(np.uint8)
    b = np.clip(a.astype(np.int16) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    psnr, ssim = video_batch.similarity(a, b)
    mse = ((a.astype(np.float64) - b) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(psnr, 10 * np.log10(255.0**2 / mse), rtol=1e-5)
    # SSIM with a uniform 7x7 window, sample (co)variances, valid region: one frame written out
    from numpy.lib.stride_tricks import sliding_window_view

    x, y = a[0].astype(np.float64), b[0].astype(np.float64)
    wx, wy = sliding_window_view(x, (7, 7)), sliding_window_view(y, (7, 7))
    mx, my = wx.mean(axis=(2, 3)), wy.mean(axis=(2, 3))
    vx, vy = wx.var(axis=(2, 3), ddof=1), wy.var(axis=(2, 3), ddof=1)
    cov = ((wx - mx[..., None, None]) * (wy - my[..., None, None])).sum(axis=(2, 3)) / 48
    c1, c2 = video_batch.SSIM_C1, video_batch.SSIM_C2
    want = (((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))).mean()
    assert abs(ssim[0] - want) < 1e-4
    same_psnr, same_ssim = video_batch.similarity(a[:1], a[:1])
    assert same_psnr[0] == pytest.approx(100.0) and same_ssim[0] == pytest.approx(1.0, abs=1e-5)


def test_cuda_without_a_gpu_is_refused() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: the benchmark compares devices there")
    with pytest.raises(ValueError, match="CUDA"):
        video_batch.measure(np.zeros((1, 8, 8), np.uint8), device="cuda")

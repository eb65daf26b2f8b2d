"""A stand-in for LeRobot's ``decode_video_frames`` that decodes with PyAV (run where LeRobot is installed).

LeRobot 0.4.x-0.5.x decode through ``torchvision.io.VideoReader`` ("pyav" backend), gone from recent
torchvision, or torchcodec, which needs FFmpeg's libraries on the system; the GPU machine has neither.
This decoder keeps LeRobot's timestamp-tolerance check and its output (float frames in [0, 1], CHW);
everything else a loader does - metadata, episodes, parquet, query timestamps - stays LeRobot's.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any


def pyav_decode(video_path: Path | str, timestamps: list[float], tolerance_s: float, backend: Any = None) -> Any:
    import av
    import numpy as np
    import torch

    with av.open(str(video_path)) as container:
        stream = container.streams.video[0]
        frames = [
            (float(f.pts * stream.time_base), f.to_ndarray(format="rgb24")) for f in container.decode(stream)
        ]
    times = np.array([t for t, _ in frames])
    out = []
    for ts in timestamps:
        i = int(np.argmin(abs(times - ts)))
        if abs(times[i] - ts) >= tolerance_s:
            raise ValueError(f"{video_path}: no frame at {ts:.4f} s (nearest {times[i]:.4f} s)")
        out.append(torch.from_numpy(frames[i][1]).permute(2, 0, 1).float() / 255)
    return torch.stack(out)


def install() -> list[str]:
    """Put the stand-in where the installed LeRobot looks the decoder up; returns those modules."""
    patched = []
    for name in ("lerobot.datasets.dataset_reader", "lerobot.datasets.lerobot_dataset"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "decode_video_frames"):
            module.decode_video_frames = pyav_decode
            patched.append(name)
    return patched

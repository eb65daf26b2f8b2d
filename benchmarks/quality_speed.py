"""Speed of the episode-quality signals (issue #18): motion and video, with baselines in the same run.

Motion: ``--episodes`` (1,000) synthetic SO-101 episodes of ``--frames`` (300) frames
(tests/quality_data.py, in memory: no decoding) scored with every motion signal by
``compute_scores`` (goal: < 20 s on 2 cores); the DTW trajectory pass is timed on its own too, and
the baseline is the doctor's motion signals alone (the signals that existed before #18) on the
same episodes.

Video: ``--video-frames`` (240) 640x480 frames (a textured scene with a moving square and noise)
encoded once as H.264, decoded to grey through the media layer (``backend.media.sample``, timed on
its own as ``decode_fps``), then measured by ``backend.signals.video_batch`` on ``--device``
(cpu, cuda; default cpu) as each frame against the next (goal: >= 300 frames/s per camera on
CPU, >= 2,000 on the GPU machine). The baseline is the doctor's OpenCV path per frame
(``signals.sample_camera``'s thumbnail, signature and changed-pixel work) on the same decoded
frames. With ``--device cuda`` the CPU figure is measured in the same run too.

Usage: .venv/bin/python benchmarks/quality_speed.py [--episodes 1000] [--frames 300]
       [--video-frames 240] [--device cpu|cuda] [--skip-motion] [--skip-video]
Prints JSON only on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.scores.compute import MOTION_SIGNALS, compute_scores  # noqa: E402
from tests.quality_data import Clip, clip_dataset, motion  # noqa: E402

DOCTOR_MOTION = (
    "non_finite", "shorter_than_chunk", "short_episode", "long_episode", "idle_episode", "frozen_action",
    "jerky", "velocity_spike", "joint_jump", "joint_out_of_range", "saturated_joint", "stuck_joint",
    "action_state_divergence", "gripper_never_moves", "gripper_chatter", "near_duplicate_episodes",
)


def _motion(episodes: int, frames: int) -> dict:
    started = time.perf_counter()
    clips = []
    for seed in range(episodes):
        action = motion(seed, frames)
        state = np.vstack([action[:2], action[:-2]])
        clips.append(Clip(action, state, np.arange(frames) / 30.0))
    build = time.perf_counter() - started
    dataset = clip_dataset("/in-memory/speed", clips)

    def timed(signals: tuple[str, ...]) -> tuple[float, int]:
        for episode in dataset.episodes:
            episode.unload()
        began = time.perf_counter()
        table = compute_scores(dataset, signals=list(signals), device="cpu")
        return time.perf_counter() - began, sum(len(e.findings) for e in table.episodes)

    baseline_s, _ = timed(DOCTOR_MOTION)
    all_s, findings = timed(MOTION_SIGNALS)
    dtw_s, _ = timed(("trajectory_outlier",))
    return {
        "episodes": episodes, "frames": frames, "build_s": round(build, 2),
        "all_motion_signals_s": round(all_s, 2), "goal_s": 20.0, "meets_goal": all_s < 20.0,
        "baseline_doctor_motion_signals_s": round(baseline_s, 2),
        "trajectory_outlier_only_s": round(dtw_s, 2),
        "episodes_per_s": round(episodes / all_s, 1), "findings": findings,
    }


def _scene(count: int, width: int = 640, height: int = 480) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(40, 200, (height, width)).astype(np.float32), (0, 0), 1.0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.empty((count, height, width, 3), np.uint8)
    for t in range(count):
        cx, cy = width / 2 + 200 * np.sin(t / 20), height / 2 + 120 * np.cos(t / 25)
        square = np.clip(40 - np.maximum(np.abs(xs - cx), np.abs(ys - cy)), 0, 1)
        picture = texture * (1 - square) + 235 * square + rng.normal(0, 2.0, texture.shape)
        frames[t] = np.clip(picture, 0, 255).astype(np.uint8)[..., None]
    return frames


def _video(count: int, device: str) -> dict:
    from backend.media.encoder import VideoEncoder
    from backend.media.sample import grey_frames
    from backend.signals import camera, video_batch

    frames = _scene(count)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "front.mp4"
        encoder = VideoEncoder(path, 640, 480, 30.0)
        for frame in frames:
            encoder.write(frame)
        encoder.close()
        began = time.perf_counter()
        grey = grey_frames(path, range(count))
        decode_s = time.perf_counter() - began
    order = sorted(grey)
    unique = np.stack([grey[i] for i in order])
    at = np.arange(len(order) - 1)
    nxt = at + 1
    out: dict = {"frames": len(order), "size": "640x480", "decode_s": round(decode_s, 3),
                 "decode_fps": round(len(order) / decode_s, 1)}

    def run(where: str) -> float:
        video_batch.measure_pairs(unique[:8], np.arange(7), np.arange(1, 8), where)  # warm-up
        began = time.perf_counter()
        video_batch.measure_pairs(unique, at, nxt, where)
        if where == "cuda":
            import torch

            torch.cuda.synchronize()
        return time.perf_counter() - began

    out["cpu_threads_chosen"] = video_batch.cpu_threads()
    cpu_s = run("cpu")
    out["torch_cpu_fps"] = round(len(at) / cpu_s, 1)
    default = video_batch.CPU_THREADS
    for threads in (1, 2):
        video_batch.CPU_THREADS = threads
        out[f"torch_cpu_fps_{threads}_threads"] = round(len(at) / run("cpu"), 1)
    video_batch.CPU_THREADS = default
    out["cpu_goal_fps"], out["cpu_meets_goal"] = 300, len(at) / cpu_s >= 300
    if device == "cuda":
        cuda_s = run("cuda")
        out["torch_cuda_fps"] = round(len(at) / cuda_s, 1)
        out["cuda_goal_fps"], out["cuda_meets_goal"] = 2000, len(at) / cuda_s >= 2000
        cpu_values = video_batch.measure_pairs(unique[:64], np.arange(63), np.arange(1, 64), "cpu")
        cuda_values = video_batch.measure_pairs(unique[:64], np.arange(63), np.arange(1, 64), "cuda")
        out["cpu_vs_cuda_max_relative_difference"] = {
            key: float(np.max(np.abs(cpu_values[key] - cuda_values[key]) / np.maximum(np.abs(cpu_values[key]), 1.0)))
            for key in cpu_values
        }
    # baseline: the doctor's OpenCV work per frame (thumbnail, signature, changed pixels vs the next)
    import cv2

    from backend.media.fingerprint import frame_signature

    began = time.perf_counter()
    for k in at:
        picture, following = unique[k], unique[k + 1]
        cv2.resize(picture, camera.THUMB_SIZE, interpolation=cv2.INTER_AREA)
        frame_signature(picture)
        float((cv2.absdiff(picture, following) > camera.PIXEL_CHANGE_LEVEL).mean())
    base_s = time.perf_counter() - began
    out["baseline_doctor_opencv_fps"] = round(len(at) / base_s, 1)
    out["note"] = ("torch measures more per frame than the baseline: the Laplacian (blur), contrast, mean "
                   "and difference too, at half resolution (2x2 averages) from 256 px wide")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--video-frames", type=int, default=240)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--skip-motion", action="store_true")
    parser.add_argument("--skip-video", action="store_true")
    args = parser.parse_args()
    import torch

    report: dict = {
        "benchmark": "quality_speed", "cpus": len(os.sched_getaffinity(0)), "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__, "cuda_available": torch.cuda.is_available(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if not args.skip_motion:
        report["motion"] = _motion(args.episodes, args.frames)
    if not args.skip_video:
        report["video"] = _video(args.video_frames, args.device)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: LeIsaac HDF5 -> LeRobot v2.1 with two 640x480 cameras and H.264, against a baseline.

The baseline does what LeIsaac's converter + LeRobot's writer do: load each demo's arrays whole,
write one PNG per frame and camera while "adding frames" (compress level 1, like LeRobot), compute
image stats from a sample of the PNGs (LeRobot's sample sizes) and encode the PNGs at episode end with LeRobot's H.264 settings (libx264, g=2, crf=30, no preset: x264's
"medium"; ``--baseline-preset`` changes it), then write the parquet.
The studio path is ``backend.convert.hdf5_to_lerobot.run`` (one process per camera reads, encodes and
counts pixels as the frames come; see backend/convert/camera_worker.py).

Each side runs in its own subprocess so that peak RSS (resource.getrusage) is its own; the studio's
camera processes are reported apart (the largest of them). Prints JSON: episode-frames per second of
each, CPU per episode-frame (children included), the speed-up, peak RSS.

    .venv/bin/python benchmarks/convert_hdf5_to_lerobot.py [--demos 3] [--frames 150]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_input(path: Path, demos: int, frames: int) -> Path:
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    spec = RecordingSpec(
        [DemoSpec(frames) for _ in range(demos)], cameras=("front", "wrist"), width=640, height=480
    )
    return write_recording(path, spec)


def run_studio(src: Path, out: Path, skip: int, preset: str | None) -> dict:
    from backend.convert.hdf5_to_lerobot import Hdf5ToLerobotOptions, run

    start = time.perf_counter()
    summary = run(
        [src],
        Hdf5ToLerobotOptions(
            out=out, task="Pick the orange", skip_frames=skip, preset=preset, hash_mode="fast"
        ),
    )
    seconds = time.perf_counter() - start
    return {"frames": summary.frames_written, "seconds": seconds}


def run_baseline(src: Path, out: Path, skip: int, preset: str | None) -> dict:  # noqa: C901
    """LeIsaac + LeRobot's default path: whole demo in memory, PNG per frame, encode at episode end."""
    import cv2
    import h5py
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from backend.formats.lerobot.stats import sample_indices
    from backend.media import VideoEncoder
    from backend.media.image_stats import downsample
    from backend.units import JointSpace, Unit

    space = JointSpace.so101(Unit.RADIANS)
    stats: dict[str, list[np.ndarray]] = {}
    start = time.perf_counter()
    frames_written = 0
    out.mkdir(parents=True)
    with h5py.File(src, "r") as handle:
        names = sorted(handle["data"].keys(), key=lambda n: int(n.split("_")[1]))
        for number, name in enumerate(names):
            demo = handle["data"][name]
            actions = space.convert(np.array(demo["actions"]), Unit.LEROBOT_RANGE).astype(np.float32)
            state = space.convert(np.array(demo["obs/joint_pos"]), Unit.LEROBOT_RANGE).astype(np.float32)
            images = {cam: np.array(demo[f"obs/{cam}"]) for cam in ("front", "wrist")}
            frames_dir = out / "images" / f"episode_{number:06d}"
            rows = []
            for t in range(skip, len(actions)):
                for cam, array in images.items():
                    target = frames_dir / cam / f"frame_{t - skip:06d}.png"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(
                        str(target),
                        cv2.cvtColor(array[t], cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_PNG_COMPRESSION, 1],
                    )
                rows.append((actions[t], state[t], t - skip))
            for cam in images:  # LeRobot's save_episode: image stats from a sample of the PNGs first
                pngs = sorted((frames_dir / cam).glob("*.png"))
                sampled = (
                    np.stack(
                        [downsample(cv2.imread(str(pngs[i]))[..., ::-1]) for i in sample_indices(len(pngs))]
                    ).astype(np.float32)
                    / 255.0
                )
                stats[cam] = [
                    sampled.min(axis=(0, 1, 2)),
                    sampled.max(axis=(0, 1, 2)),
                    sampled.mean(axis=(0, 1, 2)),
                    sampled.std(axis=(0, 1, 2)),
                ]
            for cam in images:
                video = (
                    out / "videos" / "chunk-000" / f"observation.images.{cam}" / f"episode_{number:06d}.mp4"
                )
                video.parent.mkdir(parents=True, exist_ok=True)
                pngs = sorted((frames_dir / cam).glob("*.png"))
                codec = os.environ.get("RS_BENCH_BASELINE_CODEC", "h264")
                baseline_preset = preset or ("medium" if codec == "h264" else None)
                with VideoEncoder(
                    video, 640, 480, 30, codec=codec, crf=30, gop=2, preset=baseline_preset
                ) as writer:
                    for png in pngs:
                        writer.write(cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB))
            shutil.rmtree(frames_dir)
            table = pa.table(
                {
                    "action": [r[0].tolist() for r in rows],
                    "observation.state": [r[1].tolist() for r in rows],
                    "frame_index": [r[2] for r in rows],
                }
            )
            data = out / "data" / "chunk-000" / f"episode_{number:06d}.parquet"
            data.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, data)
            frames_written += len(rows)
            del images
    return {"frames": frames_written, "seconds": time.perf_counter() - start}


def child(mode: str, src: Path, out: Path, skip: int, preset: str | None) -> None:
    os.environ.setdefault("SVT_LOG", "1")
    before = os.times()
    result = (run_studio if mode == "studio" else run_baseline)(src, out, skip, preset)
    after = os.times()
    cpu = (after.user - before.user) + (after.system - before.system)
    # the studio's camera encoder processes are children: count their CPU too
    cpu += (after.children_user - before.children_user) + (after.children_system - before.children_system)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    # the studio's camera encoder processes (one per camera): the largest of them
    result["peak_rss_largest_child_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    result["episode_frames_per_s"] = result["frames"] / result["seconds"]
    result["cpu_ms_per_episode_frame"] = 1000.0 * cpu / result["frames"]
    result["cores_used"] = cpu / result["seconds"]
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demos", type=int, default=3)
    parser.add_argument("--frames", type=int, default=150, help="frames per demo")
    parser.add_argument("--skip", type=int, default=5)
    parser.add_argument(
        "--baseline-codec",
        default="h264",
        choices=["h264", "av1"],
        help="codec of the baseline: h264 (the same output) or av1 (LeRobot's default, what users get unedited)",
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side (the fastest is reported)")
    parser.add_argument(
        "--preset", default=None, help="x264 preset of the studio (default: the writer's, veryfast)"
    )
    parser.add_argument(
        "--baseline-preset", default=None, help="x264 preset of the baseline (default: medium)"
    )
    parser.add_argument("--child", choices=["studio", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(
            args.child,
            args.src,
            args.out,
            args.skip,
            args.preset if args.child == "studio" else args.baseline_preset,
        )
        return
    work = Path(tempfile.mkdtemp(prefix="rs-bench-convert-"))
    try:
        load = os.getloadavg()[0]
        started = time.perf_counter()
        src = make_input(work / "recording.hdf5", args.demos, args.frames)
        generate_s = time.perf_counter() - started
        runs: dict[str, list[dict]] = {"studio": [], "baseline": []}
        for _ in range(args.repeat):  # alternate the sides; the best run of each is reported
            for mode in ("studio", "baseline"):
                out = work / mode
                shutil.rmtree(out, ignore_errors=True)
                argv = [sys.executable, __file__, "--child", mode, "--src", str(src), "--out", str(out)]
                argv += ["--skip", str(args.skip)]
                if args.preset:
                    argv += ["--preset", args.preset]
                if args.baseline_preset:
                    argv += ["--baseline-preset", args.baseline_preset]
                env = dict(os.environ, RS_BENCH_BASELINE_CODEC=args.baseline_codec, SVT_LOG="1")
                done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
                if done.returncode != 0:
                    raise SystemExit(f"{mode} failed:\n{done.stderr}")
                runs[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
        results = {mode: min(items, key=lambda r: r["seconds"]) for mode, items in runs.items()}
        studio, baseline = results["studio"], results["baseline"]
        report = {
            "benchmark": "convert_hdf5_to_lerobot",
            "input": {
                "demos": args.demos,
                "frames_per_demo": args.frames,
                "cameras": 2,
                "size": "640x480",
                "hdf5": "lzf, chunks of 100 frames (LeIsaac streaming layout)",
                "input_mb": round(src.stat().st_size / 1e6, 1),
                "generate_s": round(generate_s, 2),
            },
            "codec": "h264",
            "studio_settings": f"gop 2, crf 30, preset {args.preset or 'veryfast'}, one encoder process per camera",
            "baseline_settings": f"{args.baseline_codec}, gop 2, crf 30, preset "
            f"{args.baseline_preset or ('medium' if args.baseline_codec == 'h264' else 'svt default')}, "
            "PNG per frame, image stats from sampled PNGs, encode at episode end",
            "load_average_before": round(load, 2),
            "cpu_count": os.cpu_count(),
            "studio": {k: round(v, 2) for k, v in studio.items()},
            "baseline_png_then_encode": {k: round(v, 2) for k, v in baseline.items()},
            "speedup": round(studio["episode_frames_per_s"] / baseline["episode_frames_per_s"], 2),
            "repeats": args.repeat,
            "all_runs_episode_frames_per_s": {
                mode: [round(r["episode_frames_per_s"], 1) for r in items] for mode, items in runs.items()
            },
            "load_average_after": round(os.getloadavg()[0], 2),
            "targets": {"speedup": 5.0, "episode_frames_per_s": 100.0},
        }
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

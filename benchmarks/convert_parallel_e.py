"""Benchmark: transcode, LeRobot v3.0 -> v2.1 (re-encode and packet copy) and lerobot-to-hdf5 with
1 and 2 worker processes, against the in-process path (the baseline: what these converters did before
the worker pool; a frozen bundle still does it), small to large inputs.

Each measurement runs in its own subprocess, so its peak RSS (and its workers', the largest child) is
its own; each is the fastest of ``--repeats`` runs (a shared machine is noisy). Prints JSON: the CPU count, per input size and converter the seconds, episode-frames per
second and peak memory of each variant, the speed-up of 2 workers over the baseline, and ``growth``:
how time and peak memory grow from the smallest input to the largest (benchmarks/growth.py).

    .venv/bin/python benchmarks/convert_parallel_e.py [--episodes 4 12] [--frames 60] [--size 320x240]
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
sys.path.insert(0, str(REPO / "benchmarks"))
from growth import growth  # noqa: E402

sys.path.insert(0, str(REPO))

VARIANTS = ("in-process", "jobs=1", "jobs=2")


def make_inputs(folder: Path, episodes: int, frames: int, width: int, height: int) -> dict[str, Path]:
    from backend.convert import hdf5_to_lerobot as h2l
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    spec = RecordingSpec([DemoSpec(frames + 5) for _ in range(episodes)], width=width, height=height)
    recording = write_recording(folder / "r.hdf5", spec)
    out = {"hdf5": recording}
    for fmt in ("v2.1", "v3.0"):
        out[fmt] = folder / fmt
        h2l.run([recording], h2l.Hdf5ToLerobotOptions(out=out[fmt], task="t", format=fmt, hash_mode="fast"))
    return out


def one(kind: str, variant: str, inputs: dict[str, str], out: Path) -> dict:
    """Run one conversion here (called in a fresh subprocess)."""
    from backend.convert import lerobot_to_hdf5 as l2h
    from backend.convert import lerobot_versions as lv
    from backend.convert import transcode as tc
    from backend.convert import video_worker

    if variant == "in-process":
        video_worker.available = lambda: False  # the path a frozen bundle takes: no worker process
    jobs = None if variant == "in-process" else int(variant.split("=")[1])
    start = time.perf_counter()
    if kind == "transcode":
        summary = tc.run(
            Path(inputs["v2.1"]), tc.TranscodeOptions(out=out, force=True, jobs=jobs, hash_mode="fast")
        )
    elif kind in ("v3-to-v2 reencode", "v3-to-v2 copy"):
        codec, reencode = ("h264", True) if kind.endswith("reencode") else ("keep", False)
        options = lv.LerobotVersionOptions(
            out=out, target="v2.1", codec=codec, reencode=reencode, jobs=jobs, hash_mode="fast"
        )
        summary = lv.run(Path(inputs["v3.0"]), options)
    else:
        options = l2h.LerobotToHdf5Options(
            out=out, template=Path(inputs["hdf5"]), copy_states=True, jobs=jobs, hash_mode="fast"
        )
        summary = l2h.run(Path(inputs["v2.1"]), options)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 3),
        "frames": summary.frames_written,
        "frames_per_second": round(summary.frames_written / seconds, 1),
        "peak_rss_mb": _peak_rss_mb(),
        # the largest child process waited for (the workers; in-process: probes and the like)
        "child_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def _peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM; ru_maxrss would keep the forking parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(kind: str, variant: str, inputs: dict[str, Path], folder: Path, repeats: int) -> dict:
    """The fastest of ``repeats`` runs (the machine is shared: the others are its noise)."""
    runs = [_measure_once(kind, variant, inputs, folder) for _ in range(repeats)]
    best = min(runs, key=lambda r: r["seconds"])
    best["all_seconds"] = [r["seconds"] for r in runs]
    return best


def _measure_once(kind: str, variant: str, inputs: dict[str, Path], folder: Path) -> dict:
    out = folder / f"out-{kind.replace(' ', '_')}-{variant}"
    out = out.with_suffix(".hdf5") if kind == "lerobot-to-hdf5" else out
    argv = [
        sys.executable,
        __file__,
        "--one",
        kind,
        variant,
        json.dumps({k: str(v) for k, v in inputs.items()}),
        str(out),
    ]
    done = subprocess.run(argv, check=False, capture_output=True, text=True)  # noqa: S603
    if done.returncode:
        raise RuntimeError(f"{kind} {variant} failed: {done.stderr.strip().splitlines()[-1:]}")
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, nargs="+", default=[4, 12])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", default="320x240")
    parser.add_argument(
        "--kinds", nargs="+", default=["transcode", "v3-to-v2 reencode", "v3-to-v2 copy", "lerobot-to-hdf5"]
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, variant, inputs, out = args.one
        print(json.dumps(one(kind, variant, json.loads(inputs), Path(out))))
        return
    width, height = (int(v) for v in args.size.split("x"))
    result: dict = {
        "cpu_count": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "frames_per_episode": args.frames,
        "cameras": 2,
        "size": args.size,
        "runs": [],
    }
    for episodes in args.episodes:
        with tempfile.TemporaryDirectory(prefix="bench_parallel_e_") as tmp:
            folder = Path(tmp)
            inputs = make_inputs(folder, episodes, args.frames, width, height)
            for kind in args.kinds:
                row = {"episodes": episodes, "kind": kind}
                for variant in VARIANTS:
                    row[variant] = measure(kind, variant, inputs, folder, args.repeats)
                row["speedup_jobs2_vs_in_process"] = round(
                    row["in-process"]["seconds"] / row["jobs=2"]["seconds"], 2
                )
                row["speedup_jobs2_vs_jobs1"] = round(row["jobs=1"]["seconds"] / row["jobs=2"]["seconds"], 2)
                result["runs"].append(row)
                print(json.dumps(row), file=sys.stderr)
    result[
        "growth"
    ] = {  # smallest -> largest input, per converter and variant (peak: the process or its largest child)
        f"{kind} {variant}": growth(
            [
                (
                    r["episodes"],
                    r[variant]["seconds"],
                    max(r[variant]["peak_rss_mb"], r[variant]["child_peak_rss_mb"]),
                )
                for r in result["runs"]
                if r["kind"] == kind
            ]
        )
        for kind in args.kinds
        for variant in VARIANTS
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

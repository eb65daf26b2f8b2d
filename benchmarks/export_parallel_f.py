"""Benchmark: curate export (to LeRobot v3.0), cosmos trainset (encode and pure copy) and idm prepare
with 1 worker (the baseline: the task function in the process) against N worker processes.

Inputs: small LeRobot v2.1 datasets (two 320x240 cameras, ``--frames`` per episode) of ``--sizes``
episodes; AV1 for the trainset's encode case, H.264 (whole per-episode files: copied) for its copy
case; stand-in Cosmos samples (320x240, 16 fps) for idm prepare. Each run is its own subprocess,
so its peak RSS is its own (workers: the largest child). Prints JSON: CPU count, per converter and
size the seconds and peak RSS of each jobs value, the speed-up over jobs=1, and ``growth``: how time
and peak memory grow from the smallest size to the largest (benchmarks/growth.py).

    .venv/bin/python benchmarks/export_parallel_f.py [--sizes 3,6] [--frames 60] [--jobs 2]
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
sys.path.insert(0, str(REPO / "benchmarks"))
from growth import growth  # noqa: E402

SIZE = (320, 240)


def make_inputs(root: Path, episodes: int, frames: int) -> dict[str, Path]:
    from tests.cosmos_data import StandinSample, write_small_lerobot, write_standin_outputs

    lengths = [frames + e for e in range(episodes)]
    h264 = write_small_lerobot(root / "h264", lengths, size=SIZE, cameras=("front", "wrist"))
    av1 = write_small_lerobot(root / "av1", lengths, codec="av1", size=SIZE)
    samples = [StandinSample(f"s_episode_{e:06d}", e, frames, f"Task {e % 2}.") for e in range(episodes)]
    cosmos = write_standin_outputs(h264, root / "cosmos", samples)
    kit = root / "kit"
    kit.mkdir()
    (kit / "modality.json").write_text(json.dumps({"video": {"front": {}}}), encoding="utf-8")
    (kit / "stats.json").write_text("{}", encoding="utf-8")
    return {"h264": h264, "av1": av1, "cosmos": cosmos, "kit": kit}


def run_one(kind: str, jobs: int, inputs: dict[str, str], out: Path) -> None:
    """In a subprocess: one conversion; prints {seconds, rss_mb, child_rss_mb}."""
    start = time.perf_counter()
    if kind == "curate_export":
        from backend.curation import Curation, export_curated
        from backend.formats import open_dataset

        with open_dataset(inputs["h264"]) as dataset:
            curation = Curation(inputs["h264"], sidecar=out.parent / "c.curation.json")
            curation.attach(dataset)
            export_curated(dataset, curation, out, "lerobot_v3.0", jobs=jobs)
    elif kind in ("trainset_encode", "trainset_copy"):
        from backend.cosmos.trainset import TrainsetOptions, build_trainset

        source = inputs["av1" if kind == "trainset_encode" else "h264"]
        build_trainset(source, out, TrainsetOptions(keep_short=True, jobs=jobs, camera="front"))
    elif kind == "idm_prepare":
        from backend.idm.prepare import PrepareOptions, prepare_idm_dataset

        options = PrepareOptions(metadata_dir=inputs["kit"], min_frames=10, jobs=jobs)
        prepare_idm_dataset(inputs["cosmos"], out.parent / "so101.bench", options)
    seconds = time.perf_counter() - start
    # VmHWM: this process's own peak since its exec (ru_maxrss would count the forked parent's)
    own = next(
        int(line.split()[1]) / 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    # the largest worker (an upper bound: a forked child starts with this process's pages counted)
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps({"seconds": round(seconds, 3), "rss_mb": round(own, 1), "child_rss_mb": round(child, 1)})
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="3,6")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--one", nargs=4, metavar=("KIND", "JOBS", "INPUTS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, jobs, inputs, out = args.one
        run_one(kind, int(jobs), json.loads(inputs), Path(out))
        return
    kinds = ("curate_export", "trainset_encode", "trainset_copy", "idm_prepare")
    report: dict = {
        "cpus": len(os.sched_getaffinity(0)),
        "frames_per_episode": args.frames,
        "frame_size": list(SIZE),
        "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench_f_") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            root = Path(tmp) / f"n{size}"
            inputs = {k: str(v) for k, v in make_inputs(root, size, args.frames).items()}
            for kind in kinds:
                row: dict = {}
                for jobs in (1, args.jobs):
                    out = root / f"{kind}_{jobs}" / "out"
                    out.parent.mkdir()
                    done = subprocess.run(
                        [sys.executable, __file__, "--one", kind, str(jobs), json.dumps(inputs), str(out)],
                        capture_output=True,
                        text=True,
                        check=True,
                        cwd=REPO,
                    )
                    row[f"jobs_{jobs}"] = json.loads(done.stdout.strip().splitlines()[-1])
                    shutil.rmtree(out.parent)
                row["speedup"] = round(row["jobs_1"]["seconds"] / row[f"jobs_{args.jobs}"]["seconds"], 2)
                report["results"].setdefault(kind, {})[f"{size}_episodes"] = row
    sizes = [int(s) for s in args.sizes.split(",")]
    report["growth"] = {  # smallest -> largest input (peak: the process or its largest worker)
        f"{kind} jobs={jobs}": growth(
            [
                (
                    size,
                    report["results"][kind][f"{size}_episodes"][f"jobs_{jobs}"]["seconds"],
                    max(
                        report["results"][kind][f"{size}_episodes"][f"jobs_{jobs}"][field]
                        for field in ("rss_mb", "child_rss_mb")
                    ),
                )
                for size in sizes
            ]
        )
        for kind in kinds
        for jobs in (1, args.jobs)
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

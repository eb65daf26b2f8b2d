"""Time a batch comparison: N generated episodes against their sources (metrics incl. DTW).

    python benchmarks/compare_batch.py [--episodes 200] [--length 450] [--out DIR] [--no-files]

Two measurements, printed as one JSON object:
- ``memory``: ``compare_trajectories`` on N in-memory pairs (source 30 fps, generated 16 fps with
  delay, noise and gain), for each alignment mode;
- ``files``: ``compare_batch`` end to end on real LeIsaac HDF5 files written by the studio's writer
  (N generated episodes, paired through a provenance record), as ``rollout-studio compare A B`` runs it.
The baseline, measured in the same run, is a textbook full-matrix DTW (O(N*M) numpy, row by row)
on a sample of the pairs, against the banded DTW the studio uses.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test data writers live in tests/

import numpy as np

from backend.compare.align import band_samples, dtw_distance, resample
from backend.compare.batch import compare_batch
from backend.compare.core import Trajectory, compare_trajectories
from backend.formats import open_dataset
from tests.compare_data import (
    DEG,
    GeneratedSpec,
    generated_values,
    motion_deg,
    write_generated_hdf5,
    write_source_hdf5,
)


def specs_for(n: int, sources: int) -> list[GeneratedSpec]:
    rng = np.random.default_rng(0)
    return [
        GeneratedSpec(
            source_episode=i % sources,
            frame_offset=int(rng.integers(0, 8)),
            delay_s=float(rng.uniform(-0.3, 0.3)),
            noise_deg=float(rng.uniform(0.0, 3.0)),
            gain=float(rng.uniform(0.9, 1.1)),
            seed=i,
        )
        for i in range(n)
    ]


def full_dtw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Textbook DTW over the whole N x M matrix, per joint, row by row (the baseline)."""
    n, m = len(a), len(b)
    out = np.empty(a.shape[1])
    for j in range(a.shape[1]):
        cost = np.abs(a[:, j][:, None] - b[:, j][None, :])
        d = np.empty((n, m))
        d[0] = np.cumsum(cost[0])
        for i in range(1, n):
            up = np.minimum(d[i - 1], np.concatenate([[np.inf], d[i - 1][:-1]])) + cost[i]
            row = np.empty(m)
            row[0] = up[0]
            for k in range(1, m):  # the in-row dependency a textbook version loops over
                row[k] = min(up[k], row[k - 1] + cost[i, k])
            d[i] = row
        out[j] = d[-1, -1] / max(n, m)
    return out


def bench_memory(n: int, length: int) -> dict:
    sources = max(1, n // 4)
    trajectories = [
        Trajectory(motion_deg(np.arange(length) / 30.0, e), 30.0, DEG, f"src{e}") for e in range(sources)
    ]
    specs = specs_for(n, sources)
    generated = [
        Trajectory(generated_values(s, length, 30.0, 16.0), 16.0, DEG, f"gen{i}") for i, s in enumerate(specs)
    ]
    out: dict = {}
    for mode in ("none", "offset", "scale", "dtw"):
        started = time.perf_counter()
        errors = []
        for spec, b in zip(specs, generated, strict=True):
            result = compare_trajectories(trajectories[spec.source_episode], b, mode)
            if mode in ("offset", "dtw"):
                errors.append(abs(result.alignment.offset_s - spec.offset_s(30.0)))
        seconds = time.perf_counter() - started
        out[mode] = {"seconds": round(seconds, 3), "ms_per_pair": round(1000 * seconds / n, 2)}
        if errors:
            out[mode]["offset_error_s"] = {
                "median": round(float(np.median(errors)), 4),
                "max": round(float(np.max(errors)), 4),
            }
    # DTW alone, banded (studio) vs full matrix (baseline), on a few pairs at the comparison grid
    sample = min(n, 3)
    grid_a = [
        resample(trajectories[s.source_episode].values, 30.0, np.arange(0, (length - 1) / 30.0, 1 / 16.0))
        for s in specs[:sample]
    ]
    grid_b = [g.values[: len(a)] for g, a in zip(generated[:sample], grid_a, strict=True)]
    band = band_samples(1.0, 16.0)
    started = time.perf_counter()
    banded = [dtw_distance(a, b, band) for a, b in zip(grid_a, grid_b, strict=True)]
    banded_s = (time.perf_counter() - started) / sample
    started = time.perf_counter()
    full = [full_dtw(a, b) for a, b in zip(grid_a, grid_b, strict=True)]
    full_s = (time.perf_counter() - started) / sample
    started = time.perf_counter()
    wide = [dtw_distance(a, b, 10**6) for a, b in zip(grid_a, grid_b, strict=True)]
    unbanded_s = (time.perf_counter() - started) / sample
    out["dtw_per_pair"] = {
        "samples_per_side": int(len(grid_a[0])),
        "band_samples": int(band),
        "banded_ms": round(1000 * banded_s, 2),
        "baseline_full_matrix_ms": round(1000 * full_s, 2),
        "unbanded_vectorised_ms": round(1000 * unbanded_s, 2),
        "speedup": round(full_s / banded_s, 1) if banded_s else None,
        "unbanded_matches_baseline": bool(all(np.allclose(w, f) for w, f in zip(wide, full, strict=True))),
        "banded_over_full_mean": round(
            float(np.mean([np.mean(b / np.maximum(f, 1e-12)) for b, f in zip(banded, full, strict=True)])), 4
        ),
    }
    return out


def bench_files(n: int, length: int, folder: Path) -> dict:
    sources = max(1, n // 4)
    lengths = [length + 7 * (e % 5) for e in range(sources)]
    started = time.perf_counter()
    src = write_source_hdf5(folder / "source.hdf5", lengths, camera=None)
    gen = write_generated_hdf5(folder / "generated.hdf5", src, specs_for(n, sources), lengths, fps=16.0)
    write_s = time.perf_counter() - started
    out = {
        "write_seconds": round(write_s, 2),
        "source_mb": round(src.stat().st_size / 1e6, 2),
        "generated_mb": round(gen.stat().st_size / 1e6, 2),
    }
    for mode in ("none", "offset", "dtw"):
        started = time.perf_counter()
        with open_dataset(src) as a, open_dataset(gen) as b:
            result = compare_batch(a, b, "action", mode)
        seconds = time.perf_counter() - started
        failed = sum(1 for r in result.rows if r.error)
        out[mode] = {
            "seconds": round(seconds, 3),
            "ms_per_episode": round(1000 * seconds / n, 2),
            "failed": failed,
            "paired_by": sorted({r.pairing for r in result.rows}),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--length", type=int, default=450, help="source frames at 30 fps (450 = 15 s)")
    parser.add_argument("--out", help="folder for the HDF5 files (default: a temporary folder)")
    parser.add_argument("--no-files", action="store_true", help="skip the end-to-end run on files")
    args = parser.parse_args()
    report = {
        "benchmark": "compare_batch",
        "episodes": args.episodes,
        "source_frames": args.length,
        "source_fps": 30.0,
        "generated_fps": 16.0,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "memory": bench_memory(args.episodes, args.length),
    }
    if not args.no_files:
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            report["files"] = bench_files(args.episodes, args.length, Path(args.out))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                report["files"] = bench_files(args.episodes, args.length, Path(tmp))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Large LeRobot v3.0 datasets: inspect, validate --quick, validate, open, first frame.

Builds 100 / 1,000 / 10,000-episode x 100-frame datasets with benchmarks/make_large_dataset.py (cached
under benchmarks/out/large/) and times each command in a fresh subprocess (wall clock, interpreter
start-up included; median of ``--repeats``, a single run once one takes over ``--slow`` seconds) with
its peak RSS (``os.wait4``). Baselines in the same run: ``python -c pass`` and, with ``--old REV``, the
same commands on an earlier revision checked out with ``git worktree add`` (run with this venv and
that checkout first on ``PYTHONPATH``). Prints JSON: the figures, how time and memory grow per 10x
episodes, the CPU count and the load average (the machine may be shared).

Usage: .venv/bin/python benchmarks/large_dataset.py [--sizes 100,1000,10000] [--repeats 3]
       [--old 4b7555b] [--full-max 10000] [--old-full-max 1000] [--hdf5]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out" / "large"
PYTHON = sys.executable
FIRST_FRAME = (
    "import sys; from backend.formats import open_dataset; d = open_dataset(sys.argv[1]); "
    "s = d.episodes[0].stream(next(iter(d.cameras))); s.frame(0); s.close(); d.close()"
)
OPEN = "import sys; from backend.formats import open_dataset; open_dataset(sys.argv[1]).close()"


def commands(path: Path) -> dict[str, list[str]]:
    cli = [PYTHON, "-m", "backend.cli"]
    return {
        "inspect": [*cli, "inspect", str(path)],
        "validate_quick": [*cli, "validate", "--quick", str(path)],
        "validate": [*cli, "validate", str(path)],
        "open_dataset": [PYTHON, "-c", OPEN, str(path)],
        "open_first_frame": [PYTHON, "-c", FIRST_FRAME, str(path)],
    }


def build(episodes: int, fmt: str = "v3.0") -> Path:
    path = OUT / (f"v30-{episodes}" if fmt == "v3.0" else f"h5-{episodes}.hdf5")
    info = path / "meta" / "info.json"
    if fmt == "v3.0" and info.is_file() and json.loads(info.read_text())["total_episodes"] == episodes:
        return path
    if fmt == "hdf5" and path.is_file():
        return path
    if path.exists():
        subprocess.run(["rm", "-rf", str(path)], check=True)  # our own cache folder
    argv = [PYTHON, str(REPO / "benchmarks" / "make_large_dataset.py"), str(path), "--episodes", str(episodes)]
    argv += ["--format", fmt]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return path


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS MiB, exit code) of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss // 1024, process.returncode


def measure(argv: list[str], repeats: int, slow: float, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    times, peaks, codes = [], [], []
    for _ in range(repeats):
        seconds, peak, code = run_once(argv, cwd, env)
        times.append(seconds)
        peaks.append(peak)
        codes.append(code)
        if seconds > slow:
            break
    return {
        "seconds": round(statistics.median(times), 3),
        "runs": len(times),
        "peak_rss_mib": max(peaks),
        "exit_codes": sorted(set(codes)),
    }


def growth(rows: dict[int, dict[str, Any]], field: str) -> float | None:
    """Mean factor per 10x episodes between the smallest and largest size measured."""
    sizes = sorted(n for n, r in rows.items() if r and r.get(field))
    if len(sizes) < 2:
        return None
    low, high = sizes[0], sizes[-1]
    decades = math.log10(high / low)
    return round((rows[high][field] / rows[low][field]) ** (1 / decades), 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow", type=float, default=30.0, help="one run only past this many seconds")
    parser.add_argument("--old", help="an earlier revision to time the same commands on (git worktree)")
    parser.add_argument("--full-max", type=int, default=10_000, help="full validate up to this size")
    parser.add_argument("--old-full-max", type=int, default=1000, help="the old revision's full validate")
    parser.add_argument("--hdf5", action="store_true", help="also a 1,000-demo LeIsaac HDF5 (inspect, quick)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    env = dict(os.environ, SVT_LOG="1", PYTHONPATH=str(REPO))
    started = time.perf_counter()
    datasets = {n: build(n) for n in sizes}
    result: dict[str, Any] = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "dataset": "LeRobot v3.0, 100 frames per episode, one 64x48 H.264 camera, 1,000 episodes per file",
        "baseline_python_pass_s": measure([PYTHON, "-c", "pass"], 5, 99, REPO, env)["seconds"],
        "build_s": round(time.perf_counter() - started, 1),
        "now": {},
    }
    checkouts = {"now": REPO}
    if args.old:
        old = Path(f"/tmp/large-dataset-old-{args.old}")
        if not old.is_dir():
            subprocess.run(["git", "worktree", "add", "--detach", str(old), args.old], cwd=REPO, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        checkouts["old"] = old
        result["old"] = {}
        result["old_revision"] = args.old
    for label, checkout in checkouts.items():
        run_env = dict(env, PYTHONPATH=str(checkout))
        table: dict[str, dict[int, dict[str, Any]]] = {}
        for n, path in datasets.items():
            for name, command in commands(path).items():
                if name == "validate" and n > (args.full_max if label == "now" else args.old_full_max):
                    continue
                if name == "validate_quick" and label == "old":
                    continue  # no --quick before
                table.setdefault(name, {})[n] = measure(command, args.repeats, args.slow, checkout, run_env)
                print(f"{label} {name} {n}: {table[name][n]}", file=sys.stderr)
        result[label] = {
            name: {
                "by_episodes": {str(n): row for n, row in rows.items()},
                "time_factor_per_10x": growth(rows, "seconds"),
                "memory_factor_per_10x": growth(rows, "peak_rss_mib"),
            }
            for name, rows in table.items()
        }
    if args.hdf5:
        path = build(1000, "hdf5")
        result["hdf5_1000_demos"] = {
            name: measure(command, args.repeats, args.slow, REPO, env)
            for name, command in commands(path).items()
            if name in ("inspect", "validate_quick", "open_dataset")
        }
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

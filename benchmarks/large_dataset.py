"""Large LeRobot v3.0 datasets: inspect, validate --quick, validate, open, first frame.

Builds 100 / 1,000 / 10,000-episode x 100-frame datasets with benchmarks/make_large_dataset.py (cached
under benchmarks/out/large/) and times each command in a fresh subprocess (wall clock, interpreter
start-up included; median of ``--repeats``, a single run once one takes over ``--slow`` seconds) with
its peak RSS and CPU seconds (``os.wait4``; CPU is the steadier figure on a shared machine).
Baselines in the same run: ``python -c pass`` and, with ``--old REV``, the same commands on an earlier
revision checked out with ``git worktree add`` (run with this venv and that checkout first on
``PYTHONPATH``). Prints JSON: the figures, how time and memory grow per 10x
episodes, the CPU count and the load average (the machine may be shared).

LeIsaac HDF5 rows (``--hdf5-sizes 100,1000``: recordings of that many 100-step demos with two 16x12
cameras, from the same script): inspect, validate --quick, validate, open and first frame, on this
checkout and on ``--old`` in the same run. ``--sizes none`` skips the LeRobot rows.

Usage: .venv/bin/python benchmarks/large_dataset.py [--sizes 100,1000,10000] [--repeats 3]
       [--old 4b7555b] [--full-max 10000] [--old-full-max 1000] [--hdf5-sizes 100,1000] [--hdf5]
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


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int, float]:
    """(wall seconds, peak RSS MiB, exit code, CPU seconds: user + system) of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss // 1024, process.returncode, usage.ru_utime + usage.ru_stime


def measure(argv: list[str], repeats: int, slow: float, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    times, peaks, codes, cpu = [], [], [], []
    for _ in range(repeats):
        seconds, peak, code, cpu_seconds = run_once(argv, cwd, env)
        times.append(seconds)
        cpu.append(cpu_seconds)
        peaks.append(peak)
        codes.append(code)
        if seconds > slow:
            break
    return {
        "seconds": round(statistics.median(times), 3),
        "cpu_seconds": round(statistics.median(cpu), 3),  # user + system: steadier on a shared machine
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


def time_table(
    datasets: dict[int, Path], checkout: Path, env: dict[str, str], args: argparse.Namespace, label: str,
    full_max: int, quick: bool = True,
) -> dict[str, Any]:
    """Every command on every size, with its growth per 10x (one checkout)."""
    run_env = dict(env, PYTHONPATH=str(checkout))
    table: dict[str, dict[int, dict[str, Any]]] = {}
    for n, path in datasets.items():
        for name, command in commands(path).items():
            if name == "validate" and n > full_max:
                continue
            if name == "validate_quick" and not quick:
                continue  # no --quick before
            table.setdefault(name, {})[n] = measure(command, args.repeats, args.slow, checkout, run_env)
            print(f"{label} {name} {n}: {table[name][n]}", file=sys.stderr)
    return {
        name: {
            "by_episodes": {str(n): row for n, row in rows.items()},
            "time_factor_per_10x": growth(rows, "seconds"),
            "memory_factor_per_10x": growth(rows, "peak_rss_mib"),
        }
        for name, rows in table.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow", type=float, default=30.0, help="one run only past this many seconds")
    parser.add_argument("--old", help="an earlier revision to time the same commands on (git worktree)")
    parser.add_argument("--full-max", type=int, default=10_000, help="full validate up to this size")
    parser.add_argument("--old-full-max", type=int, default=1000, help="the old revision's full validate")
    parser.add_argument("--hdf5", action="store_true", help="LeIsaac HDF5 rows too (--hdf5-sizes)")
    parser.add_argument("--hdf5-sizes", default="", help="demos per LeIsaac HDF5 (e.g. 100,1000; implies --hdf5)")
    args = parser.parse_args(argv)
    sizes = [] if args.sizes in ("", "none") else [int(s) for s in args.sizes.split(",")]
    hdf5_sizes = [int(s) for s in (args.hdf5_sizes or ("1000" if args.hdf5 else "")).split(",") if s]
    env = dict(os.environ, SVT_LOG="1", PYTHONPATH=str(REPO))
    started = time.perf_counter()
    datasets = {n: build(n) for n in sizes}
    hdf5_files = {n: build(n, "hdf5") for n in hdf5_sizes}
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
        if datasets:
            full_max = args.full_max if label == "now" else args.old_full_max
            result[label] = time_table(datasets, checkout, env, args, label, full_max, quick=label == "now")
        if hdf5_files:
            has_quick = (checkout / "backend" / "doctor_quick.py").is_file()
            result.setdefault("hdf5", {})[label] = time_table(
                hdf5_files, checkout, env, args, f"{label} hdf5", args.full_max, quick=has_quick
            )
    if hdf5_files:
        result["hdf5"]["dataset"] = "LeIsaac HDF5, 100 steps per demo, two 16x12 lzf cameras, states and initial_state"
        if "old" in result["hdf5"]:
            result["hdf5"]["speedup_old_over_now"] = {
                name: {
                    n: {
                    "wall": round(old["seconds"] / now["seconds"], 2),
                    "cpu": round(old["cpu_seconds"] / now["cpu_seconds"], 2),
                }
                    for n, now in rows["by_episodes"].items()
                    if (old := result["hdf5"]["old"].get(name, {}).get("by_episodes", {}).get(n))
                }
                for name, rows in result["hdf5"]["now"].items()
            }
    for label in ("now", "old"):
        if result.get(label) == {}:
            del result[label]
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Start-up of the desktop bundle versus the venv (issue #21): a CLI command and the GUI, same machine,
same run. Needs a built bundle (`./dev.sh bundle`).

    .venv/bin/python benchmarks/bundle_start.py [--bundle dist/rollout-studio/rollout-studio] [--runs 3]

Per variant: `--version`, `inspect DEMO.hdf5` (a real command: imports h5py, opens the file) and the
GUI opening the demo file offscreen (`--screenshot --timing`): time from process start to the first
video frame shown (read from its stdout as it happens) and to exit. `first` is the first run of the
variant in this process (page cache as it was: the coldest this benchmark can get without dropping
the machine's caches), `median` over --runs. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def clean_env(home: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
            "XDG_RUNTIME_DIR": str(home)}


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, timeout=600)  # noqa: S603
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: {done.stderr.decode(errors='replace')[-800:]}")
    return elapsed


def gui(exe: str, dataset: Path, env: dict[str, str], cwd: Path, shot: Path) -> tuple[float, float]:
    """(seconds to the first frame shown, seconds to exit)."""
    start = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603
        [exe, str(dataset), "--screenshot", str(shot), "--timing", "--settle", "0", "--size", "1280x800",
         "--workspace", str(cwd / "ws")],
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    first = float("nan")
    for line in proc.stdout:
        if line.startswith("{") and "first_frame_s" in line:
            first = time.perf_counter() - start
    proc.wait(timeout=600)
    return first, time.perf_counter() - start


def summary(values: list[float]) -> dict[str, float]:
    return {"first": round(values[0], 3), "median": round(statistics.median(values), 3),
            "min": round(min(values), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(REPO / "dist" / "rollout-studio" / "rollout-studio"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bundle = Path(args.bundle).absolute()
    if not bundle.is_file():
        raise SystemExit(f"error: no bundle at {bundle}; build it with ./dev.sh bundle")
    variants = {"venv": str(REPO / ".venv" / "bin" / "rollout-studio"), "bundle": str(bundle)}
    result: dict = {
        "benchmark": "bundle_start",
        "cpus": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "runs": args.runs,
        "bundle_size_mb": round(sum(f.lstat().st_size for f in bundle.parent.rglob("*")
                                    if f.is_file() and not f.is_symlink()) / 2**20, 1),
        "python": sys.version.split()[0],
    }
    with tempfile.TemporaryDirectory(prefix="rs-bundle-start-") as tmp:
        root = Path(tmp)
        env = clean_env(root)
        demo = Path(subprocess.run([variants["venv"], "demo-data", str(root / "demo"), "--quiet"], env=env,  # noqa: S603
                                   capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        for name, exe in variants.items():
            version, inspect, first_frame, gui_exit = [], [], [], []
            for run in range(args.runs):
                version.append(timed([exe, "--version"], env, root))
                inspect.append(timed([exe, "inspect", str(demo)], env, root))
                frame, total = gui(exe, demo, env, root, root / f"{name}-{run}.png")
                first_frame.append(frame)
                gui_exit.append(total)
            result[name] = {
                "cli_version_s": summary(version),
                "cli_inspect_s": summary(inspect),
                "gui_first_frame_s": summary(first_frame),
                "gui_screenshot_exit_s": summary(gui_exit),
            }
    result["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

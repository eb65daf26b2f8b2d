"""Crash benchmark: kill -9 `rollout-studio record` (with its writer process: a power cut as far
as the processes go) at random moments, then count unreadable outputs.

Each run records from a virtual SO-101 (served by its own process) and two file-backed 640x480
cameras into a fresh output; it is killed at a random time between --min and --max seconds after
launch (before the file exists, while groups are created, mid-episode, at episode ends). Then:
is the file readable with every finished episode intact; what does recovery do; how much of the
running episode was lost.

    python benchmarks/teleop_crash.py --runs 50 [--format hdf5|lerobot] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.teleop.demo_media import write_demo_video  # noqa: E402
from backend.teleop.hdf5_recorder import check_readable, find_unfinished, recover  # noqa: E402
from backend.teleop.lerobot_recorder import find_unfinished_lerobot, recover_lerobot  # noqa: E402


def wait_group_gone(pgid: int, timeout: float = 10.0) -> None:
    """After killpg: the writer process dies a moment after the recorder (and holds the file lock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def lerobot_readable(path: Path) -> dict:
    from backend.formats import open_dataset

    try:
        with open_dataset(path) as dataset:
            for episode in dataset.episodes:  # read every finished episode's arrays and last frame
                for key in ("action", "observation.state"):
                    values = dataset.reader.read_array(episode, key)
                    assert len(values) == episode.length
                for camera in dataset.cameras:
                    stream = dataset.reader.open_stream(episode, camera)
                    try:
                        stream.frame(episode.length - 1)
                    finally:
                        stream.close()
            return {"readable": True, "finished": len(dataset.episodes)}
    except Exception as error:  # noqa: BLE001 - anything here is "unreadable"
        return {"readable": False, "error": f"{type(error).__name__}: {error}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--format", choices=("hdf5", "lerobot"), default="hdf5")
    parser.add_argument("--min", type=float, default=0.5)
    parser.add_argument("--max", type=float, default=7.0)
    parser.add_argument("--episode-seconds", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="rs-crash-"))
    videos = [
        write_demo_video(tmp / f"{k}.mp4", k, 640, 480, seconds=2.0, crf=18) for k in ("front", "wrist")
    ]
    cal = tmp / "leader.json"
    arm = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "virtual-arm",
            "--calibrated",
            "--write-calibration",
            str(cal),
            "--motion",
            "pick",
            "--realtime",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    device = arm.stdout.readline().strip()
    rows = []
    try:
        for run in range(args.runs):
            out = tmp / (f"run{run:03d}.hdf5" if args.format == "hdf5" else f"run{run:03d}")
            argv = [
                sys.executable,
                "-m",
                "backend.cli",
                "record",
                "--leader",
                device,
                "--leader-calibration",
                str(cal),
                "--camera",
                f"front={videos[0]}",
                "--camera",
                f"wrist={videos[1]}",
                "--out",
                str(out),
                "--format",
                args.format,
                "--episode-seconds",
                str(args.episode_seconds),
                "--quiet",
            ]
            proc = subprocess.Popen(
                argv,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            delay = rng.uniform(args.min, args.max)
            time.sleep(delay)
            killed_at = time.time()
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            wait_group_gone(proc.pid)
            row: dict = {"run": run, "kill_after_s": round(delay, 2)}
            if not out.exists():
                row["state"] = "no output yet"
                rows.append(row)
                continue
            if args.format == "hdf5":
                before = check_readable(out)
                row["readable"] = before["readable"]
                row["finished"] = before.get("finished", 0)
                row["unfinished"] = before.get("unfinished", 0)
                if not before["readable"]:
                    row["error"] = before["error"]
                unfinished = find_unfinished(out)
                try:
                    done = recover(out, "keep")
                    row["recovery"] = [f"{d.name} {d.action} {d.length}" for d in done]
                    if unfinished:
                        import h5py

                        with h5py.File(out) as f:
                            demo = f["data"][unfinished[0]]
                            running = killed_at - float(demo.attrs["rs_started_unix"])
                            row["lost_s"] = round(running - int(demo.attrs["num_samples"]) / 60.0, 3)
                except Exception as error:  # noqa: BLE001
                    row["recovery_error"] = str(error)
                after = check_readable(out)
                row["readable_after_recovery"] = after["readable"] and after.get("unfinished", 1) == 0
            else:
                before = (
                    lerobot_readable(out)
                    if (out / "meta" / "info.json").exists()
                    else {"readable": False, "error": "no meta yet"}
                )
                row.update({"readable": before["readable"], "finished": before.get("finished", 0)})
                if not before["readable"]:
                    row["error"] = before.get("error")
                row["unfinished"] = int(find_unfinished_lerobot(out))
                row["recovery"] = recover_lerobot(out)
                after = lerobot_readable(out)
                row["readable_after_recovery"] = after["readable"] and not find_unfinished_lerobot(out)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        arm.terminate()
        arm.wait()
    created = [r for r in rows if "readable" in r]
    lost = [r["lost_s"] for r in created if "lost_s" in r]
    report = {
        "benchmark": "teleop_crash",
        "format": args.format,
        "runs": len(rows),
        "kills_before_output_existed": len(rows) - len(created),
        "unreadable_files": sum(not r["readable"] for r in created),
        "unreadable_after_recovery": sum(not r["readable_after_recovery"] for r in created),
        "finished_episodes_kept": sum(r.get("finished", 0) for r in created),
        "runs_with_an_unfinished_episode": sum(bool(r.get("unfinished")) for r in created),
        "lost_seconds_of_running_episode": {
            "p50": round(float(np.median(lost)), 3) if lost else None,
            "max": round(float(max(lost)), 3) if lost else None,
        },
        "errors": [r.get("error") for r in created if r.get("error")][:5],
    }
    print(json.dumps(report, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""joint -> EEF -> joint round trip (backend/ik.py) on the real SO-101 datasets: error and speed, JSON.

For every episode of every SO-101 dataset in ../shared/data: the joint actions (converted to radians
as `convert joint-to-eef` does) go through forward kinematics to the 8-D EEF actions and back through
inverse kinematics. Reported: the reached-pose error (mm, degrees), the joint error against the
original joints (degrees), forward kinematics and IK frames per second. Baseline in the same run: the
same IK with every frame started cold (from the middle of the joint ranges), and with every frame
started from the previous answer only (no velocity seed, no restarts). A synthetic 3000-frame
trajectory measures speed at a longer length; the test recordings' demo 0 (230 frames) shows the
branch flip the velocity seed avoids.

    .venv/bin/python benchmarks/eef_roundtrip.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"

from backend.convert.eef_common import error_stats  # noqa: E402
from backend.formats import open_dataset  # noqa: E402
from backend.ik import ArmChain, rotation_angles, solve_pose, solve_trajectory  # noqa: E402
from backend.kinematics import joint_angles_rad  # noqa: E402


def _round_trip(chain: ArmChain, q: np.ndarray, warm: bool | str) -> dict:
    poses = chain.fk_many(q)
    start = time.perf_counter()
    if warm == "previous":  # the plain warm start: each frame from the previous answer only
        answers, current = [], q[0]
        for pose in poses:
            answers.append(solve_pose(chain, pose, current))
            current = answers[-1][0]
        solved = np.array([a[0] for a in answers])
        iterations = np.array([a[3] for a in answers])
    elif warm:
        result = solve_trajectory(poses, q[0], chain)
        solved, iterations = result.q, result.iterations
    else:
        middle = (chain.lower + chain.upper) / 2
        answers = [solve_pose(chain, pose, middle) for pose in poses]
        solved = np.array([a[0] for a in answers])
        iterations = np.array([a[3] for a in answers])
    seconds = time.perf_counter() - start
    reached = chain.fk_many(solved)
    stats = error_stats(
        [np.linalg.norm(reached[:, :3, 3] - poses[:, :3, 3], axis=1)],
        [rotation_angles(reached[:, :3, :3], poses[:, :3, :3])],
        [np.abs(solved - q).max(axis=1)],
    )
    stats["ik_frames_per_second"] = round(len(q) / seconds, 1)
    stats["mean_iterations"] = round(float(np.mean(iterations)), 2)
    return stats


def _rounded(stats: dict) -> dict:
    return {k: (float(f"{v:.3g}") if isinstance(v, float) else v) for k, v in stats.items()}


def main() -> None:
    chain = ArmChain()
    report: dict = {"cpu_count": len(os.sched_getaffinity(0)), "datasets": {}, "skipped": {}}
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()) if DATA.is_dir() else []:
        try:
            dataset = open_dataset(folder)
        except Exception as error:  # noqa: BLE001 - a benchmark lists what it could not read
            report["skipped"][folder.name] = str(error).splitlines()[0]
            continue
        with dataset:
            episodes = []
            for episode in dataset.episodes:
                values = episode.joints("action")
                q = joint_angles_rad(values.values, values.space)
                if q is None:
                    report["skipped"][folder.name] = "actions are not single-arm SO-101 joints"
                    break
                start = time.perf_counter()
                chain.fk_many(q[:, :5])
                fk_fps = len(q) / (time.perf_counter() - start)
                warm = _round_trip(chain, q[:, :5], warm=True)
                cold = _round_trip(chain, q[:, :5], warm=False)
                plain = _round_trip(chain, q[:, :5], warm="previous")
                episodes.append(
                    {
                        "episode": episode.index,
                        "frames": len(q),
                        "fk_frames_per_second": round(fk_fps, 1),
                        "warm_start": _rounded(warm),
                        "baseline_cold_start": _rounded(cold),
                        "baseline_previous_answer_only": _rounded(plain),
                    }
                )
            if episodes:
                report["datasets"][folder.name] = episodes
    t = np.linspace(0, 100, 3000)[:, None]
    q = 0.6 * np.sin(2 * np.pi * t * np.array([0.11, 0.07, 0.05, 0.13, 0.09]) + np.arange(5))
    report["synthetic_3000_frames"] = {
        "warm_start": _rounded(_round_trip(chain, q, warm=True)),
        "baseline_cold_start": _rounded(_round_trip(chain, q, warm=False)),
    }
    from tests.recordings import joint_targets

    q = joint_targets(0, 230, 6)[:, :5].astype(np.float64)  # the test recordings' demo 0
    report["test_recording_230_frames"] = {
        "warm_start": _rounded(_round_trip(chain, q, warm=True)),
        "baseline_previous_answer_only": _rounded(_round_trip(chain, q, warm="previous")),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

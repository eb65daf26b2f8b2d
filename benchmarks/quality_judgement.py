"""The learned judgement against a hidden rule: held-out accuracy and the learning curve, as JSON.

The dataset: ``--episodes`` synthetic SO-101 demonstrations (60-120 frames at 30 fps, an in-memory
dataset read through the studio's data model): smooth minimum-jerk reaches between random poses,
operator tremor, and in some episodes a quick "snap" correction of the shoulder_lift (a smoothstep
of random size over 3-10 frames at a random time).

The hidden rule (the operator's judgement): an episode is BAD when the peak |acceleration| of the
shoulder_lift in the action exceeds ``--limit`` deg/s^2 (default: the 65th percentile of the
episodes, so about a third are bad). The model never sees that number. It sees:

* ``trajectory``: only the trajectory features (length, duration, per-joint range and mean speed,
  overall mean and peak speed, path length), which a snap moves only a little (correlated);
* ``trajectory+signals``: those plus every motion signal's value from ``compute_scores`` (jerky,
  velocity_spike, joint_jump, ...: the whole-episode worst over joints, a closer but still indirect
  view).

For each training size (``--sizes``, default 10/20/50 ratings, half good and half bad for 10, drawn
at random otherwise) and ``--repeats`` random draws, the model is fitted on those ratings and scored
on a fixed held-out set of ``--held-out`` episodes; the baseline in the same run is the majority
class of the held-out set. Reported: mean and spread of the held-out accuracy, the mean of the
cross-validated accuracy the model reports about itself, and the fit time (wall and CPU: the k
cross-validation fits and the final one).

    .venv/bin/python benchmarks/quality_judgement.py [--episodes 400] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.model import Dataset, DatasetFormat, DatasetReader, Episode, Feature, FeatureKind  # noqa: E402
from backend.units import SO101_JOINTS, JointSpace, Unit  # noqa: E402

FPS = 30.0
LIFT = SO101_JOINTS.index("shoulder_lift")


def _smoothstep(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10 - 15 * s + 6 * s**2)


def make_episode(rng: np.random.Generator) -> np.ndarray:
    """(T, 6) action in degrees: reaches between random poses, tremor, maybe a shoulder snap."""
    length = int(rng.integers(60, 121))
    centre = np.array([0.0, -40.0, 50.0, 40.0, 0.0, 30.0])
    poses = centre + rng.uniform(-25, 25, size=(4, 6))
    t = np.arange(length) / (length - 1) * 3
    segment = np.minimum(t.astype(int), 2)
    s = _smoothstep(t - segment)[:, None]
    values = poses[segment] * (1 - s) + poses[segment + 1] * s
    values += rng.normal(0.0, rng.uniform(0.01, 0.04), size=values.shape)  # tremor
    if rng.random() < 0.6:
        frames = int(rng.integers(3, 11))
        start = int(rng.integers(5, length - frames - 5))
        size = rng.uniform(2.0, 25.0) * rng.choice([-1.0, 1.0])
        ramp = _smoothstep((np.arange(length) - start) / frames)
        values[:, LIFT] += size * ramp
    return values


def peak_acceleration(values: np.ndarray) -> float:
    """The hidden quantity: peak |second difference| of the shoulder_lift, in deg/s^2."""
    return float(np.abs(np.diff(values[:, LIFT], 2)).max() * FPS * FPS)


class _Reader(DatasetReader):
    def __init__(self, arrays: list[np.ndarray]) -> None:
        self.arrays = arrays

    def read_array(self, episode: Episode, key: str) -> np.ndarray:
        return np.radians(self.arrays[episode.index]).astype(np.float32)

    def open_stream(self, episode: Episode, camera: str) -> None:
        raise KeyError(camera)  # no cameras

    def close(self) -> None:
        pass


def make_dataset(arrays: list[np.ndarray]) -> Dataset:
    space = JointSpace(SO101_JOINTS, Unit.RADIANS)
    feature = Feature("actions", FeatureKind.VECTOR, "float32", (6,), list(SO101_JOINTS), space)
    dataset = Dataset(
        path=REPO / "benchmarks" / "out" / "quality_judgement.memory",
        format=DatasetFormat.LEISAAC_HDF5,
        fps=FPS,
        robot_type="so101",
        features={"actions": feature},
        tasks=["reach"],
        reader=_Reader(arrays),
        roles={"action": "actions"},
        cameras={},
    )
    for i, values in enumerate(arrays):
        dataset.episodes.append(Episode(dataset, i, len(values), task="reach", success=True, source=f"demo_{i}"))
    return dataset


def draw(rng: np.random.Generator, pool: list[int], labels: dict[int, int], size: int) -> dict[int, int] | None:
    if size <= 10:  # the fewest a model takes: half of each class
        good = [e for e in pool if labels[e]]
        bad = [e for e in pool if not labels[e]]
        chosen = list(rng.choice(good, size // 2, replace=False)) + list(rng.choice(bad, size - size // 2, replace=False))
    else:
        chosen = list(rng.choice(pool, size, replace=False))
    ratings = {int(e): labels[int(e)] for e in chosen}
    good = sum(ratings.values())
    return ratings if min(good, len(ratings) - good) >= 4 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument("--held-out", type=int, default=150)
    parser.add_argument("--sizes", default="10,20,50")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--limit", type=float, default=None, help="deg/s^2 (default: 65th percentile)")
    parser.add_argument("--hidden", type=int, default=0)
    args = parser.parse_args()

    from backend.scores.compute import MOTION_SIGNALS, compute_scores
    from backend.scores.judgement import dataset_trajectories, episode_inputs, fit

    rng = np.random.default_rng(2026)
    arrays = [make_episode(rng) for _ in range(args.episodes)]
    peaks = np.array([peak_acceleration(a) for a in arrays])
    limit = float(np.percentile(peaks, 65)) if args.limit is None else args.limit
    labels = {e: int(peaks[e] <= limit) for e in range(args.episodes)}  # 1 = good
    dataset = make_dataset(arrays)

    started = time.perf_counter()
    trajectories = dataset_trajectories(dataset)
    trajectory_s = time.perf_counter() - started
    started = time.perf_counter()
    signals = [name for name in MOTION_SIGNALS if name != "near_duplicate_episodes"]
    table = compute_scores(dataset, signals=signals, device="cpu")
    signals_s = time.perf_counter() - started
    views = {
        "trajectory": {e: dict(v) for e, v in trajectories.items()},
        "trajectory+signals": episode_inputs(table, trajectories),
    }

    held_out = list(range(args.episodes - args.held_out, args.episodes))
    pool = list(range(args.episodes - args.held_out))
    truth = np.array([labels[e] for e in held_out])
    majority = float(max(truth.mean(), 1 - truth.mean()))
    results: dict[str, list[dict[str, float]]] = {}
    for view, inputs in views.items():
        curve = []
        for size in (int(s) for s in args.sizes.split(",")):
            draws = np.random.default_rng(size)
            held, crossed, seconds, cpu = [], [], [], []
            while len(held) < args.repeats:
                ratings = draw(draws, pool, labels, size)
                if ratings is None:
                    continue
                begun, begun_cpu = time.perf_counter(), time.process_time()
                judgement = fit(inputs, ratings, args.hidden)
                seconds.append(time.perf_counter() - begun)
                cpu.append(time.process_time() - begun_cpu)
                predicted = judgement.predict(inputs, held_out)
                guess = np.array([int(predicted[e] >= 0.5) for e in held_out])
                held.append(float((guess == truth).mean()))
                crossed.append(judgement.accuracy)
            curve.append({
                "ratings": size,
                "held_out_accuracy": round(float(np.mean(held)), 3),
                "held_out_accuracy_std": round(float(np.std(held)), 3),
                "held_out_accuracy_min": round(float(np.min(held)), 3),
                "reported_cv_accuracy": round(float(np.mean(crossed)), 3),
                "fit_s": round(float(np.mean(seconds)), 3),  # wall: k folds + the final fit
                "fit_cpu_s": round(float(np.mean(cpu)), 3),
            })
        results[view] = curve

    print(json.dumps({
        "benchmark": "quality_judgement",
        "cpu_count": len(os.sched_getaffinity(0)),
        "rule": f"bad when the peak |acceleration| of the shoulder_lift exceeds {limit:.0f} deg/s^2 "
                "(not an input of the model)",
        "episodes": args.episodes,
        "held_out": args.held_out,
        "bad_fraction": round(1 - float(np.mean(list(labels.values()))), 3),
        "repeats": args.repeats,
        "model": f"mlp({args.hidden})" if args.hidden else "logistic",
        "baseline_majority_accuracy": round(majority, 3),
        "features": {view: len({k for v in inputs.values() for k in v}) for view, inputs in views.items()},
        "feature_seconds": {"trajectory": round(trajectory_s, 2), "motion_signals": round(signals_s, 2)},
        "learning_curve": results,
    }, indent=1))


if __name__ == "__main__":
    main()

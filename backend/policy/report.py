"""The report of an evaluation run, read back from its recording (the recording is the truth).

- success rate over the episodes labelled success or failure (aborted ones are counted apart), with
  a 95 % Wilson score interval;
- per-episode duration (rows / fps) and label;
- round-trip latency per chunk (``extras/latency_ms`` of each chunk's first row): p50 / p90 / p99;
- against the training dataset (``backend.compare``): each episode's executed actions compared with
  every training episode's actions in one unit, the nearest one reported (RMSE, MAE, end-effector
  distance where both are SO-101).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from backend.compare import Trajectory, compare_trajectories
from backend.errors import StudioError
from backend.numbers import fixed

SCHEMA = "rollout_studio.eval_report/1"


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion ((0, 1) when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None, "count": 0}
    array = np.asarray(values, dtype=np.float64)
    return {"p50": float(np.percentile(array, 50)), "p90": float(np.percentile(array, 90)),
            "p99": float(np.percentile(array, 99)), "max": float(array.max()), "count": len(values)}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_episodes(recording: str | Path) -> tuple[float, list[dict[str, Any]]]:
    """(fps, one record per evaluation demo) from an evaluation recording."""
    path = Path(recording)
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise StudioError(f"cannot open the evaluation recording ({error})", path) from error
    with f:
        data = f.get("data")
        if data is None:
            raise StudioError("not a LeIsaac HDF5 recording (no /data)", path)
        fps = float(data.attrs.get("fps", 0) or f.attrs.get("fps", 0) or 30.0)
        out = []
        names = sorted(data, key=lambda n: int(n.split("_")[-1]) if n.split("_")[-1].isdigit() else 0)
        for name in names:
            group = data[name]
            if "rs_eval_label" not in group.attrs:
                continue
            steps = int(group.attrs.get("num_samples", 0))
            latencies: list[float] = []
            if steps and "extras/chunk" in group:
                chunks = group["extras/chunk"][:steps]
                latency = group["extras/latency_ms"][:steps]
                _, first = np.unique(chunks, return_index=True)
                latencies = [float(latency[i]) for i in sorted(first)]
            out.append({
                "demo": name,
                "label": _text(group.attrs["rs_eval_label"]),
                "reason": _text(group.attrs.get("rs_eval_reason", "")),
                "steps": steps,
                "duration_s": steps / fps if fps else 0.0,
                "chunk_latencies_ms": latencies,
            })
    return fps, out


def _nearest_training(recording: Path, training: Path, max_training: int) -> list[dict[str, Any]]:
    from backend.formats import open_dataset

    out = []
    with open_dataset(recording) as evaluated, open_dataset(training) as train:
        count = min(train.num_episodes, max_training)
        references = []
        for i in range(count):
            try:
                references.append(Trajectory.from_episode(train.episode(i)))
            except StudioError:
                continue
        for index in range(evaluated.num_episodes):
            episode = evaluated.episode(index)
            demo = str(episode.extra.get("demo", episode.index))
            if episode.length < 2 or not references:
                out.append({"demo": demo, "nearest": None})
                continue
            trajectory = Trajectory.from_episode(episode)
            best: tuple[float, int, dict[str, Any]] | None = None
            for i, reference in enumerate(references):
                summary = compare_trajectories(reference, trajectory, "none", with_dtw=False).summary()
                if best is None or summary["rmse"] < best[0]:
                    best = (summary["rmse"], i, summary)
            assert best is not None
            summary = best[2]
            out.append({"demo": demo, "nearest": best[1], "rmse_deg": summary["rmse"], "mae_deg": summary["mae"],
                        "worst_joint": summary["worst_joint"], "ee_mean_mm": summary.get("ee_mean_mm")})
    return out


def build_report(recording: str | Path, training: str | Path | None = None, max_training: int = 50) -> dict:
    """The report of one evaluation recording (JSON-ready)."""
    recording = Path(recording)
    fps, episodes = read_episodes(recording)
    judged = [e for e in episodes if e["label"] in ("success", "failure")]
    successes = sum(e["label"] == "success" for e in judged)
    low, high = wilson_interval(successes, len(judged))
    durations = [e["duration_s"] for e in episodes]
    latencies = [v for e in episodes for v in e["chunk_latencies_ms"]]
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "recording": str(recording),
        "fps": fps,
        "episodes": episodes,
        "success": {
            "episodes": len(judged),
            "successes": successes,
            "aborted": sum(e["label"] == "aborted" for e in episodes),
            "rate": successes / len(judged) if judged else None,
            "ci95": [low, high],
        },
        "duration_s": {
            "mean": float(np.mean(durations)) if durations else None,
            "min": float(np.min(durations)) if durations else None,
            "max": float(np.max(durations)) if durations else None,
        },
        "latency_ms": percentiles(latencies),
    }
    if training is not None:
        report["training"] = {"dataset": str(training),
                              "episodes": _nearest_training(recording, Path(training), max_training)}
    return report


def format_report(report: dict) -> str:
    """A few lines for a terminal or the Evaluate mode."""
    s = report["success"]
    rate = "–" if s["rate"] is None else f"{100 * s['rate']:.0f} %"
    lines = [
        f"success {s['successes']}/{s['episodes']} = {rate} (95 % CI {100 * s['ci95'][0]:.0f}-"
        f"{100 * s['ci95'][1]:.0f} %), aborted {s['aborted']}",
    ]
    d, lat = report["duration_s"], report["latency_ms"]
    lines.append(f"duration mean {fixed(d['mean'], '.2f')} s (min {fixed(d['min'], '.2f')}, "
                 f"max {fixed(d['max'], '.2f')})")
    lines.append(f"round trip per chunk p50 {fixed(lat['p50'], '.1f')} ms, p90 {fixed(lat['p90'], '.1f')}, "
                 f"p99 {fixed(lat['p99'], '.1f')} ({lat['count']} chunks)")
    for e in report["episodes"]:
        lines.append(f"  {e['demo']}: {e['label']} {fixed(e['duration_s'], '.2f')} s"
                     + (f" ({e['reason']})" if e["reason"] not in (e["label"], "") else ""))
    for e in report.get("training", {}).get("episodes", []):
        if e.get("nearest") is not None:
            lines.append(f"  {e['demo']} vs training episode {e['nearest']}: RMSE {fixed(e['rmse_deg'], '.1f')} deg")
    return "\n".join(lines)

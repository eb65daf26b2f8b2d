"""Detection of the episode-quality signals (issue #18): recall per fault class, false alarms on clean
episodes, and what fires on the real datasets.

Synthetic data (tests/quality_data.py, in memory, 64x48 cameras): ``--reps`` (20) datasets, each of
``--clean`` (10) clean episodes and one episode per motion/camera fault class (one injected fault
each, a different random seed per dataset); and as many generated datasets, each of ``--clean``
clean generated variants and one variant per generated-video fault class, paired with clean
source episodes; and one Cosmos-Reason job output per rep (scores 4-5 for clean videos, 1-2 for
the faulty one). A fault is caught when its class's signal fires in its episode (other signals
firing there as well is fine: a frozen camera also repeats frames); a clean episode is a false
alarm when any finding (``--level warning``: warning or error; ``error``: errors only) fires.
Goals: recall >= 95 % per class, false alarms <= 2 %.

Real datasets (../shared/data, read only): every episode scored; the findings are listed by
severity (goal: no error).

Usage: .venv/bin/python benchmarks/quality_detection.py [--reps 20] [--clean 10] [--length 60]
       [--level warning|error] [--no-real]
Prints JSON only on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.scores.compute import compute_scores  # noqa: E402
from backend.scores.table import ScoreTable  # noqa: E402
from tests.quality_data import FAULTS, GENERATED_FAULTS, fault_dataset, generated_dataset  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
REAL = ("lerobot061_so101_v30_h264", "gr00t_dreams_robot_sim.PickNPlace")


def _alarm(item, level: str) -> bool:
    return any(f.severity == "error" or (level == "warning" and f.severity == "warning") for f in item.findings)


def _tally(names: list[str | None], table: ScoreTable, level: str, caught: Counter, total: Counter,
           clean: list[int], examples: dict[str, list[str]]) -> None:
    for name, item in zip(names, table.episodes, strict=True):
        fired = {f.signal for f in item.findings}
        if name is None:
            clean[0] += 1
            if _alarm(item, level):
                clean[1] += 1
                examples.setdefault("false_alarms", []).append(
                    "; ".join(f"{f.signal}: {f.message}" for f in item.findings)[:200])
            continue
        total[name] += 1
        if name in fired:
            caught[name] += 1
        else:
            examples.setdefault(name, []).append(f"fired {sorted(fired)}")


def _reason_file(folder: Path, names: list[str | None]) -> Path:
    path = folder / "reason.json"
    rows = [{"video": f"episode_{i:06d}.mp4", "score": 2 if name == "reason_score" else 4 + i % 2,
             "explanation": "the object passes through the gripper" if name == "reason_score" else "plausible"}
            for i, name in enumerate(names)]
    path.write_text(json.dumps({"results": rows}), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--clean", type=int, default=10)
    parser.add_argument("--length", type=int, default=60)
    parser.add_argument("--level", choices=("warning", "error"), default="warning")
    parser.add_argument("--no-real", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    caught: Counter = Counter()
    total: Counter = Counter()
    clean = [0, 0]  # episodes, false alarms
    examples: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            seed = 1000 * rep
            names: list[str | None] = [None] * args.clean + list(FAULTS)
            table = compute_scores(fault_dataset(f"/in-memory/faults{rep}", names, args.length, seed), device="cpu")
            _tally(names, table, args.level, caught, total, clean, examples)
            names = [None] * args.clean + list(GENERATED_FAULTS)
            dataset, _, sources = generated_dataset(names, sources=4, length=args.length, seed=seed + 500)
            table = compute_scores(dataset, device="cpu", sources=sources)
            _tally(names, table, args.level, caught, total, clean, examples)
            names = [None] * args.clean + ["reason_score"]
            reason = _reason_file(Path(tmp), names)
            dataset = fault_dataset(f"/in-memory/reason{rep}", [None] * len(names), 24, seed + 700, cameras=False)
            table = compute_scores(dataset, signals=["reason_score"], device="cpu", reason=reason)
            _tally(names, table, args.level, caught, total, clean, examples)
            print(f"rep {rep + 1}/{args.reps} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    recall = {name: round(caught[name] / total[name], 3) for name in sorted(total)}
    report: dict = {
        "benchmark": "quality_detection", "cpus": len(os.sched_getaffinity(0)), "level": args.level,
        "reps": args.reps, "episode_frames": args.length,
        "recall": recall, "classes": len(recall),
        "classes_below_95": sorted(n for n, r in recall.items() if r < 0.95),
        "faulty_episodes": sum(total.values()),
        "clean_episodes": clean[0], "false_alarms": clean[1],
        "false_alarm_rate": round(clean[1] / max(clean[0], 1), 4),
        "goal": {"recall": 0.95, "false_alarm_rate": 0.02},
        "misses": {k: v[:3] for k, v in examples.items()},
    }
    if not args.no_real:
        real: dict = {}
        from backend.formats import open_dataset

        for name in REAL:
            path = SHARED / name
            if not path.exists():
                real[name] = "absent"
                continue
            with open_dataset(path) as dataset:
                table = compute_scores(dataset, device="cpu")
            severities = Counter(f.severity for e in table.episodes for f in e.findings)
            real[name] = {
                "episodes": len(table.episodes), "findings_by_severity": dict(severities),
                "errors": severities.get("error", 0),
                "signals_fired": dict(Counter(f.signal for e in table.episodes for f in e.findings)),
            }
        report["real_datasets"] = real
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

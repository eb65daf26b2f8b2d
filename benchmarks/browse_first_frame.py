"""Launch -> first frame shown, on the real dataset (target < 1 s).

    python benchmarks/browse_first_frame.py [--runs 5] [--dataset PATH]

Each run starts a fresh process offscreen with ``--screenshot`` (it renders and exits) and
``--timing``; the app prints the wall-clock time at which every camera showed its first frame.
Measured from the moment the benchmark spawns the process:
  * ``entry``: ``rollout-studio PATH`` (app.entry: decides CLI vs GUI first)
  * ``gui``:   ``python -m app.gui_main PATH`` (the GUI alone)
  * baseline: ``python -c "import PySide6.QtWidgets"`` (interpreter + Qt import, nothing else)
Prints JSON with the median and every run.
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

from browse_common import REAL_DATASET, REPO, machine


def _spawn(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    started = time.time()
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    ended = time.time()
    timing = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            timing = json.loads(line)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return (timing.get("first_frame_epoch", ended) - started), timing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dataset", default=str(REAL_DATASET))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="browse-first-frame-"))
    env = dict(os.environ)
    env.update(
        {
            "QT_QPA_PLATFORM": "offscreen",
            "ROLLOUT_STUDIO_SETTINGS": str(tmp / "settings.ini"),
            "XDG_DATA_HOME": str(tmp / "data"),
        }
    )
    common = [args.dataset, "--workspace", str(tmp / "ws"), "--screenshot", str(tmp / "shot.png"), "--timing"]
    results: dict[str, list[float]] = {"entry": [], "gui": [], "baseline_qt_import": []}
    in_app: list[float] = []
    for _ in range(args.runs):
        seconds, _ = _spawn(["-m", "app.entry", *common], env)
        results["entry"].append(seconds)
        seconds, timing = _spawn(["-m", "app.gui_main", *common], env)
        results["gui"].append(seconds)
        in_app.append(timing.get("first_frame_s", float("nan")) - timing.get("window_shown_s", 0.0))
        started = time.time()
        subprocess.run([sys.executable, "-c", "import PySide6.QtWidgets"], env=env, check=True)
        results["baseline_qt_import"].append(time.time() - started)
    print(
        json.dumps(
            {
                "benchmark": "browse_first_frame",
                "dataset": args.dataset,
                "target_s": 1.0,
                "median_s": {k: round(statistics.median(v), 3) for k, v in results.items()},
                "window_shown_to_first_frame_median_s": round(statistics.median(in_app), 3),
                "runs_s": {k: [round(x, 3) for x in v] for k, v in results.items()},
                "machine": machine(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

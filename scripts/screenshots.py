"""Regenerate docs/screenshots/ with `rollout-studio ... --screenshot FILE.png` (offscreen).

    python scripts/screenshots.py [--out docs/screenshots] [--only browse,browse-lerobot,...]
                                  [--workspace DIR] [--xvfb]

Shots (each a fresh process with private settings, so nothing on this machine changes):
  browse.png          the demo workspace, a few curation decisions made (rated, flagged, trimmed)
  browse-lerobot.png  the real LeRobot v3.0 dataset from ../shared/data (skipped when absent)
  browse-light.png    the demo in the light theme
  browse-empty.png    no dataset yet: the empty state
  pane-<key>.png      the window on each other pane (teleop, convert, jobs, compare) with the demo
The demo workspace is generated on first use (default: .cache/screenshots-workspace, git-ignored).
Prints a JSON list of what was written. Look at the PNGs after changing the window.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REAL = REPO.parent / "shared" / "data" / "lerobot061_so101_v30_h264"
PANES = ("teleop", "convert", "jobs", "compare")


def seed_demo(workspace: Path, data_home: Path) -> Path:
    """Generate the demo data (first use) and make a few curation decisions to show."""
    os.environ["XDG_DATA_HOME"] = str(data_home)
    from app.gui_main import _demo_job
    from backend.curation import Curation, sidecar_path
    from backend.formats import open_dataset

    path = Path(_demo_job(str(workspace)))
    sidecar = sidecar_path(path)
    if sidecar.exists():
        sidecar.unlink()
    with open_dataset(path) as dataset:
        curation = Curation.load(path, dataset)
        curation.set(0, rating="good")
        curation.set(1, rating="good", note="smooth grasp")
        curation.set(2, trim_in=8, trim_out=100, flagged=True, note="idle start: trimmed")
        curation.set(3, rating="bad", excluded=True, note="orange dropped")
        curation.set(5, task="Pick up the orange and put it on the white plate.")
    return path


def shoot(name: str, args: list[str], out: Path, env: dict[str, str], xvfb: bool) -> dict:
    target = out / name
    command = [sys.executable, "-m", "app.entry", *args, "--screenshot", str(target)]
    if xvfb and shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *command]
        env = {k: v for k, v in env.items() if k != "QT_QPA_PLATFORM"}
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    entry = {
        "file": str(target.relative_to(REPO) if target.is_relative_to(REPO) else target),
        "ok": result.returncode == 0 and target.is_file(),
        "seconds": round(time.monotonic() - started, 1),
    }
    if not entry["ok"]:
        entry["error"] = result.stderr.strip().splitlines()[-3:]
    if "did not close" in result.stderr:
        entry["note"] = "the window did not close in time (a pane kept running)"
        if os.environ.get("ROLLOUT_STUDIO_DEBUG_EXIT"):
            entry["stderr"] = result.stderr[-6000:]
    return entry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--only", help="comma-separated shot names (without .png)")
    parser.add_argument("--workspace", default=str(REPO / ".cache" / "screenshots-workspace"))
    parser.add_argument("--xvfb", action="store_true", help="render under xvfb-run instead of offscreen")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workspace = Path(args.workspace)
    tmp = Path(tempfile.mkdtemp(prefix="rs-screenshots-"))
    data_home = tmp / "data-home"
    seed_demo(workspace, data_home)
    env = dict(os.environ)
    env.update(
        {
            "QT_QPA_PLATFORM": "offscreen",
            "ROLLOUT_STUDIO_SETTINGS": str(tmp / "settings.ini"),
            "XDG_DATA_HOME": str(data_home),
            "SVT_LOG": "1",
        }
    )
    demo = ["--demo", "--workspace", str(workspace)]
    shots: dict[str, list[str]] = {
        "browse": [*demo, "--episode", "2", "--frame", "48"],
        "browse-light": [*demo, "--theme", "light", "--episode", "1", "--frame", "60"],
        "browse-empty": ["--workspace", str(tmp / "empty-ws"), "--pane", "browse"],
    }
    if REAL.is_dir():
        shots["browse-lerobot"] = [
            str(REAL),
            "--workspace",
            str(workspace),
            "--episode",
            "1",
            "--frame",
            "30",
        ]
    for key in PANES:
        shots[f"pane-{key}"] = [*demo, "--pane", key, "--settle", "2500"]
    wanted = set(args.only.split(",")) if args.only else set(shots)
    results = []
    for name, shot_args in shots.items():
        if name not in wanted:
            continue
        # each shot starts from the same settings: no layout or theme carried over
        (tmp / "settings.ini").unlink(missing_ok=True)
        results.append(shoot(f"{name}.png", shot_args, out, env, args.xvfb))
    print(json.dumps(results, indent=1))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

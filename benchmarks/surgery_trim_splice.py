"""Time ``edit trim`` with cuts inside a GOP: splicing (re-encode only up to the next keyframe, copy the
rest) against the baseline measured in the same run, the same plan re-encoding each cut window whole
(what ``edit trim`` did before ``backend/formats/lerobot/splice.py``).

Inputs: a synthetic LeRobot v3.0 dataset written by the studio (``--episodes`` x ``--frames``, two
cameras of ``--size``, h264 GOP 2), and ../shared/data/lerobot061_so101_v30_h264 (LeRobot 0.6.1's
own h264) when present. Every episode is cut from frame 1 (odd: inside a GOP) to its last frame but one.
Besides the seconds, the JSON gives how many frames were re-encoded and the mean absolute difference
of the first kept frame (the re-encoded one) to the source's, for both ways.

Usage: .venv/bin/python benchmarks/surgery_trim_splice.py [--episodes 4] [--frames 150] [--size 320x240]
Prints JSON on stdout (progress on stderr). Wall seconds on this machine (shared cores: noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from backend import surgery  # noqa: E402
from backend.formats import open_dataset  # noqa: E402
from backend.surgery import rewrite  # noqa: E402
from benchmarks.surgery_vs_lerobot import _write  # noqa: E402

LEROBOT = REPO.parent / "shared" / "data" / "lerobot061_so101_v30_h264"


def _first_frame_error(source: Path, out: Path) -> float:
    with open_dataset(source) as a, open_dataset(out) as b:
        camera = next(iter(a.cameras))
        want, got = a.episode(0).stream(camera), b.episode(0).stream(camera)
        try:
            return float(np.abs(want.frame(1).astype(np.int16) - got.frame(0).astype(np.int16)).mean())
        finally:
            want.close()
            got.close()


def _run(source: Path, out: Path, splice: bool) -> dict[str, Any]:
    original = rewrite._splice
    if not splice:
        rewrite._splice = lambda *args, **kwargs: None  # the cut window is re-encoded whole
    try:
        with open_dataset(source) as ds:
            trims = {e.index: (1, e.length - 1) for e in ds.episodes}
            lengths, cameras = [e.length for e in ds.episodes], len(ds.cameras)
            started = time.perf_counter()
            summary = surgery.execute(surgery.plan_trim(ds, trims, out), datasets=[ds])
            seconds = time.perf_counter() - started
    finally:
        rewrite._splice = original
    result = summary.outputs[0]
    # whole windows: every kept frame of each re-encoded (episode, camera) window
    whole = sum(length - 2 for length in lengths) * cameras if result["videos_encoded"] else 0
    frames = result["frames_reencoded"] + whole
    return {
        "seconds": round(seconds, 3),
        "videos_spliced": result["videos_spliced"],
        "videos_encoded": result["videos_encoded"],
        "frames_reencoded": frames,
        "first_frame_mean_abs_diff": round(_first_frame_error(source, out), 3),
        "validate_warnings": len(summary.validation.get(str(out), [])),
    }


def _case(source: Path, work: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"input": str(source)}
    for way, splice in (("splice", True), ("reencode_window_baseline", False)):
        entry[way] = _run(source, work / f"{source.name}-{way}", splice)
        _log(f"{source.name} {way}: {entry[way]['seconds']} s")
    entry["speedup"] = round(
        entry["reencode_window_baseline"]["seconds"] / max(1e-9, entry["splice"]["seconds"]), 2
    )
    return entry


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--size", default="320x240")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="trim_splice_") as tmp:
        work = Path(tmp)
        synthetic = _write(work / "synthetic", args.episodes, args.frames, size, 0)  # type: ignore[arg-type]
        cases = {"synthetic": _case(synthetic, work)}
        if LEROBOT.is_dir():
            cases["lerobot_061"] = _case(LEROBOT, work)
    print(
        json.dumps(
            {
                "benchmark": "surgery_trim_splice",
                "cpu_count": os.cpu_count(),
                "usable_cores": len(os.sched_getaffinity(0)),
                "synthetic": {"episodes": args.episodes, "frames": args.frames, "size": args.size},
                "cases": cases,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Read the studio's subtask exports back with LeRobot's own loader (run where LeRobot is installed).

    python scripts/lerobot_subtasks_check.py make OUT_DIR          # here: writes OUT_DIR/index, OUT_DIR/language
    python scripts/lerobot_subtasks_check.py read OUT_DIR [--pyav] # where lerobot 0.5.x or 0.6.x is installed

``make`` exports a small dataset (3 episodes, 64x48 video) whose episodes 0 and 1 carry subtasks, once
with ``subtasks="index"`` (LeRobot 0.4-0.5) and once with ``subtasks="language"`` (LeRobot 0.6,
v3.0). ``read`` opens the variant the installed LeRobot reads with ``LeRobotDataset(repo_id, root=)``
and checks every frame against the segments (printed as JSON; exit 1 on a mismatch). ``--pyav`` decodes
the videos with ``scripts/lerobot_pyav.py`` (LeRobot 0.5.x cannot decode on a machine whose torchvision
lacks ``VideoReader`` and that has no FFmpeg libraries for torchcodec).
Only ``read`` imports LeRobot; only ``make`` imports the studio.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SEGMENTS = {0: [[0, 9, "reach"], [10, 19, "grasp"]], 1: [[0, 14, "grasp"], [15, 29, "lift"]]}
LENGTHS = (20, 30, 24)
FPS = 30.0


def make(out: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from backend.curation import Curation, export_curated
    from tests.browse_data import memory_dataset

    dataset = memory_dataset(out / "source.hdf5", lengths=LENGTHS, width=64, height=48, fps=FPS)
    curation = Curation(dataset.path, sidecar=out / "source.curation.json")
    for episode, segments in SEGMENTS.items():
        curation.set(episode, subtasks=segments)
    for mode in ("index", "language"):
        export_curated(dataset, curation, out / mode, "lerobot_v3.0", subtasks=mode, jobs=1)
    print(json.dumps({"written": [str(out / "index"), str(out / "language")]}))


def expected(episode: int, frame: int) -> str | None:
    for start, end, text in SEGMENTS.get(episode, []):
        if start <= frame <= end:
            return text
    return None


def read(out: Path, pyav: bool = False) -> int:
    import lerobot
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    patched = []
    if pyav:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from scripts.lerobot_pyav import install

        patched = install()

    version = getattr(lerobot, "__version__", "?")
    language = not version.startswith(("0.4", "0.5"))
    root = out / ("language" if language else "index")
    dataset = LeRobotDataset("studio/subtasks_check", root=root)
    bad = []
    seen = []
    for i in range(len(dataset)):
        sample = dataset[i]
        episode, frame = int(sample["episode_index"]), int(sample["frame_index"])
        want = expected(episode, frame)
        if language:
            rows = sample["language_persistent"]
            active = [r["content"] for r in rows if r["style"] == "subtask" and r["timestamp"] <= frame / FPS + 1e-6]
            got = active[-1] if active else None
        else:
            got = sample["subtask"] or None
        seen.append(got)
        if got != want:
            bad.append({"episode": episode, "frame": frame, "expected": want, "got": got})
    print(json.dumps({"lerobot": version, "root": str(root), "frames": len(dataset), "decoder": patched or "lerobot's",
                      "subtasks_seen": sorted({m for m in seen if m}), "mismatches": bad[:10]}))
    return 1 if bad else 0


if __name__ == "__main__":
    action, folder = sys.argv[1], Path(sys.argv[2])
    if action == "make":
        make(folder)
        sys.exit(0)
    sys.exit(read(folder, pyav="--pyav" in sys.argv[3:]))

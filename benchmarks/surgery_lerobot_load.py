"""Load datasets (e.g. ``rollout-studio edit`` outputs) with LeRobot's own ``LeRobotDataset`` and print one
JSON line each: frames, episodes, tasks and cameras of the first frame of every episode and the last frame.

Run it with a Python that has LeRobot (NOT the studio's venv): e.g.
    HF_HUB_OFFLINE=1 .cache/peers-venv/bin/python benchmarks/surgery_lerobot_load.py OUT1 OUT2 ...
    (benchmarks/install_peers.sh: LeRobot 0.4.4 on Python 3.11; LeRobot 0.6.1 needs Python 3.12)
``--pyav`` replaces LeRobot's ``decode_video_frames`` by a plain PyAV decoder that keeps its timestamp
tolerance check (LeRobot 0.4.4's pyav path needs ``torchvision.io.VideoReader``, gone from recent
torchvision); everything else - metadata, episodes, parquet, query timestamps - is LeRobot's.
"""

import argparse
import json
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--pyav", action="store_true", help="decode with PyAV (see the module text)")
    args = parser.parse_args()
    import lerobot.datasets.lerobot_dataset as lds

    if args.pyav:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from scripts.lerobot_pyav import install

        install()
    failed = 0
    for path in args.datasets:
        try:
            ds = lds.LeRobotDataset(repo_id="local/" + path.name, root=path)
            n = len(ds)
            starts = [int(ds.meta.episodes["dataset_from_index"][e]) for e in range(ds.num_episodes)]
            items = [ds[i] for i in sorted({*starts, n - 1})]
            cameras = list(ds.meta.camera_keys)
            row = {
                "path": str(path),
                "ok": True,
                "frames": n,
                "episodes": ds.num_episodes,
                "items_read": len(items),
                "tasks": sorted({item["task"] for item in items}),
                "cameras": cameras,
                "image_shape": list(items[0][cameras[0]].shape) if cameras else None,
            }
        except Exception as error:  # noqa: BLE001 - reported per dataset
            failed += 1
            row = {"path": str(path), "ok": False, "error": f"{type(error).__name__}: {error}"[:400]}
        print(json.dumps(row), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

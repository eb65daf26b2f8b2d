"""Time ``rollout-studio edit`` operations against re-encoding everything, and (when installed) against
``lerobot-edit-dataset`` / ``lerobot-surgery`` on the same input.

Input: a synthetic LeRobot v3.0 dataset written by the studio (``--episodes`` x ``--frames``, two
cameras of ``--size``, h264 GOP 2 as LeRobot writes), plus ``--lerobot-data`` (default
../shared/data/lerobot061_so101_v30_h264, written by LeRobot 0.6.1) when present.

For each operation the studio's own way (packets copied) is timed beside the baseline measured in
the same run: the same plan with every camera decoded and encoded again (what a frame-by-frame
rewrite such as lerobot-surgery's merge does). Peers run only with ``--peers-venv DIR`` holding
``lerobot-edit-dataset`` (benchmarks/install_peers.sh) and/or ``lerobot-surgery``; each peer run gets
its own copy of the input, and the JSON says whether the input folder was left as it was.

Usage: .venv/bin/python benchmarks/surgery_vs_lerobot.py [--episodes 10] [--frames 150]
       [--size 320x240] [--peers-venv DIR] [--work DIR]
Prints JSON on stdout (progress on stderr). Wall seconds on this machine (shared cores: noisy).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend import surgery  # noqa: E402
from backend.formats import open_dataset  # noqa: E402
from backend.model import DatasetFormat  # noqa: E402


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _write(out: Path, episodes: int, frames: int, size: tuple[int, int], seed: int) -> Path:
    import numpy as np

    from backend.formats import open_writer
    from backend.formats.base import CameraSpec, WriterSpec
    from backend.model import Feature, FeatureKind

    names = [f"j{i}.pos" for i in range(6)]
    spec = WriterSpec(
        fps=30,
        robot_type="so101_follower",
        features={
            k: Feature(k, FeatureKind.VECTOR, "float32", (6,), names) for k in ("action", "observation.state")
        },
        cameras=[CameraSpec(c, *size) for c in ("front", "wrist")],
        options={"tasks": ["pick", "place"]},
    )
    w, h = size
    with open_writer(DatasetFormat.LEROBOT_V30, out, spec) as writer:
        for e in range(episodes):
            ew = writer.begin_episode("pick" if e % 2 == 0 else "place")
            t = np.arange(frames)
            base = (np.sin(t[:, None] / 9.0 + np.arange(6)[None] + e + seed) * 50).astype(np.float32)
            images = {}
            for k, camera in enumerate(("front", "wrist")):
                frames_list = []
                for i in range(frames):
                    image = np.full((h, w, 3), (30 + 3 * i + 40 * e + 20 * k + seed) % 220, np.uint8)
                    image[:, (2 * i) % w] = 250
                    frames_list.append(image)
                images[camera] = frames_list
            ew.add_frames({"action": base, "observation.state": base * 0.98}, images)
            ew.end()
    return out


def _time(label: str, plan: Any, reencode: bool = False) -> dict[str, Any]:
    if reencode:
        plan.options["codec"] = "h264"
        plan.method = "rewrite"
    started = time.perf_counter()
    summary = surgery.execute(plan)
    seconds = time.perf_counter() - started
    out = summary.outputs[0]
    _log(f"{label}: {seconds:.2f} s")
    return {
        "seconds": round(seconds, 3),
        "episodes": sum(o["episodes"] for o in summary.outputs),
        "videos_copied": sum(o["videos_copied"] for o in summary.outputs),
        "videos_encoded": sum(o["videos_encoded"] for o in summary.outputs),
        "first_output": out["path"],
    }


def _ours(source: Path, other: Path, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for way in ("studio", "reencode_baseline"):
        again = way == "reencode_baseline"
        root = work / way
        root.mkdir(parents=True)
        with open_dataset(source) as ds, open_dataset(other) as ds2:
            n = ds.num_episodes
            cases = {
                "merge": lambda r=root, a=ds, b=ds2: surgery.plan_merge([a, b], r / "merge"),
                "split": lambda r=root, a=ds, n=n: surgery.plan_split(
                    a, [r / "s1", r / "s2"], list(range(n // 2))
                ),
                "delete": lambda r=root, a=ds: surgery.plan_delete(a, [0], r / "delete"),
                "recompute_stats": lambda r=root, a=ds: surgery.plan_recompute_stats(a, r / "stats"),
            }
            for name, make in cases.items():
                results.setdefault(name, {})[way] = _time(f"{way} {name}", make(), reencode=again)
    for entry in results.values():
        entry["speedup"] = round(
            entry["reencode_baseline"]["seconds"] / max(1e-9, entry["studio"]["seconds"]), 2
        )
    return results


def _peer(argv: list[str], env: dict[str, str], watched: Path) -> dict[str, Any]:
    before = _digest(watched) if watched.exists() else None
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
        code, tail = done.returncode, (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
    except (OSError, subprocess.TimeoutExpired) as error:
        code, tail = -1, [str(error)]
    seconds = time.perf_counter() - started
    left = watched.exists() and _digest(watched) == before
    return {
        "seconds": round(seconds, 3),
        "exit_code": code,
        "last_line": tail[0][:300],
        "input_unchanged": left,
    }


def _peers(venv: Path, source: Path, other: Path, work: Path) -> dict[str, Any]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_LEROBOT_HOME=str(work / "hf"), HF_HOME=str(work / "hf"))
    out: dict[str, Any] = {}
    edit = venv / "bin" / "lerobot-edit-dataset"
    if edit.exists():

        def copy(name: str, src: Path = source) -> Path:
            target = work / "peer-inputs" / name
            shutil.copytree(src, target)
            return target

        runs = {
            "delete": (
                copy("delete"),
                ["--operation.type", "delete_episodes", "--operation.episode_indices", "[0]"],
            ),
            "split": (
                copy("split"),
                ["--operation.type", "split", "--operation.splits", '{"a": 0.5, "b": 0.5}'],
            ),
            "recompute_stats": (copy("stats"), ["--operation.type", "recompute_stats"]),
            # in place (new_root == root): what happens to the input
            "delete_in_place": (
                copy("inplace"),
                ["--operation.type", "delete_episodes", "--operation.episode_indices", "[0]"],
            ),
        }
        version = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import importlib.metadata as m; print(m.version('lerobot'))",
            ],
            capture_output=True,
            text=True,
            env=env,
        ).stdout.strip()
        # LeRobot < 0.5 has no --new_root: the output goes to ROOT/NEW_REPO_ID (inside the input folder)
        old_cli = version.startswith("0.") and [int(v) for v in version.split(".")[:2]] < [0, 5]
        out["lerobot-edit-dataset"] = {"lerobot_version": version}
        for name, (root, extra) in runs.items():
            new_root = root if name == "delete_in_place" else work / "peer-out" / name
            argv = [str(edit), "--repo_id", f"local/{name}", "--root", str(root)]
            if old_cli:
                argv += [] if name == "delete_in_place" else ["--new_repo_id", f"{name}_out"]
            else:
                argv += ["--new_repo_id", f"local/{name}_out", "--new_root", str(new_root)]
            out["lerobot-edit-dataset"][name] = _peer([*argv, *extra], env, root)
        if old_cli:  # every input under HF_LEROBOT_HOME/<repo_id>; the output too
            home = Path(env["HF_LEROBOT_HOME"])
            a = home / "local" / "merge_a"
            shutil.copytree(source, a)
            shutil.copytree(other, home / "local" / "merge_b")
            argv = [
                str(edit),
                "--repo_id",
                "local/merged",
                "--operation.type",
                "merge",
                "--operation.repo_ids",
                "['local/merge_a', 'local/merge_b']",
            ]
        else:
            a, b = copy("merge_a"), copy("merge_b", other)
            argv = [
                str(edit),
                "--new_repo_id",
                "local/merged",
                "--new_root",
                str(work / "peer-out" / "merge"),
                "--operation.type",
                "merge",
                "--operation.repo_ids",
                "['local/a', 'local/b']",
                "--operation.roots",
                json.dumps([str(a), str(b)]).replace('"', "'"),
            ]
        out["lerobot-edit-dataset"]["merge"] = _peer(argv, env, a)
    surgery_cli = venv / "bin" / "lerobot-surgery"
    if surgery_cli.exists():
        a = work / "peer-inputs" / "surgery_a"
        shutil.copytree(source, a)
        out["lerobot-surgery"] = {
            "merge": _peer(
                [
                    str(surgery_cli),
                    "merge",
                    str(a),
                    str(other),
                    "--output",  # lerobot-surgery 0.1.0: merge SOURCE... -o OUT
                    str(work / "peer-out" / "surgery_merge"),
                ],
                env,
                a,
            ),
            "remove": _peer(
                [
                    str(surgery_cli),
                    "remove",
                    str(a),
                    "0",  # lerobot-surgery 0.1.0: remove DATASET EPISODES... -o OUT
                    "--output",
                    str(work / "peer-out" / "surgery_remove"),
                ],
                env,
                a,
            ),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--peers-venv", type=Path)
    parser.add_argument(
        "--lerobot-data", type=Path, default=REPO.parent / "shared" / "data" / "lerobot061_so101_v30_h264"
    )
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    work = Path(tempfile.mkdtemp(prefix="surgery-bench-", dir=args.work))
    try:
        _log("writing the inputs")
        a = _write(work / "in" / "a", args.episodes, args.frames, size, 0)  # type: ignore[arg-type]
        b = _write(work / "in" / "b", args.episodes, args.frames, size, 1)  # type: ignore[arg-type]
        result: dict[str, Any] = {
            "benchmark": "surgery_vs_lerobot",
            "cpu_count": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)),
            "input": {"episodes": args.episodes, "frames": args.frames, "size": args.size, "cameras": 2},
            "synthetic": _ours(a, b, work / "ours"),
        }
        if args.lerobot_data.is_dir():
            copy = work / "in" / "lerobot061"
            shutil.copytree(args.lerobot_data, copy)
            twin = work / "in" / "lerobot061b"
            shutil.copytree(args.lerobot_data, twin)
            result["lerobot061"] = _ours(copy, twin, work / "ours061")
        if args.peers_venv:
            result["peers"] = _peers(args.peers_venv, a, b, work)
        print(json.dumps(result, indent=2))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Open + list a 1,000-episode LeRobot dataset (v2.1 and v3.0), read one episode, show a first frame.

Datasets are generated once with the studio's writer and cached under benchmarks/out/open_dataset/:
- ``list-v2.1`` / ``list-v3.0``: 1,000 episodes x 5 frames, one 64x48 camera, SO-101 action/state;
- ``frames-v2.1`` / ``frames-v3.0``: 20 episodes x 30 frames, one 640x480 camera (H.264, GOP 2).

Measured (median of repeats, ms):
- open_list: ``lerobot.open(path)`` + walking every episode's index/length/task (metadata only);
  baseline: reading the raw episode list alone (json lines / pyarrow table of the episodes parquet);
- first_array: ``episode.array("action")`` of a random episode in a freshly opened dataset
  (v3.0: only that episode's row group of the shared parquet);
- first_frame_cold: open the dataset + ``episode.stream("front").frame(0)`` of a random episode;
- first_frame_warm: the same dataset already open, another random episode;
- baseline_first_frame: PyAV alone: open the mp4, seek to the episode's first frame, decode it.

Usage: .venv/bin/python benchmarks/open_dataset.py [--episodes 1000] [--repeats 7] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("SVT_LOG", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from backend.formats import lerobot  # noqa: E402
from backend.formats.base import CameraSpec, WriterSpec  # noqa: E402
from backend.model import DatasetFormat, Feature, FeatureKind  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "open_dataset"
NAMES = [
    f"{j}.pos" for j in ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
]
FORMATS = {"v2.1": DatasetFormat.LEROBOT_V21, "v3.0": DatasetFormat.LEROBOT_V30}


def build(path: Path, fmt: DatasetFormat, episodes: int, frames: int, width: int, height: int) -> Path:
    marker = path / "meta" / "info.json"
    if marker.is_file() and json.loads(marker.read_text())["total_episodes"] == episodes:
        return path
    shutil.rmtree(path, ignore_errors=True)
    spec = WriterSpec(
        fps=30,
        robot_type="so101_follower",
        features={
            "action": Feature("action", FeatureKind.VECTOR, "float32", (6,), NAMES),
            "observation.state": Feature("observation.state", FeatureKind.VECTOR, "float32", (6,), NAMES),
        },
        cameras=[CameraSpec("front", width, height)],
        options={"gop": 2, "image_stats": True},
    )
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, (height, width, 3), dtype=np.uint8)
    tasks = ["Pick up the orange.", "Lift the red cube.", "Stack the blocks."]
    started = time.perf_counter()
    with lerobot.create_writer(fmt, path, spec) as writer:
        for e in range(episodes):
            episode = writer.begin_episode(tasks[e % len(tasks)])
            t = np.arange(frames)
            action = (np.sin(t[:, None] / 5 + np.arange(6) + e) * 50).astype(np.float32)
            images = [noise + np.uint8((20 + 7 * i + 2 * e) % 200) for i in range(frames)]
            episode.add_frames({"action": action, "observation.state": action * 0.98}, {"front": images})
            episode.end()
    print(f"built {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), samples


def raw_episode_list(path: Path, version: str) -> int:
    if version == "v2.1":
        with open(path / "meta" / "episodes.jsonl", encoding="utf-8") as handle:
            return len([json.loads(line) for line in handle])
    table = pq.read_table(
        path / "meta/episodes/chunk-000/file-000.parquet", columns=["episode_index", "length"]
    )
    return table.num_rows


def open_list(path: Path) -> int:
    with lerobot.open(path) as ds:
        return sum(e.length for e in ds.episodes if e.task is not None) + len(ds.episodes)


def first_array(path: Path, rng: random.Random) -> None:
    with lerobot.open(path) as ds:
        ds.episodes[rng.randrange(ds.num_episodes)].array("action")


def direct_first_frame(path: Path, episode_index: int) -> np.ndarray:
    with lerobot.open(path) as ds:  # only to find file and time (not timed)
        episode = ds.episodes[episode_index]
        reader = ds.reader
        file = reader.episode_video_path(episode, "observation.images.front")
        video = episode.extra["lerobot"].get("videos", {}).get("observation.images.front")
        start = video["from_timestamp"] if video else 0.0
    t0 = time.perf_counter()
    with av.open(str(file)) as container:
        stream = container.streams.video[0]
        if start > 0:
            container.seek(int(round(start / float(stream.time_base))), stream=stream, backward=True)
        for frame in container.decode(stream):
            if float(frame.pts * stream.time_base) >= start - 1e-4:
                image = frame.to_ndarray(format="rgb24")
                break
    direct_first_frame.last_ms = (time.perf_counter() - t0) * 1000
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if args.rebuild:
        shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    results: dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "pyav": av.__version__},
        "episodes": args.episodes,
    }
    for version, fmt in FORMATS.items():
        listing = build(OUT / f"list-{version}", fmt, args.episodes, 5, 64, 48)
        frames = build(OUT / f"frames-{version}", fmt, 20, 30, 640, 480)
        size_mb = sum(p.stat().st_size for p in listing.rglob("*") if p.is_file()) / 1e6
        open_ms, open_all = timed(lambda p=listing: open_list(p), args.repeats)
        raw_ms, _ = timed(lambda p=listing, v=version: raw_episode_list(p, v), args.repeats)
        array_ms, _ = timed(lambda p=listing: first_array(p, rng), args.repeats)

        cold, warm, base, equal = [], [], [], True
        for _ in range(args.repeats):
            index = rng.randrange(20)
            start = time.perf_counter()
            ds = lerobot.open(frames)
            stream = ds.episodes[index].stream("front")
            image = stream.frame(0)
            cold.append((time.perf_counter() - start) * 1000)
            stream.close()
            other = (index + 1 + rng.randrange(19)) % 20
            start = time.perf_counter()
            stream = ds.episodes[other].stream("front")
            image = stream.frame(0)
            warm.append((time.perf_counter() - start) * 1000)
            stream.close()
            ds.close()
            equal &= bool(np.array_equal(image, direct_first_frame(frames, other)))
            base.append(direct_first_frame.last_ms)
        results[version] = {
            "list_dataset_mb": round(size_mb, 1),
            "open_list_ms": round(open_ms, 2),
            "open_list_ms_min": round(min(open_all), 2),
            "baseline_raw_episode_list_ms": round(raw_ms, 2),
            "first_array_ms": round(array_ms, 2),
            "first_frame_cold_ms": round(statistics.median(cold), 2),
            "first_frame_warm_ms": round(statistics.median(warm), 2),
            "baseline_pyav_first_frame_ms": round(statistics.median(base), 2),
            "first_frame_equals_pyav": equal,
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

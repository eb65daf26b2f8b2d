"""Write a large dataset quickly: LeRobot v3.0 (or v2.1) folders, or a LeIsaac HDF5 recording.

v3.0 (default; 10,000 episodes x 100 frames in well under two minutes on two cores): one episode is
written with the studio's own writer (backend/formats/lerobot/) as a template: its info.json, the
parquet schemas (with LeRobot's metadata), its video stream and its image statistics. Everything
else is written directly with pyarrow/numpy in LeRobot v3.0's layout:
- ``data/chunk-000/file-NNN.parquet``: ``--per-file`` episodes each, one row group per episode;
- ``videos/observation.images.front/chunk-000/file-NNN.mp4``: the template's packets appended once per
  episode (no re-encoding): every episode's [from, to) window holds exactly its frames;
- ``meta/episodes/chunk-000/file-000.parquet`` (file references + per-episode stats, LeRobot's column
  order), ``meta/tasks.parquet``, ``meta/stats.json``, ``meta/info.json``.
SO-101 ``action`` / ``observation.state``: smooth sines in LeRobot's -100..100 (gripper 0..100) with a
phase per episode; the state lags the action by one frame; three tasks in turn. A clean dataset:
``rollout-studio validate`` finds nothing in it (the image stats are the template's: every episode
shows the same clip).

v2.1: the studio's writer episode by episode (slow; for small sizes).
hdf5: a LeIsaac recording with ``--episodes`` demos of ``--frames`` steps and two tiny cameras
(tests/recordings.py's writer).

Usage: .venv/bin/python benchmarks/make_large_dataset.py OUT [--episodes 10000] [--frames 100]
       [--size 64x48] [--format v3.0|v2.1|hdf5] [--per-file 1000]
Prints JSON: the path, the counts and the seconds it took. OUT must not exist.
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

os.environ.setdefault("SVT_LOG", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from backend.formats import open_writer  # noqa: E402
from backend.formats.base import CameraSpec, WriterSpec  # noqa: E402
from backend.formats.lerobot.common import (  # noqa: E402
    EPISODES_META_PATH,
    INFO_PATH,
    QUANTILE_KEYS,
    QUANTILES,
    STATS_PATH,
    TASKS_PARQUET,
    V30_DATA_PATH,
    V30_VIDEO_PATH,
    next_chunk_file,
)
from backend.model import DatasetFormat, Feature, FeatureKind  # noqa: E402
from backend.units import SO101_JOINTS  # noqa: E402

FORMATS = {"v2.1": DatasetFormat.LEROBOT_V21, "v3.0": DatasetFormat.LEROBOT_V30}
TASKS = ("Pick up the orange and place it on the plate.", "Lift the red cube up.", "Stack the blocks.")
FPS = 30
CAMERA = "observation.images.front"
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)


def episode_actions(episode: int | np.ndarray, frames: int) -> np.ndarray:
    """(frames + 1, 6) float32 (or (E, frames + 1, 6) for an array of episodes): row t + 1 is the
    action of frame t, row t its state."""
    e = np.asarray(episode, dtype=np.float64)[..., None, None]
    t = np.arange(frames + 1, dtype=np.float64)[:, None]
    values = 60 * np.sin(t / 7 + np.arange(6) + 0.37 * e)
    values[..., 5] = 50 + 40 * np.sin(t[:, 0] / 5 + 0.11 * e[..., 0])
    return values.astype(np.float32)


def _spec(width: int, height: int) -> WriterSpec:
    names = [f"{joint}.pos" for joint in SO101_JOINTS]
    return WriterSpec(
        fps=FPS,
        robot_type="so101_follower",
        features={
            key: Feature(key, FeatureKind.VECTOR, "float32", (6,), names)
            for key in ("action", "observation.state")
        },
        cameras=[CameraSpec("front", width, height)],
        options={"codec": "h264", "gop": 2, "preset": "ultrafast", "tasks": list(TASKS)},
    )


def _images(episode: int, frames: int, width: int, height: int) -> list[np.ndarray]:
    noise = np.random.default_rng(0).integers(0, 40, (height, width, 3), dtype=np.uint8)
    return [noise + np.uint8((20 + 7 * i + 3 * episode) % 200) for i in range(frames)]


def _write_with_writer(out: Path, episodes: int, frames: int, size: tuple[int, int], version: str) -> Path:
    width, height = size
    with open_writer(FORMATS[version], out, _spec(width, height)) as writer:
        for e in range(episodes):
            episode = writer.begin_episode(TASKS[e % len(TASKS)])
            values = episode_actions(e, frames)
            episode.add_frames(
                {"action": values[1:], "observation.state": values[:-1]},
                {"front": _images(e, frames, width, height)},
            )
            episode.end(success=True)
    return out


# -- v3.0, written directly -----------------------------------------------------------------------
def _clip_packets(path: Path) -> tuple[list[tuple[bytes, int, int, bool]], Any]:
    """The template video's packets (data, pts, dts, keyframe) and its input container (kept open)."""
    container = av.open(str(path))
    stream = container.streams.video[0]
    packets = [
        (bytes(p), int(p.pts), int(p.dts if p.dts is not None else p.pts), bool(p.is_keyframe))
        for p in container.demux(stream)
        if p.pts is not None and p.size
    ]
    return packets, container


def _write_video(
    path: Path, template: Any, packets: list[tuple[bytes, int, int, bool]], episodes: int, frames: int
) -> list[tuple[float, float]]:
    """Append the template's packets ``episodes`` times; returns each episode's (from, to) seconds."""
    src = template.streams.video[0]
    time_base = src.time_base
    ticks = round(1 / (FPS * time_base))  # ticks per frame (512 at 1/15360)
    if ticks * FPS * time_base != 1:
        raise ValueError(f"time base {time_base} does not hold whole frames at {FPS} fps")
    path.parent.mkdir(parents=True, exist_ok=True)
    windows = []
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream_from_template(template=src, opaque=True)
        stream.time_base = time_base
        for k in range(episodes):
            offset = k * frames * ticks
            for data, pts, dts, key in packets:
                packet = av.Packet(data)
                packet.pts = pts + offset
                packet.dts = dts + offset
                packet.is_keyframe = key
                packet.time_base = time_base
                packet.stream = stream
                out.mux(packet)
            start = float(offset * time_base)
            windows.append((start, start + frames / FPS))
    return windows


def _episode_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """Per-episode stats of (E, T, N) values, each (E, N) (count (E, 1))."""
    data = values.astype(np.float64)
    stats = {
        "min": data.min(axis=1),
        "max": data.max(axis=1),
        "mean": data.mean(axis=1),
        "std": data.std(axis=1),
        "count": np.full((len(data), 1), data.shape[1], dtype=np.int64),
    }
    for key, value in zip(QUANTILE_KEYS, np.quantile(data, QUANTILES, axis=1), strict=True):
        stats[key] = value
    return stats


def _global_stats(values: np.ndarray, per_episode: dict[str, np.ndarray]) -> dict[str, list]:
    data = values.reshape(-1, values.shape[-1]).astype(np.float64)
    stats: dict[str, list] = {
        "min": data.min(axis=0).tolist(),
        "max": data.max(axis=0).tolist(),
        "mean": data.mean(axis=0).tolist(),
        "std": data.std(axis=0).tolist(),
        "count": [int(len(data))],
    }
    for key in QUANTILE_KEYS:  # LeRobot: count-weighted mean of the episodes' quantiles (equal counts)
        stats[key] = per_episode[key].mean(axis=0).tolist()
    return stats


def _list_column(values: np.ndarray, field: pa.Field) -> pa.Array:
    """(E, N) numbers as a list<double|int64> column, built without Python lists."""
    flat = pa.array(values.reshape(-1).astype(np.int64 if pa.types.is_int64(field.type.value_type) else float))
    offsets = pa.array(np.arange(0, values.size + 1, values.shape[1], dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, flat, type=field.type)


def _write_v30(out: Path, episodes: int, frames: int, size: tuple[int, int], per_file: int) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".template-", dir=out.parent) as tmp:
        template = _write_with_writer(Path(tmp) / "t", 1, frames, size, "v3.0")
        info = json.loads((template / INFO_PATH).read_text())
        data_schema = pq.read_schema(template / V30_DATA_PATH.format(chunk_index=0, file_index=0))
        meta_path = EPISODES_META_PATH.format(chunk_index=0, file_index=0)
        meta_table = pq.read_table(template / meta_path)
        global_template = json.loads((template / STATS_PATH).read_text())
        tasks_table = pq.read_table(template / TASKS_PARQUET)
        video_src = template / V30_VIDEO_PATH.format(video_key=CAMERA, chunk_index=0, file_index=0)
        packets, container = _clip_packets(video_src)
        if len(packets) != frames:
            raise ValueError(f"template video has {len(packets)} packets for {frames} frames")
        out.mkdir()
        try:
            return _fill_v30(
                out, episodes, frames, per_file, info, data_schema, meta_table, global_template,
                tasks_table, container, packets,
            )
        finally:
            container.close()


def _fill_v30(
    out: Path,
    episodes: int,
    frames: int,
    per_file: int,
    info: dict[str, Any],
    data_schema: pa.Schema,
    meta_table: pa.Table,
    global_template: dict[str, Any],
    tasks_table: pa.Table,
    container: Any,
    packets: list[tuple[bytes, int, int, bool]],
) -> Path:
    index = np.arange(episodes, dtype=np.int64)
    values = episode_actions(index, frames)  # (E, T + 1, 6)
    action, state = values[:, 1:], values[:, :-1]
    task_index = index % len(TASKS)
    columns = {
        "timestamp": np.tile(np.arange(frames, dtype=np.float32) / np.float32(FPS), episodes),
        "frame_index": np.tile(np.arange(frames, dtype=np.int64), episodes),
        "episode_index": np.repeat(index, frames),
        "index": np.arange(episodes * frames, dtype=np.int64),
        "task_index": np.repeat(task_index, frames),
    }
    rows = {"data": [], "video": [], "from": [], "to": []}
    at_data, at_video = (0, 0), (0, 0)
    chunks_size = int(info["chunks_size"])
    for first in range(0, episodes, per_file):
        last = min(first + per_file, episodes)
        lo, hi = first * frames, last * frames
        arrays = []
        for field in data_schema:
            if field.name in ("action", "observation.state"):
                block = (action if field.name == "action" else state)[first:last].reshape(-1)
                arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(block), 6))
            else:
                arrays.append(pa.array(columns[field.name][lo:hi], field.type))
        path = out / V30_DATA_PATH.format(chunk_index=at_data[0], file_index=at_data[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_arrays(arrays, schema=data_schema), path, row_group_size=frames)
        video = out / V30_VIDEO_PATH.format(video_key=CAMERA, chunk_index=at_video[0], file_index=at_video[1])
        windows = _write_video(video, container, packets, last - first, frames)
        rows["data"] += [at_data] * (last - first)
        rows["video"] += [at_video] * (last - first)
        rows["from"] += [w[0] for w in windows]
        rows["to"] += [w[1] for w in windows]
        at_data = next_chunk_file(*at_data, chunks_size)
        at_video = next_chunk_file(*at_video, chunks_size)

    per_episode = {"action": _episode_stats(action), "observation.state": _episode_stats(state)}
    per_episode |= {
        key: _episode_stats(columns[key].reshape(episodes, frames, 1))
        for key in ("timestamp", "frame_index", "episode_index", "index", "task_index")
    }
    meta_columns = []
    for field in meta_table.schema:
        name = field.name
        if name == "episode_index":
            array = pa.array(index)
        elif name == "tasks":
            array = pa.array([[TASKS[i]] for i in task_index.tolist()], field.type)
        elif name == "length":
            array = pa.array(np.full(episodes, frames, dtype=np.int64))
        elif name in ("data/chunk_index", "data/file_index"):
            array = pa.array(np.array([d[name.endswith("file_index")] for d in rows["data"]], dtype=np.int64))
        elif name == "dataset_from_index":
            array = pa.array(index * frames)
        elif name == "dataset_to_index":
            array = pa.array((index + 1) * frames)
        elif name.startswith("videos/"):
            part = name.rsplit("/", 1)[1]
            if part in ("chunk_index", "file_index"):
                at = rows["video"]
                array = pa.array(np.array([v[part == "file_index"] for v in at], dtype=np.int64))
            else:
                array = pa.array(np.array(rows["from" if part == "from_timestamp" else "to"], dtype=np.float64))
        elif name.startswith("stats/"):
            key, stat = name[len("stats/") :].rsplit("/", 1)
            if key in per_episode:
                array = _list_column(per_episode[key][stat], field)
            else:  # the camera: every episode shows the template's clip
                array = pa.repeat(meta_table.column(name)[0], episodes) if hasattr(pa, "repeat") else (
                    pa.array([meta_table.column(name)[0].as_py()] * episodes, field.type)
                )
        elif name.startswith("meta/episodes/"):
            array = pa.array(np.zeros(episodes, dtype=np.int64))
        else:
            raise ValueError(f"unexpected episodes column {name}")
        meta_columns.append(array)
    meta_out = out / EPISODES_META_PATH.format(chunk_index=0, file_index=0)
    meta_out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(meta_columns, schema=meta_table.schema), meta_out)
    pq.write_table(tasks_table, out / TASKS_PARQUET)

    stats: dict[str, Any] = {}
    for key, block in global_template.items():
        if key in per_episode:
            data = {"action": action, "observation.state": state}.get(key)
            if data is None:
                data = columns[key].reshape(episodes, frames, 1)
            stats[key] = _global_stats(data, per_episode[key])
        else:
            stats[key] = dict(block, count=[episodes * int(block["count"][0])])
    (out / STATS_PATH).write_text(json.dumps(stats, indent=4))
    info.update(
        total_episodes=episodes,
        total_frames=episodes * frames,
        splits={"train": f"0:{episodes}"},
    )
    (out / INFO_PATH).write_text(json.dumps(info, indent=4))
    return out


def _write_hdf5(out: Path, episodes: int, frames: int, size: tuple[int, int]) -> Path:
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    width, height = size
    out.parent.mkdir(parents=True, exist_ok=True)
    spec = RecordingSpec(
        demos=[DemoSpec(frames) for _ in range(episodes)], width=width, height=height, chunk=max(1, frames)
    )
    return write_recording(out, spec)


def make_large_dataset(
    out: str | Path,
    episodes: int = 10_000,
    frames: int = 100,
    size: tuple[int, int] = (64, 48),
    version: str = "v3.0",
    per_file: int = 1000,
) -> Path:
    """Write the dataset into ``out`` (must not exist)."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(out)
    if version == "hdf5":
        return _write_hdf5(out, episodes, frames, size)
    if version == "v3.0":
        return _write_v30(out, episodes, frames, size, per_file)
    return _write_with_writer(out, episodes, frames, size, version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", default=None, help="WIDTHxHEIGHT of the camera (64x48; hdf5: 16x12)")
    parser.add_argument("--format", choices=[*sorted(FORMATS), "hdf5"], default="v3.0")
    parser.add_argument("--per-file", type=int, default=1000, help="v3.0: episodes per data/video file")
    args = parser.parse_args(argv)
    size = args.size or ("16x12" if args.format == "hdf5" else "64x48")
    width, height = (int(v) for v in size.lower().split("x"))
    started = time.perf_counter()
    path = make_large_dataset(args.out, args.episodes, args.frames, (width, height), args.format, args.per_file)
    print(
        json.dumps(
            {
                "path": str(path),
                "format": args.format,
                "episodes": args.episodes,
                "frames_per_episode": args.frames,
                "size": [width, height],
                "seconds": round(time.perf_counter() - started, 2),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

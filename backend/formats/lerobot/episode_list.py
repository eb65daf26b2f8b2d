"""A LeRobot folder's metadata and episode list as columns, read without building one Python object
per episode: what ``open_lerobot`` builds its ``Dataset`` from, what ``inspect`` summarises, and what
Browse shows in its episode table (numpy arrays of index, length, rows, video windows).

Imports stay light (no video or writer modules): ``rollout-studio inspect`` starts in a fraction of a
second on a 10,000-episode dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from backend.errors import FormatError
from backend.formats.lerobot.common import (
    EPISODES_DIR,
    EPISODES_JSONL,
    V20,
    V21,
    V30,
    camera_name,
    episode_chunk,
    format_for_version,
    read_jsonl,
)
from backend.formats.lerobot.meta import (
    PARQUET_ERRORS,
    build_features,
    declared_joint_unit,
    episode_meta_files,
    read_info,
    read_stats,
    read_tasks,
    studio_record,
)
from backend.model import DatasetFormat, Feature, FeatureKind
from backend.paths import folder_problem

VIDEO_PARTS = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")


@dataclass
class EpisodeList:
    """One entry per episode, sorted by ``index``; v3.0 fields are empty for v2.x."""

    index: np.ndarray  # int64 episode_index
    length: np.ndarray  # int64 rows
    tasks: list[list[str]]  # every task text of each episode (the first is its task)
    success: list[bool | None]
    source: list[str]  # data file, relative to the root
    data_file: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))  # v3.0 (chunk, file)
    rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))  # v3.0 [from, to) index
    # v3.0: camera key -> {part: values, "has_" + part: where the entry is not null} for VIDEO_PARTS
    videos: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def task(self) -> list[str | None]:
        return [t[0] if t else None for t in self.tasks]

    @property
    def num_frames(self) -> int:
        return int(self.length.sum())


@dataclass
class LeRobotMeta:
    """Everything ``open_lerobot`` reads before any episode data."""

    root: Path
    version: str
    format: DatasetFormat
    info: dict[str, Any]
    features: dict[str, Feature]
    tasks: list[str]
    episodes: EpisodeList
    roles: dict[str, str]
    cameras: dict[str, str]


def read_meta(root: Path) -> LeRobotMeta:
    """info.json, stats (for the joint units), tasks and the episode list of a LeRobot folder."""
    root = Path(root)
    if root.is_file():
        raise FormatError("not a LeRobot dataset folder", root, "pick the folder that holds meta/info.json")
    problem = folder_problem(root)  # not found, permission denied: said as such
    if problem is not None:
        raise problem
    info = read_info(root)
    fmt = format_for_version(info["codebase_version"])
    assert fmt is not None
    version = {DatasetFormat.LEROBOT_V20: V20, DatasetFormat.LEROBOT_V21: V21}.get(fmt, V30)
    features = build_features(info, read_stats(root), declared_joint_unit(root))
    tasks_by_index = read_tasks(root, version)
    video_keys = [k for k, f in features.items() if f.kind is FeatureKind.VIDEO]
    if version == V30:
        episodes = read_episodes_v30(root, info, video_keys)
        for key in video_keys:
            features[key].has_files = _video_has_files_v30(root, info, key, episodes)
    else:
        episodes = read_episodes_v2(root, info)
        first = int(episodes.index[0]) if len(episodes) else None
        for key in video_keys:
            features[key].has_files = _video_has_files_v2(root, info, key, first)
    flags = studio_record(root).get("episode_success")
    if isinstance(flags, dict):  # the studio's outputs keep success flags in their provenance record
        for position, index in enumerate(episodes.index.tolist()):
            flag = flags.get(str(index))
            if episodes.success[position] is None and isinstance(flag, bool):
                episodes.success[position] = flag
    roles = {role: key for role, key in (("action", "action"), ("state", "observation.state")) if key in features}
    cameras = {
        camera_name(key): key
        for key, feature in features.items()
        if feature.kind in (FeatureKind.VIDEO, FeatureKind.IMAGE) and feature.has_files
    }
    return LeRobotMeta(
        root, version, fmt, info, features, [tasks_by_index[i] for i in sorted(tasks_by_index)], episodes,
        roles, cameras,
    )


def _success(values: list[Any] | None, n: int) -> list[bool | None]:
    if values is None:
        return [None] * n
    return [v if isinstance(v, bool) else None for v in values]


def read_episodes_v30(root: Path, info: dict[str, Any], video_keys: list[str]) -> EpisodeList:
    """meta/episodes/*.parquet without the stats columns, as columns sorted by episode_index."""
    tables = []
    for path in episode_meta_files(root):
        try:
            handle = pq.ParquetFile(path)  # not pq.read_table: that loads pyarrow.dataset (0.2 s or more)
            names = handle.schema_arrow.names
            table = handle.read(columns=[n for n in names if not n.startswith("stats/")])
        except PARQUET_ERRORS as error:
            raise FormatError(f"cannot read parquet ({error})", path) from error
        for required in ("episode_index", "length"):
            if required not in table.column_names:
                raise FormatError(f"episodes parquet has no {required!r} column", path)
        tables.append(table)
    names = set(tables[0].column_names).intersection(*(t.column_names for t in tables[1:]))

    def column(name: str) -> list[Any] | None:
        if name not in names:
            return None
        return [v for t in tables for v in t.column(name).to_pylist()]

    def numbers(name: str, default: float, dtype: type) -> tuple[np.ndarray, np.ndarray]:
        """Values (nulls as ``default``) and where they were present."""
        values = column(name)
        if values is None:
            return np.full(total, default, dtype=dtype), np.zeros(total, dtype=bool)
        present = np.array([v is not None for v in values], dtype=bool)
        return np.array([default if v is None else v for v in values], dtype=dtype), present

    index_values = column("episode_index") or []
    total = len(index_values)
    order = np.argsort(np.asarray(index_values, dtype=np.int64), kind="stable")
    index = np.asarray(index_values, dtype=np.int64)[order]
    length = numbers("length", 0, np.int64)[0][order]
    starts, has_start = numbers("dataset_from_index", 0, np.int64)
    stops, has_stop = numbers("dataset_to_index", 0, np.int64)
    lacking = ~(has_start & has_stop)[order]
    if lacking.any():
        raise FormatError(
            f"episode {int(index[np.argmax(lacking)])} has no dataset_from_index/dataset_to_index",
            root / EPISODES_DIR,
        )
    chunk = numbers("data/chunk_index", 0, np.int64)[0][order]
    file = numbers("data/file_index", 0, np.int64)[0][order]
    data_file = np.stack([chunk, file], axis=1) if total else np.zeros((0, 2), np.int64)
    rows = np.stack([starts[order], stops[order]], axis=1) if total else np.zeros((0, 2), np.int64)
    raw_tasks = column("tasks") or [None] * total
    tasks = [[str(t) for t in (raw_tasks[i] or [])] for i in order.tolist()]
    success_values = column("success")
    success = _success([success_values[i] for i in order.tolist()] if success_values else None, total)
    videos: dict[str, dict[str, np.ndarray]] = {}
    for key in video_keys:
        parts: dict[str, np.ndarray] = {}
        for part in VIDEO_PARTS:
            dtype = np.float64 if part.endswith("timestamp") else np.int64
            values, present = numbers(f"videos/{key}/{part}", 0, dtype)
            parts[part] = values[order]
            parts[f"has_{part}"] = present[order]
        videos[key] = parts
    template = str(info.get("data_path", ""))
    names_of: dict[tuple[int, int], str] = {}
    source = []
    for c, f in data_file.tolist():
        name = names_of.get((c, f))
        if name is None:
            name = names_of[(c, f)] = template.format(chunk_index=c, file_index=f)
        source.append(name)
    return EpisodeList(index, length, tasks, success, source, data_file, rows, videos)


def read_episodes_v2(root: Path, info: dict[str, Any]) -> EpisodeList:
    """meta/episodes.jsonl as columns sorted by episode_index."""
    rows = read_jsonl(root / EPISODES_JSONL)
    chunks_size = int(info.get("chunks_size") or 1000)
    template = str(info.get("data_path", ""))
    indices, lengths, tasks, success, source = [], [], [], [], []
    for row in sorted(rows, key=lambda r: int(r.get("episode_index", 0))):
        try:
            index, length = int(row["episode_index"]), int(row["length"])
        except (KeyError, TypeError, ValueError) as error:
            raise FormatError(
                f"episode line {row!r} lacks episode_index/length", root / EPISODES_JSONL
            ) from error
        texts = row.get("tasks") or []
        if isinstance(texts, str):
            texts = [texts]
        indices.append(index)
        lengths.append(length)
        tasks.append([str(t) for t in texts])
        success.append(row["success"] if isinstance(row.get("success"), bool) else None)
        source.append(template.format(episode_chunk=episode_chunk(index, chunks_size), episode_index=index))
    return EpisodeList(
        np.asarray(indices, dtype=np.int64), np.asarray(lengths, dtype=np.int64), tasks, success, source
    )


def _video_has_files_v2(root: Path, info: dict[str, Any], key: str, first_episode: int | None) -> bool:
    template = str(info.get("video_path") or "")
    if not template:
        return False
    chunks_size = int(info.get("chunks_size") or 1000)
    if first_episode is not None:
        try:
            first = root / template.format(
                episode_chunk=episode_chunk(first_episode, chunks_size),
                video_key=key,
                episode_index=first_episode,
            )
        except (KeyError, IndexError, ValueError):
            first = None
        if first is not None and first.is_file():
            return True
        if first is not None and first.parent.is_dir():
            return any(first.parent.glob("*.mp4"))
    return any((root / "videos").glob(f"*/{key}/*.mp4"))


def _video_has_files_v30(root: Path, info: dict[str, Any], key: str, episodes: EpisodeList) -> bool:
    video = episodes.videos.get(key)
    if not len(episodes) or video is None or not (video["has_chunk_index"][0] and video["has_file_index"][0]):
        return False
    template = str(info.get("video_path") or "")
    try:
        first = root / template.format(
            video_key=key, chunk_index=int(video["chunk_index"][0]), file_index=int(video["file_index"][0])
        )
    except (KeyError, IndexError, ValueError, TypeError):
        return False
    return first.is_file() or (root / "videos" / key).is_dir()

"""Read LeRobot v2.0 / v2.1 / v3.0 folders as a ``backend.model.Dataset``.

Opening reads metadata only (info.json, the episode list, tasks, stats.json): listing thousands of
episodes costs milliseconds. Episode arrays are read on first use: one parquet per episode (v2.x) or
only the episode's row groups of the shared parquet (v3.0). Camera streams share one video reader per
mp4 file.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from backend.errors import FormatError
from backend.formats.base import Capability
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
from backend.formats.lerobot.meta import (  # noqa: F401 - episode_meta_files, read_stats: for importers
    PARQUET_ERRORS,
    build_features,
    declared_joint_unit,
    episode_meta_files,
    read_episode_rows_v30,
    read_info,
    read_stats,
    read_tasks,
    studio_record,
)
from backend.formats.lerobot.stream import ImageColumnStream, VideoPool, VideoWindowStream
from backend.model import (
    Dataset,
    DatasetFormat,
    DatasetReader,
    Episode,
    Feature,
    FeatureKind,
    Stream,
)
from backend.paths import folder_problem


# -- column conversion ------------------------------------------------------------------------------
def column_to_numpy(column: pa.ChunkedArray | pa.Array, feature: Feature | None, source: Path) -> np.ndarray:
    """A parquet column as (T, ...) numpy; fixed or variable lists become a 2-D (or N-D) array."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(array)
    key = feature.key if feature else "column"
    if (
        pa.types.is_list(array.type)
        or pa.types.is_large_list(array.type)
        or pa.types.is_fixed_size_list(array.type)
    ):
        if array.null_count:
            raise FormatError(f"{key} has {array.null_count} missing rows", source)
        flat = array
        while (
            pa.types.is_list(flat.type)
            or pa.types.is_large_list(flat.type)
            or pa.types.is_fixed_size_list(flat.type)
        ):
            if not pa.types.is_fixed_size_list(flat.type):
                lengths = pc.list_value_length(flat)
                if len(lengths) and pc.min_max(lengths)["min"].as_py() != pc.min_max(lengths)["max"].as_py():
                    raise FormatError(f"{key} has rows of different lengths", source)
            flat = flat.flatten()
        values = flat.to_numpy(zero_copy_only=False)
        if n == 0:
            width = feature.shape if feature and feature.kind is FeatureKind.VECTOR else ()
            return values.reshape((0, *width))
        if values.size % n:
            raise FormatError(f"{key} has {values.size} values for {n} rows", source)
        values = values.reshape(n, -1)
        if feature is not None and feature.kind is FeatureKind.SCALAR and values.shape[1] == 1:
            return values[:, 0]
        if feature is not None and feature.kind is FeatureKind.VECTOR:
            expected = int(np.prod(feature.shape)) if feature.shape else values.shape[1]
            if values.shape[1] != expected:
                raise FormatError(
                    f"{key} has width {values.shape[1]}, info.json says shape {list(feature.shape)}", source
                )
            if len(feature.shape) > 1:
                values = values.reshape(n, *feature.shape)
        return values
    if pa.types.is_floating(array.type):
        return array.to_numpy(zero_copy_only=False)
    if array.null_count:
        raise FormatError(f"{key} has {array.null_count} missing values", source)
    return array.to_numpy(zero_copy_only=False)


# -- the reader -------------------------------------------------------------------------------------
class LeRobotReader(DatasetReader):
    # success flags: episode rows or the studio's provenance record; PACKET_COPY: camera streams of
    # video features are windows of mp4 files (``VideoWindowStream``) a writer can copy packets from
    capabilities = (
        Capability.VIDEO
        | Capability.IMAGES
        | Capability.SUCCESS_FLAGS
        | Capability.TASKS
        | Capability.STATS
        | Capability.PACKET_COPY
    )

    def __init__(self, root: Path, version: str, info: dict[str, Any], features: dict[str, Feature]) -> None:
        self.root = root
        self.version = version
        self.info = info
        self.features = features
        self.fps = float(info["fps"])
        self.chunks_size = int(info.get("chunks_size") or 1000)
        self.data_path = str(info.get("data_path") or "")
        self.video_path = str(info.get("video_path") or "")
        self.pool = VideoPool()
        self._lock = threading.RLock()
        self._tables: OrderedDict[int, pa.Table] = OrderedDict()
        self._parquet_files: OrderedDict[Path, pq.ParquetFile] = OrderedDict()
        self.file_base: dict[tuple[int, int], int] = {}  # v3.0: first global index in each data file
        self.dataset: Dataset | None = None

    # paths -----------------------------------------------------------------------------------
    def episode_data_path(self, episode: Episode) -> Path:
        if self.version == V30:
            chunk, file = episode.extra["lerobot"]["data_file"]
            return self.root / self.data_path.format(chunk_index=chunk, file_index=file)
        return self.root / self.data_path.format(
            episode_chunk=episode_chunk(episode.index, self.chunks_size), episode_index=episode.index
        )

    def episode_video_path(self, episode: Episode, key: str) -> Path:
        if self.version == V30:
            video = episode.extra["lerobot"]["videos"].get(key)
            if video is None:
                raise FormatError(
                    f"episode {episode.index} has no {key} video entry", self.root / EPISODES_DIR
                )
            return self.root / self.video_path.format(
                video_key=key, chunk_index=video["chunk_index"], file_index=video["file_index"]
            )
        return self.root / self.video_path.format(
            episode_chunk=episode_chunk(episode.index, self.chunks_size),
            video_key=key,
            episode_index=episode.index,
        )

    # parquet -----------------------------------------------------------------------------------
    def _parquet_file(self, path: Path) -> pq.ParquetFile:
        handle = self._parquet_files.get(path)
        if handle is None:
            if not path.is_file():
                raise FormatError(
                    "data parquet is missing", path, "re-export the dataset or restore the file"
                )
            try:
                handle = pq.ParquetFile(path, memory_map=True)
            except PARQUET_ERRORS as error:
                raise FormatError(
                    f"cannot read parquet ({error})", path, "the file is truncated or corrupt"
                ) from error
            self._parquet_files[path] = handle
            while len(self._parquet_files) > 16:
                self._parquet_files.popitem(last=False)
        else:
            self._parquet_files.move_to_end(path)
        return handle

    def _columns(self, schema_names: list[str]) -> list[str]:
        skip = {k for k, f in self.features.items() if f.kind in (FeatureKind.VIDEO, FeatureKind.IMAGE)}
        return [n for n in schema_names if n not in skip]

    def _read_v2(self, episode: Episode, columns: list[str] | None = None) -> pa.Table:
        path = self.episode_data_path(episode)
        handle = self._parquet_file(path)
        try:
            names = columns if columns is not None else self._columns(handle.schema_arrow.names)
            return handle.read(columns=names)
        except PARQUET_ERRORS as error:
            raise FormatError(
                f"cannot read parquet ({error})", path, "the file is truncated or corrupt"
            ) from error

    def _read_v30(self, episode: Episode, columns: list[str] | None = None) -> pa.Table:
        meta = episode.extra["lerobot"]
        path = self.episode_data_path(episode)
        handle = self._parquet_file(path)
        start_index, stop_index = meta["rows"]
        base = self.file_base.get(tuple(meta["data_file"]), 0)
        start, stop = start_index - base, stop_index - base
        try:
            names = columns if columns is not None else self._columns(handle.schema_arrow.names)
            metadata = handle.metadata
            groups, offsets, offset = [], [], 0
            for g in range(metadata.num_row_groups):
                rows = metadata.row_group(g).num_rows
                if offset < stop and offset + rows > start:
                    groups.append(g)
                    offsets.append(offset)
                offset += rows
            if stop > offset or start < 0:
                table = None
            else:
                part = handle.read_row_groups(groups, columns=names) if groups else None
                table = part.slice(start - offsets[0], stop - start) if part is not None else None
            if table is not None and "episode_index" in table.column_names and table.num_rows:
                ep = table.column("episode_index")
                if (
                    pc.min_max(ep)["min"].as_py() != episode.index
                    or pc.min_max(ep)["max"].as_py() != episode.index
                ):
                    table = None
            if table is None:  # rows not where the index says: select by episode_index instead
                full = handle.read(columns=sorted(set(names) | {"episode_index"}))
                table = full.filter(pc.equal(full.column("episode_index"), episode.index)).select(names)
        except PARQUET_ERRORS as error:
            raise FormatError(
                f"cannot read parquet ({error})", path, "the file is truncated or corrupt"
            ) from error
        if table.num_rows != episode.length:
            raise FormatError(
                f"episode {episode.index} has {table.num_rows} rows, the episode list says {episode.length}",
                path,
            )
        return table

    def episode_table(self, episode: Episode, columns: list[str] | None = None) -> pa.Table:
        """The episode's parquet rows (all columns but images unless ``columns`` says otherwise)."""
        if columns is not None:
            return (
                self._read_v30(episode, columns) if self.version == V30 else self._read_v2(episode, columns)
            )
        with self._lock:
            table = self._tables.get(episode.index)
            if table is not None:
                self._tables.move_to_end(episode.index)
                return table
            table = self._read_v30(episode) if self.version == V30 else self._read_v2(episode)
            self._tables[episode.index] = table
            while len(self._tables) > 4:
                self._tables.popitem(last=False)
            return table

    # DatasetReader -----------------------------------------------------------------------------
    def read_array(self, episode: Episode, key: str) -> np.ndarray:
        feature = self.features[key]
        if feature.kind in (FeatureKind.VIDEO, FeatureKind.IMAGE):
            raise KeyError(f"{key} is a camera: use episode.stream({camera_name(key)!r})")
        path = self.episode_data_path(episode)
        with self._lock:
            table = self.episode_table(episode)
        if key not in table.column_names:
            if key == "frame_index":  # some v2.0 datasets (GR00T) have no frame_index column
                return np.arange(table.num_rows, dtype=np.int64)
            raise FormatError(f"column {key!r} is missing from the parquet", path)
        values = column_to_numpy(table.column(key), feature, path)
        if feature.kind is FeatureKind.VECTOR and self.dataset is not None:
            self.dataset.check_finite(values, key, episode)
        return values

    def open_stream(self, episode: Episode, camera: str) -> Stream:
        assert self.dataset is not None
        key = self.dataset.cameras[camera]
        feature = self.features[key]
        if feature.kind is FeatureKind.IMAGE:
            path = self.episode_data_path(episode)
            table = self.episode_table(episode, [key])
            return ImageColumnStream(camera, table.column(key).to_pylist(), self.fps, self.root, path)
        path = self.episode_video_path(episode, key)
        if self.version == V30:
            video = episode.extra["lerobot"]["videos"][key]
            return VideoWindowStream(
                camera, self.pool, path, self.fps, float(video["from_timestamp"]), episode.length
            )
        return VideoWindowStream(camera, self.pool, path, self.fps)

    def close(self) -> None:
        self.pool.close()
        with self._lock:
            self._tables.clear()
            self._parquet_files.clear()


# -- open -------------------------------------------------------------------------------------------
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


def _video_has_files_v30(root: Path, info: dict[str, Any], key: str, rows: list[dict[str, Any]]) -> bool:
    column = f"videos/{key}/file_index"
    if not rows or column not in rows[0]:
        return False
    template = str(info.get("video_path") or "")
    row = rows[0]
    try:
        first = root / template.format(
            video_key=key, chunk_index=row[f"videos/{key}/chunk_index"], file_index=row[column]
        )
    except (KeyError, IndexError, ValueError, TypeError):
        return False
    return first.is_file() or (root / "videos" / key).is_dir()


def open_lerobot(root: Path) -> Dataset:
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
    stats = read_stats(root)
    features = build_features(info, stats, declared_joint_unit(root))
    tasks_by_index = read_tasks(root, version)
    task_list = [tasks_by_index[i] for i in sorted(tasks_by_index)]
    reader = LeRobotReader(root, version, info, features)
    dataset = Dataset(
        path=root,
        format=fmt,
        fps=float(info["fps"]),
        robot_type=str(info.get("robot_type") or ""),
        features=features,
        tasks=task_list,
        reader=reader,
        info=info,
    )
    reader.dataset = dataset

    episodes: list[Episode] = []
    if version == V30:
        rows = read_episode_rows_v30(root)
        video_keys = [k for k, f in features.items() if f.kind is FeatureKind.VIDEO]
        for row in rows:
            index = int(row["episode_index"])
            tasks = [str(t) for t in (row.get("tasks") or [])]
            data_file = (int(row.get("data/chunk_index") or 0), int(row.get("data/file_index") or 0))
            start = row.get("dataset_from_index")
            stop = row.get("dataset_to_index")
            if start is None or stop is None:
                raise FormatError(
                    f"episode {index} has no dataset_from_index/dataset_to_index", root / EPISODES_DIR
                )
            videos = {}
            for key in video_keys:
                if row.get(f"videos/{key}/from_timestamp") is None:
                    continue
                videos[key] = {
                    "chunk_index": int(row.get(f"videos/{key}/chunk_index") or 0),
                    "file_index": int(row.get(f"videos/{key}/file_index") or 0),
                    "from_timestamp": float(row[f"videos/{key}/from_timestamp"]),
                    "to_timestamp": float(row.get(f"videos/{key}/to_timestamp") or 0.0),
                }
            base = reader.file_base.get(data_file)
            reader.file_base[data_file] = int(start) if base is None else min(base, int(start))
            episodes.append(
                Episode(
                    dataset,
                    index,
                    int(row["length"]),
                    task=tasks[0] if tasks else None,
                    success=row["success"] if isinstance(row.get("success"), bool) else None,
                    source=info.get("data_path", "").format(
                        chunk_index=data_file[0], file_index=data_file[1]
                    ),
                    extra={
                        "tasks": tasks,
                        "lerobot": {
                            "data_file": data_file,
                            "rows": (int(start), int(stop)),
                            "videos": videos,
                        },
                    },
                )
            )
        for key in video_keys:
            features[key].has_files = _video_has_files_v30(root, info, key, rows)
    else:
        rows = read_jsonl(root / EPISODES_JSONL)
        chunks_size = int(info.get("chunks_size") or 1000)
        for row in sorted(rows, key=lambda r: int(r.get("episode_index", 0))):
            try:
                index, length = int(row["episode_index"]), int(row["length"])
            except (KeyError, TypeError, ValueError) as error:
                raise FormatError(
                    f"episode line {row!r} lacks episode_index/length", root / EPISODES_JSONL
                ) from error
            tasks = row.get("tasks") or []
            if isinstance(tasks, str):
                tasks = [tasks]
            tasks = [str(t) for t in tasks]
            source = str(info.get("data_path", "")).format(
                episode_chunk=episode_chunk(index, chunks_size), episode_index=index
            )
            episodes.append(
                Episode(
                    dataset,
                    index,
                    length,
                    task=tasks[0] if tasks else None,
                    success=row["success"] if isinstance(row.get("success"), bool) else None,
                    source=source,
                    extra={"tasks": tasks, "lerobot": {}},
                )
            )
        first = episodes[0].index if episodes else None
        for key, feature in features.items():
            if feature.kind is FeatureKind.VIDEO:
                feature.has_files = _video_has_files_v2(root, info, key, first)
    flags = studio_record(root).get("episode_success")
    if isinstance(flags, dict):  # the studio's outputs keep success flags in their provenance record
        for episode in episodes:
            flag = flags.get(str(episode.index))
            if episode.success is None and isinstance(flag, bool):
                episode.success = flag
    dataset.episodes = episodes

    if "action" in features:
        dataset.roles["action"] = "action"
    if "observation.state" in features:
        dataset.roles["state"] = "observation.state"
    for key, feature in features.items():
        if feature.kind in (FeatureKind.VIDEO, FeatureKind.IMAGE) and feature.has_files:
            dataset.cameras[camera_name(key)] = key
    return dataset

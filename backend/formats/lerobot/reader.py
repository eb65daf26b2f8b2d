"""Read LeRobot v2.0 / v2.1 / v3.0 folders as a ``backend.model.Dataset``.

Opening reads metadata only (info.json, the episode list, tasks, stats.json): listing thousands of
episodes costs milliseconds. Episode arrays are read on first use: one parquet per episode (v2.x) or
only the episode's row groups of the shared parquet (v3.0). Camera streams share one video reader per
mp4 file.
"""

from __future__ import annotations

import gc
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
    V30,
    camera_name,
    episode_chunk,
)
from backend.formats.lerobot.episode_list import VIDEO_PARTS, EpisodeList, LeRobotMeta, read_meta
from backend.formats.lerobot.meta import (  # noqa: F401 - episode_meta_files, read_stats: for importers
    PARQUET_ERRORS,
    episode_meta_files,
    read_stats,
)
from backend.formats.lerobot.stream import ImageColumnStream, VideoPool, VideoWindowStream
from backend.model import (
    Dataset,
    DatasetReader,
    Episode,
    Feature,
    FeatureKind,
    Stream,
)

WHOLE_FILE_BYTES = 256 * 1024 * 1024  # uncompressed: LeRobot's data files are 100 MB (compressed) at most

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
        self._whole: tuple[Path, pa.Table] | None = None  # v3.0: one data file read whole (a scan)
        self._reads: dict[Path, int] = {}
        self._bounds: dict[Path, np.ndarray] = {}  # v3.0: row group boundaries of each data file
        self.episode_list: EpisodeList | None = None  # the episode list as columns (set by open_lerobot)
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
            bounds = self._row_group_bounds(path, handle)  # first row of each row group, then the total
            offset = int(bounds[-1])
            whole = self._whole_file(path, handle, names) if stop <= offset and start >= 0 else None
            if stop > offset or start < 0:
                table = None
            elif whole is not None:
                table = whole.slice(start, stop - start).select(names)
            else:
                first = int(np.searchsorted(bounds, start, side="right")) - 1
                last = max(first + 1, int(np.searchsorted(bounds, stop, side="left")))
                groups = list(range(max(first, 0), min(last, len(bounds) - 1)))
                part = handle.read_row_groups(groups, columns=names) if groups else None
                table = part.slice(start - int(bounds[groups[0]]), stop - start) if part is not None else None
            if table is not None and "episode_index" in table.column_names and table.num_rows:
                ep = table.column("episode_index").to_numpy()
                if ep.min() != episode.index or ep.max() != episode.index:
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

    def _row_group_bounds(self, path: Path, handle: pq.ParquetFile) -> np.ndarray:
        with self._lock:
            bounds = self._bounds.get(path)
            if bounds is None:
                metadata = handle.metadata
                rows = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
                bounds = self._bounds[path] = np.concatenate([[0], np.cumsum(rows, dtype=np.int64)])
            return bounds

    def _whole_file(self, path: Path, handle: pq.ParquetFile, names: list[str]) -> pa.Table | None:
        """The data file's columns (all but images) once episodes are read from it one after another
        (its third read): a scan (validate, export) then reads each file once, not row group by row
        group; a single episode (Browse) still reads only its row groups. One file is kept."""
        with self._lock:
            return self._whole_file_locked(path, handle, names)

    def _whole_file_locked(self, path: Path, handle: pq.ParquetFile, names: list[str]) -> pa.Table | None:
        if self._whole is not None and self._whole[0] == path:
            table = self._whole[1]
            return table if all(n in table.column_names for n in names) else None
        self._reads[path] = self._reads.get(path, 0) + 1
        if self._reads[path] < 3:
            return None
        metadata = handle.metadata
        size = sum(metadata.row_group(g).total_byte_size for g in range(metadata.num_row_groups))
        if size > WHOLE_FILE_BYTES:
            return None
        wanted = self._columns(handle.schema_arrow.names)
        if not all(n in wanted for n in names):
            return None
        table = handle.read(columns=wanted)
        self._whole = (path, table)
        self._reads.clear()
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
            self._whole = None


# -- open -------------------------------------------------------------------------------------------
def open_lerobot(root: Path) -> Dataset:
    """Open a LeRobot folder: metadata and the episode list (``reader.episode_list`` keeps it as
    columns); episode data is read on first use."""
    gc_was_on = gc.isenabled()
    gc.disable()  # thousands of small objects and no cycles: the collector would only rescan them
    try:
        return _build(read_meta(Path(root)))
    finally:
        if gc_was_on:
            gc.enable()


def _build(meta: LeRobotMeta) -> Dataset:
    reader = LeRobotReader(meta.root, meta.version, meta.info, meta.features)
    reader.episode_list = meta.episodes
    dataset = Dataset(
        path=meta.root,
        format=meta.format,
        fps=float(meta.info["fps"]),
        robot_type=str(meta.info.get("robot_type") or ""),
        features=meta.features,
        tasks=meta.tasks,
        reader=reader,
        info=meta.info,
        roles=meta.roles,
        cameras=meta.cameras,
    )
    reader.dataset = dataset
    listed = meta.episodes
    n = len(listed)
    indices, lengths = listed.index.tolist(), listed.length.tolist()
    if meta.version == V30:
        data_files = [tuple(pair) for pair in listed.data_file.tolist()]
        rows = [tuple(pair) for pair in listed.rows.tolist()]
        video_columns = {
            key: (parts["has_from_timestamp"].tolist(), *(parts[p].tolist() for p in VIDEO_PARTS))
            for key, parts in listed.videos.items()
        }
        extras = []
        for i in range(n):
            videos = {}
            for key, (present, chunk, file, start, stop) in video_columns.items():
                if present[i]:
                    videos[key] = {
                        "chunk_index": chunk[i], "file_index": file[i], "from_timestamp": start[i],
                        "to_timestamp": stop[i],
                    }
            extras.append({"data_file": data_files[i], "rows": rows[i], "videos": videos})
        for data_file, (start, _) in zip(data_files, rows, strict=True):
            base = reader.file_base.get(data_file)
            reader.file_base[data_file] = start if base is None else min(base, start)
    else:
        extras = [{} for _ in range(n)]
    dataset.episodes = [
        Episode(
            dataset, indices[i], lengths[i], task=listed.tasks[i][0] if listed.tasks[i] else None,
            success=listed.success[i], source=listed.source[i],
            extra={"tasks": listed.tasks[i], "lerobot": extras[i]},
        )
        for i in range(n)
    ]
    return dataset

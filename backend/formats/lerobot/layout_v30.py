"""LeRobot v3.0 layout: episodes appended to shared files. Rows go to
``data/chunk-CCC/file-FFF.parquet`` (one row group per episode) until ``data_files_size_in_mb``; each
episode's video is encoded on its own (it starts on a keyframe) and its packets are appended to
``videos/<key>/chunk-CCC/file-FFF.mp4`` until ``video_files_size_in_mb``. Frame i of every episode
shows at from_timestamp + i / fps exactly. meta/ holds tasks.parquet, one episodes parquet (file
references and statistics per episode, LeRobot's column order) and stats.json."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from backend.atomic import remove_path
from backend.formats.lerobot.common import (
    EPISODES_META_PATH,
    QUANTILE_KEYS,
    STATS_PATH,
    TASKS_PARQUET,
    V30,
    V30_DATA_PATH,
    V30_VIDEO_PATH,
    fps_value,
    next_chunk_file,
    write_json,
)
from backend.formats.lerobot.layout import COMMON_CAPABILITIES, Layout
from backend.formats.lerobot.remux import NeedsNewFile, PacketFile
from backend.formats.lerobot.stats import Stats, to_json
from backend.media import VideoProbe, probe
from backend.model import DatasetFormat

if TYPE_CHECKING:
    from backend.formats.lerobot.episode import CameraTrack, LeRobotEpisodeWriter
    from backend.formats.lerobot.writer import LeRobotWriter


class V30Layout(Layout):
    format = DatasetFormat.LEROBOT_V30
    version = V30
    capabilities = COMMON_CAPABILITIES
    hf_list_type = "List"
    image_quantiles = True

    def __init__(self, writer: LeRobotWriter) -> None:
        super().__init__(writer)
        self._data_file: pq.ParquetWriter | None = None
        self._data_at = (0, 0)
        self._data_bytes = 0
        self._data_rows = 0
        self._video_files: dict[str, PacketFile] = {}
        self._video_at: dict[str, tuple[int, int]] = {}

    def encode_path(self, index: int, key: str) -> Path:
        return self.writer.staging / f"{key}-episode_{index:06d}.mp4"  # appended to a shared file at end()

    def take_video(
        self,
        episode: LeRobotEpisodeWriter,
        camera: CameraTrack,
        source: Path,
        info: VideoProbe,
        first: int,
        count: int,
    ) -> None:
        camera.copy = (source, info, first, count)  # appended to the shared file at end()

    def write_episode(
        self, episode: LeRobotEpisodeWriter, table: pa.Table, row: dict[str, Any], success: bool | None
    ) -> None:
        row.update(self._append_data(table))
        for camera in episode.cameras.values():
            row.update(self._append_video(episode, camera))

    def before_meta(self) -> None:
        if self._data_file is None:  # an empty dataset still gets its (empty) data file
            self._append_data(self.writer.schema.empty_table())
        if self._data_file is not None:
            self._data_file.close()
            self._data_file = None
        for file in self._video_files.values():
            file.close()
        self._video_files.clear()

    def abort_files(self) -> None:
        if self._data_file is not None:
            with contextlib.suppress(Exception):
                self._data_file.close()
            self._data_file = None
        for file in self._video_files.values():
            file.abort()
        self._video_files.clear()

    def info(self, features: dict[str, Any]) -> dict[str, Any]:
        w = self.writer
        n = len(w.episodes)
        # the order LeRobot 0.6.1 writes
        return {
            "codebase_version": V30,
            "fps": fps_value(w.spec.fps),
            "features": features,
            "total_episodes": n,
            "total_frames": w.total_frames,
            "total_tasks": len(w.tasks),
            "chunks_size": w.chunks_size,
            "data_files_size_in_mb": fps_value(w.data_mb),
            "video_files_size_in_mb": fps_value(w.video_mb),
            "data_path": V30_DATA_PATH,
            "video_path": V30_VIDEO_PATH if w.cameras else None,
            "robot_type": w.spec.robot_type or None,
            "splits": {"train": f"0:{n}"},
        }

    def video_info(
        self, key: str, height: int, width: int, codec: str, pix_fmt: str, channels: int, copied: bool
    ) -> dict[str, Any]:
        w = self.writer
        if copied:
            source = w.source_video_info.get(key, {})
            g, crf, preset = source.get("video.g"), source.get("video.crf"), source.get("video.preset")
        else:
            used = w.encoder_settings.get(key, {})
            g = used.get("gop", w.video_options["gop"])
            crf = used.get("crf", w.video_options["crf"])
            preset = used.get("preset", w.video_options["preset"])
        return {
            "video.height": height,
            "video.width": width,
            "video.codec": codec,
            "video.pix_fmt": pix_fmt,
            "video.fps": fps_value(w.spec.fps),
            "video.channels": channels,
            "has_audio": False,
            "video.g": g,
            "video.crf": crf,
            "video.preset": preset,
            "video.fast_decode": 0,
            "video.video_backend": "pyav",
            "video.extra_options": {},
            "is_depth_map": False,
        }

    # -- shared files ----------------------------------------------------------------------------------
    def _append_data(self, table: pa.Table) -> dict[str, Any]:
        w = self.writer
        limit = w.data_mb * 1024 * 1024
        if self._data_file is not None and self._data_bytes + table.nbytes > limit and self._data_rows:
            self._data_file.close()
            self._data_file = None
            self._data_at = next_chunk_file(*self._data_at, w.chunks_size)
            self._data_bytes = 0
            self._data_rows = 0
        if self._data_file is None:
            chunk, file = self._data_at
            path = w.tmp / V30_DATA_PATH.format(chunk_index=chunk, file_index=file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._data_file = pq.ParquetWriter(path, w.schema)
        if table.num_rows:
            self._data_file.write_table(table, row_group_size=max(1, table.num_rows))
        self._data_bytes += table.nbytes
        self._data_rows += table.num_rows
        return {
            "data/chunk_index": self._data_at[0],
            "data/file_index": self._data_at[1],
            "dataset_from_index": w.total_frames,
            "dataset_to_index": w.total_frames + table.num_rows,
        }

    def _video_file(self, key: str, source: Path, estimate: int) -> tuple[PacketFile, tuple[int, int]]:
        w = self.writer
        current = self._video_files.get(key)
        at = self._video_at.get(key, (0, 0))
        if current is not None and not current.empty:
            too_big = current.bytes + estimate > w.video_mb * 1024 * 1024
            if too_big or not current.accepts(source):
                current.close()
                at = next_chunk_file(*at, w.chunks_size)
                current = None
        if current is None:
            path = w.tmp / V30_VIDEO_PATH.format(video_key=key, chunk_index=at[0], file_index=at[1])
            current = PacketFile(path)
            self._video_files[key] = current
            self._video_at[key] = at
            w.videos_written += 1
        return current, at

    def _append_video(self, episode: LeRobotEpisodeWriter, camera: CameraTrack) -> dict[str, Any]:
        w = self.writer
        key = camera.key
        if camera.copy is not None:
            source, info, first, count = camera.copy
            estimate = int(Path(source).stat().st_size * count / max(1, info.num_frames))
            sink = episode.stats_sink(camera, count)
        elif camera.path is not None:
            source = camera.path
            info = probe(source)
            first, count = 0, info.num_frames
            estimate = source.stat().st_size
            sink = None
        else:  # an episode without frames
            return {
                f"videos/{key}/chunk_index": self._video_at.get(key, (0, 0))[0],
                f"videos/{key}/file_index": self._video_at.get(key, (0, 0))[1],
                f"videos/{key}/from_timestamp": 0.0,
                f"videos/{key}/to_timestamp": 0.0,
            }
        target, at = self._video_file(key, source, estimate)
        try:
            start, stop = target.append(source, info, first, count, w.spec.fps, sink)
        except NeedsNewFile:
            target.close()
            self._video_files.pop(key)
            self._video_at[key] = next_chunk_file(*at, w.chunks_size)
            target, at = self._video_file(key, source, estimate)
            start, stop = target.append(source, info, first, count, w.spec.fps, sink)
        if key not in w.video_info:
            w.video_info[key] = {"probe": info, "copied": camera.copy is not None}
        if camera.copy is None:
            remove_path(source)
        return {
            f"videos/{key}/chunk_index": at[0],
            f"videos/{key}/file_index": at[1],
            f"videos/{key}/from_timestamp": start,
            f"videos/{key}/to_timestamp": stop,
        }

    # -- metadata ------------------------------------------------------------------------------------
    def write_meta(self, root: Path, global_stats: dict[str, Stats]) -> None:
        self._write_tasks(root)
        self._write_episodes(root)
        write_json(root / STATS_PATH, to_json(global_stats))

    def _write_tasks(self, root: Path) -> None:
        w = self.writer
        # tasks.parquet: the task text is pandas' index (as LeRobot writes it)
        tasks = list(w.tasks.items())
        pandas_meta = {
            "index_columns": ["task"],
            "column_indexes": [
                {
                    "name": None,
                    "field_name": None,
                    "pandas_type": "unicode",
                    "numpy_type": "object",
                    "metadata": {"encoding": "UTF-8"},
                }
            ],
            "columns": [
                {
                    "name": "task_index",
                    "field_name": "task_index",
                    "pandas_type": "int64",
                    "numpy_type": "int64",
                    "metadata": None,
                },
                {
                    "name": "task",
                    "field_name": "task",
                    "pandas_type": "unicode",
                    "numpy_type": "object",
                    "metadata": None,
                },
            ],
            "attributes": {},
            "creator": {"library": "pyarrow", "version": pa.__version__},
        }
        task_table = pa.table(
            {
                "task_index": pa.array([i for _, i in tasks], pa.int64()),
                "task": pa.array([t for t, _ in tasks], pa.large_string()),
            },
        ).replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()})
        (root / TASKS_PARQUET).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(task_table, root / TASKS_PARQUET)

    def _write_episodes(self, root: Path) -> None:
        w = self.writer
        # episodes parquet: one row per episode, LeRobot's column order
        video_keys = [key for key, _ in w.cameras.values()]
        stat_keys = ["min", "max", "mean", "std", "count", *QUANTILE_KEYS]
        order = w.feature_order()
        columns: dict[str, list] = {
            "episode_index": [],
            "tasks": [],
            "length": [],
            "data/chunk_index": [],
            "data/file_index": [],
            "dataset_from_index": [],
            "dataset_to_index": [],
        }
        for key in video_keys:
            for part in ("chunk_index", "file_index", "from_timestamp", "to_timestamp"):
                columns[f"videos/{key}/{part}"] = []
        present = [key for key in order if any(key in s for s in w.episode_stats)]
        for key in present:
            for stat in stat_keys:
                columns[f"stats/{key}/{stat}"] = []
        columns["meta/episodes/chunk_index"] = []
        columns["meta/episodes/file_index"] = []
        for row, stats in zip(w.episodes, w.episode_stats, strict=True):
            for name in list(columns)[:7]:
                columns[name].append(row[name])
            for key in video_keys:
                for part in ("chunk_index", "file_index", "from_timestamp", "to_timestamp"):
                    columns[f"videos/{key}/{part}"].append(row[f"videos/{key}/{part}"])
            for key in present:
                for stat in stat_keys:
                    value = stats.get(key, {}).get(stat)
                    columns[f"stats/{key}/{stat}"].append(
                        None if value is None else np.asarray(value).tolist()
                    )
            columns["meta/episodes/chunk_index"].append(0)
            columns["meta/episodes/file_index"].append(0)
        fields = []
        for name in columns:
            if name == "tasks":
                fields.append(pa.field(name, pa.list_(pa.string())))
            elif name.endswith("_timestamp"):
                fields.append(pa.field(name, pa.float64()))
            elif name.startswith("stats/"):
                key, stat = name[len("stats/") :].rsplit("/", 1)
                leaf = pa.int64() if stat == "count" else pa.float64()
                is_image = key in video_keys and stat != "count"
                fields.append(
                    pa.field(name, pa.list_(pa.list_(pa.list_(leaf))) if is_image else pa.list_(leaf))
                )
            else:
                fields.append(pa.field(name, pa.int64()))
        schema = pa.schema(fields)
        table = pa.table({f.name: pa.array(columns[f.name], f.type) for f in schema}, schema=schema)
        path = root / EPISODES_META_PATH.format(chunk_index=0, file_index=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)

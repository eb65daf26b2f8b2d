"""LeRobot v2.1 layout: one parquet and one mp4 per camera for each episode, chunked by episode
index; meta/ holds JSON lines (tasks, episodes, per-episode statistics) and stats.json. The only
layout that can publish each episode as it ends (recording) and resume an existing dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from backend.formats.base import Capability
from backend.formats.lerobot.append import fsync_dir, move_into_place
from backend.formats.lerobot.common import (
    EPISODES_JSONL,
    EPISODES_STATS_JSONL,
    STATS_PATH,
    TASKS_JSONL,
    V21,
    V21_DATA_PATH,
    V21_VIDEO_PATH,
    episode_chunk,
    fps_value,
    read_jsonl,
    total_chunks,
    write_json,
    write_jsonl,
)
from backend.formats.lerobot.layout import COMMON_CAPABILITIES, Layout, without_quantiles
from backend.formats.lerobot.remux import PacketFile
from backend.formats.lerobot.stats import Stats, to_json
from backend.media import VideoProbe, probe
from backend.model import DatasetFormat

if TYPE_CHECKING:
    from backend.formats.lerobot.episode import CameraTrack, LeRobotEpisodeWriter


class V21Layout(Layout):
    format = DatasetFormat.LEROBOT_V21
    version = V21
    capabilities = COMMON_CAPABILITIES | Capability.APPEND
    hf_list_type = "Sequence"
    image_quantiles = False

    def _video_path(self, root: Path, index: int, key: str) -> Path:
        chunk = episode_chunk(index, self.writer.chunks_size)
        return root / V21_VIDEO_PATH.format(episode_chunk=chunk, video_key=key, episode_index=index)

    def encode_path(self, index: int, key: str) -> Path:
        return self._video_path(self.writer.tmp, index, key)

    def take_video(
        self,
        episode: LeRobotEpisodeWriter,
        camera: CameraTrack,
        source: Path,
        info: VideoProbe,
        first: int,
        count: int,
    ) -> None:
        writer = self.writer
        path = writer.encode_path(episode.index, camera.key)
        out = PacketFile(path)
        try:
            out.append(source, info, first, count, writer.spec.fps, episode.stats_sink(camera, count))
        finally:
            out.close()
        camera.path = path
        camera.copied = True

    def write_episode(
        self, episode: LeRobotEpisodeWriter, table: pa.Table, row: dict[str, Any], success: bool | None
    ) -> None:
        writer = self.writer
        chunk = episode_chunk(episode.index, writer.chunks_size)
        path = writer.tmp / V21_DATA_PATH.format(episode_chunk=chunk, episode_index=episode.index)
        if writer.live:
            if success is not None:
                row["success"] = bool(success)
            staged = writer.staging / f"episode_{episode.index:06d}.parquet"
            staged.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, staged)
            for camera in episode.cameras.values():
                if camera.path is not None:
                    final = self._video_path(writer.tmp, episode.index, camera.key)
                    move_into_place(camera.path, final)
                    camera.path = final
            move_into_place(staged, path)
            fsync_dir(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)
        for camera in episode.cameras.values():
            if camera.path is not None:
                writer.note_video(camera.key, camera.path, camera.copied)
                writer.videos_written += 1

    def write_meta(self, root: Path, global_stats: dict[str, Stats]) -> None:
        writer = self.writer
        write_jsonl(root / TASKS_JSONL, [{"task_index": i, "task": t} for t, i in writer.tasks.items()])
        write_jsonl(root / EPISODES_JSONL, writer.episodes)
        write_jsonl(
            root / EPISODES_STATS_JSONL,
            [
                {"episode_index": row["episode_index"], "stats": to_json(without_quantiles(stats))}
                for row, stats in zip(writer.episodes, writer.episode_stats, strict=True)
            ],
        )
        write_json(root / STATS_PATH, to_json(global_stats))

    def info(self, features: dict[str, Any]) -> dict[str, Any]:
        writer = self.writer
        n = len(writer.episodes)
        return {
            "codebase_version": V21,
            "robot_type": writer.spec.robot_type or None,
            "total_episodes": n,
            "total_frames": writer.total_frames,
            "total_tasks": len(writer.tasks),
            "total_videos": writer.videos_written,
            "total_chunks": total_chunks(n, writer.chunks_size),
            "chunks_size": writer.chunks_size,
            "fps": fps_value(writer.spec.fps),
            "splits": {"train": f"0:{n}"},
            "data_path": V21_DATA_PATH,
            "video_path": V21_VIDEO_PATH if writer.cameras else None,
            "features": features,
        }

    def video_info(
        self, key: str, height: int, width: int, codec: str, pix_fmt: str, channels: int, copied: bool
    ) -> dict[str, Any]:
        return {
            "video.fps": float(self.writer.spec.fps),
            "video.height": height,
            "video.width": width,
            "video.channels": channels,
            "video.codec": codec,
            "video.pix_fmt": pix_fmt,
            "video.is_depth_map": False,
            "has_audio": False,
        }

    # -- resume (publish each episode) -----------------------------------------------------------------
    def read_back(self, root: Path, info: dict[str, Any], video_keys: set[str]) -> None:
        """Load the finished episodes of the dataset at ``root`` into the writer, to add more."""
        writer = self.writer
        total = int(info.get("total_episodes") or 0)
        writer.chunks_size = int(info.get("chunks_size") or writer.chunks_size)
        writer.episodes = read_jsonl(root / EPISODES_JSONL)[:total]
        stats_path = root / EPISODES_STATS_JSONL
        stats_rows = read_jsonl(stats_path) if stats_path.is_file() else []
        by_index = {int(row["episode_index"]): row.get("stats") or {} for row in stats_rows}
        writer.episode_stats = [
            {
                key: {name: np.asarray(v) for name, v in entry.items()}
                for key, entry in by_index.get(int(row["episode_index"]), {}).items()
            }
            for row in writer.episodes
        ]
        preset = list(writer.tasks)
        writer.tasks = {}
        for row in read_jsonl(root / TASKS_JSONL):
            writer.tasks[str(row["task"])] = int(row["task_index"])
        for task in preset:
            writer.tasks.setdefault(task, len(writer.tasks))
        writer.total_frames = sum(int(row.get("length", 0)) for row in writer.episodes)
        writer.videos_written = int(info.get("total_videos") or 0)
        for key in video_keys:
            first = next(iter(sorted((root / "videos").glob(f"chunk-*/{key}/episode_*.mp4"))), None)
            if first is not None:
                writer.video_info[key] = {"probe": probe(first), "copied": False}

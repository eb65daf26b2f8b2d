"""The streaming LeRobot writer: one pipeline for v2.1 (one parquet and one mp4 per episode) and v3.0
(shared files); what differs between the versions is the layout object chosen once at construction
(``layout_v21.V21Layout``, ``layout_v30.V30Layout``: file paths, chunking, metadata files).

Frames are encoded while they arrive (``backend.media.VideoEncoder``, no PNG detour; ``episode.py``);
vectors are kept per episode and written at ``end()``. Everything is built in a hidden sibling folder
and published by ``finish()`` in one rename; ``abort()`` leaves nothing.

Options (``WriterSpec.options``):
    codec        "h264" (default) | "av1" | "hevc"      encoder for frames given as images
    crf, gop, preset                                     encoder settings (VideoEncoder's defaults: LeRobot's g=2, crf=30)
    threaded     False                                   encode on VideoEncoder's worker threads
    source_video_info  {key: info block}                 video.g/crf/preset of copied (remuxed) sources
    chunks_size  1000                                    episodes per chunk (v2.1) / files per chunk (v3.0)
    data_files_size_in_mb 100, video_files_size_in_mb 200   (v3.0)
    tasks        list[str]   task texts registered first, in this order (keeps task_index of a source)
    modality     dict        written as meta/modality.json (GR00T / IDM)
    image_stats  bool        compute image statistics (default True)
    publish_each_episode  False   v2.1 only: write in place, every episode final at end() (below)

Publish each episode (``options["publish_each_episode"] = True``, or ``LeRobotWriter.open_append``):
for recording, where a crash must not cost the finished episodes. The writer works inside the
destination folder instead of a hidden sibling. Frames are encoded into ``<out>/.staging/``; at
``end()`` the episode's parquet (written in ``.staging`` too) and mp4 files are fsynced and renamed
into place, then ``meta/`` is rebuilt in ``.meta.new/meta`` (info.json last) and swapped with
``meta/`` in one step (renameat2 RENAME_EXCHANGE; two renames where that is missing). So at any
moment ``meta/`` describes only finished episodes whose files are complete, and ``rollout-studio
validate`` accepts the folder whatever moment the process died. Episode rows carry ``"success"``
when ``end(success)`` got True or False. An existing v2.1 dataset (same fps, columns and cameras)
is resumed: ``recover_append()`` first drops what a crash left (the running episode's staged files,
files of episodes that meta/ does not list, a cut-short meta swap), then numbering continues at the
next episode index. ``finish()`` rewrites meta/ once more; ``abort()`` drops the running episode
only (finished episodes are final). ``overwrite`` is ignored in this mode.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from backend import __version__
from backend.atomic import PARTIAL_MARK, atomic_dir, remove_path, remove_stale_partials
from backend.errors import Cancelled, StudioError
from backend.formats.base import CameraSpec, Capability, DatasetWriter, WriterSpec
from backend.formats.lerobot.append import (
    META_NEW,
    META_OLD,
    STAGING,
    fsync_dir,
    fsync_file,
    has_unfinished_append,
    recover_append,
    swap_meta,
)
from backend.formats.lerobot.common import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_DATA_FILE_SIZE_IN_MB,
    DEFAULT_FEATURES,
    DEFAULT_VIDEO_FILE_SIZE_IN_MB,
    INFO_PATH,
    MODALITY_PATH,
    PROVENANCE_PATH,
    camera_key,
    read_json,
    write_json,
)
from backend.formats.lerobot.episode import CameraTrack, LeRobotEpisodeWriter
from backend.formats.lerobot.layout import Layout, layout_for
from backend.formats.lerobot.reader import column_to_numpy
from backend.formats.lerobot.stats import Stats, aggregate_all, vector_stats
from backend.formats.lerobot.table import ARROW_TYPES, arrow_type, as_numpy, default_feature, hf_feature
from backend.media import VideoProbe, probe
from backend.model import DatasetFormat, Feature, FeatureKind

__all__ = [
    "CameraTrack",
    "LeRobotEpisodeWriter",
    "LeRobotWriter",
    "has_unfinished_append",
    "recover_append",
]


class LeRobotWriter(DatasetWriter):
    def __init__(
        self, fmt: DatasetFormat | str, out: str | Path, spec: WriterSpec, overwrite: bool = False
    ) -> None:
        super().__init__(out, spec, overwrite)
        fmt = DatasetFormat(fmt)
        layout = layout_for(fmt)  # chosen once: everything that differs between the versions
        if not spec.fps or spec.fps <= 0:
            raise StudioError(f"fps must be positive, got {spec.fps}")
        self.format = fmt
        self.layout: Layout = layout(self)
        self.version = self.layout.version
        self.capabilities = self.layout.capabilities
        options = dict(spec.options or {})
        codec = str(options.get("codec") or "h264")
        self.video_options = {
            "codec": codec,
            "crf": options.get("crf"),
            "gop": options.get("gop"),
            "preset": options.get("preset"),
            "threaded": bool(options.get("threaded", False)),
        }
        self.encoder_settings: dict[str, dict[str, Any]] = {}  # video key -> crf/gop/preset used
        self.chunks_size = int(options.get("chunks_size") or DEFAULT_CHUNK_SIZE)
        self.data_mb = float(options.get("data_files_size_in_mb") or DEFAULT_DATA_FILE_SIZE_IN_MB)
        self.video_mb = float(options.get("video_files_size_in_mb") or DEFAULT_VIDEO_FILE_SIZE_IN_MB)
        self.image_stats = bool(options.get("image_stats", True))
        self.modality = options.get("modality")
        # video info blocks of a source whose packets are copied (keeps video.g / crf / preset)
        self.source_video_info: dict[str, dict[str, Any]] = dict(options.get("source_video_info") or {})
        # an exporter's additions (backend/subtask_export.py): info.json features of columns it adds,
        # and steps run on the finished data files (under the folder given) before meta/ is written
        self.extra_info_features: dict[str, dict[str, Any]] = {}
        self.before_meta_steps: list[Callable[[Path], None]] = []

        # columns: the spec's vectors/scalars (LeRobot's own columns are generated here)
        self.columns: dict[str, Feature] = {}
        for key, feature in spec.features.items():
            if key in DEFAULT_FEATURES or feature.kind not in (FeatureKind.VECTOR, FeatureKind.SCALAR):
                continue
            self.columns[key] = feature
        self.column_keys = list(self.columns)
        self.cameras: dict[str, tuple[str, CameraSpec]] = {}
        for camera in spec.cameras:
            key = camera_key(camera.name)
            name = key.removeprefix("observation.images.")
            self.cameras[name] = (key, camera)
        self.all_features: dict[str, Feature] = dict(self.columns)
        for key in DEFAULT_FEATURES:
            self.all_features[key] = default_feature(key)
        self.schema = self._schema()

        self.tasks: dict[str, int] = {}
        for task in options.get("tasks") or []:
            self.tasks.setdefault(str(task), len(self.tasks))

        self._current: LeRobotEpisodeWriter | None = None
        self._finished = False
        self.total_frames = 0
        self.episodes: list[dict[str, Any]] = []
        self.episode_stats: list[dict[str, Stats]] = []
        self.video_info: dict[str, dict[str, Any]] = {}
        self.videos_written = 0
        self._success: dict[int, bool] = {}  # episode -> success flag, written into provenance

        self.live = bool(options.get("publish_each_episode", False))
        if self.live:
            if Capability.APPEND not in self.capabilities:
                raise StudioError(
                    "publish_each_episode writes LeRobot v2.1 only", self.out, "write v2.1 and convert"
                )
            self._atomic = None
            self.out = self.out.absolute()
            self.tmp: Path = self.out  # written in place
            self.staging = self.out / STAGING
            self._open_live()
        else:
            self._atomic = atomic_dir(self.out, overwrite)
            self.tmp = self._atomic.__enter__()
            self.staging = self.tmp / STAGING

    @classmethod
    def open_append(cls, path: str | Path, spec: WriterSpec) -> LeRobotWriter:
        """A v2.1 writer that publishes each episode at ``end()``; creates ``path`` or resumes it.

        Same as ``LeRobotWriter(LEROBOT_V21, path, spec)`` with ``publish_each_episode=True``.
        """
        options = dict(spec.options or {})
        options["publish_each_episode"] = True
        spec = WriterSpec(
            fps=spec.fps,
            robot_type=spec.robot_type,
            features=spec.features,
            cameras=spec.cameras,
            options=options,
            provenance=spec.provenance,
        )
        return cls(DatasetFormat.LEROBOT_V21, path, spec)

    @property
    def num_episodes(self) -> int:
        """Finished episodes (in publish mode: those on disk, resumed ones included)."""
        return len(self.episodes)

    # -- publish each episode ---------------------------------------------------------------------
    def _open_live(self) -> None:
        out = self.out
        if out.exists() and not out.is_dir():
            raise StudioError("the output is a file, not a folder", out, "choose a folder")
        if out.is_dir() and any((out / name).exists() for name in (INFO_PATH, META_NEW, META_OLD, STAGING)):
            recover_append(out)
            if (out / INFO_PATH).is_file():
                self._resume_live()
                return
        if out.is_dir() and any(out.iterdir()):
            raise StudioError(
                "the folder is not empty and holds no LeRobot dataset", out, "choose a new or empty folder"
            )
        # an empty but valid dataset from the first moment, built beside and renamed into place: a
        # kill before the rename leaves staging (cleaned by the next write), never a half dataset
        first = out.with_name(f".{out.name}{PARTIAL_MARK}{os.getpid()}")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_partials(out.parent)
            remove_path(first)
            first.mkdir()
        except OSError as error:
            raise StudioError(
                f"cannot create the output folder ({error.strerror or error})",
                out,
                "choose a writable folder",
            ) from None
        self.out = self.tmp = first
        self.staging = first / STAGING
        try:
            self.publish()
            os.replace(first, out)  # out is absent or an empty folder
        except BaseException:
            remove_path(first)
            raise
        finally:
            self.out = self.tmp = out
            self.staging = out / STAGING
        fsync_dir(out.parent)

    def _resume_live(self) -> None:
        out = self.out
        info = read_json(out / INFO_PATH)
        if info.get("codebase_version") != self.layout.version:
            raise StudioError(
                f"can only add episodes to a LeRobot {self.layout.version} dataset (this one is "
                f"{info.get('codebase_version')})",
                out,
                "choose another output",
            )
        if float(info.get("fps") or 0) != float(self.spec.fps):
            raise StudioError(
                f"the dataset is at {info.get('fps')} fps, the writer at {float(self.spec.fps):g}",
                out,
                "use the same rate or another output",
            )
        features = info.get("features") or {}
        have_videos = {k for k, v in features.items() if isinstance(v, dict) and v.get("dtype") == "video"}
        wanted_videos = {key for key, _ in self.cameras.values()}
        if have_videos != wanted_videos:
            raise StudioError(
                f"the dataset's cameras {sorted(have_videos)} differ from {sorted(wanted_videos)}",
                out,
                "use the same cameras or another output",
            )
        have_columns = {
            k: [int(x) for x in (v.get("shape") or [1])]
            for k, v in features.items()
            if isinstance(v, dict) and v.get("dtype") != "video" and k not in DEFAULT_FEATURES
        }
        wanted_columns = {
            k: [int(x) for x in f.shape] if f.kind is FeatureKind.VECTOR else [1]
            for k, f in self.columns.items()
        }
        if have_columns != wanted_columns:
            raise StudioError(
                f"the dataset's columns {have_columns} differ from {wanted_columns}",
                out,
                "use the same features or another output",
            )
        self.layout.read_back(out, info, wanted_videos)
        remove_path(self.staging)

    def publish(self) -> None:
        """Publish mode: rebuild meta/ for the finished episodes beside it and swap it in."""
        if not self.live:
            raise StudioError("publish() is for a writer with publish_each_episode", self.out)
        root = self.out
        new_root = root / META_NEW
        remove_path(new_root)
        new_root.mkdir(parents=True)
        self._write_meta(new_root)  # info.json last: marks the new meta complete
        for path in (new_root / "meta").rglob("*"):
            if path.is_file():
                fsync_file(path)
        fsync_dir(new_root / "meta")
        swap_meta(root)

    # -- schema ----------------------------------------------------------------------------------
    def _schema(self) -> pa.Schema:
        list_type = self.layout.hf_list_type
        fields = [pa.field(key, arrow_type(f)) for key, f in self.all_features.items()]
        hf = {key: hf_feature(f, list_type) for key, f in self.all_features.items()}
        metadata = {b"huggingface": json.dumps({"info": {"features": hf}}).encode()}
        return pa.schema(fields, metadata=metadata)

    # -- paths -----------------------------------------------------------------------------------
    def encode_path(self, index: int, key: str) -> Path:
        """Where an episode's camera is encoded (a camera process writes there too)."""
        if self.live:  # moved into place at end()
            return self.staging / f"{key}-episode_{index:06d}.mp4"
        return self.layout.encode_path(index, key)

    # -- episodes --------------------------------------------------------------------------------
    def begin_episode(self, task: str, **extra: Any) -> LeRobotEpisodeWriter:
        if self._finished:
            raise StudioError("the writer is already finished", self.out)
        if self._current is not None:
            raise StudioError(
                f"episode {self._current.index} is still open", self.out, "end() or discard() it first"
            )
        tasks = [str(task)] if task is not None else []
        for other in extra.get("tasks") or []:
            if str(other) not in tasks:
                tasks.append(str(other))
        if not tasks:
            tasks = [""]
        new_tasks = [text for text in tasks if text not in self.tasks]
        for text in tasks:
            self.tasks.setdefault(text, len(self.tasks))
        self._current = LeRobotEpisodeWriter(self, len(self.episodes), tasks, dict(extra))
        self._current.new_tasks = new_tasks
        return self._current

    def forget_tasks(self, episode: LeRobotEpisodeWriter) -> None:
        """A discarded episode's own new tasks leave the task list (no unused task is written)."""
        for text in reversed(episode.new_tasks):
            if self.tasks.get(text) == len(self.tasks) - 1:
                del self.tasks[text]

    def episode_done(self, episode: LeRobotEpisodeWriter) -> None:
        if self._current is episode:
            self._current = None

    def _table(self, episode: LeRobotEpisodeWriter, columns: dict[str, np.ndarray]) -> pa.Table:
        n = episode.length
        fps = float(self.spec.fps)
        frame_index = np.arange(n, dtype=np.int64)
        columns = dict(columns)
        columns["timestamp"] = (frame_index / fps).astype(np.float32)
        columns["frame_index"] = frame_index
        columns["episode_index"] = np.full(n, episode.index, dtype=np.int64)
        columns["index"] = self.total_frames + frame_index
        columns["task_index"] = np.full(n, self.tasks[episode.tasks[0]], dtype=np.int64)
        arrays = []
        for field in self.schema:
            values = columns[field.name]
            feature = self.all_features[field.name]
            if feature.kind is FeatureKind.VECTOR:
                flat_type = field.type
                while pa.types.is_fixed_size_list(flat_type):
                    flat_type = flat_type.value_type
                array = pa.array(as_numpy(values, flat_type).reshape(-1), type=flat_type)
                for size in reversed(feature.shape or (1,)):
                    array = pa.FixedSizeListArray.from_arrays(array, int(size))
                arrays.append(array)
            elif field.type == pa.string():
                arrays.append(pa.array([str(v) for v in values], type=field.type))
            else:
                arrays.append(pa.array(as_numpy(values, field.type), type=field.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _episode_stats(self, episode: LeRobotEpisodeWriter, table: pa.Table) -> dict[str, Stats]:
        quantiles = self.layout.image_quantiles
        stats: dict[str, Stats] = {}
        for key, feature in self.all_features.items():
            if feature.dtype == "string" or episode.length == 0:
                continue
            values = column_to_numpy(table.column(key), feature, self.out)
            # vectors always get quantiles: v2.1 writes them into meta/stats.json only (GR00T's loader
            # reads q01/q99 there), its episodes_stats.jsonl keeps LeRobot's own keys
            stats[key] = vector_stats(values, True)
        for _name, camera in episode.cameras.items():
            image = camera.stats.stats(quantiles)
            if image is not None:
                stats[camera.key] = image
        return self._ordered_stats(stats)

    def _ordered_stats(self, stats: dict[str, Stats]) -> dict[str, Stats]:
        order = self.feature_order()
        return {key: stats[key] for key in order if key in stats}

    def feature_order(self) -> list[str]:
        keys = list(self.columns)
        keys += [key for key, _ in self.cameras.values()]
        keys += list(DEFAULT_FEATURES)
        return keys

    def note_video(self, key: str, path: Path, copied: bool) -> None:
        if key in self.video_info:
            return
        info = probe(path)
        self.video_info[key] = {"probe": info, "copied": copied}

    def write_episode(
        self, episode: LeRobotEpisodeWriter, columns: dict[str, np.ndarray], success: bool | None
    ) -> None:
        table = self._table(episode, columns)
        row: dict[str, Any] = {
            "episode_index": episode.index,
            "tasks": list(episode.tasks),
            "length": episode.length,
        }
        self.layout.write_episode(episode, table, row, success)
        if success is not None and not self.live:
            # the episode files keep LeRobot's own layout and schema: the flag goes into provenance
            self._success[episode.index] = bool(success)
        stats = self._episode_stats(episode, table)
        self.episodes.append(row)
        self.episode_stats.append(stats)
        self.total_frames += episode.length
        if self.live:
            self.publish()

    # -- metadata ----------------------------------------------------------------------------------
    def _video_feature(self, key: str, spec: CameraSpec) -> dict[str, Any]:
        noted = self.video_info.get(key)
        info: VideoProbe | None = noted["probe"] if noted else None
        copied = bool(noted and noted["copied"])
        height = info.height if info else spec.height
        width = info.width if info else spec.width
        codec = info.codec if info else self.video_options["codec"]
        pix_fmt = (info.pix_fmt if info else None) or "yuv420p"
        channels = 1 if pix_fmt.startswith("gray") else 4 if pix_fmt in ("yuva420p", "rgba", "argb") else 3
        block = self.layout.video_info(key, height, width, codec, pix_fmt, channels, copied)
        return {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
            "info": block,
        }

    def _features_json(self) -> dict[str, Any]:
        features: dict[str, Any] = {}
        for key, feature in self.columns.items():
            features[key] = {
                "dtype": feature.dtype if feature.dtype in ARROW_TYPES else "float32",
                "shape": [int(s) for s in feature.shape] if feature.kind is FeatureKind.VECTOR else [1],
                "names": list(feature.names) if feature.names else None,
            }
        for key, spec in self.cameras.values():
            features[key] = self._video_feature(key, spec)
        for key, value in DEFAULT_FEATURES.items():
            features[key] = dict(value)
        features.update(self.extra_info_features)
        return features

    def _write_meta(self, root: Path) -> None:
        """meta/ under ``root``: the layout's files, modality, provenance, and info.json last."""
        self.layout.write_meta(root, aggregate_all(self.episode_stats, self.feature_order()))
        if self.modality is not None:
            write_json(root / MODALITY_PATH, self.modality)
        write_json(root / PROVENANCE_PATH, self._provenance())
        write_json(root / INFO_PATH, self.layout.info(self._features_json()))

    def _provenance(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "tool": "rollout-studio",
            "version": __version__,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "format": self.format.value,
            "video": {k: v for k, v in self.video_options.items() if v is not None and k != "threaded"},
        }
        if self.spec.provenance:
            record.update(self.spec.provenance)
        if self._success:
            record["episode_success"] = {str(i): flag for i, flag in sorted(self._success.items())}
        return record

    # -- finish / abort ------------------------------------------------------------------------------
    def finish(self) -> Path:
        if self._finished:
            return self.out
        if self.live:
            if self._current is not None:
                self._current.discard()
            self.publish()
            remove_path(self.staging)
            self._finished = True
            return self.out
        try:
            if self._current is not None:
                self._current.discard()
            self.layout.before_meta()
            for step in self.before_meta_steps:
                step(self.tmp)
            self._write_meta(self.tmp)
            remove_path(self.staging)
        except BaseException as error:
            self._abort_with(error)
            raise
        self._finished = True
        self._atomic.__exit__(None, None, None)
        return self.out

    def _abort_with(self, error: BaseException) -> None:
        if self._finished:
            return
        self._finished = True
        if self._current is not None:
            with contextlib.suppress(Exception):
                self._current.discard()
        self.layout.abort_files()
        if self.live:  # finished episodes are final: only the running one goes
            remove_path(self.staging)
            return
        self._atomic.__exit__(type(error), error, error.__traceback__)

    def abort(self) -> None:
        self._abort_with(Cancelled())

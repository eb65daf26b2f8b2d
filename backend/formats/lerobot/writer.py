"""Streaming LeRobot writers: v2.1 (one parquet and one mp4 per episode) and v3.0 (shared files).

Frames are encoded while they arrive (``backend.media.VideoWriter``, no PNG detour); vectors are
kept per episode and written at ``end()``. Everything is built in a hidden sibling folder and
published by ``finish()`` in one rename; ``abort()`` leaves nothing.

v3.0: episodes are appended to ``data/chunk-CCC/file-FFF.parquet`` (one row group per episode) until
``data_files_size_in_mb``; each episode's video is encoded on its own (it starts on a keyframe) and
its packets are appended to ``videos/<key>/chunk-CCC/file-FFF.mp4`` until ``video_files_size_in_mb``.
Frame i of every episode shows at from_timestamp + i / fps exactly.

Options (``WriterSpec.options``):
    codec        "h264" (default) | "av1" | "hevc"      encoder for frames given as images
    crf, gop, preset                                     encoder settings (VideoWriter's defaults: LeRobot's g=2, crf=30)
    threaded     False                                   encode on VideoWriter's worker threads
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
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from backend import __version__
from backend.atomic import (
    OLD_MARK,
    PARTIAL_MARK,
    atomic_dir,
    exchange_paths,
    remove_path,
    remove_stale_partials,
)
from backend.errors import Cancelled, StudioError
from backend.formats.base import CameraSpec, DatasetWriter, EpisodeWriter, WriterSpec
from backend.formats.lerobot.common import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_DATA_FILE_SIZE_IN_MB,
    DEFAULT_FEATURES,
    DEFAULT_VIDEO_FILE_SIZE_IN_MB,
    EPISODES_JSONL,
    EPISODES_META_PATH,
    EPISODES_STATS_JSONL,
    INFO_PATH,
    MODALITY_PATH,
    PROVENANCE_PATH,
    QUANTILE_KEYS,
    STATS_PATH,
    TASKS_JSONL,
    TASKS_PARQUET,
    V21,
    V21_DATA_PATH,
    V21_VIDEO_PATH,
    V30,
    V30_DATA_PATH,
    V30_VIDEO_PATH,
    VERSION_OF_FORMAT,
    camera_key,
    episode_chunk,
    fps_value,
    next_chunk_file,
    read_json,
    read_jsonl,
    total_chunks,
    write_json,
    write_jsonl,
)
from backend.formats.lerobot.reader import column_to_numpy
from backend.formats.lerobot.remux import NeedsNewFile, PacketFile, remux_problem
from backend.formats.lerobot.stats import (
    ImageStats,
    Stats,
    aggregate_all,
    sample_indices,
    to_json,
    vector_stats,
)
from backend.media import VideoProbe, VideoWriter, probe
from backend.media.image_stats import streamed_sample
from backend.model import DatasetFormat, Feature, FeatureKind

ARROW_TYPES: dict[str, pa.DataType] = {
    "float16": pa.float16(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


def arrow_type(feature: Feature) -> pa.DataType:
    dtype = feature.dtype if feature.dtype in ARROW_TYPES else "float32"
    base = ARROW_TYPES[dtype]
    if feature.kind is FeatureKind.SCALAR:
        return base
    result = base
    for size in reversed(feature.shape or (1,)):
        result = pa.list_(result, int(size))
    return result


def _hf_feature(feature: Feature, list_type: str) -> dict[str, Any]:
    dtype = feature.dtype if feature.dtype in ARROW_TYPES else "float32"
    value: dict[str, Any] = {"dtype": dtype, "_type": "Value"}
    if feature.kind is FeatureKind.SCALAR:
        return value
    for size in reversed(feature.shape or (1,)):
        value = {"feature": value, "length": int(size), "_type": list_type}
    return value


def _rgb(frame) -> np.ndarray:
    """RGB of a decoded frame; yuv420p through OpenCV (~5x cheaper than PyAV's conversion)."""
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        try:
            from backend.media.color import yuv420p_to_rgb
        except ImportError:  # pragma: no cover - older media package
            return frame.to_ndarray(format="rgb24")
        return yuv420p_to_rgb(frame.to_ndarray())
    return frame.to_ndarray(format="rgb24")


def _as_numpy(values: np.ndarray, arrow: pa.DataType) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values), dtype=arrow.to_pandas_dtype())


def _default_feature(key: str) -> Feature:
    spec = DEFAULT_FEATURES[key]
    return Feature(key, FeatureKind.SCALAR, spec["dtype"], (1,), None)


class _Camera:
    """One camera of one episode: frames encoded as they come, or a window copied packet by packet."""

    def __init__(self, spec: CameraSpec, key: str) -> None:
        self.spec = spec
        self.key = key
        self.encoder: VideoWriter | None = None
        self.path: Path | None = None  # encoded file (final for v2.1, staging for v3.0)
        self.frames = 0
        self.stats = ImageStats()
        self.copy: tuple[Path, VideoProbe, int, int] | None = None  # v3.0 copy waiting for end()
        self.copied = False


class LeRobotEpisodeWriter(EpisodeWriter):
    def __init__(self, writer: LeRobotWriter, index: int, tasks: list[str], extra: dict[str, Any]) -> None:
        self.writer = writer
        self.index = index
        self.tasks = tasks
        self.new_tasks: list[str] = []  # tasks this episode added to the writer's list
        self.extra = extra
        self.length = 0
        self._blocks: dict[str, list[np.ndarray]] = {key: [] for key in writer.column_keys}
        self._cameras = {name: _Camera(spec, key) for name, (key, spec) in writer.cameras.items()}
        self._done = False

    # -- frames ------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._done:
            raise StudioError(f"episode {self.index} is already ended or discarded")

    def _take_values(self, values: Mapping[str, np.ndarray], block: bool) -> int:
        """Store one frame (``block=False``) or a block of frames of every column; returns the count."""
        missing = [k for k in self.writer.column_keys if k not in values]
        if missing:
            raise StudioError(f"episode {self.index}: values for {missing} are missing")
        length: int | None = None
        for key in self.writer.column_keys:
            feature = self.writer.columns[key]
            array = np.asarray(values[key])
            if not block:
                array = array[None]
            if feature.kind is FeatureKind.VECTOR:
                if array.shape[1:] != tuple(feature.shape):
                    raise StudioError(
                        f"episode {self.index}: {key} has shape {array.shape[1:]}, expected {tuple(feature.shape)}"
                    )
            else:
                array = array.reshape(len(array))
            if length is None:
                length = len(array)
            elif len(array) != length:
                raise StudioError(f"episode {self.index}: {key} has {len(array)} frames, others {length}")
            self._blocks[key].append(array)
        return int(length or 0)

    def _camera(self, name: str) -> _Camera:
        camera = self._cameras.get(name)
        if camera is None:
            camera = self._cameras.get(name.removeprefix("observation.images."))
        if camera is None:
            raise StudioError(f"camera {name!r} is not in the writer's cameras {sorted(self._cameras)}")
        return camera

    def _encode(self, camera: _Camera, frame: np.ndarray) -> None:
        if camera.copy is not None or camera.copied:
            raise StudioError(f"camera {camera.spec.name!r} of episode {self.index} was copied from a file")
        if camera.encoder is None:
            camera.path = self.writer.encode_path(self.index, camera.key)
            camera.path.parent.mkdir(parents=True, exist_ok=True)
            opts = self.writer.video_options
            extra = {"threaded": True} if opts["threaded"] else {}
            camera.encoder = VideoWriter(
                camera.path,
                camera.spec.width,
                camera.spec.height,
                self.writer.spec.fps,
                codec=opts["codec"],
                crf=opts["crf"],
                gop=opts["gop"],
                preset=opts["preset"],
                **extra,
            )
            self.writer.encoder_settings.setdefault(
                camera.key,
                {
                    "crf": getattr(camera.encoder, "crf", opts["crf"]),
                    "gop": getattr(camera.encoder, "gop", opts["gop"]),
                    "preset": getattr(camera.encoder, "preset", opts["preset"]),
                },
            )
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise StudioError(f"camera {camera.spec.name!r}: frames must be uint8 RGB, got {frame.dtype}")
        camera.encoder.write(frame)
        if self.writer.image_stats and streamed_sample(camera.frames):
            camera.stats.add(frame)
        camera.frames += 1

    def add_frame(
        self, values: Mapping[str, np.ndarray], images: Mapping[str, np.ndarray] | None = None
    ) -> None:
        self._check_open()
        cameras = [(self._camera(name), frame) for name, frame in (images or {}).items()]
        for camera, frame in cameras:  # refuse a bad image before anything of the frame is kept
            shape = np.shape(frame)
            if shape != (camera.spec.height, camera.spec.width, 3):
                raise StudioError(
                    f"camera {camera.spec.name!r}: frame of shape {shape}, expected "
                    f"({camera.spec.height}, {camera.spec.width}, 3)"
                )
        self._take_values(values, block=False)
        for camera, frame in cameras:
            self._encode(camera, frame)
        self.length += 1

    def add_frames(
        self, values: Mapping[str, np.ndarray], images: Mapping[str, Iterable[np.ndarray]] | None = None
    ) -> None:
        self._check_open()
        if not self.writer.column_keys and not images:
            return
        count = self._take_values(values, block=True) if self.writer.column_keys else None
        written = {}
        for name, frames in (images or {}).items():
            camera = self._camera(name)
            before = camera.frames
            for frame in frames:
                self._encode(camera, frame)
            written[name] = camera.frames - before
        if count is None:
            count = next(iter(written.values()), 0)
        for name, n in written.items():
            if n != count:
                raise StudioError(f"episode {self.index}: camera {name!r} got {n} frames for {count} rows")
        self.length += count

    def add_video(
        self,
        camera: str,
        source: Path,
        first: int = 0,
        count: int | None = None,
        info: VideoProbe | None = None,
    ) -> None:
        """Use frames ``first .. first + count - 1`` of the mp4 ``source`` for ``camera``, copying packets.

        The frames stay bit-identical (no re-encode). Raises StudioError when the window cannot be cut
        at packet level (see ``remux.remux_problem``): then give the frames as images instead.
        """
        self._check_open()
        cam = self._camera(camera)
        if cam.encoder is not None or cam.copy is not None or cam.copied:
            raise StudioError(f"camera {camera!r} of episode {self.index} already has frames")
        info = info or probe(source)
        count = info.num_frames - first if count is None else int(count)
        problem = remux_problem(Path(source), info, first, count)
        if problem:
            raise StudioError(
                f"cannot copy the video packets: {problem}", source, "give the frames as images"
            )
        if self.writer.version == V21:
            path = self.writer.encode_path(self.index, cam.key)
            out = PacketFile(path)
            try:
                out.append(
                    Path(source), info, first, count, self.writer.spec.fps, self._stats_sink(cam, count)
                )
            finally:
                out.close()
            cam.path = path
            cam.copied = True
        else:
            cam.copy = (Path(source), info, first, count)
        cam.frames = count

    def add_encoded_video(
        self,
        camera: str,
        path: Path,
        frames: int,
        stats: ImageStats | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Use the mp4 at ``path``, encoded elsewhere with this writer's video options (a camera
        worker process), for ``camera``: ``frames`` frames, their image ``stats`` and the encoder's
        crf / gop / preset. The file is moved to where this episode's encoder would have written it
        (same file system: give a path inside ``writer.staging``)."""
        self._check_open()
        cam = self._camera(camera)
        if cam.encoder is not None or cam.copy is not None or cam.copied or cam.path is not None:
            raise StudioError(f"camera {camera!r} of episode {self.index} already has frames")
        target = self.writer.encode_path(self.index, cam.key)
        if Path(path) != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        cam.path = target
        cam.frames = int(frames)
        if stats is not None and self.writer.image_stats:
            cam.stats = stats
        opts = self.writer.video_options
        used = dict(settings or {})
        self.writer.encoder_settings.setdefault(
            cam.key, {key: used.get(key, opts[key]) for key in ("crf", "gop", "preset")}
        )

    def _stats_sink(self, camera: _Camera, count: int):
        if not self.writer.image_stats:
            return None
        wanted = set(sample_indices(count))

        def sink(i: int, frame) -> None:
            if i in wanted:
                camera.stats.add(_rgb(frame))

        return sink

    # -- end -----------------------------------------------------------------------------------
    def _close_encoders(self) -> None:
        for camera in self._cameras.values():
            if camera.encoder is not None:
                camera.encoder.close()
                camera.encoder = None

    def end(self, success: bool | None = True) -> int:
        self._check_open()
        for name, camera in self._cameras.items():
            if camera.frames != self.length:
                raise StudioError(
                    f"episode {self.index}: camera {name!r} has {camera.frames} frames for {self.length} rows",
                    hint="give one image per camera with every frame",
                )
        self._close_encoders()
        columns = {
            key: np.concatenate(blocks) if blocks else np.zeros((0,), np.float32)
            for key, blocks in self._blocks.items()
        }
        self.writer.write_episode(self, columns, success)
        self._done = True
        self.writer.episode_done(self)
        return self.index

    def discard(self) -> None:
        if self._done:
            return
        self._done = True
        for camera in self._cameras.values():
            if camera.encoder is not None:
                camera.encoder.abort()
                camera.encoder = None
            if camera.path is not None:
                remove_path(camera.path)
        self._blocks.clear()
        self.writer.forget_tasks(self)
        self.writer.episode_done(self)


class LeRobotWriter(DatasetWriter):
    def __init__(
        self, fmt: DatasetFormat | str, out: str | Path, spec: WriterSpec, overwrite: bool = False
    ) -> None:
        super().__init__(out, spec, overwrite)
        fmt = DatasetFormat(fmt)
        if fmt not in (DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30):
            raise StudioError(f"cannot write {fmt.value}: the studio writes LeRobot v2.1 and v3.0")
        if not spec.fps or spec.fps <= 0:
            raise StudioError(f"fps must be positive, got {spec.fps}")
        self.format = fmt
        self.version = VERSION_OF_FORMAT[fmt]
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
            self.all_features[key] = _default_feature(key)
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
        # v3.0 shared files
        self._data_writer: pq.ParquetWriter | None = None
        self._data_at = (0, 0)
        self._data_bytes = 0
        self._data_rows = 0
        self._video_files: dict[str, PacketFile] = {}
        self._success: dict[int, bool] = {}  # episode -> success flag, written into provenance
        self._video_at: dict[str, tuple[int, int]] = {}

        self.live = bool(options.get("publish_each_episode", False))
        if self.live:
            if self.version != V21:
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
            self.staging = self.tmp / ".staging"

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
        _fsync_dir(out.parent)

    def _resume_live(self) -> None:
        out = self.out
        info = read_json(out / INFO_PATH)
        if info.get("codebase_version") != V21:
            raise StudioError(
                f"can only add episodes to a LeRobot v2.1 dataset (this one is "
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
        total = int(info.get("total_episodes") or 0)
        self.chunks_size = int(info.get("chunks_size") or self.chunks_size)
        self.episodes = read_jsonl(out / EPISODES_JSONL)[:total]
        stats_rows = read_jsonl(out / EPISODES_STATS_JSONL) if (out / EPISODES_STATS_JSONL).is_file() else []
        by_index = {int(row["episode_index"]): row.get("stats") or {} for row in stats_rows}
        self.episode_stats = [
            {
                key: {name: np.asarray(v) for name, v in entry.items()}
                for key, entry in by_index.get(int(row["episode_index"]), {}).items()
            }
            for row in self.episodes
        ]
        preset = list(self.tasks)
        self.tasks = {}
        for row in read_jsonl(out / TASKS_JSONL):
            self.tasks[str(row["task"])] = int(row["task_index"])
        for task in preset:
            self.tasks.setdefault(task, len(self.tasks))
        self.total_frames = sum(int(row.get("length", 0)) for row in self.episodes)
        self.videos_written = int(info.get("total_videos") or 0)
        for key in wanted_videos:
            first = next(iter(sorted((out / "videos").glob(f"chunk-*/{key}/episode_*.mp4"))), None)
            if first is not None:
                self.video_info[key] = {"probe": probe(first), "copied": False}
        remove_path(self.staging)

    def _move_into_place(self, source: Path, target: Path) -> None:
        _fsync_file(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def publish(self) -> None:
        """Publish mode: rebuild meta/ for the finished episodes beside it and swap it in."""
        if not self.live:
            raise StudioError("publish() is for a writer with publish_each_episode", self.out)
        root = self.out
        new_root = root / META_NEW
        remove_path(new_root)
        new_root.mkdir(parents=True)
        keep_tmp = self.tmp
        try:
            self.tmp = new_root  # the meta writers write meta/... under self.tmp
            self._write_meta_v21(aggregate_all(self.episode_stats, self.feature_order()))
            if self.modality is not None:
                write_json(new_root / MODALITY_PATH, self.modality)
            write_json(new_root / PROVENANCE_PATH, self._provenance())
            write_json(new_root / INFO_PATH, self._info())  # last: marks the new meta complete
        finally:
            self.tmp = keep_tmp
        for path in (new_root / "meta").rglob("*"):
            if path.is_file():
                _fsync_file(path)
        _fsync_dir(new_root / "meta")
        _swap_meta(root)

    # -- schema ----------------------------------------------------------------------------------
    def _schema(self) -> pa.Schema:
        list_type = "Sequence" if self.version == V21 else "List"
        fields = [pa.field(key, arrow_type(f)) for key, f in self.all_features.items()]
        hf = {key: _hf_feature(f, list_type) for key, f in self.all_features.items()}
        metadata = {b"huggingface": json.dumps({"info": {"features": hf}}).encode()}
        return pa.schema(fields, metadata=metadata)

    # -- paths -----------------------------------------------------------------------------------
    def encode_path(self, index: int, key: str) -> Path:
        if self.live:  # moved into place at end()
            return self.staging / f"{key}-episode_{index:06d}.mp4"
        if self.version == V21:
            return self.tmp / V21_VIDEO_PATH.format(
                episode_chunk=episode_chunk(index, self.chunks_size), video_key=key, episode_index=index
            )
        return self.staging / f"{key}-episode_{index:06d}.mp4"

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
                array = pa.array(_as_numpy(values, flat_type).reshape(-1), type=flat_type)
                for size in reversed(feature.shape or (1,)):
                    array = pa.FixedSizeListArray.from_arrays(array, int(size))
                arrays.append(array)
            elif field.type == pa.string():
                arrays.append(pa.array([str(v) for v in values], type=field.type))
            else:
                arrays.append(pa.array(_as_numpy(values, field.type), type=field.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _episode_stats(self, episode: LeRobotEpisodeWriter, table: pa.Table) -> dict[str, Stats]:
        quantiles = self.version == V30
        stats: dict[str, Stats] = {}
        for key, feature in self.all_features.items():
            if feature.dtype == "string" or episode.length == 0:
                continue
            values = column_to_numpy(table.column(key), feature, self.out)
            # vectors always get quantiles: v2.1 writes them into meta/stats.json only (GR00T's loader
            # reads q01/q99 there), its episodes_stats.jsonl keeps LeRobot's own keys
            stats[key] = vector_stats(values, True)
        for _name, camera in episode._cameras.items():
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

    def _note_video(self, key: str, path: Path, copied: bool) -> None:
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
        if self.version == V21:
            chunk = episode_chunk(episode.index, self.chunks_size)
            path = self.tmp / V21_DATA_PATH.format(episode_chunk=chunk, episode_index=episode.index)
            if self.live:
                if success is not None:
                    row["success"] = bool(success)
                staged = self.staging / f"episode_{episode.index:06d}.parquet"
                staged.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, staged)
                for camera in episode._cameras.values():
                    if camera.path is not None:
                        final = self.tmp / V21_VIDEO_PATH.format(
                            episode_chunk=chunk, video_key=camera.key, episode_index=episode.index
                        )
                        self._move_into_place(camera.path, final)
                        camera.path = final
                self._move_into_place(staged, path)
                _fsync_dir(path.parent)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, path)
            for camera in episode._cameras.values():
                if camera.path is not None:
                    self._note_video(camera.key, camera.path, camera.copied)
                    self.videos_written += 1
        else:
            row.update(self._append_data(table))
            for camera in episode._cameras.values():
                row.update(self._append_video(episode, camera))
        if success is not None and not self.live:
            # the episode files keep LeRobot's own layout and schema: the flag goes into provenance
            self._success[episode.index] = bool(success)
        stats = self._episode_stats(episode, table)
        self.episodes.append(row)
        self.episode_stats.append(stats)
        self.total_frames += episode.length
        if self.live:
            self.publish()

    # -- v3.0 shared files -------------------------------------------------------------------------
    def _append_data(self, table: pa.Table) -> dict[str, Any]:
        limit = self.data_mb * 1024 * 1024
        if self._data_writer is not None and self._data_bytes + table.nbytes > limit and self._data_rows:
            self._data_writer.close()
            self._data_writer = None
            self._data_at = next_chunk_file(*self._data_at, self.chunks_size)
            self._data_bytes = 0
            self._data_rows = 0
        if self._data_writer is None:
            chunk, file = self._data_at
            path = self.tmp / V30_DATA_PATH.format(chunk_index=chunk, file_index=file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._data_writer = pq.ParquetWriter(path, self.schema)
        if table.num_rows:
            self._data_writer.write_table(table, row_group_size=max(1, table.num_rows))
        self._data_bytes += table.nbytes
        self._data_rows += table.num_rows
        return {
            "data/chunk_index": self._data_at[0],
            "data/file_index": self._data_at[1],
            "dataset_from_index": self.total_frames,
            "dataset_to_index": self.total_frames + table.num_rows,
        }

    def _video_file(self, key: str, source: Path, estimate: int) -> tuple[PacketFile, tuple[int, int]]:
        current = self._video_files.get(key)
        at = self._video_at.get(key, (0, 0))
        if current is not None and not current.empty:
            too_big = current.bytes + estimate > self.video_mb * 1024 * 1024
            if too_big or not current.accepts(source):
                current.close()
                at = next_chunk_file(*at, self.chunks_size)
                current = None
        if current is None:
            path = self.tmp / V30_VIDEO_PATH.format(video_key=key, chunk_index=at[0], file_index=at[1])
            current = PacketFile(path)
            self._video_files[key] = current
            self._video_at[key] = at
            self.videos_written += 1
        return current, at

    def _append_video(self, episode: LeRobotEpisodeWriter, camera: _Camera) -> dict[str, Any]:
        key = camera.key
        if camera.copy is not None:
            source, info, first, count = camera.copy
            estimate = int(Path(source).stat().st_size * count / max(1, info.num_frames))
            sink = episode._stats_sink(camera, count)
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
            start, stop = target.append(source, info, first, count, self.spec.fps, sink)
        except NeedsNewFile:
            target.close()
            self._video_files.pop(key)
            self._video_at[key] = next_chunk_file(*at, self.chunks_size)
            target, at = self._video_file(key, source, estimate)
            start, stop = target.append(source, info, first, count, self.spec.fps, sink)
        if key not in self.video_info:
            self.video_info[key] = {"probe": info, "copied": camera.copy is not None}
        if camera.copy is None:
            remove_path(source)
        return {
            f"videos/{key}/chunk_index": at[0],
            f"videos/{key}/file_index": at[1],
            f"videos/{key}/from_timestamp": start,
            f"videos/{key}/to_timestamp": stop,
        }

    # -- metadata ----------------------------------------------------------------------------------
    def _video_feature(self, key: str, spec: CameraSpec) -> dict[str, Any]:
        noted = self.video_info.get(key)
        info: VideoProbe | None = noted["probe"] if noted else None
        copied = bool(noted and noted["copied"])
        height = info.height if info else spec.height
        width = info.width if info else spec.width
        codec = info.codec if info else self.video_options["codec"]
        pix_fmt = (info.pix_fmt if info else None) or "yuv420p"
        fps = fps_value(self.spec.fps)
        channels = 1 if pix_fmt.startswith("gray") else 4 if pix_fmt in ("yuva420p", "rgba", "argb") else 3
        if self.version == V21:
            block: dict[str, Any] = {
                "video.fps": float(self.spec.fps),
                "video.height": height,
                "video.width": width,
                "video.channels": channels,
                "video.codec": codec,
                "video.pix_fmt": pix_fmt,
                "video.is_depth_map": False,
                "has_audio": False,
            }
        else:
            if copied:
                source = self.source_video_info.get(key, {})
                g, crf, preset = source.get("video.g"), source.get("video.crf"), source.get("video.preset")
            else:
                used = self.encoder_settings.get(key, {})
                g = used.get("gop", self.video_options["gop"])
                crf = used.get("crf", self.video_options["crf"])
                preset = used.get("preset", self.video_options["preset"])
            block = {
                "video.height": height,
                "video.width": width,
                "video.codec": codec,
                "video.pix_fmt": pix_fmt,
                "video.fps": fps,
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
        return features

    def _info(self) -> dict[str, Any]:
        n = len(self.episodes)
        features = self._features_json()
        fps = fps_value(self.spec.fps)
        if self.version == V21:
            return {
                "codebase_version": V21,
                "robot_type": self.spec.robot_type or None,
                "total_episodes": n,
                "total_frames": self.total_frames,
                "total_tasks": len(self.tasks),
                "total_videos": self.videos_written,
                "total_chunks": total_chunks(n, self.chunks_size),
                "chunks_size": self.chunks_size,
                "fps": fps,
                "splits": {"train": f"0:{n}"},
                "data_path": V21_DATA_PATH,
                "video_path": V21_VIDEO_PATH if self.cameras else None,
                "features": features,
            }
        # the order LeRobot 0.6.1 writes
        return {
            "codebase_version": V30,
            "fps": fps,
            "features": features,
            "total_episodes": n,
            "total_frames": self.total_frames,
            "total_tasks": len(self.tasks),
            "chunks_size": self.chunks_size,
            "data_files_size_in_mb": fps_value(self.data_mb),
            "video_files_size_in_mb": fps_value(self.video_mb),
            "data_path": V30_DATA_PATH,
            "video_path": V30_VIDEO_PATH if self.cameras else None,
            "robot_type": self.spec.robot_type or None,
            "splits": {"train": f"0:{n}"},
        }

    def _write_meta_v21(self, global_stats: dict[str, Stats]) -> None:
        write_jsonl(self.tmp / TASKS_JSONL, [{"task_index": i, "task": t} for t, i in self.tasks.items()])
        write_jsonl(self.tmp / EPISODES_JSONL, self.episodes)
        write_jsonl(
            self.tmp / EPISODES_STATS_JSONL,
            [
                {"episode_index": row["episode_index"], "stats": to_json(_without_quantiles(stats))}
                for row, stats in zip(self.episodes, self.episode_stats, strict=True)
            ],
        )
        write_json(self.tmp / STATS_PATH, to_json(global_stats))

    def _write_meta_v30(self, global_stats: dict[str, Stats]) -> None:
        # tasks.parquet: the task text is pandas' index (as LeRobot writes it)
        tasks = list(self.tasks.items())
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
        (self.tmp / TASKS_PARQUET).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(task_table, self.tmp / TASKS_PARQUET)

        # episodes parquet: one row per episode, LeRobot's column order
        video_keys = [key for key, _ in self.cameras.values()]
        stat_keys = ["min", "max", "mean", "std", "count", *QUANTILE_KEYS]
        order = self.feature_order()
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
        present = [key for key in order if any(key in s for s in self.episode_stats)]
        for key in present:
            for stat in stat_keys:
                columns[f"stats/{key}/{stat}"] = []
        columns["meta/episodes/chunk_index"] = []
        columns["meta/episodes/file_index"] = []
        for row, stats in zip(self.episodes, self.episode_stats, strict=True):
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
        path = self.tmp / EPISODES_META_PATH.format(chunk_index=0, file_index=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        write_json(self.tmp / STATS_PATH, to_json(global_stats))

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
    def _close_files(self) -> None:
        if self._data_writer is not None:
            self._data_writer.close()
            self._data_writer = None
        for file in self._video_files.values():
            file.close()
        self._video_files.clear()

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
            if self.version == V30 and self._data_writer is None:
                # an empty v3.0 dataset still gets its (empty) data file
                self._append_data(self._table_for_empty())
            self._close_files()
            global_stats = aggregate_all(self.episode_stats, self.feature_order())
            if self.version == V21:
                self._write_meta_v21(global_stats)
            else:
                self._write_meta_v30(global_stats)
            if self.modality is not None:
                write_json(self.tmp / MODALITY_PATH, self.modality)
            write_json(self.tmp / PROVENANCE_PATH, self._provenance())
            write_json(self.tmp / INFO_PATH, self._info())
            remove_path(self.staging)
        except BaseException as error:
            self._abort_with(error)
            raise
        self._finished = True
        self._atomic.__exit__(None, None, None)
        return self.out

    def _table_for_empty(self) -> pa.Table:
        return self.schema.empty_table()

    def _abort_with(self, error: BaseException) -> None:
        if self._finished:
            return
        self._finished = True
        if self._current is not None:
            with contextlib.suppress(Exception):
                self._current.discard()
        if self._data_writer is not None:
            with contextlib.suppress(Exception):
                self._data_writer.close()
            self._data_writer = None
        for file in self._video_files.values():
            file.abort()
        self._video_files.clear()
        if self.live:  # finished episodes are final: only the running one goes
            remove_path(self.staging)
            return
        self._atomic.__exit__(type(error), error, error.__traceback__)

    def abort(self) -> None:
        self._abort_with(Cancelled())


# -- publish each episode: files on disk -----------------------------------------------------------
STAGING = ".staging"
META_NEW = ".meta.new"
META_OLD = ".meta.old"


def _fsync_file(path: Path) -> None:
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _swap_meta(root: Path) -> None:
    """``.meta.new/meta`` -> ``meta``: one atomic exchange, or two renames that recovery repairs."""
    new, current = root / META_NEW / "meta", root / "meta"
    if current.exists() and exchange_paths(new, current):
        _fsync_dir(root)
        remove_path(root / META_NEW)  # holds the old meta now
        return
    old = root / META_OLD
    remove_path(old)
    if current.exists():
        os.replace(current, old)
    os.replace(new, current)
    _fsync_dir(root)
    remove_path(root / META_NEW)
    remove_path(old)


def _without_quantiles(stats: dict[str, Stats]) -> dict[str, Stats]:
    return {key: {k: v for k, v in entry.items() if k not in QUANTILE_KEYS} for key, entry in stats.items()}


def _discard(path: Path, root: Path) -> None:
    """Remove what an unfinished episode or metadata update left in ``root``: moved into the
    writer's scratch folder first, so the delete goes through the guarded helper."""
    if not (path.exists() or path.is_symlink()):
        return
    scratch = root / STAGING / f".discard{OLD_MARK}{os.getpid()}"
    scratch.mkdir(parents=True, exist_ok=True)
    os.replace(path, scratch / path.name)
    remove_path(scratch)


def _episode_number(path: Path) -> int | None:
    try:
        return int(path.stem.split("_")[-1])
    except ValueError:
        return None


def _unlisted_episode_files(root: Path, total: int) -> list[Path]:
    found = []
    for folder in ("data", "videos"):
        base = root / folder
        if base.is_dir():
            for path in base.rglob("episode_*"):
                number = _episode_number(path)
                if number is not None and number >= total and path.is_file():
                    found.append(path)
    return sorted(found)


def has_unfinished_append(root: str | Path) -> bool:
    """True when a dataset written with publish_each_episode holds what a crash left behind: the
    running episode's staged files, files of an episode that meta/ does not list, a half-done swap."""
    root = Path(root)
    if (root / META_NEW).exists() or (root / META_OLD).exists():
        return True
    staging = root / STAGING
    if staging.is_dir() and any(staging.iterdir()):
        return True
    info_path = root / INFO_PATH
    if not info_path.is_file():
        return (root / "data").is_dir()
    try:
        total = int(read_json(info_path).get("total_episodes", 0))
    except (StudioError, ValueError, TypeError):
        return True
    return bool(_unlisted_episode_files(root, total))


def recover_append(root: str | Path) -> list[str]:
    """Repair a dataset written with publish_each_episode after a crash; returns what was done.

    Finishes or undoes a cut-short meta/ swap, then removes the running episode's staged files and
    any data/video file of an episode that meta/ does not list. Finished episodes are untouched.
    """
    root = Path(root)
    done: list[str] = []
    current, old, new = root / "meta", root / META_OLD, root / META_NEW / "meta"
    if not (current / "info.json").is_file():
        if (new / "info.json").is_file():
            _discard(current, root)
            os.replace(new, current)
            done.append("finished an interrupted metadata update")
        elif (old / "info.json").is_file():
            _discard(current, root)
            os.replace(old, current)
            done.append("restored the previous metadata")
    remove_path(root / META_NEW)
    remove_path(old)
    staging = root / STAGING
    if staging.exists():
        if staging.is_dir() and any(staging.iterdir()):
            done.append("removed the unfinished episode's staged files")
        remove_path(staging)
    if not (current / "info.json").is_file():
        return done
    total = int(read_json(current / "info.json").get("total_episodes", 0))
    for path in _unlisted_episode_files(root, total):
        _discard(path, root)
        done.append(f"removed {path.relative_to(root)} of an unfinished episode")
    return done

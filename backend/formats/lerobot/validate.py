"""Check a LeRobot folder against what LeRobot, GR00T and IDM tools expect; one Problem per finding."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import av
import numpy as np

from backend.errors import FormatError, StudioError
from backend.formats.lerobot.common import (
    EPISODES_DIR,
    EPISODES_JSONL,
    EPISODES_STATS_JSONL,
    INFO_PATH,
    MODALITY_PATH,
    STATS_PATH,
    TASKS_JSONL,
    TASKS_PARQUET,
    TOLERANCE_S,
    V20,
    V21,
    V30,
    read_json,
)
from backend.formats.lerobot.reader import LeRobotReader, column_to_numpy, open_lerobot, read_info
from backend.formats.lerobot.stream import window_indices
from backend.media import VideoProbe, probe
from backend.model import Dataset, Episode, FeatureKind
from backend.validation import Problem

DREAM_PREFIX = "<DREAM>"
REWRITE = "rewrite it with the studio (convert to LeRobot v2.1 or v3.0), which regenerates the metadata"


class _Report:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def add(self, file: Path | str, problem: str, fix: str, severity: str = "error") -> None:
        found = Problem(str(file), problem, fix, severity)
        if found not in self.problems:  # episodes sharing one broken file report it once
            self.problems.append(found)

    def error(self, file: Path | str, problem: str, fix: str) -> None:
        self.add(file, problem, fix, "error")

    def warn(self, file: Path | str, problem: str, fix: str) -> None:
        self.add(file, problem, fix, "warning")

    def from_error(self, error: StudioError, fix: str = REWRITE) -> None:
        self.error(error.path or self.root, error.problem, error.hint or fix)


def _ranges(indices: list[int]) -> str:
    text = ", ".join(str(i) for i in indices[:8])
    return text + (f" ... ({len(indices)} episodes)" if len(indices) > 8 else "")


def validate_lerobot(path: Path) -> list[Problem]:
    root = Path(path)
    report = _Report(root)
    if not root.is_dir():
        report.error(root, "not a folder", "pick the LeRobot dataset folder (the one holding meta/info.json)")
        return report.problems
    if not (root / INFO_PATH).is_file():
        report.error(
            root / INFO_PATH,
            "meta/info.json is missing",
            "this is not a LeRobot dataset, or it is incomplete",
        )
        return report.problems
    try:
        info = read_info(root)
    except FormatError as error:
        report.from_error(error, "fix or restore meta/info.json")
        return report.problems
    version = str(info["codebase_version"])
    _check_meta_files(report, info, version)
    try:
        dataset = open_lerobot(root)
    except FormatError as error:
        # a missing meta file is already reported by _check_meta_files: not twice
        if not any(p.file == str(error.path) and p.severity == "error" for p in report.problems):
            report.from_error(error)
        return report.problems
    with dataset:
        _check_totals(report, dataset, info, version)
        _check_features(report, dataset)
        _check_episodes(report, dataset)
        _check_videos(report, dataset)
        _check_modality(report, dataset)
    return report.problems


# -- metadata -----------------------------------------------------------------------------------------
def _check_meta_files(report: _Report, info: dict[str, Any], version: str) -> None:
    root = report.root
    if version == V30:
        for rel in (TASKS_PARQUET, EPISODES_DIR):
            if not (root / rel).exists():
                report.error(root / rel, f"{rel} is missing", "a v3.0 dataset needs it; " + REWRITE)
        for key in ("data_files_size_in_mb", "video_files_size_in_mb"):
            if key not in info:
                report.warn(
                    root / INFO_PATH, f"info.json has no {key!r}", "LeRobot v3.0 writes it; " + REWRITE
                )
    else:
        for rel in (EPISODES_JSONL, TASKS_JSONL):
            if not (root / rel).is_file():
                report.error(root / rel, f"{rel} is missing", "a v2.x dataset needs it; " + REWRITE)
        if version == V21 and not (root / EPISODES_STATS_JSONL).is_file():
            report.warn(
                root / EPISODES_STATS_JSONL,
                "episodes_stats.jsonl is missing",
                "LeRobot v2.1 reads per-episode stats from it; " + REWRITE,
            )
        if info.get("total_chunks") == 0 and int(info.get("total_episodes") or 0) > 0:
            report.warn(
                root / INFO_PATH,
                "total_chunks is 0 although the dataset has episodes (files are in chunk-000)",
                "harmless for the studio and GR00T; set it to ceil(total_episodes / chunks_size)",
            )
    if not (root / STATS_PATH).is_file():
        report.warn(
            root / STATS_PATH,
            "meta/stats.json is missing",
            "training (LeRobot, GR00T) normalises with it; " + REWRITE,
        )
    else:
        try:
            stats = read_json(root / STATS_PATH)
            if not isinstance(stats, dict):
                report.error(root / STATS_PATH, "stats.json is not a JSON object", REWRITE)
        except FormatError as error:
            report.from_error(error)
    for key in ("data_path",):
        if not info.get(key):
            report.error(root / INFO_PATH, f"info.json has no {key!r}", REWRITE)
    has_video = any(isinstance(f, dict) and f.get("dtype") == "video" for f in info["features"].values())
    if has_video and not info.get("video_path"):
        report.error(root / INFO_PATH, "info.json has video features but no 'video_path'", REWRITE)


def _check_totals(report: _Report, dataset: Dataset, info: dict[str, Any], version: str) -> None:
    info_path = report.root / INFO_PATH
    n = dataset.num_episodes
    frames = dataset.num_frames
    if info.get("total_episodes") != n:
        report.error(
            info_path,
            f"total_episodes is {info.get('total_episodes')} but {n} episodes are listed",
            "set total_episodes to the number of episodes",
        )
    if info.get("total_frames") != frames:
        report.error(
            info_path,
            f"total_frames is {info.get('total_frames')} but the episode lengths sum to {frames}",
            "set total_frames to the sum of the episode lengths",
        )
    if "total_tasks" in info and info.get("total_tasks") != len(dataset.tasks):
        report.warn(
            info_path,
            f"total_tasks is {info.get('total_tasks')} but {len(dataset.tasks)} tasks are listed",
            "set total_tasks to the number of tasks",
        )
    train = (info.get("splits") or {}).get("train")
    if isinstance(train, str) and ":" in train:
        try:
            start, stop = (int(x) for x in train.split(":"))
            if start < 0 or stop > n:
                report.warn(
                    info_path,
                    f"splits train is {train!r} but there are {n} episodes",
                    f"set it to '0:{n}' (LeRobot selects episodes from it)",
                )
        except ValueError:
            report.warn(info_path, f"splits train {train!r} is not 'start:stop'", f"set it to '0:{n}'")
    known = set(dataset.tasks)
    unknown = defaultdict(list)
    for episode in dataset.episodes:
        for task in episode.extra.get("tasks") or []:
            if task not in known:
                unknown[task].append(episode.index)
    for task, episodes in unknown.items():
        if DREAM_PREFIX + task in known:
            # GR00T-Dreams' IDM dump prefixes tasks.jsonl only; loaders read tasks by task_index
            report.warn(
                report.root / (TASKS_PARQUET if version == V30 else TASKS_JSONL),
                f"task {task!r} of episodes {_ranges(episodes)} is listed as {DREAM_PREFIX + task!r} "
                "(the IDM dump prefixes the task list only)",
                "harmless: loaders read the task through task_index; " + REWRITE + " to make them agree",
            )
            continue
        report.error(
            report.root / (TASKS_PARQUET if version == V30 else TASKS_JSONL),
            f"task {task!r} of episodes {_ranges(episodes)} is not in the task list",
            "add it to the task list or fix the episodes' tasks",
        )
    indices = [e.index for e in dataset.episodes]
    if indices != list(range(n)):
        report.warn(
            report.root / (EPISODES_DIR if version == V30 else EPISODES_JSONL),
            f"episode indices are not 0..{n - 1} in order",
            "LeRobot expects contiguous episode indices",
        )


def _check_features(report: _Report, dataset: Dataset) -> None:
    if not dataset.num_episodes:  # a dataset being recorded, before its first episode: no files yet
        return
    for key, feature in dataset.features.items():
        if feature.kind is FeatureKind.VIDEO and not feature.has_files:
            report.error(
                report.root / INFO_PATH,
                f"feature {key!r} is listed as a video but has no video files",
                "readers skip it; remove it from info.json features if no tool needs it",
            )


# -- episodes -----------------------------------------------------------------------------------------
def _check_episodes(report: _Report, dataset: Dataset) -> None:
    reader = dataset.reader
    assert isinstance(reader, LeRobotReader)
    fps = dataset.fps
    columns = [k for k, f in dataset.features.items() if f.kind in (FeatureKind.VECTOR, FeatureKind.SCALAR)]
    offset_quirk: list[int] = []
    no_frame_index: list[int] = []
    index_gaps: list[int] = []
    expected_index = 0
    for episode in dataset.episodes:
        path = reader.episode_data_path(episode)
        try:
            table = reader.episode_table(episode)
        except FormatError as error:
            report.from_error(error)
            expected_index += episode.length
            continue
        if table.num_rows != episode.length:
            report.error(
                path,
                f"episode {episode.index} has {table.num_rows} rows but its length is {episode.length}",
                "fix the episode list or the parquet; " + REWRITE,
            )
        missing = [k for k in columns if k not in table.column_names and k != "frame_index"]
        if missing:
            report.error(path, f"columns {missing} listed in info.json are missing", REWRITE)
        values: dict[str, np.ndarray] = {}
        for key in columns:
            if key not in table.column_names:
                continue
            try:
                values[key] = column_to_numpy(table.column(key), dataset.features[key], path)
            except FormatError as error:
                report.from_error(error)
        n = table.num_rows
        if "frame_index" in values:
            if not np.array_equal(values["frame_index"], np.arange(n)):
                report.error(path, f"frame_index of episode {episode.index} is not 0..{n - 1}", REWRITE)
        else:
            no_frame_index.append(episode.index)
        if "episode_index" in values and n and not np.all(values["episode_index"] == episode.index):
            report.error(path, f"episode_index column is not {episode.index} on every row", REWRITE)
        if "index" in values and n:
            if not np.array_equal(values["index"], expected_index + np.arange(n)):
                index_gaps.append(episode.index)
        expected_index += episode.length
        if "timestamp" in values and n:
            _check_timestamps(report, path, episode, values["timestamp"], fps, offset_quirk)
        for key, feature in dataset.features.items():
            if feature.kind is FeatureKind.VECTOR and key in values and values[key].dtype.kind == "f":
                bad = ~np.isfinite(values[key])
                if bad.any():
                    frame, column = np.argwhere(bad.reshape(n, -1))[0]
                    report.error(
                        path,
                        f"{key} of episode {episode.index} has {int(bad.sum())} NaN/inf values "
                        f"(first at frame {frame}, joint {column})",
                        "drop or repair the episode (curate) before training or converting",
                    )
    data_dir = report.root / "data"
    if offset_quirk:
        report.error(
            data_dir,
            f"timestamps are (frame_index + 1) / fps, one frame late, in episodes {_ranges(offset_quirk)} "
            f"(first row {1 / fps:.3f} s instead of 0; video frames are at frame_index / fps). "
            "The GR00T demo data has this quirk; LeRobot's loader rejects it (1e-4 s check)",
            "the studio aligns by frame_index; converting with the studio writes timestamp = frame_index / fps",
        )
    if no_frame_index:
        report.warn(
            data_dir,
            f"no frame_index column in episodes {_ranges(no_frame_index)}",
            "the studio uses the row order; LeRobot needs the column: " + REWRITE,
        )
    if index_gaps:
        report.warn(
            data_dir,
            f"the global 'index' column does not run on from episode to episode in episodes "
            f"{_ranges(index_gaps)}",
            "LeRobot addresses frames by it; " + REWRITE,
        )


def _check_timestamps(
    report: _Report, path: Path, episode: Episode, timestamps: np.ndarray, fps: float, quirk: list[int]
) -> None:
    ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    expected = np.arange(len(ts)) / fps
    # float32 timestamps carry ~1e-7 relative error
    tolerance = TOLERANCE_S + np.abs(expected) * 2e-7
    deviation = np.abs(ts - expected)
    if np.all(deviation <= tolerance):
        return
    if np.all(np.abs(ts - expected - 1.0 / fps) <= tolerance):
        quirk.append(episode.index)
        return
    frame = int(np.argmax(deviation > tolerance))
    report.error(
        path,
        f"timestamp of episode {episode.index} is {ts[frame]:.6f} s at frame {frame}, "
        f"frame_index / fps is {expected[frame]:.6f} s (max deviation {deviation.max():.6f} s)",
        "LeRobot needs timestamp = frame_index / fps within 1e-4 s; " + REWRITE,
    )


# -- videos -------------------------------------------------------------------------------------------
def _decode_first(path: Path) -> str | None:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for _frame in container.decode(stream):
                return None
        return "no frame could be decoded"
    except (av.error.FFmpegError, OSError, IndexError) as error:
        return str(error)


def _check_video_file(
    report: _Report,
    path: Path,
    cache: dict[Path, VideoProbe | None],
    dataset: Dataset,
    key: str,
) -> VideoProbe | None:
    if path in cache:
        return cache[path]
    info = None
    if not path.is_file():
        report.error(path, f"video of {key} is missing", "restore the file or " + REWRITE)
    else:
        try:
            info = probe(path)
        except FormatError as error:
            report.from_error(error, "re-encode or restore the video")
        if info is not None:
            problem = _decode_first(path)
            if problem:
                report.error(
                    path, f"the video cannot be decoded ({problem})", "re-encode or restore the video"
                )
                info = None
    if info is not None:
        if abs(info.fps - dataset.fps) > 0.01 * dataset.fps:
            report.error(
                path,
                f"video runs at {info.fps:.3f} fps, the dataset at {dataset.fps:g} fps",
                "re-encode the video at the dataset's fps",
            )
        feature = dataset.features[key]
        expected = (feature.video.height, feature.video.width) if feature.video else None
        if expected and expected != (0, 0) and expected != (info.height, info.width):
            report.warn(
                path,
                f"video is {info.width}x{info.height}, info.json says {expected[1]}x{expected[0]}",
                "fix the feature's shape in info.json",
            )
    cache[path] = info
    return info


def _check_videos(report: _Report, dataset: Dataset) -> None:
    reader = dataset.reader
    assert isinstance(reader, LeRobotReader)
    cache: dict[Path, VideoProbe | None] = {}
    codecs: dict[str, set[str]] = defaultdict(set)
    for key, feature in dataset.features.items():
        if feature.kind is not FeatureKind.VIDEO or not feature.has_files:
            continue
        declared = feature.video.codec if feature.video else None
        for episode in dataset.episodes:
            try:
                path = reader.episode_video_path(episode, key)
            except FormatError as error:
                report.from_error(error)
                continue
            info = _check_video_file(report, path, cache, dataset, key)
            if info is None:
                continue
            codecs[key].add(info.codec)
            if reader.version == V30:
                _check_window(report, path, info, episode, key, dataset.fps)
            elif info.num_frames != episode.length:
                report.error(
                    path,
                    f"video of episode {episode.index} has {info.num_frames} frames, "
                    f"the parquet {episode.length} rows",
                    "re-export the episode so every row has a frame",
                )
        if (
            declared
            and codecs[key]
            and declared not in codecs[key]
            and not (declared in ("av1", "libdav1d", "libaom-av1") and "av1" in codecs[key])
        ):
            report.warn(
                report.root / INFO_PATH,
                f"{key} says codec {declared!r}, the files are {sorted(codecs[key])}",
                "fix video.codec in info.json",
            )
    declared_videos = dataset.info.get("total_videos")
    files = sum(1 for path, info in cache.items() if info is not None)
    if reader.version != V30 and isinstance(declared_videos, int) and declared_videos != files:
        report.warn(
            report.root / INFO_PATH,
            f"total_videos is {declared_videos} but {files} video files are used",
            f"set total_videos to {files}",
        )
    av1 = sorted(k for k, c in codecs.items() if "av1" in c)
    if av1:
        report.warn(
            report.root / "videos",
            f"videos of {av1} are AV1: GR00T / IDM tools (decord, older torchcodec) cannot decode AV1",
            "for GR00T or IDM convert to LeRobot v2.1 with codec h264",
        )
    for key, found in codecs.items():
        unknown = [c for c in found if c not in ("h264", "hevc", "av1", "vp9", "mpeg4")]
        if unknown:
            report.warn(
                report.root / "videos",
                f"{key} uses codec {unknown}, which training tools may not decode",
                "re-encode to h264 or av1",
            )


def _check_window(
    report: _Report, path: Path, info: VideoProbe, episode: Episode, key: str, fps: float
) -> None:
    video = episode.extra["lerobot"]["videos"].get(key)
    if video is None:
        report.error(report.root / EPISODES_DIR, f"episode {episode.index} has no {key} entries", REWRITE)
        return
    start, stop = float(video["from_timestamp"]), float(video["to_timestamp"])
    times = info.frame_times
    inside = int(np.searchsorted(times, stop - TOLERANCE_S) - np.searchsorted(times, start - TOLERANCE_S))
    if inside != episode.length:
        report.error(
            path,
            f"episode {episode.index}: {inside} video frames lie in [{start:.4f}, {stop:.4f}) s "
            f"for {episode.length} rows",
            "fix from/to_timestamp or re-export the episode",
        )
    if abs((stop - start) - episode.length / fps) > TOLERANCE_S:
        report.error(
            report.root / EPISODES_DIR,
            f"episode {episode.index} {key}: to - from is {stop - start:.6f} s, length / fps is "
            f"{episode.length / fps:.6f} s",
            "fix to_timestamp",
        )
    indices = window_indices(times, start, episode.length, fps)
    if len(indices) < episode.length:
        report.error(
            path,
            f"episode {episode.index}: the video ends after {len(indices)} of {episode.length} frames",
            "re-export the episode's video",
        )
        return
    deviation = np.abs(times[indices] - (start + np.arange(episode.length) / fps))
    if deviation.max() > TOLERANCE_S:
        frame = int(np.argmax(deviation))
        report.error(
            path,
            f"episode {episode.index}: frame {frame} is {deviation[frame]:.6f} s away from "
            f"from_timestamp + {frame}/fps (LeRobot allows {TOLERANCE_S} s)",
            "fix from_timestamp or re-encode with frame times at i / fps",
        )


# -- modality.json ------------------------------------------------------------------------------------
def _check_modality(report: _Report, dataset: Dataset) -> None:
    path = report.root / MODALITY_PATH
    if not path.is_file():
        return
    try:
        modality = read_json(path)
    except FormatError as error:
        report.from_error(error, "fix the JSON")
        return
    if not isinstance(modality, dict):
        report.error(path, "modality.json is not an object", "see formats.md section 6")
        return
    defaults = {"state": "observation.state", "action": "action"}
    for group in ("state", "action"):
        slices = modality.get(group)
        if slices is None:
            continue
        if not isinstance(slices, dict):
            report.error(path, f"{group} is not an object of slices", "use {name: {start, end}}")
            continue
        spans: list[tuple[int, int, str]] = []
        for name, entry in slices.items():
            if not isinstance(entry, dict) or "start" not in entry or "end" not in entry:
                report.error(path, f"{group}.{name} has no start/end", "give every slice start and end")
                continue
            key = entry.get("original_key") or defaults[group]
            feature = dataset.features.get(key)
            try:
                start, end = int(entry["start"]), int(entry["end"])
            except (TypeError, ValueError):
                report.error(path, f"{group}.{name} start/end are not integers", "fix the slice")
                continue
            if feature is None:
                report.error(
                    path, f"{group}.{name} refers to {key!r}, which is not a feature", "fix original_key"
                )
                continue
            width = int(np.prod(feature.shape)) if feature.shape else 1
            if not 0 <= start < end <= width:
                report.error(
                    path,
                    f"{group}.{name} slice {start}:{end} is outside {key} of width {width}",
                    "fix the slice",
                )
            spans.append((start, end, f"{key}:{name}"))
        spans.sort()
        for (s1, e1, n1), (s2, e2, n2) in zip(spans, spans[1:], strict=False):
            if n1.split(":")[0] == n2.split(":")[0] and s2 < e1:
                report.error(
                    path,
                    f"{group} slices {n1.split(':')[1]} ({s1}:{e1}) and {n2.split(':')[1]} ({s2}:{e2}) "
                    "overlap",
                    "make the slices disjoint",
                )
    for name, entry in (modality.get("video") or {}).items():
        key = (entry or {}).get("original_key") or f"observation.images.{name}"
        feature = dataset.features.get(key)
        if feature is None or feature.kind not in (FeatureKind.VIDEO, FeatureKind.IMAGE):
            report.error(
                path, f"video.{name} refers to {key!r}, which is not a video feature", "fix original_key"
            )
        elif not feature.has_files:
            report.error(
                path, f"video.{name} refers to {key!r}, which has no video files", "point it at a camera"
            )
    for name, entry in (modality.get("annotation") or {}).items():
        key = (entry or {}).get("original_key") or f"annotation.{name}"
        if key not in dataset.features:
            report.warn(
                path,
                f"annotation.{name} refers to column {key!r}, which is not a feature",
                "fix original_key or add the column",
            )


__all__ = ["validate_lerobot", "V20"]

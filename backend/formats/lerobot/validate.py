"""Check a LeRobot folder against what LeRobot, GR00T and IDM tools expect; one Problem per finding."""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import numpy as np

from backend import signals
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

    def add(
        self,
        file: Path | str,
        problem: str,
        fix: str,
        severity: str = "error",
        code: str = "format",
        episode: int | None = None,
        fixable: bool = False,
        frames: tuple[int, ...] = (),
    ) -> None:
        name = f"episode {episode}" if episode is not None else None
        found = Problem(str(file), problem, fix, severity, code, name, fixable, frames)
        if found not in self.problems:  # episodes sharing one broken file report it once
            self.problems.append(found)

    def error(self, file: Path | str, problem: str, fix: str, code: str = "format", **where: Any) -> None:
        self.add(file, problem, fix, "error", code, **where)

    def warn(self, file: Path | str, problem: str, fix: str, code: str = "format", **where: Any) -> None:
        self.add(file, problem, fix, "warning", code, **where)

    def from_error(self, error: StudioError, fix: str = REWRITE, code: str = "unreadable") -> None:
        self.error(error.path or self.root, error.problem, error.hint or fix, code)


def _ranges(indices: list[int]) -> str:
    text = ", ".join(str(i) for i in indices[:8])
    return text + (f" ... ({len(indices)} episodes)" if len(indices) > 8 else "")


def validate_lerobot(path: Path) -> list[Problem]:
    root = Path(path)
    report = _Report(root)
    if not root.is_dir():
        report.error(
            root, "not a folder", "pick the LeRobot dataset folder (the one holding meta/info.json)", "missing_file"
        )
        return report.problems
    if not (root / INFO_PATH).is_file():
        report.error(
            root / INFO_PATH,
            "meta/info.json is missing",
            "this is not a LeRobot dataset, or it is incomplete",
            "missing_file",
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
        before = len(report.problems)
        _check_modality(report, dataset)
        report.problems[before:] = [replace(p, code="modality") for p in report.problems[before:]]
    return report.problems


# -- metadata -----------------------------------------------------------------------------------------
def _check_meta_files(report: _Report, info: dict[str, Any], version: str) -> None:
    root = report.root
    if version == V30:
        for rel in (TASKS_PARQUET, EPISODES_DIR):
            if not (root / rel).exists():
                report.error(root / rel, f"{rel} is missing", "a v3.0 dataset needs it; " + REWRITE, "missing_file")
        for key in ("data_files_size_in_mb", "video_files_size_in_mb"):
            if key not in info:
                report.warn(
                    root / INFO_PATH, f"info.json has no {key!r}", "LeRobot v3.0 writes it; " + REWRITE,
                    "info_field", fixable=True,
                )
    else:
        for rel in (EPISODES_JSONL, TASKS_JSONL):
            if not (root / rel).is_file():
                report.error(root / rel, f"{rel} is missing", "a v2.x dataset needs it; " + REWRITE, "missing_file")
        if version == V21 and not (root / EPISODES_STATS_JSONL).is_file():
            report.warn(
                root / EPISODES_STATS_JSONL,
                "episodes_stats.jsonl is missing",
                "LeRobot v2.1 reads per-episode stats from it; " + REWRITE,
                "stats_missing",
                fixable=True,
            )
        if info.get("total_chunks") == 0 and int(info.get("total_episodes") or 0) > 0:
            report.warn(
                root / INFO_PATH,
                "total_chunks is 0 although the dataset has episodes (files are in chunk-000)",
                "harmless for the studio and GR00T; set it to ceil(total_episodes / chunks_size)",
                "info_field",
                fixable=True,
            )
    if not (root / STATS_PATH).is_file():
        report.warn(
            root / STATS_PATH,
            "meta/stats.json is missing",
            "training (LeRobot, GR00T) normalises with it; " + REWRITE,
            "stats_missing",
            fixable=True,
        )
    else:
        try:
            stats = read_json(root / STATS_PATH)
            if not isinstance(stats, dict):
                report.error(root / STATS_PATH, "stats.json is not a JSON object", REWRITE, "unreadable")
        except FormatError as error:
            report.from_error(error)
    for key in ("data_path",):
        if not info.get(key):
            report.error(root / INFO_PATH, f"info.json has no {key!r}", REWRITE, "info_field")
    has_video = any(isinstance(f, dict) and f.get("dtype") == "video" for f in info["features"].values())
    if has_video and not info.get("video_path"):
        report.error(root / INFO_PATH, "info.json has video features but no 'video_path'", REWRITE, "info_field")


def _check_totals(report: _Report, dataset: Dataset, info: dict[str, Any], version: str) -> None:
    info_path = report.root / INFO_PATH
    n = dataset.num_episodes
    frames = dataset.num_frames
    if info.get("total_episodes") != n:
        report.error(
            info_path,
            f"total_episodes is {info.get('total_episodes')} but {n} episodes are listed",
            "set total_episodes to the number of episodes",
            "totals_mismatch",
            fixable=True,
        )
    if info.get("total_frames") != frames:
        report.error(
            info_path,
            f"total_frames is {info.get('total_frames')} but the episode lengths sum to {frames}",
            "set total_frames to the sum of the episode lengths",
            "totals_mismatch",
            fixable=True,
        )
    if "total_tasks" in info and info.get("total_tasks") != len(dataset.tasks):
        report.warn(
            info_path,
            f"total_tasks is {info.get('total_tasks')} but {len(dataset.tasks)} tasks are listed",
            "set total_tasks to the number of tasks",
            "totals_mismatch",
            fixable=True,
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
                    "info_field",
                    fixable=True,
                )
        except ValueError:
            report.warn(
                info_path, f"splits train {train!r} is not 'start:stop'", f"set it to '0:{n}'", "info_field",
                fixable=True,
            )
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
                "task_dream_prefix",
            )
            continue
        report.error(
            report.root / (TASKS_PARQUET if version == V30 else TASKS_JSONL),
            f"task {task!r} of episodes {_ranges(episodes)} is not in the task list",
            "add it to the task list or fix the episodes' tasks",
            "task_missing",
        )
    _check_task_texts(report, dataset, version)
    episodes_file = report.root / (EPISODES_DIR if version == V30 else EPISODES_JSONL)
    indices = [e.index for e in dataset.episodes]
    counts = Counter(indices)
    twice = sorted(i for i, c in counts.items() if c > 1)
    if twice:
        report.error(
            episodes_file,
            f"episode indices {_ranges(twice)} are listed more than once",
            "remove the duplicated lines of the episode list; " + REWRITE,
            "episode_index_duplicate",
        )
    elif indices != list(range(n)):
        missing = sorted(set(range(max(indices) + 1)) - set(indices)) if indices else []
        report.warn(
            episodes_file,
            f"episode indices are not 0..{n - 1} in order"
            + (f" (missing {_ranges(missing)})" if missing else ""),
            "LeRobot expects contiguous episode indices; " + REWRITE,
            "episode_index_gap",
            fixable=True,
        )


def _control_characters(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cc"})


def _check_task_texts(report: _Report, dataset: Dataset, version: str) -> None:
    """Tasks the episodes never use, and task texts with control characters."""
    tasks_file = report.root / (TASKS_PARQUET if version == V30 else TASKS_JSONL)
    used = {t for e in dataset.episodes for t in (e.extra.get("tasks") or [])}
    used |= {t.removeprefix(DREAM_PREFIX) for t in used}
    unused = [t for t in dataset.tasks if t not in used and t.removeprefix(DREAM_PREFIX) not in used]
    if unused and dataset.episodes:
        report.add(
            tasks_file,
            f"{len(unused)} task(s) no episode uses: {', '.join(repr(t) for t in unused[:3])}"
            + (" ..." if len(unused) > 3 else ""),
            "harmless; drop them from the task list to keep task indices meaningful",
            "info",
            "task_unused",
            fixable=True,
        )
    for text in dataset.tasks:
        bad = _control_characters(text)
        if bad:
            report.warn(
                tasks_file,
                f"task {text!r} contains control characters ({', '.join(bad)})",
                "retype the task text: tokenizers and prompts see these characters",
                "control_characters",
                fixable=True,
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
                "phantom_camera",
                fixable=True,
            )


# -- episodes -----------------------------------------------------------------------------------------
def _check_episodes(report: _Report, dataset: Dataset) -> None:
    reader = dataset.reader
    assert isinstance(reader, LeRobotReader)
    fps = dataset.fps
    columns = [k for k, f in dataset.features.items() if f.kind in (FeatureKind.VECTOR, FeatureKind.SCALAR)]
    timing = _Timing()
    no_frame_index: list[int] = []
    index_gaps: list[int] = []
    known_tasks = set(range(len(dataset.tasks)))
    expected_index = 0
    for episode in dataset.episodes:
        path = reader.episode_data_path(episode)
        where = {"episode": episode.index}
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
                "row_count",
                **where,
            )
        missing = [k for k in columns if k not in table.column_names and k != "frame_index"]
        if missing:
            report.error(path, f"columns {missing} listed in info.json are missing", REWRITE, "missing_column")
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
            _check_frame_index(report, path, episode, values["frame_index"])
        else:
            no_frame_index.append(episode.index)
        if "episode_index" in values and n and not np.all(values["episode_index"] == episode.index):
            report.error(
                path, f"episode_index column is not {episode.index} on every row", REWRITE, "episode_index_column",
                fixable=True, **where,
            )
        if "index" in values and n:
            if not np.array_equal(values["index"], expected_index + np.arange(n)):
                index_gaps.append(episode.index)
        expected_index += episode.length
        if "task_index" in values and n and dataset.tasks:
            task_indices = np.unique(np.asarray(values["task_index"]).reshape(-1))
            unknown = [int(t) for t in task_indices if int(t) not in known_tasks]
            if unknown:
                report.error(
                    path,
                    f"task_index {unknown[:5]} of episode {episode.index} is not in the task list "
                    f"(0..{len(dataset.tasks) - 1})",
                    "fix the task_index column or the task list",
                    "task_index_unknown",
                    **where,
                )
        if "timestamp" in values and n:
            timing.check(report, path, episode, values["timestamp"], fps)
        for key, feature in dataset.features.items():
            if feature.kind is FeatureKind.VECTOR and key in values:
                reading = signals.non_finite(values[key], key)
                if reading.fired:
                    report.error(
                        path,
                        f"{reading.sentence.replace(key, f'{key} of episode {episode.index}', 1)}",
                        signals.SIGNALS["non_finite"].fix,
                        "non_finite",
                        fixable=True,
                        frames=reading.frames,
                        **where,
                    )
    data_dir = report.root / "data"
    timing.report(report, data_dir, fps)
    if no_frame_index:
        report.warn(
            data_dir,
            f"no frame_index column in episodes {_ranges(no_frame_index)}",
            "the studio uses the row order; LeRobot needs the column: " + REWRITE,
            "no_frame_index",
            fixable=True,
        )
    if index_gaps:
        report.warn(
            data_dir,
            f"the global 'index' column does not run on from episode to episode in episodes "
            f"{_ranges(index_gaps)}",
            "LeRobot addresses frames by it; " + REWRITE,
            "global_index",
            fixable=True,
        )


def _check_frame_index(report: _Report, path: Path, episode: Episode, frame_index: np.ndarray) -> None:
    n = len(frame_index)
    column = np.asarray(frame_index).reshape(-1)
    if np.array_equal(column, np.arange(n)):
        return
    repeated = int(n - len(np.unique(column)))
    missing = len(set(range(n)) - set(column.tolist()))
    wrong = np.flatnonzero(column != np.arange(n))
    detail = ", ".join(
        part for part in (
            f"{repeated} repeated" if repeated else "",
            f"{missing} of 0..{n - 1} missing" if missing else "",
            "out of order" if not repeated and not missing else "",
        ) if part
    )
    report.error(
        path,
        f"frame_index of episode {episode.index} is not 0..{n - 1} ({detail}; first at row {int(wrong[0])})",
        REWRITE,
        "frame_index",
        episode=episode.index,
        fixable=True,
        frames=tuple(int(i) for i in wrong[:20]),
    )


class _Timing:
    """Timestamps against frame_index / fps: exact, one frame late (GR00T quirk), another rate, or off."""

    def __init__(self) -> None:
        self.one_late: list[int] = []
        self.rates: dict[int, float] = {}

    def check(self, report: _Report, path: Path, episode: Episode, timestamps: np.ndarray, fps: float) -> None:
        ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        expected = np.arange(len(ts)) / fps
        # float32 timestamps carry ~1e-7 relative error
        tolerance = TOLERANCE_S + np.abs(expected) * 2e-7
        deviation = np.abs(ts - expected)
        if np.all(deviation <= tolerance):
            return
        if np.all(np.abs(ts - expected - 1.0 / fps) <= tolerance):
            self.one_late.append(episode.index)
            return
        steps = np.diff(ts)
        if len(steps) >= 2:
            step = float(np.median(steps))
            if step > 0:
                rate = 1.0 / step
                grid = ts[0] + np.arange(len(ts)) * step
                if abs(rate - fps) > 0.01 * fps and np.all(np.abs(ts - grid) <= TOLERANCE_S + np.abs(grid) * 2e-7):
                    self.rates[episode.index] = rate
                    return
        frame = int(np.argmax(deviation > tolerance))
        report.error(
            path,
            f"timestamp of episode {episode.index} is {ts[frame]:.6f} s at frame {frame}, "
            f"frame_index / fps is {expected[frame]:.6f} s (max deviation {deviation.max():.6f} s)",
            "LeRobot needs timestamp = frame_index / fps within 1e-4 s; " + REWRITE,
            "timestamps",
            episode=episode.index,
            fixable=True,
            frames=tuple(int(i) for i in np.flatnonzero(deviation > tolerance)[:20]),
        )

    def report(self, report: _Report, data_dir: Path, fps: float) -> None:
        if self.one_late:
            report.error(
                data_dir,
                f"timestamps are (frame_index + 1) / fps, one frame late, in episodes {_ranges(self.one_late)} "
                f"(first row {1 / fps:.3f} s instead of 0; video frames are at frame_index / fps). "
                "The GR00T demo data has this quirk; LeRobot's loader rejects it (1e-4 s check)",
                "the studio aligns by frame_index; converting with the studio writes timestamp = frame_index / fps",
                "timestamps_one_frame_late",
                fixable=True,
            )
        if self.rates:
            rates = sorted({round(r, 3) for r in self.rates.values()})
            report.error(
                report.root / INFO_PATH,
                f"info.json says {fps:g} fps but the timestamps of episodes {_ranges(sorted(self.rates))} step "
                f"at {', '.join(f'{r:g}' for r in rates)} fps",
                "set fps in info.json to the rate the data was recorded at (and check the videos' rate)",
                "fps_mismatch",
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
        report.error(path, f"video of {key} is missing", "restore the file or " + REWRITE, "missing_file")
    else:
        try:
            info = probe(path)
        except FormatError as error:
            report.from_error(error, "re-encode or restore the video")
        if info is not None:
            problem = _decode_first(path)
            if problem:
                report.error(
                    path, f"the video cannot be decoded ({problem})", "re-encode or restore the video", "unreadable"
                )
                info = None
    if info is not None:
        if abs(info.fps - dataset.fps) > 0.01 * dataset.fps:
            report.error(
                path,
                f"video runs at {info.fps:.3f} fps, the dataset at {dataset.fps:g} fps",
                "re-encode the video at the dataset's fps",
                "video_fps",
            )
        feature = dataset.features[key]
        expected = (feature.video.height, feature.video.width) if feature.video else None
        if expected and expected != (0, 0) and expected != (info.height, info.width):
            report.warn(
                path,
                f"video is {info.width}x{info.height}, info.json says {expected[1]}x{expected[0]}",
                "fix the feature's shape in info.json",
                "video_size",
                fixable=True,
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
                    "video_frames",
                    episode=episode.index,
                )
            else:
                _check_frame_times(report, path, info, episode, dataset.fps)
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
                "video_codec",
                fixable=True,
            )
    declared_videos = dataset.info.get("total_videos")
    files = sum(1 for path, info in cache.items() if info is not None)
    if reader.version != V30 and isinstance(declared_videos, int) and declared_videos != files:
        report.warn(
            report.root / INFO_PATH,
            f"total_videos is {declared_videos} but {files} video files are used",
            f"set total_videos to {files}",
            "totals_mismatch",
            fixable=True,
        )
    av1 = sorted(k for k, c in codecs.items() if "av1" in c)
    if av1:
        report.warn(
            report.root / "videos",
            f"videos of {av1} are AV1: GR00T / IDM tools (decord, older torchcodec) cannot decode AV1",
            "for GR00T or IDM convert to LeRobot v2.1 with codec h264",
            "av1_for_groot",
            fixable=True,
        )
    for key, found in codecs.items():
        unknown = [c for c in found if c not in ("h264", "hevc", "av1", "vp9", "mpeg4")]
        if unknown:
            report.warn(
                report.root / "videos",
                f"{key} uses codec {unknown}, which training tools may not decode",
                "re-encode to h264 or av1",
                "video_codec",
                fixable=True,
            )


def _check_frame_times(report: _Report, path: Path, info: VideoProbe, episode: Episode, fps: float) -> None:
    """v2.x: one file per episode, frame i must be shown at i / fps (LeRobot's 1e-4 s check)."""
    times = np.asarray(info.frame_times, dtype=np.float64)
    if not len(times):
        return
    deviation = np.abs(times - times[0] - np.arange(len(times)) / fps)
    if deviation.max() > TOLERANCE_S:
        frame = int(np.argmax(deviation))
        report.error(
            path,
            f"episode {episode.index}: video frame {frame} is shown at {times[frame] - times[0]:.6f} s, "
            f"{frame} / fps is {frame / fps:.6f} s (LeRobot allows {TOLERANCE_S} s)",
            "re-encode the video with frame times at i / fps",
            "video_timestamps",
            episode=episode.index,
            frames=(frame,),
        )


def _check_window(
    report: _Report, path: Path, info: VideoProbe, episode: Episode, key: str, fps: float
) -> None:
    video = episode.extra["lerobot"]["videos"].get(key)
    if video is None:
        report.error(
            report.root / EPISODES_DIR, f"episode {episode.index} has no {key} entries", REWRITE, "missing_file",
            episode=episode.index,
        )
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
            "video_frames",
            episode=episode.index,
        )
    if abs((stop - start) - episode.length / fps) > TOLERANCE_S:
        report.error(
            report.root / EPISODES_DIR,
            f"episode {episode.index} {key}: to - from is {stop - start:.6f} s, length / fps is "
            f"{episode.length / fps:.6f} s",
            "fix to_timestamp",
            "video_timestamps",
            episode=episode.index,
            fixable=True,
        )
    indices = window_indices(times, start, episode.length, fps)
    if len(indices) < episode.length:
        report.error(
            path,
            f"episode {episode.index}: the video ends after {len(indices)} of {episode.length} frames",
            "re-export the episode's video",
            "video_frames",
            episode=episode.index,
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
            "video_timestamps",
            episode=episode.index,
            frames=(frame,),
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

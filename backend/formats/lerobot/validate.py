"""Check a LeRobot folder against what LeRobot, GR00T and IDM tools expect; one Problem per finding."""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from backend.errors import FormatError
from backend.formats.lerobot.common import (
    EPISODES_DIR,
    EPISODES_JSONL,
    EPISODES_STATS_JSONL,
    INFO_PATH,
    MODALITY_PATH,
    STATS_PATH,
    TASKS_JSONL,
    TASKS_PARQUET,
    V20,
    V21,
    V30,
    read_json,
)
from backend.formats.lerobot.meta import read_info
from backend.formats.lerobot.validate_report import REWRITE, Report, ranges
from backend.model import Dataset, FeatureKind
from backend.validation import Problem

DREAM_PREFIX = "<DREAM>"


def validate_lerobot(path: Path, quick: bool = False) -> list[Problem]:
    """Every finding of the format checks. ``quick``: the same metadata, index, timestamp and data
    checks plus the stats check (``validate`` runs that with the doctor's signals), and the videos
    probed from their headers (duration against the episodes' windows), not read packet by packet."""
    root = Path(path)
    report = Report(root)
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
        from backend.formats.lerobot.reader import open_lerobot  # the package imports this module: kept light

        dataset = open_lerobot(root)
    except FormatError as error:
        # a missing meta file is already reported by _check_meta_files: not twice
        if not any(p.file == str(error.path) and p.severity == "error" for p in report.problems):
            report.from_error(error)
        return report.problems
    with dataset:
        _check_totals(report, dataset, info, version)
        _check_features(report, dataset)
        from backend.formats.lerobot.validate_data import check_episodes
        from backend.formats.lerobot.validate_videos import check_videos

        stats = _stats_check(dataset) if quick else None
        check_episodes(report, dataset, stats)
        if stats is not None:
            report.extend(stats.finish())
        check_videos(report, dataset, quick=quick)
        before = len(report.problems)
        _check_modality(report, dataset)
        report.problems[before:] = [replace(p, code="modality") for p in report.problems[before:]]
    return report.problems


# -- metadata -----------------------------------------------------------------------------------------
def _check_meta_files(report: Report, info: dict[str, Any], version: str) -> None:
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


def _check_totals(report: Report, dataset: Dataset, info: dict[str, Any], version: str) -> None:
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
                f"task {task!r} of episodes {ranges(episodes)} is listed as {DREAM_PREFIX + task!r} "
                "(the IDM dump prefixes the task list only)",
                "harmless: loaders read the task through task_index; " + REWRITE + " to make them agree",
                "task_dream_prefix",
            )
            continue
        report.error(
            report.root / (TASKS_PARQUET if version == V30 else TASKS_JSONL),
            f"task {task!r} of episodes {ranges(episodes)} is not in the task list",
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
            f"episode indices {ranges(twice)} are listed more than once",
            "remove the duplicated lines of the episode list; " + REWRITE,
            "episode_index_duplicate",
        )
    elif indices != list(range(n)):
        missing = sorted(set(range(max(indices) + 1)) - set(indices)) if indices else []
        report.warn(
            episodes_file,
            f"episode indices are not 0..{n - 1} in order"
            + (f" (missing {ranges(missing)})" if missing else ""),
            "LeRobot expects contiguous episode indices; " + REWRITE,
            "episode_index_gap",
            fixable=True,
        )


def _control_characters(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cc"})


def _check_task_texts(report: Report, dataset: Dataset, version: str) -> None:
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


def _check_features(report: Report, dataset: Dataset) -> None:
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
def _stats_check(dataset: Dataset) -> Any:
    from backend.formats.lerobot.stats_check import StatsCheck

    return StatsCheck(dataset)


# -- modality.json ------------------------------------------------------------------------------------
def _check_modality(report: Report, dataset: Dataset) -> None:
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

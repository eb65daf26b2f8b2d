"""The doctor's look at the files around a dataset: staging left by killed writers, files no format names.

- Staging (``.NAME.partial-PID``, ``.NAME.old-PID`` ...) whose process is gone, inside the dataset
  and beside it in its parent folder (``backend.atomic.stale_partials``): a warning, fixable (the
  next write into that folder removes them); staging of a live process is a write in progress (info).
- The writers' working folders (``.staging``, ``.meta.new``, ``.meta.old``) inside a LeRobot dataset:
  an append that was interrupted (the next append resumes or drops it).
- Files a LeRobot layout does not name. LeRobot v3.0 loads every parquet under ``data/``, so an
  orphan there changes what training reads (error); anything else is a warning (mp4/parquet in the
  format's folders: an episode's files without an episode) or info (other files).
"""

from __future__ import annotations

import os
from pathlib import Path

from backend.atomic import OWNER_RECORD, SCRATCH_NAMES, stale_partials
from backend.formats.lerobot.common import (
    EPISODES_JSONL,
    EPISODES_STATS_JSONL,
    INFO_PATH,
    MODALITY_PATH,
    PROVENANCE_PATH,
    STATS_PATH,
    TASKS_JSONL,
    TASKS_PARQUET,
    V30,
)
from backend.model import Dataset, DatasetFormat, FeatureKind
from backend.validation import Problem

STAGING_MARKS = (".partial-", ".old-", ".tmp-")
# files a LeRobot folder may hold besides its layout (Hugging Face hub checkouts, the studio's records)
TOLERATED = {"README.md", ".gitattributes", OWNER_RECORD, ".gitignore"}
TOLERATED_DIRS = {".git", ".cache", ".huggingface"}
# the last one is idm prepare's summary (backend/idm/prepare.py SUMMARY_NAME), which IDM dumps copy
META_FILES = {INFO_PATH, STATS_PATH, EPISODES_JSONL, TASKS_JSONL, EPISODES_STATS_JSONL, MODALITY_PATH,
              TASKS_PARQUET, PROVENANCE_PATH, "meta/rollout_studio_idm_prepare.json"}
MAX_LISTED = 8


def _is_staging(name: str) -> bool:
    return name.startswith(".") and any(mark in name for mark in STAGING_MARKS)


def _listing(paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_LISTED])
    return shown + (f" ... ({len(paths)} in all)" if len(paths) > MAX_LISTED else "")


def staging_findings(path: Path, folders: list[Path] | None = None) -> list[Problem]:
    """Stale staging inside ``folders`` (default: the dataset folder) and beside ``path``."""
    path = Path(path).absolute()
    found: list[Problem] = []
    candidates = [path.parent, *(folders if folders is not None else ([path] if path.is_dir() else []))]
    seen: set[Path] = set()
    for folder in candidates:
        if folder in seen:
            continue
        seen.add(folder)
        stale = stale_partials(folder)
        beside = folder == path.parent
        for entry in stale:
            mine = entry.name.startswith(f".{path.name}.")
            if beside and not mine:
                severity, note = "info", "staging of another output in the same folder"
            else:
                severity, note = "warning", "staging left by a write that was killed"
            found.append(Problem(
                str(entry), f"{note} (its process is gone): {entry.name}",
                "nothing reads it; the next write into this folder removes it (or delete it)",
                severity, "stale_partial", None, True,
            ))
        live = [e for e in _entries(folder) if _is_staging(e.name) and e not in stale]
        for entry in live:
            if beside and not entry.name.startswith(f".{path.name}."):
                continue
            found.append(Problem(
                str(entry), f"a write is in progress here ({entry.name}, its process is running)",
                "validate again when it has finished", "info", "write_in_progress",
            ))
    return found


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _expected_lerobot_files(dataset: Dataset) -> set[str]:
    reader = dataset.reader
    root = Path(dataset.path)
    expected = set(META_FILES)
    for episode in dataset.episodes:
        try:
            expected.add(reader.episode_data_path(episode).relative_to(root).as_posix())  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a broken path template is reported by the format checks
            pass
        for key, feature in dataset.features.items():
            if feature.kind is FeatureKind.VIDEO and feature.has_files:
                try:
                    path = reader.episode_video_path(episode, key)  # type: ignore[attr-defined]
                    expected.add(path.relative_to(root).as_posix())
                except Exception:  # noqa: BLE001 - reported by the format checks
                    pass
    return expected


def lerobot_files(dataset: Dataset) -> tuple[list[Problem], list[Path]]:
    """Files the LeRobot layout does not name, and every folder of the dataset (for the staging scan)."""
    root = Path(dataset.path)
    expected = _expected_lerobot_files(dataset)
    v30 = str(dataset.info.get("codebase_version")) == V30
    folders: list[Path] = []
    orphans: dict[str, list[str]] = {"error": [], "warning": [], "info": []}
    scratch: list[str] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        folders.append(here)
        rel_dir = here.relative_to(root).as_posix()
        keep = []
        for name in dirs:
            if name in SCRATCH_NAMES:
                scratch.append(name if rel_dir == "." else f"{rel_dir}/{name}")
            elif _is_staging(name) or (rel_dir == "." and name in TOLERATED_DIRS):
                continue
            else:
                keep.append(name)
        dirs[:] = sorted(keep)
        for name in sorted(files):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel in expected or _is_staging(name) or (rel_dir == "." and name in TOLERATED):
                continue
            top = rel.split("/", 1)[0]
            if rel.startswith("meta/episodes/") and name.endswith(".parquet"):
                continue  # the reader lists every file there
            if v30 and top == "data" and name.endswith(".parquet"):
                orphans["error"].append(rel)
            elif top in ("data", "videos", "meta") and name.endswith((".parquet", ".mp4", ".jsonl", ".json")):
                orphans["warning"].append(rel)
            else:
                orphans["info"].append(rel)
    found: list[Problem] = []
    texts = {
        "error": ("parquet files under data/ that no episode names: LeRobot v3.0 loads every parquet there, "
                  "so training reads their rows too", "move them out of data/ (or rewrite the dataset)"),
        "warning": ("files in the dataset's folders that no episode or meta file names",
                    "an episode's files without an episode: move them out or restore the episode"),
        "info": ("files the LeRobot layout does not name", "harmless for loaders; move them out to keep it clean"),
    }
    for severity, paths in orphans.items():
        if paths:
            what, fix = texts[severity]
            found.append(Problem(str(root), f"{what}: {_listing(paths)}", fix, severity, "unknown_file", None,
                                 severity != "info"))
    if scratch:
        found.append(Problem(
            str(root), f"working folders of an interrupted append: {_listing(scratch)}",
            "open the dataset for appending to resume (the studio drops the unfinished episode)",
            "warning", "writer_leftover", None, True,
        ))
    return found, folders


def file_findings(dataset: Dataset) -> list[Problem]:
    """Unknown files (LeRobot) and stale staging (every format)."""
    path = Path(dataset.path)
    if dataset.format in (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30):
        found, folders = lerobot_files(dataset)
        return found + staging_findings(path, folders)
    return staging_findings(path, [path] if path.is_dir() else [])

"""Shared facts about the LeRobot layouts (v2.0, v2.1, v3.0): paths, default features, JSON helpers.

Field names, orders and templates follow what LeRobot itself writes (formats.md sections 3 and 4 and
the real dataset written by LeRobot 0.6.1 in ../shared/data).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from backend.errors import FormatError
from backend.jsonable import json_default
from backend.model import DatasetFormat

V20, V21, V30 = "v2.0", "v2.1", "v3.0"

VERSION_OF_FORMAT = {
    DatasetFormat.LEROBOT_V20: V20,
    DatasetFormat.LEROBOT_V21: V21,
    DatasetFormat.LEROBOT_V30: V30,
}

INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
EPISODES_JSONL = "meta/episodes.jsonl"
TASKS_JSONL = "meta/tasks.jsonl"
EPISODES_STATS_JSONL = "meta/episodes_stats.jsonl"
MODALITY_PATH = "meta/modality.json"
TASKS_PARQUET = "meta/tasks.parquet"
EPISODES_DIR = "meta/episodes"
EPISODES_META_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
PROVENANCE_PATH = "meta/rollout_studio_provenance.json"

V21_DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
V21_VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
V30_DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
V30_VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"

DEFAULT_CHUNK_SIZE = 1000
DEFAULT_DATA_FILE_SIZE_IN_MB = 100
DEFAULT_VIDEO_FILE_SIZE_IN_MB = 200

# LeRobot's decoders accept a frame when its time is within this of the requested timestamp.
TOLERANCE_S = 1e-4

# Columns LeRobot adds to every frame, in its order.
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}

IMAGES_PREFIX = "observation.images."
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{round(q * 100):02d}" for q in QUANTILES)


def format_for_version(version: str | None) -> DatasetFormat | None:
    """'v2.0' -> LEROBOT_V20, 'v2.1' -> V21, 'v3.0' -> V30 (later minors map to their major)."""
    if not isinstance(version, str) or not version.startswith("v"):
        return None
    try:
        major, _, minor = version[1:].partition(".")
        major_n, minor_n = int(major), int(minor or 0)
    except ValueError:
        return None
    if major_n == 2:
        return DatasetFormat.LEROBOT_V20 if minor_n == 0 else DatasetFormat.LEROBOT_V21
    if major_n == 3:
        return DatasetFormat.LEROBOT_V30
    return None


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise FormatError(f"{path.name} is missing", path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormatError(
            f"not valid JSON ({error})", path, "restore the file or re-export the dataset"
        ) from error


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise FormatError(f"{path.name} is missing", path)
    rows: list[dict[str, Any]] = []
    try:
        with path.open("r", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise FormatError(f"line {number} is not valid JSON ({error})", path) from error
    except (OSError, UnicodeDecodeError) as error:
        raise FormatError(f"cannot read ({error})", path) from error
    return rows


def dumps(value: Any, indent: int | None = 4) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=json_default)


def write_json(path: Path, value: Any, indent: int | None = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(value, indent), encoding="utf-8")


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(dumps(row, None) + "\n")


def feature_names(ft: dict[str, Any]) -> list[str] | None:
    """LeRobot names are a list, or (older datasets) a dict like {"motors": [...]}."""
    names = ft.get("names")
    if names is None:
        return None
    if isinstance(names, dict):
        for value in names.values():
            if isinstance(value, list):
                return [str(n) for n in value]
        return None
    if isinstance(names, list):
        flat: list[str] = []
        for n in names:
            if isinstance(n, list):
                flat.extend(str(x) for x in n)
            else:
                flat.append(str(n))
        return flat
    return None


def video_block(ft: dict[str, Any]) -> dict[str, Any]:
    """The video info block: "info" (v2.1/v3.0) or "video_info" (v2.0)."""
    block = ft.get("info")
    if not isinstance(block, dict):
        block = ft.get("video_info")
    return block if isinstance(block, dict) else {}


def image_hw(ft: dict[str, Any]) -> tuple[int, int]:
    """(height, width) of an image/video feature, honouring names like ["channels", "height", "width"]."""
    shape = list(ft.get("shape") or [])
    block = video_block(ft)
    names = feature_names(ft) or []
    if "video.height" in block and "video.width" in block:
        return int(block["video.height"]), int(block["video.width"])
    if len(shape) == 3:
        if "height" in names and "width" in names:
            return int(shape[names.index("height")]), int(shape[names.index("width")])
        if shape[0] in (1, 3, 4) and shape[2] not in (1, 3, 4):
            return int(shape[1]), int(shape[2])
        return int(shape[0]), int(shape[1])
    return 0, 0


def camera_name(key: str) -> str:
    """'observation.images.front' -> 'front'; other keys keep their text."""
    return key[len(IMAGES_PREFIX) :] if key.startswith(IMAGES_PREFIX) else key


def camera_key(name: str) -> str:
    """'front' -> 'observation.images.front' (full keys are kept as they are)."""
    return name if name.startswith("observation.") else IMAGES_PREFIX + name


def fps_value(fps: float) -> int | float:
    """LeRobot writes integer fps as an int (30, not 30.0)."""
    return int(fps) if float(fps).is_integer() else float(fps)


def episode_chunk(episode_index: int, chunks_size: int) -> int:
    return episode_index // max(1, chunks_size)


def total_chunks(total_episodes: int, chunks_size: int) -> int:
    return math.ceil(total_episodes / max(1, chunks_size)) if total_episodes else 0


def next_chunk_file(chunk: int, file: int, chunks_size: int) -> tuple[int, int]:
    """v3.0 file numbering: file index grows until chunks_size, then the chunk index grows."""
    file += 1
    if file >= chunks_size:
        return chunk + 1, 0
    return chunk, file

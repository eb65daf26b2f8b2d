"""LeRobot metadata files read into plain values: info.json, tasks, the v3.0 episode rows, stats.json,
the studio's provenance record, and the features they declare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from backend.errors import FormatError
from backend.formats.lerobot.common import (
    EPISODES_DIR,
    INFO_PATH,
    PROVENANCE_PATH,
    STATS_PATH,
    TASKS_JSONL,
    TASKS_PARQUET,
    V30,
    feature_names,
    format_for_version,
    image_hw,
    read_json,
    read_jsonl,
    video_block,
)
from backend.model import (
    Feature,
    FeatureKind,
    VideoInfo,
)
from backend.paths import NOT_FOUND, file_problem
from backend.units import JointSpace, Unit, detect_lerobot_unit

PARQUET_ERRORS = (pa.ArrowException, OSError, ValueError)


# -- metadata ---------------------------------------------------------------------------------------
def read_info(root: Path) -> dict[str, Any]:
    info_path = root / INFO_PATH
    problem = file_problem(info_path)
    if problem is not None and problem.problem != NOT_FOUND:  # unreadable, not broken: say which
        raise problem
    if not info_path.is_file():
        raise FormatError(
            "not a LeRobot dataset: meta/info.json is missing",
            info_path,
            "a LeRobot dataset folder has meta/info.json, meta/ episode and task lists, data/ and videos/",
        )
    info = read_json(info_path)
    if not isinstance(info, dict):
        raise FormatError("info.json is not a JSON object", info_path)
    if format_for_version(info.get("codebase_version")) is None:
        raise FormatError(
            f"unsupported codebase_version {info.get('codebase_version')!r}",
            info_path,
            "the studio reads LeRobot v2.0, v2.1 and v3.0; convert older datasets with LeRobot first",
        )
    for field_name in ("fps", "features"):
        if field_name not in info:
            raise FormatError(f"info.json has no {field_name!r}", info_path)
    if not isinstance(info["features"], dict):
        raise FormatError("info.json 'features' is not an object", info_path)
    try:
        if float(info["fps"]) <= 0:
            raise ValueError
    except (TypeError, ValueError) as error:
        raise FormatError(f"info.json fps {info['fps']!r} is not a positive number", info_path) from error
    return info


def read_tasks(root: Path, version: str) -> dict[int, str]:
    """task_index -> task text."""
    if version == V30:
        path = root / TASKS_PARQUET
        if not path.is_file():
            raise FormatError("tasks.parquet is missing", path)
        try:
            table = pq.ParquetFile(path).read()
        except PARQUET_ERRORS as error:
            raise FormatError(f"cannot read parquet ({error})", path) from error
        names = table.column_names
        text_col = (
            "task" if "task" in names else "__index_level_0__" if "__index_level_0__" in names else None
        )
        if text_col is None or "task_index" not in names:
            raise FormatError(f"tasks.parquet has columns {names}, expected task and task_index", path)
        texts = table.column(text_col).to_pylist()
        indices = table.column("task_index").to_pylist()
        return {int(i): str(t) for i, t in zip(indices, texts, strict=True)}
    rows = read_jsonl(root / TASKS_JSONL)
    tasks: dict[int, str] = {}
    for row in rows:
        try:
            tasks[int(row["task_index"])] = str(row["task"])
        except (KeyError, TypeError, ValueError) as error:
            raise FormatError(f"task line {row!r} lacks task_index/task", root / TASKS_JSONL) from error
    return tasks


def episode_meta_files(root: Path) -> list[Path]:
    folder = root / EPISODES_DIR
    if not folder.is_dir():
        raise FormatError("meta/episodes/ is missing", folder, "a v3.0 dataset lists its episodes there")
    files = sorted(folder.glob("chunk-*/file-*.parquet"))
    if not files:
        raise FormatError("meta/episodes/ holds no parquet files", folder)
    return files


def read_episode_rows_v30(root: Path) -> list[dict[str, Any]]:
    """The v3.0 episode table without its stats columns (fast even for many episodes)."""
    rows: list[dict[str, Any]] = []
    for path in episode_meta_files(root):
        try:
            schema = pq.read_schema(path)
            columns = [n for n in schema.names if not n.startswith("stats/")]
            table = pq.read_table(path, columns=columns)
        except PARQUET_ERRORS as error:
            raise FormatError(f"cannot read parquet ({error})", path) from error
        for required in ("episode_index", "length"):
            if required not in table.column_names:
                raise FormatError(f"episodes parquet has no {required!r} column", path)
        data = table.to_pydict()
        n = table.num_rows
        for i in range(n):
            rows.append({name: values[i] for name, values in data.items()})
    rows.sort(key=lambda r: int(r["episode_index"]))
    return rows


def read_stats(root: Path) -> dict[str, Any]:
    path = root / STATS_PATH
    if not path.is_file():
        return {}
    try:
        stats = read_json(path)
    except FormatError:
        return {}
    return stats if isinstance(stats, dict) else {}


def _stats_sample(stats: dict[str, Any], key: str) -> np.ndarray | None:
    entry = stats.get(key)
    if not isinstance(entry, dict):
        return None
    try:
        rows = [np.asarray(entry[k], dtype=np.float64).reshape(-1) for k in ("min", "max") if k in entry]
        return np.stack(rows) if rows else None
    except (TypeError, ValueError):
        return None


def studio_record(root: Path) -> dict[str, Any]:
    try:
        record = json.loads((Path(root) / PROVENANCE_PATH).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def declared_joint_unit(root: Path) -> Unit | None:
    """The joint unit the studio's provenance record declares (its recorder writes ``joint_units``)."""
    try:
        return Unit(studio_record(root)["joint_units"])
    except (ValueError, KeyError, TypeError):
        return None


def build_features(
    info: dict[str, Any], stats: dict[str, Any], declared: Unit | None = None
) -> dict[str, Feature]:
    """Features of ``info.json``; SO-101 joint vectors get the ``declared`` unit when the dataset
    declares one, else the unit their values show (``detect_lerobot_unit``)."""
    fps = float(info["fps"])
    features: dict[str, Feature] = {}
    for key, ft in info["features"].items():
        if not isinstance(ft, dict) or "dtype" not in ft:
            raise FormatError(f"feature {key!r} has no dtype", INFO_PATH)
        dtype = str(ft["dtype"])
        if dtype == "language":  # LeRobot 0.6's language columns: text rows, not values (backend/subtask_import.py)
            continue
        shape = tuple(int(s) for s in (ft.get("shape") or ()))
        names = feature_names(ft)
        if dtype in ("video", "image"):
            height, width = image_hw(ft)
            block = video_block(ft)
            video = VideoInfo(
                codec=block.get("video.codec"),
                width=width,
                height=height,
                fps=float(block.get("video.fps", fps) or fps),
                pix_fmt=block.get("video.pix_fmt"),
            )
            kind = FeatureKind.VIDEO if dtype == "video" else FeatureKind.IMAGE
            features[key] = Feature(key, kind, "uint8", (height, width, 3), names, video=video)
            continue
        if dtype == "string" or (len(shape) <= 1 and (not shape or shape[0] == 1)):
            features[key] = Feature(key, FeatureKind.SCALAR, dtype, (1,), names)
            continue
        space = None
        if names and len(shape) == 1 and len(names) == shape[0]:
            unit = detect_lerobot_unit(names, _stats_sample(stats, key))
            if declared is not None and unit is not Unit.OTHER:
                unit = declared
            space = JointSpace(tuple(names), unit)
        features[key] = Feature(key, FeatureKind.VECTOR, dtype, shape, names, space=space)
    return features

"""Subtask segments in a curated export, written the way each reader expects them (docs/subtasks.md).

LeRobot, two schemas (``mode``):
  * ``index`` — LeRobot 0.4.x-0.5.x ("Using Subtasks in LeRobot Datasets"): a per-frame ``subtask_index``
    column (int64, info.json feature ``{"dtype": "int64", "shape": [1], "names": null}``) and
    ``meta/subtasks.parquet`` mapping each index to its text (pandas index ``subtask``, column
    ``subtask_index``; ``LeRobotDataset`` then adds ``sample["subtask"]``). Frames outside every
    segment point to the subtask ``""``.
  * ``language`` — LeRobot 0.6.x ("Language columns and recipes"), v3.0 only: a per-frame
    ``language_persistent`` column (every frame of an episode carries the episode's rows
    ``{role: "assistant", content: text, style: "subtask", timestamp: float32 start time,
    camera: null, tool_calls: null}``, a subtask active from its timestamp until the next one) and
    an empty ``language_events`` column; info.json features ``{"dtype": "language", "shape": [1],
    "names": null}`` for both.
  * ``both`` writes both; ``none`` neither. ``auto`` (the default): ``language`` for v3.0,
    ``index`` for v2.1, when any kept episode has subtasks.
HDF5: each demo gets the attribute ``subtasks``, a JSON list of ``{start, end, text}`` (frames of
the exported demo, end inclusive).
Segments are clipped to the kept frames and renumbered like them.
``CarriedSubtasks`` writes a dataset's own subtasks afresh into a LeRobot version change
(``backend.convert.lerobot_versions``): the language columns of v3.0 become ``subtask_index`` +
``meta/subtasks.parquet`` in v2.1, and the other way when asked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from backend.errors import StudioError
from backend.subtasks import Segment, Segments, clip, frame_labels, segments_json

MODES = ("auto", "none", "index", "language", "both")
SUBTASKS_PARQUET = "meta/subtasks.parquet"
LANGUAGE_PERSISTENT, LANGUAGE_EVENTS = "language_persistent", "language_events"
LANGUAGE_FEATURE = {"dtype": "language", "shape": [1], "names": None}
SUBTASK_INDEX = "subtask_index"
SUBTASK_COLUMNS = frozenset({SUBTASK_INDEX, LANGUAGE_PERSISTENT, LANGUAGE_EVENTS})

PERSISTENT_ROW = pa.struct(
    [
        pa.field("role", pa.string(), nullable=False),
        pa.field("content", pa.string()),
        pa.field("style", pa.string()),
        pa.field("timestamp", pa.float32(), nullable=False),
        pa.field("camera", pa.string()),
        pa.field("tool_calls", pa.null()),  # what LeRobot's own writer infers when no row has tool calls
    ]
)
EVENT_ROW = pa.struct(
    [
        pa.field("role", pa.string(), nullable=False),
        pa.field("content", pa.string()),
        pa.field("style", pa.string()),
        pa.field("camera", pa.string()),
        pa.field("tool_calls", pa.null()),
    ]
)


def resolve_mode(mode: str | None, fmt_value: str, any_subtasks: bool) -> tuple[bool, bool]:
    """(write subtask_index, write language columns) for a LeRobot output of format ``fmt_value``."""
    mode = mode or "auto"
    if mode not in MODES:
        raise StudioError(f"subtasks must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "none" or not any_subtasks:
        return False, False
    v30 = fmt_value.endswith("3.0")
    if mode == "auto":
        return (not v30), v30
    if mode in ("language", "both") and not v30:
        raise StudioError("the language columns of LeRobot 0.6 exist in LeRobot v3.0 datasets only",
                          hint="export to v3.0, or use --subtasks index")
    return mode in ("index", "both"), mode in ("language", "both")


def written_schemas(index: bool, language: bool) -> list[str]:
    """The schemas ``resolve_mode`` chose, in words (plans and summaries)."""
    return [n for n, on in (("subtask_index + meta/subtasks.parquet", index), ("language columns", language)) if on]


class LeRobotSubtasks:
    """Collects each exported episode's segments and writes them into a LeRobot writer's output."""

    def __init__(self, spec: Any, index: bool, language: bool) -> None:
        from backend.model import Feature, FeatureKind

        self.index, self.language = index, language
        self.texts: dict[str, int] = {}
        self.rows: dict[int, list[dict[str, Any]]] = {}  # output episode -> persistent rows
        self.fps = float(spec.fps)
        if index:
            spec.features[SUBTASK_INDEX] = Feature(SUBTASK_INDEX, FeatureKind.SCALAR, "int64", (1,), None)

    def attach(self, writer: Any) -> None:
        if self.language:
            writer.extra_info_features.update({LANGUAGE_PERSISTENT: LANGUAGE_FEATURE, LANGUAGE_EVENTS: LANGUAGE_FEATURE})
        writer.before_meta_steps.append(self.write_files)

    def episode(self, number: int, segments: tuple[Segment, ...], start: int, stop: int) -> dict[str, np.ndarray]:
        """Output episode ``number`` keeps source frames ``start .. stop - 1``: its per-frame columns."""
        kept = clip(segments, start, stop)
        self.rows[number] = [
            {"role": "assistant", "content": s.text, "style": "subtask",
             "timestamp": float(np.float32(s.start / self.fps)), "camera": None, "tool_calls": None}
            for s in kept if s.text
        ]
        if not self.index:
            return {}
        labels = frame_labels(kept, 0, stop - start)
        lookup = np.array([self._text_index(s.text) for s in kept] + [-1], dtype=np.int64)
        if (labels < 0).any():
            lookup[-1] = self._text_index("")
        return {SUBTASK_INDEX: lookup[labels]}

    def _text_index(self, text: str) -> int:
        return self.texts.setdefault(text, len(self.texts))

    def write_files(self, root: Path) -> None:
        if self.index:
            _write_subtasks_parquet(root / SUBTASKS_PARQUET, self.texts)
        if self.language:
            for path in sorted((root / "data").rglob("*.parquet")):
                _add_language_columns(path, self.rows)


class CarriedSubtasks:
    """A dataset's own subtasks (``{episode index: segments}``) written afresh into a copy of it
    (``backend.formats.lerobot.copy.CopyExtras``): the source's subtask columns are never copied as
    values; ``index`` / ``language`` say which schema the copy gets (``resolve_mode``)."""

    drop = SUBTASK_COLUMNS

    def __init__(self, segments: dict[int, Segments], index: bool, language: bool) -> None:
        self.segments, self.index, self.language = segments, index, language
        self.labels: LeRobotSubtasks | None = None

    def prepare(self, spec: Any) -> None:
        self.labels = LeRobotSubtasks(spec, self.index, self.language)

    def attach(self, writer: Any) -> None:
        assert self.labels is not None, "prepare(spec) comes first"
        self.labels.attach(writer)

    def columns(self, number: int, episode: Any) -> dict[str, np.ndarray]:
        assert self.labels is not None, "prepare(spec) comes first"
        return self.labels.episode(number, tuple(self.segments.get(episode.index, ())), 0, episode.length)


def _write_subtasks_parquet(path: Path, texts: dict[str, int]) -> None:
    """``meta/subtasks.parquet`` as pandas writes a frame indexed by ``subtask`` (LeRobot reads it
    with ``pd.read_parquet`` and looks texts up with ``.iloc[i].name``)."""
    ordered = sorted(texts.items(), key=lambda item: item[1])
    pandas_meta = {
        "index_columns": ["subtask"],
        "column_indexes": [],
        "columns": [
            {"name": "subtask_index", "field_name": "subtask_index", "pandas_type": "int64",
             "numpy_type": "int64", "metadata": None},
            {"name": "subtask", "field_name": "subtask", "pandas_type": "unicode", "numpy_type": "object",
             "metadata": None},
        ],
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
    }
    table = pa.table(
        {
            "subtask_index": pa.array([i for _, i in ordered], pa.int64()),
            "subtask": pa.array([t for t, _ in ordered], pa.string()),
        }
    ).replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _add_language_columns(path: Path, rows: dict[int, list[dict[str, Any]]]) -> None:
    """Add both language columns to one data file, one row group per episode as before."""
    table = pq.read_table(path)
    episodes = table.column("episode_index").to_numpy()
    persistent = pa.array([rows.get(int(e), []) for e in episodes], type=pa.list_(PERSISTENT_ROW))
    events = pa.array([[] for _ in episodes], type=pa.list_(EVENT_ROW))
    table = table.append_column(LANGUAGE_PERSISTENT, persistent).append_column(LANGUAGE_EVENTS, events)
    # the huggingface schema record no longer lists every column: LeRobot builds its features from
    # info.json (its own annotation writer drops the record the same way)
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"huggingface"}
    table = table.replace_schema_metadata(metadata or None)
    with pq.ParquetWriter(path.with_name(path.name + ".subtasks"), table.schema) as writer:
        bounds = np.flatnonzero(np.diff(episodes)) + 1
        for part in np.split(np.arange(len(episodes)), bounds):
            if len(part):
                writer.write_table(table.slice(int(part[0]), len(part)))
    path.with_name(path.name + ".subtasks").replace(path)  # inside the writer's unpublished folder


def hdf5_attrs(segments: tuple[Segment, ...], start: int, stop: int) -> dict[str, str]:
    """The demo attribute ``subtasks`` (JSON) for source frames ``start .. stop - 1``; {} without any."""
    kept = clip(segments, start, stop)
    return {"subtasks": json.dumps(segments_json(kept), ensure_ascii=False)} if kept else {}

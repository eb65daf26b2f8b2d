"""Subtasks a dataset carries itself, as segments (the reverse of ``backend.subtask_export``).

HDF5: each demo's ``subtasks`` attribute (JSON {start, end, text}). LeRobot:

Reads either schema: ``subtask_index`` + ``meta/subtasks.parquet`` (LeRobot 0.4-0.5; runs of one index
become a segment, the text ``""`` is a gap) or ``language_persistent`` rows of style ``subtask``
(LeRobot 0.6; a subtask lasts from its timestamp until the next one starts, the last one until the
episode's end). Written by the studio, by ``lerobot-annotate`` or by LeRobot's annotation space.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from backend.errors import FormatError, StudioError
from backend.subtask_export import LANGUAGE_PERSISTENT, SUBTASK_INDEX, SUBTASKS_PARQUET
from backend.subtasks import Segment, Segments, check_segments


def _language(dataset: Any) -> bool:
    """The dataset's info.json lists LeRobot 0.6's language columns (the reader keeps them out of
    ``features``: they are text rows, not values)."""
    return LANGUAGE_PERSISTENT in ((getattr(dataset, "info", None) or {}).get("features") or {})


def has_subtasks(dataset: Any) -> bool:
    return _language(dataset) or (
        SUBTASK_INDEX in dataset.features and (Path(dataset.path) / SUBTASKS_PARQUET).is_file()
    )


def dataset_subtasks(dataset: Any, progress: Any = None) -> dict[int, Segments]:
    """{episode index: segments} for every episode that has any; {} for a dataset without subtasks."""
    if not has_subtasks(dataset):
        return _from_attrs(dataset)
    root = Path(dataset.path)
    language = _language(dataset)
    column = LANGUAGE_PERSISTENT if language else SUBTASK_INDEX
    texts = [] if language else _texts(root / SUBTASKS_PARQUET)
    out: dict[int, Segments] = {}
    for path in sorted((root / "data").rglob("*.parquet")):
        try:
            table = pq.read_table(path, columns=["episode_index", "frame_index", column])
        except (OSError, ValueError) as error:
            raise FormatError(f"cannot read the subtasks ({error})", path) from error
        episodes = table.column("episode_index").to_numpy()
        frames = table.column("frame_index").to_numpy()
        for episode in np.unique(episodes):
            rows = np.flatnonzero(episodes == episode)
            rows = rows[np.argsort(frames[rows], kind="stable")]
            if language:
                found = _from_language(table.column(column)[int(rows[0])].as_py() or [], len(rows), dataset.fps)
            else:
                found = _from_index(table.column(column).to_numpy()[rows], texts)
            if found:
                out[int(episode)] = found
    return out


def segments_source(dataset: Any, curation: Any | None) -> Callable[[int], Segments]:
    """Each episode's segments: the curation's (when it has any), else those the dataset carries."""
    own = dataset_subtasks(dataset)

    def segments_of(index: int) -> Segments:
        mine = curation.decision(index).subtasks if curation is not None else ()
        return mine or own.get(index, ())

    return segments_of


def _from_attrs(dataset: Any) -> dict[int, Segments]:
    out: dict[int, Segments] = {}
    for episode in dataset.episodes:
        text = (getattr(episode, "extra", None) or {}).get("attrs", {}).get("subtasks")
        if text is None:
            continue
        try:
            found = check_segments(json.loads(text if isinstance(text, str) else bytes(text).decode()))
        except (ValueError, TypeError, StudioError) as error:
            raise FormatError(f"episode {episode.index} has a malformed subtasks attribute ({error})", dataset.path) from None
        if found:
            out[episode.index] = found
    return out


def _texts(path: Path) -> list[str]:
    table = pq.read_table(path)
    names = "subtask" if "subtask" in table.column_names else "__index_level_0__"
    order = np.argsort(table.column("subtask_index").to_numpy())
    return [str(t) for t in np.asarray(table.column(names).to_pylist(), dtype=object)[order]]


def _from_index(labels: np.ndarray, texts: list[str]) -> Segments:
    out = []
    bounds = np.flatnonzero(np.diff(labels)) + 1
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(labels)], strict=True):
        label = int(labels[start])
        text = texts[label] if 0 <= label < len(texts) else ""
        if text:
            out.append(Segment(int(start), int(stop) - 1, text))
    return tuple(out)


def _from_language(rows: list[dict[str, Any]], length: int, fps: float) -> Segments:
    starts = sorted(
        (int(round(float(r["timestamp"]) * fps)), str(r.get("content") or ""))
        for r in rows if r.get("style") == "subtask"
    )
    out: list[Segment] = []
    for n, (start, text) in enumerate(starts):
        stop = starts[n + 1][0] if n + 1 < len(starts) else length
        if stop > start and start < length:
            out.append(Segment(start, min(stop, length) - 1, text))
    return tuple(out)

"""Check a LeRobot folder's parquet rows: row counts, frame_index, episode_index, the global index,
task_index, timestamps and non-finite values, episode by episode.

v3.0 files hold many episodes: each data file is read once and the checks run vectorised over the
episodes' row ranges (numpy on group boundaries); only an episode that fails a check is looked at
alone, for the message. An episode whose rows are not where the episode list says (or a file that
cannot be read) goes through the reader episode by episode, as v2.x episodes (one file each) do.
With a ``StatsCheck`` every episode's statistics are computed on the way (grouped reductions).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from backend import signals
from backend.errors import FormatError
from backend.formats.lerobot.common import INFO_PATH, TOLERANCE_S, V30
from backend.formats.lerobot.meta import PARQUET_ERRORS
from backend.formats.lerobot.reader import LeRobotReader, column_to_numpy
from backend.formats.lerobot.validate_report import REWRITE, Report, ranges
from backend.model import Dataset, Episode, FeatureKind


def check_frame_index(report: Report, path: Path, episode: Episode, frame_index: np.ndarray) -> None:
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


class Timing:
    """Timestamps against frame_index / fps: exact, one frame late (GR00T quirk), another rate, or off."""

    def __init__(self) -> None:
        self.one_late: list[int] = []
        self.rates: dict[int, float] = {}

    def check(self, report: Report, path: Path, episode: Episode, timestamps: np.ndarray, fps: float) -> None:
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

    def report(self, report: Report, data_dir: Path, fps: float) -> None:
        if self.one_late:
            report.error(
                data_dir,
                f"timestamps are (frame_index + 1) / fps, one frame late, in episodes {ranges(self.one_late)} "
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
                f"info.json says {fps:g} fps but the timestamps of episodes {ranges(sorted(self.rates))} step "
                f"at {', '.join(f'{r:g}' for r in rates)} fps",
                "set fps in info.json to the rate the data was recorded at (and check the videos' rate)",
                "fps_mismatch",
            )


@dataclass
class _Scan:
    dataset: Dataset
    report: Report
    stats: Any = None  # a stats_check.StatsCheck fed with every episode, or None
    columns: list[str] = field(default_factory=list)
    timing: Timing = field(default_factory=Timing)
    no_frame_index: list[int] = field(default_factory=list)
    index_gaps: list[int] = field(default_factory=list)


def check_episodes(report: Report, dataset: Dataset, stats: Any = None, vectorised: bool = True) -> None:
    """Every episode's rows against the episode list, info.json and the task list (``vectorised``
    False: v3.0 episodes one by one too, as the tests compare)."""
    reader = dataset.reader
    assert isinstance(reader, LeRobotReader)
    scan = _Scan(dataset, report, stats)
    scan.columns = [
        k for k, f in dataset.features.items() if f.kind in (FeatureKind.VECTOR, FeatureKind.SCALAR)
    ]
    lengths = np.array([e.length for e in dataset.episodes], dtype=np.int64)
    expected_start = np.cumsum(lengths) - lengths  # the global index each episode should start at
    if reader.version == V30 and vectorised:
        alone = _check_v30_files(scan, reader, expected_start)
    else:
        alone = list(range(len(dataset.episodes)))
    for position in alone:
        _check_episode(scan, reader, dataset.episodes[position], int(expected_start[position]))
    data_dir = report.root / "data"
    scan.timing.report(report, data_dir, dataset.fps)
    if scan.no_frame_index:
        report.warn(
            data_dir,
            f"no frame_index column in episodes {ranges(sorted(scan.no_frame_index))}",
            "the studio uses the row order; LeRobot needs the column: " + REWRITE,
            "no_frame_index",
            fixable=True,
        )
    if scan.index_gaps:
        report.warn(
            data_dir,
            f"the global 'index' column does not run on from episode to episode in episodes "
            f"{ranges(sorted(scan.index_gaps))}",
            "LeRobot addresses frames by it; " + REWRITE,
            "global_index",
            fixable=True,
        )


# -- one episode at a time (v2.x, and v3.0 episodes whose rows are not where the list says) ----------
def _check_episode(scan: _Scan, reader: LeRobotReader, episode: Episode, expected_index: int) -> None:
    report, dataset = scan.report, scan.dataset
    path = reader.episode_data_path(episode)
    where = {"episode": episode.index}
    try:
        table = reader.episode_table(episode)
    except FormatError as error:
        report.from_error(error)
        if scan.stats is not None:
            scan.stats.add(episode, None)
        return
    if table.num_rows != episode.length:
        report.error(
            path,
            f"episode {episode.index} has {table.num_rows} rows but its length is {episode.length}",
            "fix the episode list or the parquet; " + REWRITE,
            "row_count",
            **where,
        )
    missing = [k for k in scan.columns if k not in table.column_names and k != "frame_index"]
    if missing:
        report.error(path, f"columns {missing} listed in info.json are missing", REWRITE, "missing_column")
    values: dict[str, np.ndarray] = {}
    for key in scan.columns:
        if key not in table.column_names:
            continue
        try:
            values[key] = column_to_numpy(table.column(key), dataset.features[key], path)
        except FormatError as error:
            report.from_error(error)
    n = table.num_rows
    if "frame_index" in values:
        check_frame_index(report, path, episode, values["frame_index"])
    else:
        scan.no_frame_index.append(episode.index)
    if "episode_index" in values and n and not np.all(values["episode_index"] == episode.index):
        report.error(
            path, f"episode_index column is not {episode.index} on every row", REWRITE, "episode_index_column",
            fixable=True, **where,
        )
    if "index" in values and n and not np.array_equal(values["index"], expected_index + np.arange(n)):
        scan.index_gaps.append(episode.index)
    if "task_index" in values and n and dataset.tasks:
        _check_task_index(scan, path, episode, values["task_index"])
    if "timestamp" in values and n:
        scan.timing.check(report, path, episode, values["timestamp"], dataset.fps)
    for key in scan.columns:
        if dataset.features[key].kind is FeatureKind.VECTOR and key in values:
            _check_finite(scan, path, episode, key, values[key])
    if scan.stats is not None:
        scan.stats.add(episode, values if all(k in values for k in scan.stats.keys) else None)
    episode.unload()


def _check_task_index(scan: _Scan, path: Path, episode: Episode, task_index: np.ndarray) -> None:
    known = len(scan.dataset.tasks)
    task_indices = np.unique(np.asarray(task_index).reshape(-1))
    unknown = [int(t) for t in task_indices if not 0 <= int(t) < known]
    if unknown:
        scan.report.error(
            path,
            f"task_index {unknown[:5]} of episode {episode.index} is not in the task list (0..{known - 1})",
            "fix the task_index column or the task list",
            "task_index_unknown",
            episode=episode.index,
        )


def _check_finite(scan: _Scan, path: Path, episode: Episode, key: str, values: np.ndarray) -> None:
    reading = signals.non_finite(values, key)
    if reading.fired:
        scan.report.error(
            path,
            f"{reading.sentence.replace(key, f'{key} of episode {episode.index}', 1)}",
            signals.SIGNALS["non_finite"].fix,
            "non_finite",
            fixable=True,
            frames=reading.frames,
            episode=episode.index,
        )


# -- v3.0: whole files, vectorised ----------------------------------------------------------------
def _per_episode(bad_rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """How many rows of each episode (consecutive runs of ``lengths`` rows) are flagged."""
    total = np.concatenate([[0], np.cumsum(bad_rows, dtype=np.int64)])
    stops = np.cumsum(lengths)
    return total[stops] - total[stops - lengths]


def _check_v30_files(scan: _Scan, reader: LeRobotReader, expected_start: np.ndarray) -> list[int]:
    """Check every data file's episodes at once; returns the positions to check one by one."""
    by_file: dict[tuple[int, int], list[int]] = defaultdict(list)
    for position, episode in enumerate(scan.dataset.episodes):
        by_file[tuple(episode.extra["lerobot"]["data_file"])].append(position)
    alone: list[int] = []
    for (chunk, file), positions in by_file.items():
        path = reader.root / reader.data_path.format(chunk_index=chunk, file_index=file)
        alone += _check_v30_file(scan, reader, path, (chunk, file), positions, expected_start)
    return sorted(alone)


def _check_v30_file(
    scan: _Scan,
    reader: LeRobotReader,
    path: Path,
    at: tuple[int, int],
    positions: list[int],
    expected_start: np.ndarray,
) -> list[int]:
    report, dataset = scan.report, scan.dataset
    episodes = [dataset.episodes[p] for p in positions]
    try:
        handle = pq.ParquetFile(path, memory_map=True)
        names = handle.schema_arrow.names
        table = handle.read(columns=[c for c in scan.columns if c in names])
    except (*PARQUET_ERRORS, FormatError):
        return positions  # missing or unreadable: the reader says why, episode by episode
    base = reader.file_base.get(at, 0)
    rows = np.array([e.extra["lerobot"]["rows"] for e in episodes], dtype=np.int64).reshape(-1, 2) - base
    lengths = np.array([e.length for e in episodes], dtype=np.int64)
    indices = np.array([e.index for e in episodes], dtype=np.int64)
    fits = (rows[:, 0] >= 0) & (rows[:, 1] <= table.num_rows) & (rows[:, 1] - rows[:, 0] == lengths)
    fits &= lengths > 0
    values: dict[str, np.ndarray] = {}
    for key in scan.columns:
        if key in table.column_names:
            try:
                values[key] = column_to_numpy(table.column(key), dataset.features[key], path)
            except FormatError as error:
                report.from_error(error)
                return positions
    if "episode_index" in values:  # rows elsewhere than the list says: the reader finds them
        take = _take(rows[fits], lengths[fits])
        wrong = _per_episode(values["episode_index"][take] != np.repeat(indices[fits], lengths[fits]), lengths[fits])
        fits[np.flatnonzero(fits)[wrong > 0]] = False
    alone = [p for p, ok in zip(positions, fits, strict=True) if not ok]
    keep = np.flatnonzero(fits)
    if not len(keep):
        return alone
    episodes = [episodes[k] for k in keep]
    rows, lengths, indices = rows[keep], lengths[keep], indices[keep]
    take = _take(rows, lengths)
    values = {key: array[take] for key, array in values.items()}
    local = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    starts = np.cumsum(lengths) - lengths

    def each(bad_rows: np.ndarray) -> list[int]:
        return np.flatnonzero(_per_episode(bad_rows, lengths)).tolist()

    def part(key: str, k: int) -> np.ndarray:
        return values[key][starts[k] : starts[k] + lengths[k]]

    missing = [k for k in scan.columns if k not in values and k != "frame_index"]
    if missing:
        report.error(path, f"columns {missing} listed in info.json are missing", REWRITE, "missing_column")
    if "frame_index" in values:
        for k in each(np.asarray(values["frame_index"]).reshape(-1) != local):
            check_frame_index(report, path, episodes[k], part("frame_index", k))
    else:
        scan.no_frame_index += indices.tolist()
    if "index" in values:
        first = expected_start[np.asarray(positions)[keep]]
        gaps = each(np.asarray(values["index"]).reshape(-1) != np.repeat(first, lengths) + local)
        scan.index_gaps += [int(indices[k]) for k in gaps]
    if "task_index" in values and dataset.tasks:
        task = np.asarray(values["task_index"]).reshape(-1)
        for k in each((task < 0) | (task >= len(dataset.tasks))):
            _check_task_index(scan, path, episodes[k], part("task_index", k))
    if "timestamp" in values:
        ts = np.asarray(values["timestamp"], dtype=np.float64).reshape(-1)
        expected = local / dataset.fps
        for k in each(np.abs(ts - expected) > TOLERANCE_S + expected * 2e-7):
            scan.timing.check(report, path, episodes[k], part("timestamp", k), dataset.fps)
    for key in scan.columns:
        if dataset.features[key].kind is FeatureKind.VECTOR and key in values:
            flat = values[key].reshape(len(values[key]), -1)
            if flat.dtype.kind == "f":
                for k in each(~np.isfinite(flat).all(axis=1)):
                    _check_finite(scan, path, episodes[k], key, part(key, k))
    if scan.stats is not None:
        if all(key in values for key in scan.stats.keys):
            scan.stats.add_many(indices, {key: grouped_stats(values[key], lengths) for key in scan.stats.keys})
        else:
            for episode in episodes:
                scan.stats.add(episode, None)
    return alone


def _take(rows: np.ndarray, lengths: np.ndarray) -> np.ndarray | slice:
    """Row numbers of the episodes' ranges, one after another (a slice when they are already so)."""
    if not len(rows):
        return slice(0, 0)
    if np.array_equal(rows[1:, 0], rows[:-1, 1]):
        return slice(int(rows[0, 0]), int(rows[-1, 1]))
    offsets = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(rows[:, 0] - offsets, lengths)


def grouped_stats(values: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
    """LeRobot's per-episode min/max/mean/std/count of consecutive runs of ``lengths`` (> 0) rows, each
    (E, N) float64 (count (E, 1))."""
    data = np.asarray(values)
    data = data.astype(np.float64) if data.dtype.kind in "biuf" else np.zeros((len(data), 1))
    data = data.reshape(len(data), -1)
    starts = np.cumsum(lengths) - lengths
    counts = lengths[:, None].astype(np.float64)
    mean = np.add.reduceat(data, starts, axis=0) / counts
    deviation = data - np.repeat(mean, lengths, axis=0)
    return {
        "min": np.minimum.reduceat(data, starts, axis=0),
        "max": np.maximum.reduceat(data, starts, axis=0),
        "mean": mean,
        "std": np.sqrt(np.add.reduceat(deviation * deviation, starts, axis=0) / counts),
        "count": lengths[:, None].astype(np.int64),
    }

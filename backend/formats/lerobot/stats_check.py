"""Do a LeRobot dataset's stored statistics describe its data? Recompute from the parquet and compare.

Training normalises every feature with ``meta/stats.json``; LeRobot v2.1 keeps per-episode stats in
``meta/episodes_stats.jsonl``, v3.0 in the ``stats/<feature>/<stat>`` columns of ``meta/episodes``.
Stats go stale when episodes are removed, edited or appended by hand. Vector and scalar features
(the parquet columns) are recomputed exactly as LeRobot does (count-weighted mean, parallel
variance); image and video stats come from sampled frames and are not compared. Quantiles are
checked for order and bounds only: LeRobot averages per-episode quantiles, which no recomputation
reproduces exactly. v2.x datasets (what GR00T reads) must carry q01 and q99: GR00T's loader reads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from backend.formats.lerobot.common import (
    DEFAULT_FEATURES,
    EPISODES_STATS_JSONL,
    MODALITY_PATH,
    PROVENANCE_PATH,
    STATS_PATH,
    V30,
    read_jsonl,
)
from backend.formats.lerobot.meta import PARQUET_ERRORS, episode_meta_files, read_stats
from backend.model import Dataset, Episode, FeatureKind
from backend.validation import Problem

STATS = ("min", "max", "mean", "std")
RELATIVE_TOLERANCE = 1e-4  # of the feature's range (or magnitude): float32 sums stay far inside it
GROOT_QUANTILES = ("q01", "q99")
QUANTILE_ORDER = ("q01", "q10", "q50", "q90", "q99")


def _studio_computed_stats(root: Path) -> bool:
    """The studio's provenance record says it computed stats.json from this data."""
    try:
        record = json.loads((root / PROVENANCE_PATH).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("stats_source") == "embodiment":
        return False  # a join of IDM datasets keeps their (embodiment) stats.json: edit merge says so
    operation = str(record.get("operation") or record.get("conversion") or "")
    return operation.replace("_", " ") != "idm prepare"


class _Moments:
    """count, mean, M2, min, max of one feature, merged episode by episode (Chan's parallel update)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None
        self.low: np.ndarray | None = None
        self.high: np.ndarray | None = None

    def add(self, stats: dict[str, np.ndarray]) -> None:
        n = int(stats["count"][0])
        if n == 0:
            return
        mean, m2 = stats["mean"], stats["std"] ** 2 * n
        if self.mean is None or self.m2 is None or self.low is None or self.high is None:
            self.count, self.mean, self.m2 = n, mean.copy(), m2
            self.low, self.high = stats["min"].copy(), stats["max"].copy()
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * n / total
        self.m2 = self.m2 + m2 + delta**2 * self.count * n / total
        self.count = total
        self.low = np.minimum(self.low, stats["min"])
        self.high = np.maximum(self.high, stats["max"])

    def stats(self) -> dict[str, np.ndarray] | None:
        if self.mean is None or self.m2 is None or self.low is None or self.high is None:
            return None
        return {
            "min": self.low,
            "max": self.high,
            "mean": self.mean,
            "std": np.sqrt(self.m2 / self.count),
            "count": np.array([self.count]),
        }


def episode_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """LeRobot's per-episode stats of a (T,) or (T, N) array (float64)."""
    data = np.asarray(values)
    data = data.astype(np.float64) if data.dtype.kind in "biuf" else np.zeros((0, 1))
    if data.ndim == 1:
        data = data[:, None]
    data = data.reshape(len(data), -1)
    if not len(data):
        width = data.shape[1]
        return {k: np.zeros(width) for k in STATS} | {"count": np.array([0])}
    return {
        "min": data.min(axis=0),
        "max": data.max(axis=0),
        "mean": data.mean(axis=0),
        "std": data.std(axis=0),
        "count": np.array([len(data)]),
    }


def _as_array(value: Any) -> np.ndarray | None:
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    return array


def disagreement(stored: dict[str, Any], actual: dict[str, np.ndarray]) -> str | None:
    """The first stat of ``stored`` that does not describe ``actual`` (None when they agree)."""
    if not isinstance(stored, dict):
        return "is not an object"
    count = _as_array(stored.get("count")) if stored.get("count") is not None else None
    if count is not None and count.size and np.isfinite(count[0]) and int(count[0]) != int(actual["count"][0]):
        return f"count is {int(count[0])}, the data has {int(actual['count'][0])} frames"
    scale = np.maximum(actual["max"] - actual["min"], np.maximum(np.abs(actual["max"]), np.abs(actual["min"])))
    tolerance = RELATIVE_TOLERANCE * np.maximum(scale, 1e-6) + 1e-9
    for name in STATS:
        if name not in stored:
            continue
        value = _as_array(stored[name])
        if value is None:
            return f"{name} is not a list of numbers"
        expected = actual[name]
        if value.shape != expected.shape:
            return f"{name} has {value.size} values, the feature {expected.size}"
        off = np.abs(value - expected) > tolerance
        if off.any():
            j = int(np.argmax(np.abs(value - expected) - tolerance))
            where = f"[{j}]" if expected.size > 1 else ""
            return f"{name}{where} is {value[j]:.6g}, the data gives {expected[j]:.6g}"
    quantiles = [(q, _as_array(stored[q])) for q in QUANTILE_ORDER if q in stored]
    for (qa, a), (qb, b) in zip(quantiles, quantiles[1:], strict=False):
        if a is not None and b is not None and a.shape == b.shape and np.any(a > b + tolerance):
            return f"{qa} is above {qb}"
    for q, value in quantiles:
        if value is not None and value.shape == actual["min"].shape and (
            np.any(value < actual["min"] - tolerance) or np.any(value > actual["max"] + tolerance)
        ):
            return f"{q} lies outside the data's min..max"
    return None


class StatsCheck:
    """Feed every episode's arrays with :meth:`add`; :meth:`finish` gives the findings."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.root = Path(dataset.path)
        self.version = str(dataset.info.get("codebase_version"))
        # the features training normalises (the bookkeeping columns have their own checks)
        self.keys = [
            k for k, f in dataset.features.items()
            if f.kind in (FeatureKind.VECTOR, FeatureKind.SCALAR) and f.dtype not in ("string", "str")
            and k not in DEFAULT_FEATURES
        ]
        self.stored = read_stats(self.root)
        self.moments = {k: _Moments() for k in self.keys}
        self.complete = True  # every episode's arrays were read
        self.per_episode = self._stored_episode_stats()
        self.episode_findings: list[tuple[int, str, str]] = []  # (episode, key, what)
        # GR00T embodiment datasets (modality.json) carry the embodiment's stats by design, unless the
        # studio wrote the stats itself from the data (every conversion but idm prepare does)
        self.embodiment_stats = (self.root / MODALITY_PATH).is_file() and not _studio_computed_stats(self.root)

    def _stored_episode_stats(self) -> Any:
        """Stored per-episode stats: ``.get(index, default)`` gives ``{key: {stat: values}}``."""
        if self.version == V30:
            try:
                files = episode_meta_files(self.root)
            except Exception:  # noqa: BLE001 - reported by the format checks
                return {}
            return _StoredColumns(files, self.keys)
        path = self.root / EPISODES_STATS_JSONL
        if not path.is_file():
            return {}
        try:
            rows = read_jsonl(path)
        except Exception:  # noqa: BLE001 - reported by the format checks
            return {}
        return {
            int(r["episode_index"]): r.get("stats") or {}
            for r in rows
            if isinstance(r, dict) and isinstance(r.get("episode_index"), int)
        }

    def add(self, episode: Episode, arrays: dict[str, np.ndarray] | None) -> None:
        """The episode's values per key (None: unreadable, the global comparison is skipped)."""
        if arrays is None or any(k not in arrays for k in self.keys):
            self.complete = False
            return
        stored = self.per_episode.get(episode.index, {})
        for key in self.keys:
            actual = episode_stats(arrays[key])
            self.moments[key].add(actual)
            if key in stored:
                what = disagreement(stored[key], actual)
                if what:
                    self.episode_findings.append((episode.index, key, what))

    def add_many(self, indices: np.ndarray, actual: dict[str, dict[str, np.ndarray]]) -> None:
        """:meth:`add` for many episodes at once: ``actual[key][stat]`` is (E, N) per-episode stats
        (``count`` (E, 1), every count > 0; see ``validate_data.grouped_stats``). The stored stats are
        compared vectorised; an episode that may disagree is compared alone, for the message."""
        indices = np.asarray(indices, dtype=np.int64)
        for key in self.keys:
            stats = actual[key]
            self.moments[key].add(_merged(stats))
            columns = self.per_episode.arrays(key, indices) if isinstance(self.per_episode, _StoredColumns) else None
            if columns is not None:
                stored: list[Any] = _LazyRows(self.per_episode, key, indices)
                suspects = _suspects_arrays(columns, stats)
            else:
                stored = [self.per_episode.get(int(i), {}).get(key) for i in indices]
                suspects = _suspects(stored, stats)
            for k in suspects:
                what = disagreement(stored[k], {name: value[k] for name, value in stats.items()})
                if what:
                    self.episode_findings.append((int(indices[k]), key, what))

    def finish(self) -> list[Problem]:
        problems: list[Problem] = []
        per_episode_file = str(self.root / ("meta/episodes" if self.version == V30 else EPISODES_STATS_JSONL))
        # a GR00T dataset whose meta was copied (the IDM dump keeps idm prepare's meta beside new actions):
        # its episode stats describe the placeholder actions by design, so only a note
        severity = "info" if self.embodiment_stats else "error"
        why = "; modality.json marks a GR00T dataset whose meta/ was copied" if self.embodiment_stats else ""
        for index, key, what in self.episode_findings[:50]:
            problems.append(Problem(
                per_episode_file,
                f"stored stats of {key} do not describe episode {index}: {what}{why}",
                "recompute the episode stats (rewrite the dataset with the studio)",
                severity, "episode_stats_mismatch", f"episode {index}", True,
            ))
        if len(self.episode_findings) > 50:
            problems.append(Problem(
                per_episode_file, f"{len(self.episode_findings) - 50} more episode stats disagree with the data",
                "recompute the episode stats", severity, "episode_stats_mismatch", None, True,
            ))
        stats_file = str(self.root / STATS_PATH)
        if self.stored and self.complete and self.dataset.episodes:
            for key in self.keys:
                if key not in self.stored:
                    continue
                actual = self.moments[key].stats()
                if actual is None:
                    continue
                what = disagreement(self.stored[key], actual)
                if what is None:
                    continue
                if self.embodiment_stats:
                    problems.append(Problem(
                        stats_file, f"stats of {key} do not describe this data ({what}); modality.json marks a "
                        "GR00T embodiment dataset, whose stats.json is the embodiment's",
                        "nothing to do if the stats were copied from the embodiment on purpose",
                        "info", "stats_mismatch", None, False,
                    ))
                else:
                    problems.append(Problem(
                        stats_file, f"stats of {key} do not describe the data: {what}",
                        "recompute meta/stats.json (rewrite the dataset with the studio): training normalises "
                        "with it", "error", "stats_mismatch", None, True,
                    ))
        if self.stored and self.version != V30:
            lacking = [
                k for k in self.keys
                if isinstance(self.stored.get(k), dict)
                and self.dataset.features[k].kind is FeatureKind.VECTOR
                and not all(q in self.stored[k] for q in GROOT_QUANTILES)
            ]
            if lacking:
                problems.append(Problem(
                    stats_file, f"stats of {', '.join(lacking)} have no q01/q99 (GR00T's loader reads them)",
                    "add the quantiles (rewrite with the studio, or recompute meta/stats.json)",
                    "warning", "stats_no_quantiles", None, True,
                ))
        return problems


def _merged(stats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One stats record of many episodes' (E, N) stats (count-weighted mean, parallel variance)."""
    counts = stats["count"][:, 0].astype(np.float64)
    total = counts.sum()
    mean = (stats["mean"] * counts[:, None]).sum(axis=0) / total
    m2 = (stats["std"] ** 2 * counts[:, None]).sum(axis=0) + (
        (stats["mean"] - mean) ** 2 * counts[:, None]
    ).sum(axis=0)
    return {
        "min": stats["min"].min(axis=0),
        "max": stats["max"].max(axis=0),
        "mean": mean,
        "std": np.sqrt(m2 / total),
        "count": np.array([int(total)]),
    }


def _stored_column(stored: list[Any], name: str, shape: tuple[int, int]) -> np.ndarray | None:
    """``stored[k][name]`` of every episode as one (E, N) float array; None when any is absent or odd."""
    try:
        values = np.asarray([row[name] for row in stored], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        return None
    return values.reshape(shape) if values.size == shape[0] * shape[1] else None


def _suspects(stored: list[Any], actual: dict[str, np.ndarray]) -> list[int]:
    """Episodes whose stored stats may disagree with ``actual`` (a superset of what ``disagreement``
    finds); every episode when the stored records are not all alike."""
    every = list(range(len(stored)))
    present = [row is not None for row in stored]
    if not all(present):
        return [k for k in every if present[k]]
    if not all(isinstance(row, dict) for row in stored):
        return every
    names = set(stored[0]) if stored else set()
    if any(set(row) != names for row in stored):
        return every
    shape = actual["min"].shape
    low, high = actual["min"], actual["max"]
    scale = np.maximum(high - low, np.maximum(np.abs(high), np.abs(low)))
    tolerance = RELATIVE_TOLERANCE * np.maximum(scale, 1e-6) + 1e-9
    bad = np.zeros(len(stored), dtype=bool)
    if "count" in names:
        count = _stored_column(stored, "count", (len(stored), 1))
        if count is None:
            return every
        bad |= count[:, 0] != actual["count"][:, 0]
    for name in STATS:
        if name in names:
            value = _stored_column(stored, name, shape)
            if value is None:
                return every
            bad |= (np.abs(value - actual[name]) > tolerance).any(axis=1)
    quantiles = []
    for name in QUANTILE_ORDER:
        if name in names:
            value = _stored_column(stored, name, shape)
            if value is None:
                return every
            quantiles.append(value)
            bad |= ((value < low - tolerance) | (value > high + tolerance)).any(axis=1)
    for a, b in zip(quantiles, quantiles[1:], strict=False):
        bad |= (a > b + tolerance).any(axis=1)
    return np.flatnonzero(bad).tolist()


class _StoredColumns:
    """v3.0 per-episode stats columns of meta/episodes, read once as (E, N) arrays where regular."""

    def __init__(self, files: list[Path], keys: list[str]) -> None:
        self.row: dict[int, int] = {}
        self.columns: dict[tuple[str, str], np.ndarray | list] = {}
        parts: dict[tuple[str, str], list] = {}
        indices: list[np.ndarray] = []
        for path in files:
            try:
                names = pq.read_schema(path).names
                wanted = [n for n in names if n.startswith("stats/") and n.split("/")[1] in keys]
                if not wanted or "episode_index" not in names:
                    continue
                table = pq.read_table(path, columns=["episode_index", *wanted])
            except PARQUET_ERRORS:
                continue
            indices.append(table.column("episode_index").to_numpy(zero_copy_only=False))
            for name in wanted:
                _, key, stat = name.split("/", 2)
                parts.setdefault((key, stat), []).append(_as_rows(table.column(name)))
        everything = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        for position, index in enumerate(everything.tolist()):
            self.row.setdefault(int(index), position)
        total = len(everything)
        for name, pieces in parts.items():
            if sum(len(p) for p in pieces) != total:  # a file lacks the column: per-row lists
                continue
            if all(isinstance(p, np.ndarray) for p in pieces) and len({p.shape[1:] for p in pieces}) == 1:
                self.columns[name] = np.concatenate(pieces)
            else:
                self.columns[name] = [v for p in pieces for v in (p.tolist() if isinstance(p, np.ndarray) else p)]

    def get(self, index: int, default: Any = None) -> Any:
        row = self.row.get(int(index))
        if row is None:
            return default
        out: dict[str, dict[str, Any]] = {}
        for (key, stat), values in self.columns.items():
            value = values[row]
            out.setdefault(key, {})[stat] = value.tolist() if isinstance(value, np.ndarray) else value
        return out

    def arrays(self, key: str, indices: np.ndarray) -> dict[str, np.ndarray] | None:
        """(E, N) arrays of ``key``'s stats for the episodes ``indices``; None unless all are regular."""
        rows = [self.row.get(int(i)) for i in indices]
        if any(r is None for r in rows):
            return None
        out = {}
        for (k, stat), values in self.columns.items():
            if k != key:
                continue
            if not isinstance(values, np.ndarray):
                return None
            out[stat] = values[np.asarray(rows, dtype=np.int64)]
        return out or None


class _LazyRows:
    """``stored[k]`` of :func:`StatsCheck.add_many` built only for the episodes compared alone."""

    def __init__(self, columns: _StoredColumns, key: str, indices: np.ndarray) -> None:
        self.columns, self.key, self.indices = columns, key, indices

    def __getitem__(self, k: int) -> Any:
        return self.columns.get(int(self.indices[k]), {}).get(self.key)


def _as_rows(column: Any) -> np.ndarray | list:
    """A list<number> column as an (E, N) float64 array when every row has N numbers, else Python rows."""
    array = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if array.null_count == 0 and (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        flat = array.flatten()
        if flat.null_count == 0 and (pa.types.is_floating(flat.type) or pa.types.is_integer(flat.type)):
            n = len(array)
            if n and len(flat) % n == 0:
                offsets = array.offsets.to_numpy()
                width = len(flat) // n
                if np.array_equal(np.diff(offsets), np.full(n, width)):
                    return flat.to_numpy(zero_copy_only=False).astype(np.float64).reshape(n, width)
    return array.to_pylist()


def _suspects_arrays(stored: dict[str, np.ndarray], actual: dict[str, np.ndarray]) -> list[int]:
    """:func:`_suspects` on stored stats already as (E, N) arrays."""
    shape = actual["min"].shape
    n = shape[0]
    low, high = actual["min"], actual["max"]
    scale = np.maximum(high - low, np.maximum(np.abs(high), np.abs(low)))
    tolerance = RELATIVE_TOLERANCE * np.maximum(scale, 1e-6) + 1e-9
    bad = np.zeros(n, dtype=bool)
    if "count" in stored:
        count = stored["count"]
        if count.shape[0] != n or count.shape[1] < 1:
            return list(range(n))
        bad |= count[:, 0] != actual["count"][:, 0]
    quantiles = []
    for name in (*STATS, *QUANTILE_ORDER):
        if name not in stored:
            continue
        value = stored[name]
        if value.shape != shape:
            return list(range(n))
        if name in STATS:
            bad |= (np.abs(value - actual[name]) > tolerance).any(axis=1)
        else:
            quantiles.append(value)
            bad |= ((value < low - tolerance) | (value > high + tolerance)).any(axis=1)
    for a, b in zip(quantiles, quantiles[1:], strict=False):
        bad |= (a > b + tolerance).any(axis=1)
    bad |= ~np.isfinite(np.concatenate([v for v in stored.values()], axis=1)).all(axis=1)
    return np.flatnonzero(bad).tolist()

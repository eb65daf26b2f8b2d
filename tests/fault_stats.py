"""Keep a LeRobot dataset's stored statistics consistent with data that a fault injector changed.

A fault recorded by a real writer (a spike, an idle episode, a dropped frame index) comes with stats
computed from the faulty data. Left stale, the stats would give the fault away to any checker that
compares stats with the data, and the measurement would credit that check instead of the one meant
for the fault. ``restat`` recomputes, independently of the studio's code, with LeRobot's formulas:
per episode min / max / mean / std (population) / count and the quantiles the file already holds
(``np.quantile``); globally min of mins, max of maxes, count-weighted mean, pooled variance and
count-weighted averages of the per-episode quantiles (what LeRobot's ``aggregate_stats`` does).
Written where the dataset keeps them: meta/stats.json, and per episode meta/episodes_stats.jsonl
(v2.1) or the ``stats/<key>/<stat>`` columns of meta/episodes/*.parquet (v3.0).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}


def _column(path: Path, key: str) -> tuple[np.ndarray, np.ndarray]:
    table = pq.read_table(path, columns=[key, "episode_index"])
    column = table.column(key).combine_chunks()
    if pa.types.is_fixed_size_list(column.type) or pa.types.is_list(column.type):
        flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
        values = flat.reshape(len(column), -1)
    else:
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)[:, None]
    return values, table.column("episode_index").to_numpy()


def episode_values(root: Path, key: str, data_files: Iterable[Path]) -> dict[int, np.ndarray]:
    """(T, D) float64 values of ``key`` per episode index."""
    found: dict[int, list[np.ndarray]] = {}
    for path in data_files:
        values, episodes = _column(path, key)
        for episode in np.unique(episodes):
            found.setdefault(int(episode), []).append(values[episodes == episode])
    return {e: np.concatenate(parts) for e, parts in found.items()}


def stats_of(values: np.ndarray, names: Iterable[str]) -> dict[str, np.ndarray]:
    out = {
        "min": values.min(axis=0),
        "max": values.max(axis=0),
        "mean": values.mean(axis=0),
        "std": values.std(axis=0),
        "count": np.array([len(values)]),
    }
    for name in names:
        if name in QUANTILES:
            out[name] = np.quantile(values, QUANTILES[name], axis=0)
    return out


def aggregate(per_episode: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    counts = np.array([float(s["count"][0]) for s in per_episode])
    weights = counts / counts.sum()
    means = np.stack([s["mean"] for s in per_episode])
    mean = (weights[:, None] * means).sum(axis=0)
    variance = (
        weights[:, None] * (np.stack([s["std"] for s in per_episode]) ** 2 + (means - mean) ** 2)
    ).sum(0)
    out = {
        "min": np.min([s["min"] for s in per_episode], axis=0),
        "max": np.max([s["max"] for s in per_episode], axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": np.array([int(counts.sum())]),
    }
    for name in QUANTILES:
        if all(name in s for s in per_episode):
            out[name] = (weights[:, None] * np.stack([s[name] for s in per_episode])).sum(axis=0)
    return out


def _like(stored: Any, value: np.ndarray) -> Any:
    """``value`` as a JSON list shaped like what was stored (LeRobot keeps scalars as [x])."""
    shape = np.asarray(stored).shape if stored is not None else value.shape
    try:
        return value.reshape(shape).tolist()
    except ValueError:
        return value.tolist()


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.fault-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def restat(
    root: Path, keys: Iterable[str], episodes: Iterable[int], data_files: Iterable[Path]
) -> list[Path]:
    """Recompute the stats of ``keys``: those of ``episodes`` per episode, and the global ones.

    Only statistics the files already hold are rewritten; returns the files changed."""
    root = Path(root)
    keys, episodes, data_files = list(keys), sorted(set(episodes)), list(data_files)
    changed: list[Path] = []
    stats_path = root / "meta" / "stats.json"
    stored = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.is_file() else {}
    per_key = {}
    for key in keys:
        names = list(stored.get(key, {}).keys()) or ["min", "max", "mean", "std", "count"]
        values = episode_values(root, key, data_files)
        per_key[key] = {e: stats_of(v, names) for e, v in values.items()}
        if key in stored:
            total = aggregate([per_key[key][e] for e in sorted(per_key[key])])
            stored[key] = {
                n: _like(stored[key].get(n), total[n]) if n in total else stored[key][n] for n in names
            }
    if stored:
        _write_text(stats_path, json.dumps(stored, indent=4))
        changed.append(stats_path)
    jsonl = root / "meta" / "episodes_stats.jsonl"
    if jsonl.is_file():
        rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
        for row in rows:
            e = int(row["episode_index"])
            for key in keys:
                if e in episodes and key in row.get("stats", {}):
                    old = row["stats"][key]
                    row["stats"][key] = {
                        n: _like(v, per_key[key][e][n]) if n in per_key[key][e] else v for n, v in old.items()
                    }
        _write_text(jsonl, "".join(json.dumps(r) + "\n" for r in rows))
        changed.append(jsonl)
    for path in (
        sorted((root / "meta" / "episodes").rglob("*.parquet")) if (root / "meta/episodes").is_dir() else []
    ):
        table = pq.read_table(path)
        index = table.column("episode_index").to_numpy()
        if not np.isin(index, episodes).any():
            continue
        for key in keys:
            for name in [n for n in table.column_names if n.startswith(f"stats/{key}/")]:
                stat = name.rsplit("/", 1)[1]
                column = table.column(name).to_pylist()
                for row, e in enumerate(index):
                    if int(e) in episodes and stat in per_key[key].get(int(e), {}):
                        column[row] = _like(column[row], per_key[key][int(e)][stat])
                position = table.schema.get_field_index(name)
                field = table.schema.field(name)
                table = table.set_column(position, field, pa.array(column, type=field.type))
        tmp = path.with_name(f".{path.name}.fault-tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        changed.append(path)
    return changed

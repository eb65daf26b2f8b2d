"""The LeRobot part of the repair (``backend/repair.py``): work out the fixes, then write the copy.

Two passes over the data: ``plan_lerobot`` reads every episode's rows once (the columns the stats
and the indices need) and decides; ``LeRobotPlan.write`` copies what is unchanged byte for byte and
rewrites only the files a fix touches (with their schema, column types and metadata kept).

Episodes are identified by their index, as the metadata names them: a v2.1 episode's files are the
ones its index names, a v3.0 episode's rows are where ``dataset_from_index`` says, checked against
their ``episode_index`` column (else found by that column). New indices follow the old ones' order.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from backend.atomic import OWNER_RECORD, SCRATCH_NAMES
from backend.errors import FormatError
from backend.formats.lerobot.common import (
    EPISODES_JSONL,
    EPISODES_STATS_JSONL,
    INFO_PATH,
    MODALITY_PATH,
    PROVENANCE_PATH,
    STATS_PATH,
    TASKS_JSONL,
    TASKS_PARQUET,
    TOLERANCE_S,
    V21,
    V30,
    episode_chunk,
    read_jsonl,
    total_chunks,
    video_block,
    write_json,
    write_jsonl,
)
from backend.formats.lerobot.reader import (
    PARQUET_ERRORS,
    LeRobotReader,
    column_to_numpy,
    episode_meta_files,
    open_lerobot,
    read_stats,
)
from backend.formats.lerobot.stats import Stats, aggregate, to_json, vector_stats
from backend.formats.lerobot.stats_check import disagreement
from backend.model import Dataset, Episode, FeatureKind
from backend.progress import Progress
from backend.repair import Fix, Plan, provenance

INDEX_COLUMNS = ("episode_index", "frame_index", "index")
GROOT_QUANTILES = ("q01", "q99")
STAGING_MARKS = (".partial-", ".old-", ".tmp-")
# files a LeRobot folder may hold besides its layout; copied as they are
TOLERATED_FILES = ("README.md", ".gitattributes", ".gitignore")
RATE_AGREEMENT = 1e-3  # episodes' timestamp rates must agree this closely (relative)
RATE_OFF = 0.01  # info.json fps this far (relative) from the timestamps' rate is wrong
MAX_LISTED = 6


def _listing(items: list[Any]) -> str:
    shown = ", ".join(str(i) for i in items[:MAX_LISTED])
    return shown + (f" ... ({len(items)} in all)" if len(items) > MAX_LISTED else "")


def _episodes(indices: list[int]) -> str:
    return f"episode {indices[0]}" if len(indices) == 1 else f"episodes {_listing(indices)}"


def _is_staging(name: str) -> bool:
    return name in SCRATCH_NAMES or (name.startswith(".") and any(m in name for m in STAGING_MARKS))


@dataclass
class _Ep:
    old: int
    length: int
    episode: Episode
    new: int = 0
    offset: int = 0  # global index of its first row in the copy
    unit: int = 0  # its data file (index into LeRobotPlan.units)
    start: int = 0  # its rows in that file
    stop: int = 0
    located: bool = True  # its rows were found (else nothing is recomputed from them)
    renumber_frames: bool = True  # frame_index is in order (gaps or repeats): renumbered 0..n-1
    row_changes: dict[str, int] = field(default_factory=dict)  # column -> rows changed
    stats: dict[str, Stats] = field(default_factory=dict)  # final per-episode stats (vector/scalar keys)
    replaced: set[str] = field(default_factory=set)  # keys whose stored per-episode stats are replaced
    timestamps: np.ndarray | None = None


@dataclass
class _Unit:
    src: str  # data file, relative to the dataset
    rows: int = 0
    episodes: list[_Ep] = field(default_factory=list)
    unreadable: str | None = None

    @property
    def changed(self) -> bool:
        return any(any(ep.row_changes.values()) for ep in self.episodes)


def _rate(ts: np.ndarray) -> float | None:
    """The rate of timestamps on a regular grid starting at 0; None when they are not."""
    ts = np.asarray(ts, dtype=np.float64).reshape(-1)
    if len(ts) < 2 or abs(ts[0]) > TOLERANCE_S:
        return None
    step = (ts[-1] - ts[0]) / (len(ts) - 1)
    if step <= 0:
        return None
    grid = ts[0] + np.arange(len(ts)) * step
    if np.any(np.abs(ts - grid) > TOLERANCE_S + np.abs(grid) * 2e-7):
        return None
    return 1.0 / step


def _nice_rate(rate: float) -> int | float:
    nearest = round(rate)
    if nearest > 0 and abs(rate - nearest) <= RATE_AGREEMENT * rate:
        return int(nearest)
    return round(rate, 3)


def _as_stats(stored: dict[str, Any]) -> Stats:
    out: Stats = {}
    for name, value in stored.items():
        try:
            out[name] = np.asarray(value, dtype=np.int64 if name == "count" else np.float64)
        except (TypeError, ValueError):
            continue
    return out


def _read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    try:
        if columns is not None:
            names = pq.read_schema(path).names
            columns = [c for c in columns if c in names]
        return pq.read_table(path, columns=columns)
    except PARQUET_ERRORS as error:
        raise FormatError(f"cannot read parquet ({error})", path, "the file is truncated or corrupt") from None


class LeRobotPlan(Plan):
    def __init__(self, root: Path, dataset: Dataset, progress: Progress) -> None:
        self.root = root
        self.dataset = dataset
        self.progress = progress
        self.reader: LeRobotReader = dataset.reader  # type: ignore[assignment]
        self.version = str(dataset.info.get("codebase_version"))
        self.v30 = self.version == V30
        self.fmt = dataset.format
        self.info = dict(dataset.info)
        self.new_info: dict[str, Any] = {**self.info, "features": dict(self.info["features"])}
        self.fixes: list[Fix] = []
        self.notes: list[str] = []  # what could not be fixed, and why
        self.keys = [
            k for k, f in dataset.features.items()
            if f.kind in (FeatureKind.VECTOR, FeatureKind.SCALAR) and f.dtype not in ("string", "str")
        ]
        self.video_keys = [
            k for k, f in dataset.features.items() if f.kind is FeatureKind.VIDEO and f.has_files
        ]
        self.eps: list[_Ep] = []
        self.units: list[_Unit] = []
        self.rows_blocked: str | None = None  # why the rows' indices cannot be renumbered
        self.dropped_lines = 0
        self.rewrite_episode_stats = False
        self.episode_mismatch: Counter[str] = Counter()
        self.episode_missing = 0
        self.episode_quantiles = 0
        self.global_mismatch: list[str] = []
        self.new_global: dict[str, Any] | None = None  # the new stats.json (None: copied as it is)
        self.stored_global = read_stats(root)
        self.copies: dict[str, str] = {}  # output rel -> source rel, byte copies
        self.omitted: dict[str, list[str]] = {"stale_partial": [], "writer_leftover": [], "unknown_file": []}

    def _block(self, why: str) -> None:
        if self.rows_blocked is None:
            self.rows_blocked = why

    # -- planning ---------------------------------------------------------------------------------
    def plan(self) -> LeRobotPlan:
        self._episodes()
        self._units()
        self._locate()
        self._renumber()
        self._read_rows()
        self._fps()
        self._stats()
        self._totals()
        self._files()
        self._fix_lines()
        return self

    def _episodes(self) -> None:
        seen: dict[int, _Ep] = {}
        raw = {} if self.v30 else self._raw_rows()
        for episode in self.dataset.episodes:
            if episode.index in seen:
                rows = raw.get(episode.index, [])
                if len(rows) > 1 and all(r == rows[0] for r in rows):
                    self.dropped_lines += 1
                else:
                    self._block(f"episode {episode.index} is listed more than once with different contents")
                continue
            seen[episode.index] = _Ep(episode.index, episode.length, episode)
        self.eps = sorted(seen.values(), key=lambda e: e.old)

    def _raw_rows(self) -> dict[int, list[dict[str, Any]]]:
        rows: dict[int, list[dict[str, Any]]] = {}
        for row in read_jsonl(self.root / EPISODES_JSONL):
            if isinstance(row, dict) and isinstance(row.get("episode_index"), int):
                rows.setdefault(row["episode_index"], []).append(row)
        return rows

    def _units(self) -> None:
        by_file: dict[str, _Unit] = {}
        for ep in self.eps:
            rel = self.reader.episode_data_path(ep.episode).relative_to(self.root).as_posix()
            unit = by_file.get(rel)
            if unit is None:
                unit = by_file[rel] = _Unit(rel)
            unit.episodes.append(ep)
        self.units = [by_file[k] for k in sorted(by_file)] if self.v30 else list(by_file.values())
        for number, unit in enumerate(self.units):
            for ep in unit.episodes:
                ep.unit = number

    def _locate(self) -> None:
        """Each episode's rows in its data file: v2.1 the whole file, v3.0 where the metadata says
        (checked against episode_index, else found by it)."""
        for unit in self.units:
            path = self.root / unit.src
            try:
                table = _read_parquet(path, ["episode_index"])
            except FormatError as error:
                unit.unreadable = error.problem
                for ep in unit.episodes:
                    ep.located = False
                self._block(f"{unit.src}: {error.problem}")
                continue
            unit.rows = table.num_rows
            if not self.v30:
                ep = unit.episodes[0]
                ep.start, ep.stop = 0, table.num_rows
                if table.num_rows != ep.length:
                    self._block(f"episode {ep.old} has {table.num_rows} rows, its length says {ep.length}")
                continue
            column = (
                np.asarray(table.column("episode_index").to_numpy(zero_copy_only=False)).reshape(-1)
                if "episode_index" in table.column_names else None
            )
            base = min(e.episode.extra["lerobot"]["rows"][0] for e in unit.episodes)
            for ep in unit.episodes:
                start, stop = [r - base for r in ep.episode.extra["lerobot"]["rows"]]
                where_meta = 0 <= start <= stop <= table.num_rows and stop - start == ep.length
                if where_meta and (column is None or np.all(column[start:stop] == ep.old)):
                    ep.start, ep.stop = start, stop
                    continue
                found = np.flatnonzero(column == ep.old) if column is not None else np.array([], dtype=int)
                if len(found) == ep.length and len(found) and found[-1] - found[0] + 1 == len(found):
                    ep.start, ep.stop = int(found[0]), int(found[-1]) + 1
                    continue
                ep.located = False
                self._block(f"the rows of episode {ep.old} are not where the metadata says in {unit.src}")
            spans = sorted((ep.start, ep.stop) for ep in unit.episodes if ep.located)
            edges = [0] + [s for span in spans for s in span] + [table.num_rows]
            if any(a != b for a, b in zip(edges[::2], edges[1::2], strict=True)):
                self._block(f"{unit.src} holds rows that no episode lists (or episodes overlap)")

    def _renumber(self) -> None:
        if self.v30:
            # the copy's global index runs through the files in order: episodes must be stored in index order
            placed = [(ep.unit, ep.start) for ep in self.eps]
            if placed != sorted(placed):
                self._block("the episodes are not stored in the order of their indices")
        offset = 0
        for position, ep in enumerate(self.eps):
            ep.new = position if self.rows_blocked is None else ep.old
            ep.offset = offset
            offset += ep.length

    def _read_rows(self) -> None:
        total = len(self.units)
        wanted = list(dict.fromkeys([*self.keys, *INDEX_COLUMNS, "timestamp"]))
        for number, unit in enumerate(self.units):
            self.progress.report(number, total, f"reading {unit.src}")
            if unit.unreadable is not None:
                continue
            table = _read_parquet(self.root / unit.src, wanted)
            for ep in unit.episodes:
                if ep.located:
                    self._episode_rows(unit, ep, table.slice(ep.start, ep.stop - ep.start))
        self.progress.report(total, total, "read")

    def fixed_columns(self, ep: _Ep, rows: pa.Table) -> dict[str, np.ndarray]:
        """The episode's index columns as the copy has them (``rows``: the episode's rows only)."""
        n = rows.num_rows
        out: dict[str, np.ndarray] = {}
        if self.rows_blocked is not None:
            return out
        names = rows.column_names
        if "episode_index" in names:
            out["episode_index"] = np.full(n, ep.new, dtype=np.int64)
        if "frame_index" in names and ep.renumber_frames:
            out["frame_index"] = np.arange(n, dtype=np.int64)
        if "index" in names:
            out["index"] = ep.offset + np.arange(n, dtype=np.int64)
        return out

    def _episode_rows(self, unit: _Unit, ep: _Ep, rows: pa.Table) -> None:
        path = self.root / unit.src
        values: dict[str, np.ndarray] = {}
        for key in self.keys:
            if key in rows.column_names:
                values[key] = column_to_numpy(rows.column(key), self.dataset.features[key], path)
        frame = values.get("frame_index")
        if frame is not None and len(frame) > 1 and np.any(np.diff(np.asarray(frame).reshape(-1)) < 0):
            ep.renumber_frames = False
            self.notes.append(
                f"frame_index of episode {ep.old} is out of order (the rows may be shuffled): not renumbered"
            )
        for name, fixed in self.fixed_columns(ep, rows).items():
            if name in values:
                old = np.asarray(values[name]).reshape(-1)
                ep.row_changes[name] = int(np.count_nonzero(old != fixed))
                values[name] = fixed
        ep.stats = {k: vector_stats(v, quantiles=True) for k, v in values.items() if len(v)}
        ep.timestamps = values.get("timestamp")

    def _fps(self) -> None:
        rates = [_rate(ep.timestamps) for ep in self.eps if ep.timestamps is not None and len(ep.timestamps) > 1]
        if not rates or any(r is None for r in rates):
            return
        low, high = min(rates), max(rates)  # type: ignore[type-var]
        if high - low > RATE_AGREEMENT * high:
            return
        rate = float(np.mean(rates))
        fps = float(self.info["fps"])
        if abs(rate - fps) <= RATE_OFF * fps:
            return
        from backend.media import probe

        for key in self.video_keys:
            try:
                video_rate = probe(self.reader.episode_video_path(self.eps[0].episode, key)).fps
            except (FormatError, KeyError):
                continue
            if abs(video_rate - rate) > RATE_OFF * rate:
                self.notes.append(
                    f"info.json says {fps:g} fps, the timestamps step at {rate:.3f} fps and the {key} videos "
                    f"run at {video_rate:.3f} fps: the rate is not changed"
                )
                return
        value = _nice_rate(rate)
        self.new_info["fps"] = value
        for key in list(self.new_info["features"]):
            feature = self.new_info["features"][key]
            block = video_block(feature) if isinstance(feature, dict) else {}
            if "video.fps" in block and float(block["video.fps"]) != float(value):
                name = "info" if isinstance(feature.get("info"), dict) else "video_info"
                self.new_info["features"][key] = {**feature, name: {**block, "video.fps": value}}
        self.fixes.append(Fix(
            "fps_mismatch", f"fps: info.json said {fps:g}, the timestamps of all {len(rates)} episodes step at "
            f"{value:g} fps: set to {value:g}",
        ))

    # -- stats ------------------------------------------------------------------------------------
    def _stored_episode_stats(self) -> dict[int, dict[str, Any]]:
        if self.v30:
            out: dict[int, dict[str, Any]] = {}
            for path in episode_meta_files(self.root):
                names = pq.read_schema(path).names
                wanted = [n for n in names if n.startswith("stats/") and n.split("/")[1] in self.keys]
                data = pq.read_table(path, columns=["episode_index", *wanted]).to_pydict()
                for row, index in enumerate(data["episode_index"]):
                    entry = out.setdefault(int(index), {})
                    for name in wanted:
                        _, key, stat = name.split("/", 2)
                        if data[name][row] is not None:
                            entry.setdefault(key, {})[stat] = data[name][row]
            return out
        path = self.root / EPISODES_STATS_JSONL
        if not path.is_file():
            return {}
        return {
            int(r["episode_index"]): r.get("stats") or {}
            for r in read_jsonl(path)
            if isinstance(r, dict) and isinstance(r.get("episode_index"), int)
        }

    def _needs_quantiles(self, key: str, stored: dict[str, Any]) -> bool:
        """v2.x vectors: GR00T's loader reads q01/q99."""
        return (
            not self.v30
            and self.dataset.features[key].kind is FeatureKind.VECTOR
            and not all(q in stored for q in GROOT_QUANTILES)
        )

    def _stats(self) -> None:
        stored_eps = self._stored_episode_stats()
        for ep in self.eps:
            stored = stored_eps.get(ep.old, {})
            for key, actual in list(ep.stats.items()):
                entry = stored.get(key)
                if not isinstance(entry, dict):
                    self.episode_missing += 1
                elif disagreement(entry, actual) is not None:
                    self.episode_mismatch[key] += 1
                elif self._needs_quantiles(key, entry):
                    self.episode_quantiles += 1
                else:
                    ep.stats[key] = _as_stats(entry)  # it describes the data: kept as it was written
                    continue
                ep.replaced.add(key)
        # v2.1 keeps per-episode stats in a file of its own (v2.0 has none); v3.0 in meta/episodes
        keeps_file = self.version == V21 or (self.root / EPISODES_STATS_JSONL).is_file()
        renumbered = any(ep.new != ep.old for ep in self.eps) or self.dropped_lines > 0
        self.rewrite_episode_stats = not self.v30 and keeps_file and (
            any(ep.replaced for ep in self.eps) or renumbered
        )
        if (self.root / MODALITY_PATH).is_file() and self.stored_global:
            return  # a GR00T embodiment dataset: its stats.json is the embodiment's, by design
        if not all(ep.located for ep in self.eps):
            return  # stats of unreadable rows cannot be recomputed
        new_global = dict(self.stored_global)
        for key in self.keys:
            per_episode = [ep.stats[key] for ep in self.eps if key in ep.stats]
            if not per_episode or len(per_episode) != len(self.eps):
                continue
            actual = aggregate(per_episode)
            entry = self.stored_global.get(key)
            if isinstance(entry, dict):
                if disagreement(entry, actual) is None and not self._needs_quantiles(key, entry):
                    continue
                if disagreement(entry, actual) is not None:
                    self.global_mismatch.append(key)
            new_global[key] = to_json({key: actual})[key]
        if new_global != self.stored_global:
            self.new_global = new_global

    # -- totals and files -------------------------------------------------------------------------
    def _totals(self) -> None:
        info, new = self.info, self.new_info
        n = len(self.eps)
        changes = []
        wanted: dict[str, Any] = {"total_episodes": n, "total_frames": sum(ep.length for ep in self.eps)}
        if "total_tasks" in info:
            wanted["total_tasks"] = len(self.dataset.tasks)
        if not self.v30 and "total_chunks" in info:
            wanted["total_chunks"] = total_chunks(n, int(info.get("chunks_size") or 1000))
        if not self.v30 and isinstance(info.get("total_videos"), int):
            wanted["total_videos"] = n * len(self.video_keys)
        for name, value in wanted.items():
            if info.get(name) != value:
                changes.append(f"{name} {info.get(name)} -> {value}")
                new[name] = value
        train = (info.get("splits") or {}).get("train") if isinstance(info.get("splits"), dict) else None
        if isinstance(train, str):
            try:
                start, stop = (int(x) for x in train.split(":"))
                bad = start < 0 or stop > n
            except ValueError:
                bad = True
            if bad:
                new["splits"] = {**info["splits"], "train": f"0:{n}"}
                changes.append(f"splits train {train!r} -> '0:{n}'")
        if changes:
            self.fixes.append(Fix("totals_mismatch", "info.json: " + "; ".join(changes)))

    def out_data_rel(self, ep: _Ep) -> str:
        if self.v30:
            return self.units[ep.unit].src
        template = str(self.info.get("data_path") or "")
        chunk = episode_chunk(ep.new, int(self.info.get("chunks_size") or 1000))
        return template.format(episode_chunk=chunk, episode_index=ep.new)

    def _video_rel(self, ep: _Ep, key: str, new: bool) -> str:
        if self.v30:
            return self.reader.episode_video_path(ep.episode, key).relative_to(self.root).as_posix()
        index = ep.new if new else ep.old
        chunk = episode_chunk(index, int(self.info.get("chunks_size") or 1000))
        return str(self.info.get("video_path") or "").format(
            episode_chunk=chunk, video_key=key, episode_index=index
        )

    def _files(self) -> None:
        named: set[str] = {INFO_PATH, STATS_PATH, MODALITY_PATH, OWNER_RECORD, PROVENANCE_PATH}
        named |= {TASKS_PARQUET} if self.v30 else {EPISODES_JSONL, TASKS_JSONL, EPISODES_STATS_JSONL}
        if self.v30:
            named |= {p.relative_to(self.root).as_posix() for p in episode_meta_files(self.root)}
        tasks = TASKS_PARQUET if self.v30 else TASKS_JSONL
        for rel in (tasks, MODALITY_PATH, *TOLERATED_FILES):  # copied as they are
            if (self.root / rel).is_file():
                self.copies[rel] = rel
        named |= set(TOLERATED_FILES)
        for ep in self.eps:
            named.add(self.units[ep.unit].src)
            for key in self.video_keys:
                src = self._video_rel(ep, key, new=False)
                named.add(src)
                if (self.root / src).is_file():
                    self.copies[self._video_rel(ep, key, new=True)] = src
        for folder, dirs, files in os.walk(self.root):
            here = Path(folder)
            rel_dir = here.relative_to(self.root).as_posix()
            keep = []
            for name in sorted(dirs):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if name in SCRATCH_NAMES:
                    self.omitted["writer_leftover"].append(rel + "/")
                elif _is_staging(name):
                    self.omitted["stale_partial"].append(rel + "/")
                elif rel_dir == "." and name in (".git", ".cache", ".huggingface"):
                    continue  # a hub checkout's folders: not part of the dataset
                else:
                    keep.append(name)
            dirs[:] = keep
            for name in sorted(files):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if rel in named:
                    continue
                self.omitted["stale_partial" if _is_staging(name) else "unknown_file"].append(rel)

    def _fix_lines(self) -> None:
        if self.dropped_lines:
            self.fixes.append(Fix(
                "episode_index_duplicate", f"{EPISODES_JSONL}: dropped {self.dropped_lines} repeated line(s)"
            ))
        renamed = [ep for ep in self.eps if ep.new != ep.old]
        if renamed:
            pairs = [f"{ep.old}->{ep.new}" for ep in renamed]
            where = "metadata, parquet rows" + ("" if self.v30 else " and file names")
            self.fixes.append(Fix(
                "episode_index_gap", f"episodes renumbered 0..{len(self.eps) - 1} ({where}): {_listing(pairs)}"
            ))
        for column, code in (("episode_index", "episode_index_column"), ("frame_index", "frame_index"),
                             ("index", "global_index")):
            touched = [ep for ep in self.eps if ep.row_changes.get(column)]
            if column == "episode_index":
                touched = [ep for ep in touched if ep.new == ep.old]  # renumbered ones are said above
            if touched:
                rows = sum(ep.row_changes[column] for ep in touched)
                self.fixes.append(Fix(
                    code, f"{column} column rewritten in {rows} row(s) of {_episodes([e.old for e in touched])}"
                ))
        if self.v30 and self.rows_blocked is None:
            moved = [ep for ep in self.eps if self._moved(ep) and ep.new == ep.old]
            if moved:
                self.fixes.append(Fix(
                    "global_index", f"dataset_from_index/to_index set to the rows of {_episodes([e.old for e in moved])}"
                ))
        if self.rows_blocked is not None:
            self.notes.append(f"indices are not renumbered: {self.rows_blocked}")
        if self.rewrite_episode_stats or (self.v30 and any(ep.replaced for ep in self.eps)):
            parts = [f"{key} disagreed in {count} episode(s)" for key, count in self.episode_mismatch.items()]
            if self.episode_missing:
                parts.append(f"{self.episode_missing} missing")
            if self.episode_quantiles:
                parts.append(f"q01..q99 added to {self.episode_quantiles}")
            target = "meta/episodes" if self.v30 else EPISODES_STATS_JSONL
            self.fixes.append(Fix(
                "episode_stats_mismatch",
                f"{target}: per-episode stats recomputed from the data ({'; '.join(parts) or 'renumbered'})",
            ))
        if self.new_global is not None:
            if not self.stored_global:
                self.fixes.append(Fix("stats_missing", f"{STATS_PATH} written from the data"))
            else:
                added = [k for k in self.new_global if k not in self.stored_global]
                redone = [k for k in self.new_global if k in self.stored_global
                          and self.new_global[k] != self.stored_global[k]]
                what = []
                if self.global_mismatch:
                    what.append(f"{', '.join(self.global_mismatch)} disagreed with the data")
                if added:
                    what.append(f"{', '.join(added)} added")
                if len(redone) > len(self.global_mismatch):
                    what.append("q01..q99 added" if not self.v30 else "aggregated again")
                self.fixes.append(Fix(
                    "stats_mismatch", f"{STATS_PATH}: recomputed {', '.join(redone + added)} ({'; '.join(what)})"
                ))
        for code, entries in self.omitted.items():
            if entries:
                kind = {
                    "stale_partial": "staging of killed writes",
                    "writer_leftover": "working folders of an interrupted append",
                    "unknown_file": "files the format does not name",
                }[code]
                self.fixes.append(Fix(code, f"not copied ({kind}): {_listing(entries)}"))

    # -- writing ----------------------------------------------------------------------------------
    def write(self, target: Path, final: Path, progress: Progress) -> None:
        total = len(self.units) + len(self.copies)
        done = 0
        for unit in self.units:
            progress.report(done, total, f"writing {unit.src}")
            if unit.changed:
                self._rewrite_unit(unit, target)
            else:
                for ep in unit.episodes[:1]:
                    _copy(self.root / unit.src, target / self.out_data_rel(ep))
            done += 1
        for dst, src in self.copies.items():
            progress.report(done, total, f"copying {src}")
            _copy(self.root / src, target / dst)
            done += 1
        self._write_meta(target)
        from backend.provenance import add_episode, write_lerobot_provenance

        record = provenance(self.root, final, self.fmt, self.fixes)
        for ep in self.eps:
            add_episode(record, ep.new, 0, ep.old, f"episode {ep.old}", 0, ep.length)
        write_lerobot_provenance(target, record)
        progress.report(total, total, "written")

    def _rewrite_unit(self, unit: _Unit, target: Path) -> None:
        path = self.root / unit.src
        try:
            table = pq.read_table(path)
        except PARQUET_ERRORS as error:
            raise FormatError(f"cannot read parquet ({error})", path, "the file is truncated or corrupt") from None
        columns: dict[str, np.ndarray] = {}
        for ep in unit.episodes:
            for name, values in self.fixed_columns(ep, table.slice(ep.start, ep.stop - ep.start)).items():
                if name not in columns:
                    columns[name] = np.asarray(table.column(name).to_numpy(zero_copy_only=False)).reshape(-1).copy()
                columns[name][ep.start:ep.stop] = values
        for name, values in columns.items():
            position = table.schema.get_field_index(name)
            column_field = table.schema.field(position)
            table = table.set_column(position, column_field, pa.array(values, type=column_field.type))
        out = target / self.out_data_rel(unit.episodes[0])
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out)

    def _write_meta(self, target: Path) -> None:
        if self.new_info != self.info:
            write_json(target / INFO_PATH, self.new_info)
        else:
            _copy(self.root / INFO_PATH, target / INFO_PATH)
        if self.new_global is not None:
            write_json(target / STATS_PATH, self.new_global)
        elif (self.root / STATS_PATH).is_file():
            _copy(self.root / STATS_PATH, target / STATS_PATH)
        if self.v30:
            self._write_episodes_v30(target)
            return
        renumbered = any(ep.new != ep.old for ep in self.eps)
        if renumbered or self.dropped_lines:
            raw = self._raw_rows()
            write_jsonl(target / EPISODES_JSONL, [{**raw[ep.old][0], "episode_index": ep.new} for ep in self.eps])
        else:
            _copy(self.root / EPISODES_JSONL, target / EPISODES_JSONL)
        source_stats = self.root / EPISODES_STATS_JSONL
        if self.rewrite_episode_stats:
            stored = {
                int(r["episode_index"]): r for r in (read_jsonl(source_stats) if source_stats.is_file() else [])
                if isinstance(r, dict) and isinstance(r.get("episode_index"), int)
            }
            rows = []
            for ep in self.eps:
                row = dict(stored.get(ep.old) or {})
                stats = dict(row.get("stats") or {})
                for key in ep.replaced | {k for k in ep.stats if k not in stats}:
                    stats[key] = to_json({key: ep.stats[key]})[key]
                rows.append({**row, "episode_index": ep.new, "stats": stats})
            write_jsonl(target / EPISODES_STATS_JSONL, rows)
        elif source_stats.is_file():
            _copy(source_stats, target / EPISODES_STATS_JSONL)

    def _moved(self, ep: _Ep) -> bool:
        """A v3.0 episode whose index or rows change in the copy."""
        rows = tuple(ep.episode.extra["lerobot"]["rows"])
        return self.rows_blocked is None and (ep.new != ep.old or rows != (ep.offset, ep.offset + ep.length))

    def _write_episodes_v30(self, target: Path) -> None:
        by_old = {ep.old: ep for ep in self.eps}
        for path in episode_meta_files(self.root):
            rel = path.relative_to(self.root).as_posix()
            table = pq.read_table(path)
            indices = [int(i) for i in table.column("episode_index").to_pylist()]
            eps = [by_old.get(i) for i in indices]
            touched = any(ep is not None and (ep.replaced or self._moved(ep)) for ep in eps)
            if not touched:
                _copy(path, target / rel)
                continue
            updates: dict[str, list[Any]] = {}
            if self.rows_blocked is None:
                updates["episode_index"] = [ep.new if ep else i for ep, i in zip(eps, indices, strict=True)]
                for name, shift in (("dataset_from_index", 0), ("dataset_to_index", 1)):
                    if name in table.column_names:
                        old = table.column(name).to_pylist()
                        updates[name] = [
                            (ep.offset + shift * ep.length) if ep else value for ep, value in zip(eps, old, strict=True)
                        ]
            keys_stats = sorted({(k, s) for ep in self.eps for k in ep.replaced for s in ep.stats[k]})
            for key, stat in keys_stats:
                name = f"stats/{key}/{stat}"
                old = table.column(name).to_pylist() if name in table.column_names else [None] * len(indices)
                updates[name] = [
                    (np.asarray(ep.stats[key][stat]).tolist() if ep and stat in ep.stats.get(key, {}) else value)
                    for ep, value in zip(eps, old, strict=True)
                ]
            for name, values in updates.items():
                if name in table.column_names:
                    position = table.schema.get_field_index(name)
                    column_field = table.schema.field(position)
                    table = table.set_column(position, column_field, pa.array(values, type=column_field.type))
                else:
                    leaf = pa.int64() if name.endswith("/count") else pa.float64()
                    table = table.append_column(pa.field(name, pa.list_(leaf)), pa.array(values, pa.list_(leaf)))
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, out)


def _copy(src: Path, dst: Path) -> None:
    """A byte-for-byte, independent copy (never a hard link)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def plan_lerobot(root: Path, progress: Progress) -> LeRobotPlan:
    """Read a LeRobot dataset and decide its fixes (raises ``FormatError`` when it cannot be opened)."""
    dataset = open_lerobot(root)
    with dataset:
        return LeRobotPlan(root, dataset, progress).plan()

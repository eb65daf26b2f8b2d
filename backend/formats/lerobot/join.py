"""Join LeRobot datasets written by the studio into one dataset, exactly (shards in -> one dataset out).

The inputs (v2.1 or v3.0, all the same version, fps, robot and features: e.g. the shards of one
conversion) are joined in the order given:

- episode indices are renumbered 0..N-1 and the global ``index`` column 0..F-1; tasks are merged (a
  task text keeps the index of its first appearance) and ``task_index`` remapped;
- parquet rows are rewritten with the new numbers (every other value is copied as it is);
- videos are referenced, never re-encoded: each file is moved (``move_videos``), hard-linked or copied
  into place. In v3.0 a shard's shared video / data files keep their content and get the next
  chunk/file numbers, so the episodes' from/to timestamps stay valid;
- statistics follow LeRobot's aggregation: per-episode stats of ``episode_index``, ``index`` and
  ``task_index`` are recomputed from the new columns; the dataset stats aggregate the shards' own
  dataset stats (count-weighted means, parallel variance, count-weighted quantiles), which equals
  aggregating every episode (within float rounding, relative 1e-9);
- the provenance record of shards of one conversion is flattened into that conversion's record
  (inputs merged, episodes renumbered); other inputs are recorded as a "join" of them.

The output appears atomically (backend/atomic.py); the inputs are never changed, except that videos
are moved out of them with ``move_videos`` (only for staging folders the studio owns).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from backend import provenance as prov
from backend.atomic import atomic_dir
from backend.errors import FormatError, StudioError
from backend.formats.lerobot.common import (
    EPISODES_JSONL,
    EPISODES_META_PATH,
    EPISODES_STATS_JSONL,
    INFO_PATH,
    MODALITY_PATH,
    PROVENANCE_PATH,
    QUANTILE_KEYS,
    STATS_PATH,
    TASKS_JSONL,
    TASKS_PARQUET,
    V21,
    V21_DATA_PATH,
    V21_VIDEO_PATH,
    V30,
    V30_DATA_PATH,
    V30_VIDEO_PATH,
    next_chunk_file,
    read_json,
    read_jsonl,
    total_chunks,
    write_json,
    write_jsonl,
)
from backend.formats.lerobot.meta import episode_meta_files, read_info, read_tasks
from backend.formats.lerobot.stats import Stats, aggregate, to_json, vector_stats
from backend.progress import Progress, ensure_progress

RENUMBERED = ("episode_index", "index", "task_index")
# info.json keys that may differ between shards (everything else must match)
_COUNTS = ("total_episodes", "total_frames", "total_tasks", "total_videos", "total_chunks", "splits")


@dataclass
class JoinSummary:
    output: str
    format: str
    episodes: int = 0
    frames: int = 0
    tasks: int = 0
    videos: int = 0
    shards: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Shard:
    root: Path
    info: dict[str, Any]
    tasks: dict[int, str]
    stats: dict[str, Stats]
    episode_offset: int = 0
    frame_offset: int = 0
    task_map: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def _np_stats(raw: dict[str, Any]) -> dict[str, Stats]:
    return {key: {name: np.asarray(v) for name, v in entry.items()} for key, entry in raw.items()}


def _read_shard(root: Path) -> _Shard:
    root = Path(root)
    info = read_info(root)
    version = str(info.get("codebase_version"))
    if version not in (V21, V30):
        raise FormatError(f"is a LeRobot {version} dataset; only v2.1 and v3.0 can be joined", root)
    stats_path = root / STATS_PATH
    stats = _np_stats(read_json(stats_path)) if stats_path.is_file() else {}
    return _Shard(root, info, read_tasks(root, version), stats)


def _check_same(shards: list[_Shard]) -> None:
    first = shards[0]
    for shard in shards[1:]:
        mine, theirs = shard.info.get("codebase_version"), first.info.get("codebase_version")
        if mine != theirs:
            raise StudioError(
                f"is LeRobot {mine}, {first.root.name} is {theirs}: convert one of them first", shard.root
            )
        for key in sorted(set(first.info) | set(shard.info)):
            if key in _COUNTS:
                continue
            if first.info.get(key) != shard.info.get(key):
                raise StudioError(
                    f"its info.json {key} differs from {first.root.name}'s: only datasets with the same "
                    "features, fps and robot can be joined",
                    shard.root,
                )


def _merge_tasks(shards: list[_Shard]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for shard in shards:
        size = max(shard.tasks, default=-1) + 1
        shard.task_map = np.full(size, -1, np.int64)
        for index in sorted(shard.tasks):
            text = shard.tasks[index]
            merged.setdefault(text, len(merged))
            shard.task_map[index] = merged[text]
    return merged


def _renumber(table: pa.Table, shard: _Shard) -> pa.Table:
    """``table`` with episode_index, index and task_index in the joined numbering."""
    for name in RENUMBERED:
        if name not in table.column_names:
            continue
        position = table.column_names.index(name)
        values = table.column(name).to_numpy().astype(np.int64)
        if name == "episode_index":
            values = values + shard.episode_offset
        elif name == "index":
            values = values + shard.frame_offset
        else:
            if values.size and (values.max() >= len(shard.task_map) or values.min() < 0):
                raise FormatError("a row's task_index is not in the task list", shard.root)
            values = shard.task_map[values] if values.size else values
        kind = table.schema.field(name)
        table = table.set_column(position, kind, pa.array(values, kind.type))
    return table


def _index_stats(table: pa.Table) -> dict[int, dict[str, Stats]]:
    """Per new episode: the stats of the renumbered columns, as the writer computes them."""
    episodes = table.column("episode_index").to_numpy()
    out: dict[int, dict[str, Stats]] = {}
    for episode in np.unique(episodes):
        rows = episodes == episode
        out[int(episode)] = {
            name: vector_stats(table.column(name).to_numpy()[rows], True)
            for name in RENUMBERED
            if name in table.column_names
        }
    return out


def _place(source: Path, target: Path, move: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if move:
        try:
            os.rename(source, target)
            return
        except OSError:
            pass  # another filesystem: copied below (the staging is removed by its owner)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _write_table(table: pa.Table, path: Path, groups: list[int]) -> None:
    """Write ``table`` keeping its row groups (``groups``: their sizes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, table.schema) as writer:
        start = 0
        for size in groups:
            writer.write_table(table.slice(start, size), row_group_size=max(1, size))
            start += size


def _read_groups(path: Path) -> tuple[pa.Table, list[int]]:
    handle = pq.ParquetFile(path)
    groups = [handle.metadata.row_group(i).num_rows for i in range(handle.num_row_groups)]
    return handle.read(), groups


def _without_quantiles(stats: dict[str, Stats]) -> dict[str, Stats]:
    return {k: {n: v for n, v in s.items() if n not in QUANTILE_KEYS} for k, s in stats.items()}


# -- v2.1 -------------------------------------------------------------------------------------------


def _join_v21(
    shards: list[_Shard], tmp: Path, move: bool, progress: Progress
) -> tuple[list[dict[str, Any]], int]:
    """Data, videos, episodes.jsonl and episodes_stats.jsonl; returns (per-episode index stats, videos)."""
    episodes_out: list[dict[str, Any]] = []
    stats_out: list[dict[str, Any]] = []
    index_stats: list[dict[str, Stats]] = []
    videos = 0
    chunks_size = int(shards[0].info.get("chunks_size") or 1000)
    video_keys = [k for k, ft in shards[0].info["features"].items() if ft.get("dtype") == "video"]
    total = sum(int(s.info.get("total_episodes") or 0) for s in shards)
    for shard in shards:
        rows = sorted(read_jsonl(shard.root / EPISODES_JSONL), key=lambda r: int(r["episode_index"]))
        stats_rows = {
            int(r["episode_index"]): r.get("stats") or {}
            for r in (
                read_jsonl(shard.root / EPISODES_STATS_JSONL)
                if (shard.root / EPISODES_STATS_JSONL).is_file()
                else []
            )
        }
        shard_chunks = int(shard.info.get("chunks_size") or 1000)
        for row in rows:
            old = int(row["episode_index"])
            new = old + shard.episode_offset
            source = shard.root / V21_DATA_PATH.format(episode_chunk=old // shard_chunks, episode_index=old)
            table, groups = _read_groups(source)
            table = _renumber(table, shard)
            _write_table(
                table, tmp / V21_DATA_PATH.format(episode_chunk=new // chunks_size, episode_index=new), groups
            )
            for key in video_keys:
                video = shard.root / V21_VIDEO_PATH.format(
                    episode_chunk=old // shard_chunks, video_key=key, episode_index=old
                )
                if video.is_file():
                    _place(
                        video,
                        tmp
                        / V21_VIDEO_PATH.format(
                            episode_chunk=new // chunks_size, video_key=key, episode_index=new
                        ),
                        move,
                    )
                    videos += 1
            recomputed = _index_stats(table).get(new, {})
            index_stats.append(recomputed)
            stats = dict(stats_rows.get(old, {}))
            for name, value in _without_quantiles(recomputed).items():
                stats[name] = {n: np.asarray(v).tolist() for n, v in value.items()}
            episodes_out.append({**row, "episode_index": new})
            stats_out.append({"episode_index": new, "stats": stats})
            progress.report(len(episodes_out), total, f"episode {new}")
    write_jsonl(tmp / EPISODES_JSONL, episodes_out)
    write_jsonl(tmp / EPISODES_STATS_JSONL, stats_out)
    return index_stats, videos


# -- v3.0 -------------------------------------------------------------------------------------------


def _join_v30(
    shards: list[_Shard], tmp: Path, move: bool, progress: Progress
) -> tuple[list[dict[str, Any]], int]:
    chunks_size = int(shards[0].info.get("chunks_size") or 1000)
    video_keys = [k for k, ft in shards[0].info["features"].items() if ft.get("dtype") == "video"]
    data_at: tuple[int, int] | None = None
    video_at: dict[str, tuple[int, int] | None] = {k: None for k in video_keys}
    tables: list[pa.Table] = []
    index_stats: list[dict[str, Stats]] = []
    videos = 0
    total = sum(int(s.info.get("total_episodes") or 0) for s in shards)
    done = 0
    for shard in shards:
        meta = pa.concat_tables([pq.read_table(p) for p in episode_meta_files(shard.root)])
        meta = meta.sort_by("episode_index")
        columns = meta.to_pydict()
        # data files: the shard's files in order, each under the next free chunk/file numbers
        data_map: dict[tuple[int, int], tuple[int, int]] = {}
        for chunk, file in sorted(
            set(zip(columns["data/chunk_index"], columns["data/file_index"], strict=True))
        ):
            data_at = (0, 0) if data_at is None else next_chunk_file(*data_at, chunks_size)
            data_map[(chunk, file)] = data_at
            table, groups = _read_groups(
                shard.root / V30_DATA_PATH.format(chunk_index=chunk, file_index=file)
            )
            table = _renumber(table, shard)
            _write_table(
                table, tmp / V30_DATA_PATH.format(chunk_index=data_at[0], file_index=data_at[1]), groups
            )
            for _episode, stats in sorted(_index_stats(table).items()):
                index_stats.append(stats)
        video_map: dict[str, dict[tuple[int, int], tuple[int, int]]] = {}
        for key in video_keys:
            video_map[key] = {}
            pairs = zip(
                columns[f"videos/{key}/chunk_index"], columns[f"videos/{key}/file_index"], strict=True
            )
            for chunk, file in sorted(set(pairs)):
                source = shard.root / V30_VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file)
                if not source.is_file():
                    continue  # episodes without frames point at a file that was never made
                at = video_at[key]
                at = (0, 0) if at is None else next_chunk_file(*at, chunks_size)
                video_at[key] = at
                video_map[key][(chunk, file)] = at
                _place(
                    source,
                    tmp / V30_VIDEO_PATH.format(video_key=key, chunk_index=at[0], file_index=at[1]),
                    move,
                )
                videos += 1
        n = meta.num_rows
        new: dict[str, list[Any]] = {
            "episode_index": [int(e) + shard.episode_offset for e in columns["episode_index"]],
            "dataset_from_index": [int(i) + shard.frame_offset for i in columns["dataset_from_index"]],
            "dataset_to_index": [int(i) + shard.frame_offset for i in columns["dataset_to_index"]],
            "meta/episodes/chunk_index": [0] * n,
            "meta/episodes/file_index": [0] * n,
        }
        pairs = [
            data_map[(c, f)]
            for c, f in zip(columns["data/chunk_index"], columns["data/file_index"], strict=True)
        ]
        new["data/chunk_index"] = [p[0] for p in pairs]
        new["data/file_index"] = [p[1] for p in pairs]
        for key in video_keys:
            old = zip(columns[f"videos/{key}/chunk_index"], columns[f"videos/{key}/file_index"], strict=True)
            at = [video_map[key].get((c, f), (c, f)) for c, f in old]
            new[f"videos/{key}/chunk_index"] = [p[0] for p in at]
            new[f"videos/{key}/file_index"] = [p[1] for p in at]
        for name, values in new.items():
            if name in meta.column_names:
                kind = meta.schema.field(name)
                meta = meta.set_column(meta.column_names.index(name), kind, pa.array(values, kind.type))
        tables.append(meta)
        done += n
        progress.report(done, total, f"episode {done - 1}")
    meta = pa.concat_tables(tables)
    # the renumbered columns' per-episode stats
    for name in RENUMBERED:
        for stat in ("min", "max", "mean", "std", "count", *QUANTILE_KEYS):
            column = f"stats/{name}/{stat}"
            if column not in meta.column_names:
                continue
            kind = meta.schema.field(column)
            values = [np.asarray(s[name][stat]).tolist() for s in index_stats]
            meta = meta.set_column(meta.column_names.index(column), kind, pa.array(values, kind.type))
    path = tmp / EPISODES_META_PATH.format(chunk_index=0, file_index=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(meta, path)
    return index_stats, videos


def _write_tasks(shards: list[_Shard], merged: dict[str, int], tmp: Path, version: str) -> None:
    if version == V21:
        write_jsonl(tmp / TASKS_JSONL, [{"task_index": i, "task": t} for t, i in merged.items()])
        return
    first = pq.read_table(shards[0].root / TASKS_PARQUET)
    columns = {}
    for name in first.column_names:
        kind = first.schema.field(name).type
        if name == "task_index":
            columns[name] = pa.array(list(merged.values()), kind)
        else:  # the task text (a column, or pandas' index)
            columns[name] = pa.array(list(merged), kind)
    table = pa.table(columns, schema=first.schema)
    (tmp / TASKS_PARQUET).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp / TASKS_PARQUET)


def _global_stats(shards: list[_Shard], index_stats: list[dict[str, Stats]]) -> dict[str, Stats]:
    if any("count" not in stats for shard in shards for stats in shard.stats.values()):
        return _copied_stats(shards)
    out: dict[str, Stats] = {}
    for key in shards[0].stats:
        if key in RENUMBERED:
            per_episode = [s[key] for s in index_stats if key in s]
            if per_episode:
                out[key] = aggregate(per_episode)
        else:
            out[key] = aggregate([s.stats[key] for s in shards if key in s.stats])
    return out


def _copied_stats(shards: list[_Shard]) -> dict[str, Stats]:
    """A stats.json without counts (an IDM dataset's: the embodiment's normalization, copied by
    ``idm prepare``) is not the data's own and cannot be aggregated: kept when every input has the same."""
    first = shards[0].stats
    for shard in shards[1:]:
        same = shard.stats.keys() == first.keys() and all(
            shard.stats[k].keys() == first[k].keys()
            and all(np.array_equal(shard.stats[k][s], first[k][s]) for s in first[k])
            for k in first
        )
        if not same:
            raise StudioError(
                f"its {STATS_PATH} has no counts and differs from {shards[0].root.name}'s: it cannot be aggregated",
                shard.root,
                "join datasets that share one stats.json (the same embodiment metadata)",
            )
    return first


# -- provenance -------------------------------------------------------------------------------------


def _flat_provenance(records: list[dict[str, Any]], out: Path) -> dict[str, Any] | None:
    """One conversion's record when every shard was made by the same conversion with the same options
    (but their output and demo selection); else None."""
    if not records or any(r is None for r in records):
        return None

    def key(record: dict[str, Any]) -> Any:
        options = {k: v for k, v in (record.get("options") or {}).items() if k not in ("out", "demos")}
        return record.get("conversion"), options

    if any(key(r) != key(records[0]) for r in records[1:]):
        return None
    result = {k: v for k, v in records[0].items() if k not in ("episodes", "episode_success", "inputs")}
    inputs: list[dict[str, Any]] = []
    where: dict[tuple[str, str], int] = {}
    episodes: list[dict[str, Any]] = []
    success: dict[str, Any] = {}
    demos: dict[str, list[int]] = {}
    offset = 0
    for record in records:
        mapping = []
        for entry in record.get("inputs") or []:
            ident = (str(entry.get("path")), str(entry.get("sha256")))
            if ident not in where:
                where[ident] = len(inputs)
                inputs.append(entry)
            mapping.append(where[ident])
        for episode in record.get("episodes") or []:
            moved = dict(episode)
            moved["output_episode"] = int(episode["output_episode"]) + offset
            moved["input"] = mapping[int(episode.get("input", 0))]
            episodes.append(moved)
            demos.setdefault(str(moved.get("source_path")), []).append(int(moved["source_episode"]))
        for number, flag in (record.get("episode_success") or {}).items():
            success[str(int(number) + offset)] = flag
        offset += len(record.get("episodes") or [])
    result["inputs"] = inputs
    result["episodes"] = episodes
    if success:
        result["episode_success"] = success
    options = dict(result.get("options") or {})
    options["out"] = str(out)
    result["options"] = options
    result["output"] = {**(result.get("output") or {}), "path": str(out)}
    result["joined_shards"] = len(records)
    return result


def _provenance(
    shards: list[_Shard], out: Path, fmt: str, hash_mode: str, record: dict[str, Any] | None
) -> dict[str, Any]:
    if record is not None:
        return record
    records = [prov.read_provenance(s.root) for s in shards]
    flat = _flat_provenance([r for r in records if r is not None], out) if all(records) else None
    if flat is not None:
        return flat
    joined = prov.new_record(
        "join", [(s.root, "shard") for s in shards], {"out": str(out)}, out, fmt, hash_mode
    )
    for number, shard in enumerate(shards):
        for k in range(int(shard.info.get("total_episodes") or 0)):
            prov.add_episode(joined, shard.episode_offset + k, number, k, f"episode_{k}", 0, 0)
    return joined


# -- the join ---------------------------------------------------------------------------------------


def join(
    inputs: list[Path],
    out: Path,
    *,
    overwrite: bool = False,
    move_videos: bool = False,
    record: dict[str, Any] | None = None,
    hash_mode: str = "auto",
    progress: Progress | None = None,
) -> JoinSummary:
    """Join the LeRobot datasets ``inputs`` (in this order) into ``out``; see the module text."""
    progress = ensure_progress(progress)
    if not inputs:
        raise StudioError("no datasets to join", hint="give two or more LeRobot dataset folders")
    out = Path(out).absolute()
    shards = [_read_shard(Path(p)) for p in inputs]
    _check_same(shards)
    version = str(shards[0].info["codebase_version"])
    merged = _merge_tasks(shards)
    episodes = frames = 0
    for shard in shards:
        shard.episode_offset, shard.frame_offset = episodes, frames
        episodes += int(shard.info.get("total_episodes") or 0)
        frames += int(shard.info.get("total_frames") or 0)
    fmt = "lerobot_v2.1" if version == V21 else "lerobot_v3.0"
    summary = JoinSummary(str(out), fmt, episodes, frames, len(merged), 0, len(shards))
    with atomic_dir(out, overwrite=overwrite, inputs=[s.root for s in shards]) as tmp:
        if version == V21:
            index_stats, summary.videos = _join_v21(shards, tmp, move_videos, progress)
        else:
            index_stats, summary.videos = _join_v30(shards, tmp, move_videos, progress)
        if len(index_stats) != episodes:
            raise FormatError(
                f"the shards list {episodes} episodes but their data holds {len(index_stats)}", shards[0].root
            )
        _write_tasks(shards, merged, tmp, version)
        write_json(tmp / STATS_PATH, to_json(_global_stats(shards, index_stats)))
        modality = shards[0].root / MODALITY_PATH
        if modality.is_file():
            shutil.copy2(modality, tmp / MODALITY_PATH)
        joined = _provenance(shards, out, fmt, hash_mode, record)
        joined = {**joined, "written_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        write_json(tmp / PROVENANCE_PATH, joined)
        info = dict(shards[0].info)
        info.update(total_episodes=episodes, total_frames=frames, total_tasks=len(merged))
        info["splits"] = {"train": f"0:{episodes}"}
        if version == V21:
            info["total_videos"] = summary.videos
            info["total_chunks"] = total_chunks(episodes, int(info.get("chunks_size") or 1000))
        write_json(tmp / INFO_PATH, info)
    with contextlib.suppress(Exception):
        progress.report(episodes, episodes, "joined")
    return summary

"""Fault injectors for measuring dataset checkers (``rollout-studio validate`` and its peers).

Plain functions, no pytest: ``benchmarks/doctor_peers.py`` imports them too. Each injector takes a
COPY of a dataset (make one with ``copy_dataset``; an injector refuses a path under
``../shared``) and injects exactly ONE fault, in place, returning a ``Fault`` record that says what
changed (file, episode, frame, joint, value before and after) so a test can check it.

Faults (``LEROBOT_FAULTS``; the same names on a LeIsaac HDF5 and a Cosmos output folder, where
they apply, see ``HDF5_FAULTS`` and ``COSMOS_FAULTS``):

- ``identical_cameras``: one camera's videos copied over another's (Cosmos: one clip over another).
- ``frozen_camera``: one camera's video re-encoded with every frame equal to its first frame.
- ``fps_doubled``: ``fps`` in meta/info.json doubled (Cosmos: one clip re-timed at twice its rate).
- ``nan_action``: one action value NaN (one episode, one frame, one joint).
- ``action_spike``: one joint of the action jumps by +90 (LeRobot units) / +90 degrees (HDF5,
  radians) for one frame.
- ``idle_episode``: every action and state row of one episode equal to its first row.
- ``stats_10x``: meta/stats.json of ``action`` and ``observation.state`` multiplied by 10.
- ``index_gap``: ``frame_index`` of one episode skips one value (HDF5: a demo number skipped).

The faults that change data rows (NaN, spike, idle, index gap) recompute the stored stats of what
they changed (tests/fault_stats.py), as the writer that recorded such data would have: stale stats
would give the fault away to a stats check instead of the check meant for it (``restat=False``
keeps them stale).
- ``short_video``: the last frames of one episode's video dropped (fewer frames than rows).

LeRobot v3.0 and v2.1 folders are both handled (paths come from ``meta/info.json``'s templates).
Videos are re-encoded with PyAV, keeping the time base, every frame's pts and the keyframe
positions (x264 without B-frames; lossless for a frozen camera, so its frames decode exactly equal).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fault_stats import restat as _restat

LEROBOT_FAULTS = (
    "identical_cameras",
    "frozen_camera",
    "fps_doubled",
    "nan_action",
    "action_spike",
    "idle_episode",
    "stats_10x",
    "index_gap",
    "short_video",
)
# An HDF5 recording has no fps and no stats: those two faults do not apply.
HDF5_FAULTS = tuple(f for f in LEROBOT_FAULTS if f not in ("fps_doubled", "stats_10x"))
# A Cosmos output folder holds clips and their sample json only: no actions, stats or indices.
COSMOS_FAULTS = ("identical_cameras", "frozen_camera", "fps_doubled", "short_video")

SPIKE = 90.0  # LeRobot units (or degrees) added to one joint for one frame
SHORT_BY = 5  # frames dropped from the end of one episode's video
VECTOR_KEYS = ("action", "observation.state")
_SHARED = Path(__file__).resolve().parents[2] / "shared"


@dataclass
class Fault:
    """What an injector changed."""

    name: str
    path: Path  # the dataset (folder or file)
    files: list[Path] = field(default_factory=list)  # files rewritten
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fault": self.name,
            "files": [str(f.relative_to(self.path)) if f != self.path else f.name for f in self.files],
            **{k: _plain(v) for k, v in self.details.items()},
        }


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


# -- copies ------------------------------------------------------------------------------------------


def shared_roots() -> list[Path]:
    """Where the real datasets are: ../shared, and ROLLOUT_SHARED_DATA where the tests read them."""
    roots = [_SHARED]
    if os.environ.get("ROLLOUT_SHARED_DATA"):
        roots.append(Path(os.environ["ROLLOUT_SHARED_DATA"]))
    return roots


def _refuse_shared(path: Path) -> None:
    resolved = Path(path).resolve()
    for root in shared_roots():
        if resolved == root.resolve() or resolved.is_relative_to(root.resolve()):
            raise ValueError(f"{path}: refusing to inject a fault under ../shared (copy it first)")


def copy_dataset(source: str | Path, target: str | Path) -> Path:
    """Copy a dataset folder or file to ``target`` (must not exist, must not lie inside ``source``)."""
    source, target = Path(source).resolve(), Path(target).resolve()
    if target.exists():
        raise FileExistsError(target)
    if target == source or target.is_relative_to(source) or source.is_relative_to(target):
        raise ValueError(f"{target}: a copy must not overlap its source {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=False)
    else:
        shutil.copy2(source, target)
    return target


# -- LeRobot layout -------------------------------------------------------------------------------


def read_info(root: Path) -> dict[str, Any]:
    return json.loads((Path(root) / "meta" / "info.json").read_text(encoding="utf-8"))


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.fault-tmp")
    tmp.write_text(json.dumps(value, indent=4, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def camera_keys(info: dict[str, Any]) -> list[str]:
    return [key for key, feat in info["features"].items() if feat.get("dtype") == "video"]


def _template_glob(root: Path, template: str, **known: str) -> list[Path]:
    pattern = template
    for key, value in known.items():
        pattern = pattern.replace("{" + key + "}", value)
    pattern = re.sub(r"\{[^}]*\}", "*", pattern)
    return sorted(p for p in root.glob(pattern) if p.is_file())


def data_files(root: Path) -> list[Path]:
    return _template_glob(Path(root), read_info(root)["data_path"])


def video_files(root: Path, key: str) -> list[Path]:
    """The mp4 files of camera feature ``key``, in path order (v2.1: one per episode)."""
    return _template_glob(Path(root), read_info(root)["video_path"], video_key=key)


def episodes(root: Path) -> list[dict[str, Any]]:
    """Episode rows: v2.1 from meta/episodes.jsonl, v3.0 from meta/episodes/**.parquet."""
    root = Path(root)
    jsonl = root / "meta" / "episodes.jsonl"
    if jsonl.is_file():
        return [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows: list[dict[str, Any]] = []
    for path in sorted((root / "meta" / "episodes").rglob("*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return sorted(rows, key=lambda r: r["episode_index"])


def _last_episode(root: Path) -> int:
    return int(episodes(root)[-1]["episode_index"])


def _episode_data_file(root: Path, episode: int) -> Path:
    for path in data_files(root):
        column = pq.read_table(path, columns=["episode_index"]).column("episode_index").to_numpy()
        if (column == episode).any():
            return path
    raise ValueError(f"{root}: no data rows for episode {episode}")


def read_vectors(path: Path, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(values (N, D) float, episode_index (N,)) of a fixed-size-list column in a data parquet."""
    table = pq.read_table(path, columns=[key, "episode_index"])
    column = table.column(key).combine_chunks()
    width = column.type.list_size if pa.types.is_fixed_size_list(column.type) else None
    flat = column.flatten().to_numpy(zero_copy_only=False)
    values = flat.reshape(len(column), width if width else -1)
    return values.copy(), table.column("episode_index").to_numpy()


def _vector_array(values: np.ndarray, like: pa.DataType) -> pa.Array:
    flat = pa.array(values.reshape(-1), type=like.value_type)
    if pa.types.is_fixed_size_list(like):
        return pa.FixedSizeListArray.from_arrays(flat, values.shape[1]).cast(like)
    offsets = pa.array(np.arange(0, values.size + 1, values.shape[1], dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, flat).cast(like)


def _rewrite_parquet(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    """Replace ``path`` by ``change(table)`` with the same schema (and its metadata)."""
    table = pq.read_table(path)
    changed = change(table).cast(table.schema)
    tmp = path.with_name(f".{path.name}.fault-tmp")
    pq.write_table(changed, tmp)
    os.replace(tmp, path)


def _set_column(table: pa.Table, key: str, array: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(key), table.schema.field(key), array)


def _change_vectors(path: Path, key: str, change: Callable[[np.ndarray, np.ndarray], None]) -> None:
    """Edit column ``key`` of data parquet ``path`` in numpy: ``change(values, episode_index)`` in place."""

    def edit(table: pa.Table) -> pa.Table:
        column = table.column(key).combine_chunks()
        width = column.type.list_size if pa.types.is_fixed_size_list(column.type) else None
        values = column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), width or -1).copy()
        change(values, table.column("episode_index").to_numpy())
        return _set_column(table, key, _vector_array(values, column.type))

    _rewrite_parquet(path, edit)


def _rows(episode_index: np.ndarray, episode: int) -> np.ndarray:
    rows = np.flatnonzero(episode_index == episode)
    if not len(rows):
        raise ValueError(f"no rows for episode {episode}")
    return rows


# -- video re-encoding ----------------------------------------------------------------------------

_ENCODERS = {"h264": "libx264", "hevc": "libx265", "av1": "libsvtav1"}


@dataclass
class _Decoded:
    frames: list[np.ndarray]  # yuv420p planes as PyAV's to_ndarray gives them
    pts: list[int]
    keyframes: list[bool]
    time_base: Fraction
    rate: Fraction
    width: int
    height: int
    codec: str


def _decode(path: Path) -> _Decoded:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, pts, keys = [], [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="yuv420p"))
            pts.append(int(frame.pts))
            keys.append(bool(frame.key_frame))
        return _Decoded(
            frames,
            pts,
            keys,
            stream.time_base,
            Fraction(stream.average_rate or 30),
            stream.codec_context.width,
            stream.codec_context.height,
            stream.codec_context.name,
        )


def _encode(path: Path, video: _Decoded, rate: Fraction | None = None, lossless: bool = False) -> None:
    """Write ``video`` to ``path`` (replaced at the end): same codec, time base, pts and keyframes.

    With ``rate`` the frames are re-timed at that rate (pts = i in a 1/rate time base). ``lossless``
    (x264 only): every decoded frame equals its input exactly (qp 0), so equal inputs decode equal."""
    tmp = path.with_name(f".{path.stem}.fault-tmp.mp4")
    codec = _ENCODERS.get(video.codec, video.codec)
    if lossless and codec != "libx264":
        codec = "libx264"
    options = {"qp": "0" if lossless else "18", "bf": "0"} if codec == "libx264" else {}
    with av.open(str(tmp), "w", format="mp4") as out:
        stream = out.add_stream(codec, rate=rate or video.rate, options=options)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.codec_context.gop_size = max(1, len(video.frames))  # keyframes only where asked
        time_base = Fraction(1, int(rate)) if rate else video.time_base  # the muxer may change stream's
        stream.time_base = stream.codec_context.time_base = time_base
        for i, (image, pts, key) in enumerate(zip(video.frames, video.pts, video.keyframes, strict=True)):
            frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
            frame.pts = i if rate else pts
            frame.time_base = time_base
            frame.pict_type = av.video.frame.PictureType.I if key else av.video.frame.PictureType.NONE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    os.replace(tmp, path)


def decode_rgb(path: str | Path) -> list[np.ndarray]:
    """Every frame of the first video stream of ``path`` as RGB arrays (for tests)."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]


def video_rate(path: str | Path) -> Fraction:
    with av.open(str(path)) as container:
        return Fraction(container.streams.video[0].average_rate)


def freeze_video(path: Path) -> int:
    """Re-encode ``path`` with every frame equal to its first; returns the frame count."""
    video = _decode(path)
    video.frames = [video.frames[0]] * len(video.frames)
    _encode(path, video, lossless=True)
    return len(video.frames)


def shorten_video(path: Path, drop: int) -> tuple[int, int]:
    """Re-encode ``path`` without its last ``drop`` frames; returns (frames before, after)."""
    video = _decode(path)
    before = len(video.frames)
    if drop <= 0 or drop >= before:
        raise ValueError(f"{path}: cannot drop {drop} of {before} frames")
    video.frames, video.pts, video.keyframes = (
        video.frames[:-drop],
        video.pts[:-drop],
        video.keyframes[:-drop],
    )
    _encode(path, video)
    return before, before - drop


def retime_video(path: Path, factor: int = 2) -> tuple[Fraction, Fraction]:
    """Re-encode ``path`` with the same frames at ``factor`` times its rate; returns (old, new) rate."""
    video = _decode(path)
    new = video.rate * factor
    _encode(path, video, rate=new)
    return video.rate, new


# -- LeRobot injectors ----------------------------------------------------------------------------


def _lerobot(root: str | Path) -> Path:
    root = Path(root)
    _refuse_shared(root)
    if not (root / "meta" / "info.json").is_file():
        raise ValueError(f"{root}: not a LeRobot dataset (no meta/info.json)")
    return root


def _two_cameras(info: dict[str, Any], source: str | None, target: str | None) -> tuple[str, str]:
    keys = camera_keys(info)
    if len(keys) < 2 and (source is None or target is None):
        raise ValueError("identical_cameras needs two cameras")
    return source or keys[0], target or keys[1]


def lerobot_identical_cameras(
    root: str | Path, source: str | None = None, target: str | None = None
) -> Fault:
    """Copy camera ``source``'s mp4 files over camera ``target``'s (default: first over second)."""
    root = _lerobot(root)
    source, target = _two_cameras(read_info(root), source, target)
    sources, targets = video_files(root, source), video_files(root, target)
    if len(sources) != len(targets):
        raise ValueError(f"{source}: {len(sources)} files, {target}: {len(targets)}")
    for src, dst in zip(sources, targets, strict=True):
        if src.name != dst.name:
            raise ValueError(f"cannot pair {src} with {dst}")
        shutil.copyfile(src, dst)
    return Fault("identical_cameras", root, targets, {"source": source, "target": target})


def lerobot_frozen_camera(root: str | Path, camera: str | None = None) -> Fault:
    """Re-encode every mp4 of ``camera`` (default: the first) with all frames equal to the file's first."""
    root = _lerobot(root)
    camera = camera or camera_keys(read_info(root))[0]
    files = video_files(root, camera)
    counts = [freeze_video(path) for path in files]
    return Fault("frozen_camera", root, files, {"camera": camera, "frames": counts})


def lerobot_fps_doubled(root: str | Path) -> Fault:
    root = _lerobot(root)
    path = root / "meta" / "info.json"
    info = read_info(root)
    before = info["fps"]
    info["fps"] = before * 2
    _write_json(path, info)
    return Fault("fps_doubled", root, [path], {"before": before, "after": info["fps"]})


def _pick(root: Path, episode: int | None, frame: int | None) -> tuple[int, int]:
    rows = {int(r["episode_index"]): int(r["length"]) for r in episodes(root)}
    episode = max(rows) if episode is None else episode
    frame = rows[episode] // 2 if frame is None else frame
    return episode, frame


def _keep_stats(root: Path, fault: Fault, keys: list[str], episode: int, restat: bool) -> Fault:
    """Stats consistent with the changed data (as a real writer leaves them), unless not ``restat``."""
    fault.details["stats"] = "recomputed" if restat else "stale"
    if restat:
        fault.files += [p for p in _restat(root, keys, [episode], data_files(root)) if p not in fault.files]
    return fault


def _change_one_value(
    root: Path,
    name: str,
    episode: int | None,
    frame: int | None,
    joint: int,
    new: Callable[[float], float],
    restat: bool,
) -> Fault:
    episode, frame = _pick(root, episode, frame)
    path = _episode_data_file(root, episode)
    seen: dict[str, float] = {}

    def change(values: np.ndarray, episode_index: np.ndarray) -> None:
        row = _rows(episode_index, episode)[frame]
        seen["before"] = float(values[row, joint])
        values[row, joint] = new(values[row, joint])
        seen["after"] = float(values[row, joint])
        seen["row"] = int(row)

    _change_vectors(path, "action", change)
    details = {"episode": episode, "frame": frame, "joint": joint, **seen}
    return _keep_stats(root, Fault(name, root, [path], details), ["action"], episode, restat)


def lerobot_nan_action(
    root: str | Path,
    episode: int | None = None,
    frame: int | None = None,
    joint: int = 2,
    restat: bool = True,
) -> Fault:
    """One action value NaN (default: last episode, middle frame, elbow_flex); stats recomputed (NaN)."""
    return _change_one_value(_lerobot(root), "nan_action", episode, frame, joint, lambda v: np.nan, restat)


def lerobot_action_spike(
    root: str | Path,
    episode: int | None = None,
    frame: int | None = None,
    joint: int = 1,
    spike: float = SPIKE,
    restat: bool = True,
) -> Fault:
    """One joint of one action row + ``spike`` (default +90 on shoulder_lift, last episode, middle frame)."""
    return _change_one_value(
        _lerobot(root), "action_spike", episode, frame, joint, lambda v: v + spike, restat
    )


def lerobot_idle_episode(root: str | Path, episode: int | None = None, restat: bool = True) -> Fault:
    """Every action and observation.state row of ``episode`` (default: the last) equal to its first row."""
    root = _lerobot(root)
    episode, _ = _pick(root, episode, 0)
    path = _episode_data_file(root, episode)
    keys = [k for k in VECTOR_KEYS if k in read_info(root)["features"]]

    def change(values: np.ndarray, episode_index: np.ndarray) -> None:
        rows = _rows(episode_index, episode)
        values[rows] = values[rows[0]]

    for key in keys:
        _change_vectors(path, key, change)
    fault = Fault("idle_episode", root, [path], {"episode": episode, "keys": keys})
    return _keep_stats(root, fault, keys, episode, restat)


def lerobot_stats_10x(root: str | Path, factor: float = 10.0) -> Fault:
    """Every statistic but count of action and observation.state (meta/stats.json) times ``factor``."""
    root = _lerobot(root)
    path = root / "meta" / "stats.json"
    stats = json.loads(path.read_text(encoding="utf-8"))
    changed = []
    for key in VECTOR_KEYS:
        for stat, value in stats.get(key, {}).items():
            if stat != "count":
                stats[key][stat] = (np.asarray(value, dtype=np.float64) * factor).tolist()
                changed.append(f"{key}/{stat}")
    if not changed:
        raise ValueError(f"{path}: no action or observation.state statistics")
    _write_json(path, stats)
    return Fault("stats_10x", root, [path], {"factor": factor, "changed": changed})


def lerobot_index_gap(
    root: str | Path, episode: int | None = None, frame: int | None = None, restat: bool = True
) -> Fault:
    """``frame_index`` of ``episode`` (default: the last) skips one value at ``frame`` (default: middle)."""
    root = _lerobot(root)
    episode, frame = _pick(root, episode, frame)
    path = _episode_data_file(root, episode)

    def edit(table: pa.Table) -> pa.Table:
        index = table.column("frame_index").to_numpy().copy()
        rows = _rows(table.column("episode_index").to_numpy(), episode)
        index[rows[frame:]] += 1
        return _set_column(table, "frame_index", pa.array(index, type=table.schema.field("frame_index").type))

    _rewrite_parquet(path, edit)
    fault = Fault("index_gap", root, [path], {"episode": episode, "frame": frame, "column": "frame_index"})
    return _keep_stats(root, fault, ["frame_index"], episode, restat)


def lerobot_short_video(root: str | Path, camera: str | None = None, drop: int = SHORT_BY) -> Fault:
    """Drop the last ``drop`` frames of the last episode's video of ``camera`` (default: the first camera).

    v3.0: the last episode of the camera's last file (the frames of other episodes stay where they are);
    v2.1: that episode's own file."""
    root = _lerobot(root)
    camera = camera or camera_keys(read_info(root))[0]
    path = video_files(root, camera)[-1]
    before, after = shorten_video(path, drop)
    return Fault(
        "short_video",
        root,
        [path],
        {
            "camera": camera,
            "episode": _last_episode(root),
            "frames_before": before,
            "frames_after": after,
        },
    )


LEROBOT_INJECTORS: dict[str, Callable[..., Fault]] = {
    "identical_cameras": lerobot_identical_cameras,
    "frozen_camera": lerobot_frozen_camera,
    "fps_doubled": lerobot_fps_doubled,
    "nan_action": lerobot_nan_action,
    "action_spike": lerobot_action_spike,
    "idle_episode": lerobot_idle_episode,
    "stats_10x": lerobot_stats_10x,
    "index_gap": lerobot_index_gap,
    "short_video": lerobot_short_video,
}


# -- LeIsaac HDF5 injectors -----------------------------------------------------------------------


def _demo_names(data: h5py.Group) -> list[str]:
    return sorted((n for n in data if n.startswith("demo_")), key=lambda n: int(n.split("_")[1]))


def _hdf5(path: str | Path) -> Path:
    path = Path(path)
    _refuse_shared(path)
    if not path.is_file():
        raise ValueError(f"{path}: not an HDF5 file")
    return path


def _pick_demo(data: h5py.Group, demo: str | None) -> str:
    return demo or _demo_names(data)[-1]


def hdf5_cameras(demo: h5py.Group) -> list[str]:
    obs = demo["obs"]
    return [k for k in obs if isinstance(obs[k], h5py.Dataset) and obs[k].ndim == 4 and obs[k].shape[-1] == 3]


def _replace_dataset(group: h5py.Group, name: str, data: np.ndarray) -> None:
    """Replace ``group[name]`` by ``data`` (new shape allowed), keeping dtype, compression and attrs."""
    old = group[name]
    if old.maxshape[0] is None and old.shape[1:] == data.shape[1:]:
        old.resize(data.shape[0], axis=0)
        old[...] = data
        return
    attrs = dict(old.attrs)
    kwargs = {
        "compression": old.compression,
        "chunks": old.chunks and (min(old.chunks[0], len(data)), *old.chunks[1:]),
    }
    del group[name]
    new = group.create_dataset(name, data=data.astype(old.dtype, copy=False), **kwargs)
    new.attrs.update(attrs)


def hdf5_identical_cameras(path: str | Path, source: str | None = None, target: str | None = None) -> Fault:
    """``obs/<source>`` copied over ``obs/<target>`` in every demo (default: first camera over second)."""
    path = _hdf5(path)
    with h5py.File(path, "r+") as f:
        names = _demo_names(f["data"])
        cams = hdf5_cameras(f["data"][names[0]])
        if len(cams) < 2 and (source is None or target is None):
            raise ValueError(f"{path}: identical_cameras needs two cameras")
        source, target = source or cams[0], target or cams[1]
        for name in names:
            obs = f["data"][name]["obs"]
            obs[target][...] = obs[source][...]
    return Fault("identical_cameras", path, [path], {"source": source, "target": target, "demos": names})


def hdf5_frozen_camera(path: str | Path, camera: str | None = None) -> Fault:
    """Every frame of ``obs/<camera>`` equal to the demo's first, in every demo."""
    path = _hdf5(path)
    with h5py.File(path, "r+") as f:
        names = _demo_names(f["data"])
        camera = camera or hdf5_cameras(f["data"][names[0]])[0]
        for name in names:
            images = f["data"][name]["obs"][camera]
            first = images[0]
            step = images.chunks[0] if images.chunks else 64
            for start in range(0, images.shape[0], step):
                stop = min(start + step, images.shape[0])
                images[start:stop] = np.broadcast_to(first, (stop - start, *first.shape))
    return Fault("frozen_camera", path, [path], {"camera": camera, "demos": names})


def _hdf5_one_value(
    path: Path, name: str, demo: str | None, frame: int | None, joint: int, new: Callable[[float], float]
) -> Fault:
    with h5py.File(path, "r+") as f:
        demo = _pick_demo(f["data"], demo)
        actions = f["data"][demo]["actions"]
        frame = actions.shape[0] // 2 if frame is None else frame
        before = float(actions[frame, joint])
        row = actions[frame]
        row[joint] = new(before)
        actions[frame] = row
        after = float(actions[frame, joint])
    details = {"demo": demo, "frame": frame, "joint": joint, "before": before, "after": after}
    return Fault(name, path, [path], details)


def hdf5_nan_action(
    path: str | Path, demo: str | None = None, frame: int | None = None, joint: int = 2
) -> Fault:
    """``actions[frame, joint]`` of ``demo`` (default: the last demo, middle frame) set to NaN."""
    return _hdf5_one_value(_hdf5(path), "nan_action", demo, frame, joint, lambda v: np.nan)


def hdf5_action_spike(
    path: str | Path,
    demo: str | None = None,
    frame: int | None = None,
    joint: int = 1,
    spike_degrees: float = SPIKE,
) -> Fault:
    """``actions[frame, joint]`` + 90 degrees (in radians, the file's unit) for one frame."""
    rad = math.radians(spike_degrees)
    return _hdf5_one_value(_hdf5(path), "action_spike", demo, frame, joint, lambda v: v + rad)


def _is_motion(name: str) -> bool:
    leaf = name.rsplit("/", 1)[-1]
    return "action" in leaf or leaf in ("joint_pos", "joint_pos_target", "joint_pos_rel", "joint_position")


def _is_velocity(name: str) -> bool:
    leaf = name.rsplit("/", 1)[-1]
    return leaf in ("joint_vel", "joint_vel_rel", "joint_velocity")


def hdf5_idle_episode(path: str | Path, demo: str | None = None) -> Fault:
    """Every action / joint-position row of ``demo`` (default: the last) equal to its first row, velocities 0.

    ``initial_state`` is left as it is."""
    path = _hdf5(path)
    changed: list[str] = []
    with h5py.File(path, "r+") as f:
        demo = _pick_demo(f["data"], demo)
        group = f["data"][demo]

        def visit(name: str, item: Any) -> None:
            if not isinstance(item, h5py.Dataset) or item.ndim != 2 or name.startswith("initial_state"):
                return
            if _is_motion(name):
                item[...] = np.broadcast_to(item[0], item.shape)
            elif _is_velocity(name):
                item[...] = 0
            else:
                return
            changed.append(name)

        group.visititems(visit)
    return Fault("idle_episode", path, [path], {"demo": demo, "datasets": sorted(changed)})


def hdf5_index_gap(path: str | Path) -> Fault:
    """The last demo renamed one number up: ``demo_0 .. demo_4, demo_6`` (demo_5 missing)."""
    path = _hdf5(path)
    with h5py.File(path, "r+") as f:
        last = _demo_names(f["data"])[-1]
        new = f"demo_{int(last.split('_')[1]) + 2}"
        f["data"].move(last, new)
    return Fault("index_gap", path, [path], {"before": last, "after": new})


def hdf5_short_video(
    path: str | Path, demo: str | None = None, camera: str | None = None, drop: int = SHORT_BY
) -> Fault:
    """``obs/<camera>`` of ``demo`` (default: last demo, first camera) without its last ``drop`` frames."""
    path = _hdf5(path)
    with h5py.File(path, "r+") as f:
        demo = _pick_demo(f["data"], demo)
        obs = f["data"][demo]["obs"]
        camera = camera or hdf5_cameras(f["data"][demo])[0]
        before = obs[camera].shape[0]
        _replace_dataset(obs, camera, obs[camera][: before - drop])
        after = obs[camera].shape[0]
    details = {"demo": demo, "camera": camera, "frames_before": before, "frames_after": after}
    return Fault("short_video", path, [path], details)


HDF5_INJECTORS: dict[str, Callable[..., Fault]] = {
    "identical_cameras": hdf5_identical_cameras,
    "frozen_camera": hdf5_frozen_camera,
    "nan_action": hdf5_nan_action,
    "action_spike": hdf5_action_spike,
    "idle_episode": hdf5_idle_episode,
    "index_gap": hdf5_index_gap,
    "short_video": hdf5_short_video,
}


# -- Cosmos output folder injectors ---------------------------------------------------------------


def cosmos_clips(root: str | Path) -> list[Path]:
    return sorted(
        Path(root).glob("*.mp4"),
        key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.stem)],
    )


def _cosmos(root: str | Path, need: int = 1) -> tuple[Path, list[Path]]:
    root = Path(root)
    _refuse_shared(root)
    clips = cosmos_clips(root)
    if len(clips) < need:
        raise ValueError(f"{root}: {len(clips)} clips, need {need}")
    return root, clips


def cosmos_identical_cameras(root: str | Path) -> Fault:
    """The first clip copied over the second (two samples showing the same video)."""
    root, clips = _cosmos(root, 2)
    shutil.copyfile(clips[0], clips[1])
    return Fault("identical_cameras", root, [clips[1]], {"source": clips[0].name, "target": clips[1].name})


def cosmos_frozen_camera(root: str | Path) -> Fault:
    """The last clip re-encoded with every frame equal to its first."""
    root, clips = _cosmos(root)
    frames = freeze_video(clips[-1])
    return Fault("frozen_camera", root, [clips[-1]], {"clip": clips[-1].name, "frames": frames})


def cosmos_fps_doubled(root: str | Path) -> Fault:
    """The last clip re-timed at twice its rate (32 fps for Cosmos' 16), same frames."""
    root, clips = _cosmos(root)
    before, after = retime_video(clips[-1], 2)
    return Fault(
        "fps_doubled", root, [clips[-1]], {"clip": clips[-1].name, "before": str(before), "after": str(after)}
    )


def cosmos_short_video(root: str | Path, drop: int = SHORT_BY) -> Fault:
    """The last clip without its last ``drop`` frames (its json still says ``num_output_frames``)."""
    root, clips = _cosmos(root)
    before, after = shorten_video(clips[-1], drop)
    return Fault(
        "short_video",
        root,
        [clips[-1]],
        {"clip": clips[-1].name, "frames_before": before, "frames_after": after},
    )


COSMOS_INJECTORS: dict[str, Callable[..., Fault]] = {
    "identical_cameras": cosmos_identical_cameras,
    "frozen_camera": cosmos_frozen_camera,
    "fps_doubled": cosmos_fps_doubled,
    "short_video": cosmos_short_video,
}


def inject(kind: str, fault: str, path: str | Path) -> Fault:
    """Inject ``fault`` into the dataset copy ``path`` of ``kind`` "lerobot" | "hdf5" | "cosmos"."""
    table = {"lerobot": LEROBOT_INJECTORS, "hdf5": HDF5_INJECTORS, "cosmos": COSMOS_INJECTORS}[kind]
    if fault not in table:
        raise ValueError(f"fault {fault!r} does not apply to {kind}")
    return table[fault](path)

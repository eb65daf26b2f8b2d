"""A summary of any dataset: what `rollout-studio inspect` prints.

A LeIsaac HDF5 file is opened by its own reader alone (no other format module is imported), which
reads each demo's attributes and its action length in one low-level pass and no array.
A LeRobot folder is summarised from its metadata alone (``lerobot.episode_list.read_meta``: info.json,
stats, tasks and the episode list as columns), without opening the dataset: a 10,000-episode v3.0
dataset is listed in well under a second, interpreter start-up included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.model import Dataset, Feature


def summarize(dataset: Dataset) -> dict[str, Any]:
    episodes = [(e.index, e.length, e.task, e.success, e.source) for e in dataset.episodes]
    return _summary(
        dataset.path, dataset.format.value, dataset.fps, dataset.robot_type, dataset.features,
        dataset.roles, dataset.cameras, dataset.tasks, episodes,
    )


def _summary(
    path: Path,
    fmt: str,
    fps: float,
    robot_type: str,
    features: dict[str, Feature],
    roles: dict[str, str],
    camera_keys: dict[str, str],
    tasks: list[str],
    episodes: list[tuple[int, int, str | None, bool | None, str | None]],
) -> dict[str, Any]:
    cameras: dict[str, Any] = {}
    for name, key in camera_keys.items():
        video = features[key].video
        cameras[name] = {
            "key": key,
            "codec": video.codec if video else None,
            "width": video.width if video else None,
            "height": video.height if video else None,
            "fps": video.fps if video else fps,
        }
    joints: dict[str, Any] = {}
    for role, key in roles.items():
        feature = features.get(key)
        if feature is None:
            continue
        joints[role] = {
            "key": key,
            "names": list(feature.space.names) if feature.space else list(feature.names or []),
            "unit": feature.space.unit.value if feature.space else "other",
        }
    return {
        "path": str(path),
        "format": fmt,
        "fps": fps,
        "robot_type": robot_type,
        "num_episodes": len(episodes),
        "num_frames": sum(e[1] for e in episodes),
        "cameras": cameras,
        "tasks": list(tasks),
        "joints": joints,
        "features": {
            key: {"kind": f.kind.value, "dtype": f.dtype, "shape": list(f.shape), "has_files": f.has_files}
            for key, f in features.items()
        },
        "episodes": [
            {"index": index, "length": length, "task": task, "success": success, "source": source}
            for index, length, task, success, source in episodes
        ],
    }


def _summarize_lerobot(path: Path) -> dict[str, Any]:
    from backend.formats.lerobot.episode_list import read_meta

    meta = read_meta(path)
    listed = meta.episodes
    episodes = list(zip(listed.index.tolist(), listed.length.tolist(), listed.task, listed.success,
                        listed.source, strict=True))
    return _summary(
        meta.root, meta.format.value, float(meta.info["fps"]), str(meta.info.get("robot_type") or ""),
        meta.features, meta.roles, meta.cameras, meta.tasks, episodes,
    )


def inspect_path(path: str | Path) -> dict[str, Any]:
    folder = Path(path)
    if (folder / "meta" / "info.json").is_file():  # LeRobot: its metadata alone (no other format module)
        from backend.formats import lerobot

        if lerobot.detect(folder) is not None:
            return _summarize_lerobot(folder)
    elif folder.is_file():  # a LeIsaac HDF5: its reader alone (demo attributes and shapes, no arrays)
        from backend.formats import leisaac_hdf5

        if leisaac_hdf5.detect(folder) is not None:
            with leisaac_hdf5.open(folder) as dataset:
                return summarize(dataset)
    from backend.formats import open_dataset

    with open_dataset(path) as dataset:
        return summarize(dataset)


def format_text(summary: dict[str, Any], max_episodes: int = 20) -> str:
    lines = [
        f"{summary['path']}",
        f"  format      {summary['format']}",
        f"  robot       {summary['robot_type'] or '-'}",
        f"  fps         {summary['fps']:g}",
        f"  episodes    {summary['num_episodes']}   frames {summary['num_frames']}",
    ]
    for name, cam in summary["cameras"].items():
        lines.append(f"  camera      {name}: {cam['codec'] or 'raw'} {cam['width']}x{cam['height']} @ {cam['fps']:g} fps")
    for role, joint in summary["joints"].items():
        names = ", ".join(joint["names"][:12]) + (" ..." if len(joint["names"]) > 12 else "")
        lines.append(f"  {role:<11} {joint['unit']}: {names}")
    for task in summary["tasks"][:10]:
        lines.append(f"  task        {task}")
    if len(summary["tasks"]) > 10:
        lines.append(f"  ...         {len(summary['tasks']) - 10} more tasks")
    lines.append("  #     length  success  task")
    for episode in summary["episodes"][:max_episodes]:
        ok = {True: "yes", False: "no", None: "-"}[episode["success"]]
        lines.append(f"  {episode['index']:<5} {episode['length']:>6}  {ok:<7}  {episode['task'] or ''}")
    if len(summary["episodes"]) > max_episodes:
        lines.append(f"  ...   {len(summary['episodes']) - max_episodes} more episodes (--json lists all)")
    return "\n".join(lines)

"""A summary of any dataset: what `rollout-studio inspect` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.formats import open_dataset
from backend.model import Dataset


def summarize(dataset: Dataset) -> dict[str, Any]:
    cameras: dict[str, Any] = {}
    for name, key in dataset.cameras.items():
        video = dataset.features[key].video
        cameras[name] = {
            "key": key,
            "codec": video.codec if video else None,
            "width": video.width if video else None,
            "height": video.height if video else None,
            "fps": video.fps if video else dataset.fps,
        }
    joints: dict[str, Any] = {}
    for role, key in dataset.roles.items():
        feature = dataset.features.get(key)
        if feature is None:
            continue
        joints[role] = {
            "key": key,
            "names": list(feature.space.names) if feature.space else list(feature.names or []),
            "unit": feature.space.unit.value if feature.space else "other",
        }
    return {
        "path": str(dataset.path),
        "format": dataset.format.value,
        "fps": dataset.fps,
        "robot_type": dataset.robot_type,
        "num_episodes": dataset.num_episodes,
        "num_frames": dataset.num_frames,
        "cameras": cameras,
        "tasks": list(dataset.tasks),
        "joints": joints,
        "features": {
            key: {"kind": f.kind.value, "dtype": f.dtype, "shape": list(f.shape), "has_files": f.has_files}
            for key, f in dataset.features.items()
        },
        "episodes": [
            {"index": e.index, "length": e.length, "task": e.task, "success": e.success, "source": e.source}
            for e in dataset.episodes
        ],
    }


def inspect_path(path: str | Path) -> dict[str, Any]:
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

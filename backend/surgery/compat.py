"""Whether datasets can be merged: fps, robot type, joint names and units, camera names and shapes,
and the columns each one stores. A mismatch is refused with one sentence naming the file and what
differs; nothing is resampled or renamed unless the user asks (``rename-feature`` first).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.model import DatasetFormat, FeatureKind

LEROBOT = (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30)
# columns every LeRobot dataset has; they are renumbered, never compared
_BOOKKEEPING = {"timestamp", "frame_index", "episode_index", "index", "task_index"}


def family(fmt: DatasetFormat) -> str:
    if fmt in LEROBOT:
        return "lerobot"
    if fmt is DatasetFormat.LEISAAC_HDF5:
        return "hdf5"
    return fmt.value


@dataclass(frozen=True)
class Mismatch:
    path: str  # the dataset that differs from the first one
    what: str  # "fps", "robot type", "joints of action", "camera front", "column x", "format"
    text: str  # one sentence

    def error(self) -> StudioError:
        return StudioError(
            self.text, self.path, "merge only datasets recorded the same way (or edit one first)"
        )


def _vectors(dataset: Any) -> dict[str, tuple[str, tuple[int, ...]]]:
    synthetic = set((dataset.info.get("synthetic_features") or {}).keys())
    cameras = set(dataset.cameras.values())
    return {
        key: (f.dtype, tuple(f.shape))
        for key, f in dataset.features.items()
        if f.kind in (FeatureKind.VECTOR, FeatureKind.SCALAR)
        and f.has_files
        and key not in _BOOKKEEPING | cameras | synthetic
    }


def _camera_shape(dataset: Any, key: str) -> tuple[int, int]:
    feature = dataset.features[key]
    if feature.video is not None:
        return int(feature.video.width), int(feature.video.height)
    return int(feature.shape[1]), int(feature.shape[0])


def mismatches(datasets: list[Any]) -> list[Mismatch]:
    """Every way each dataset differs from the first one (empty: they can be merged)."""
    if len(datasets) < 2:
        return []
    first, found = datasets[0], []
    name = Path(first.path).name
    for other in datasets[1:]:
        path = str(other.path)

        def add(what: str, text: str, path: str = path) -> None:
            found.append(Mismatch(path, what, text))

        if family(other.format) != family(first.format):
            add(
                "format",
                f"is {other.format.value}, {name} is {first.format.value}: convert one of them first",
            )
            continue
        if abs(float(other.fps) - float(first.fps)) > 1e-6:
            add(
                "fps",
                f"is recorded at {other.fps:g} fps, {name} at {first.fps:g} fps (no resampling is done)",
            )
        if (other.robot_type or "") != (first.robot_type or ""):
            add("robot type", f"robot type {other.robot_type!r} differs from {name}'s {first.robot_type!r}")
        for role in ("action", "state"):
            mine, theirs = first.joint_space(role), other.joint_space(role)
            if mine is None or theirs is None:
                continue
            if tuple(mine.names) != tuple(theirs.names):
                add(
                    f"joints of {role}",
                    f"its {role} joints {list(theirs.names)} differ from {name}'s {list(mine.names)}",
                )
            elif mine.unit != theirs.unit:
                add(
                    f"unit of {role}",
                    f"its {role} is in {theirs.unit.value}, {name}'s in {mine.unit.value} (no conversion is done)",
                )
        mine_cams, their_cams = first.cameras, other.cameras
        if set(mine_cams) != set(their_cams):
            add("cameras", f"has cameras {sorted(their_cams)}, {name} has {sorted(mine_cams)}")
        else:
            for camera in sorted(mine_cams):
                a, b = _camera_shape(first, mine_cams[camera]), _camera_shape(other, their_cams[camera])
                if a != b:
                    add(f"camera {camera}", f"camera {camera} is {b[0]}x{b[1]}, {name}'s is {a[0]}x{a[1]}")
        mine_cols, their_cols = _vectors(first), _vectors(other)
        for key in sorted(set(mine_cols) | set(their_cols)):
            if key not in their_cols:
                add(f"column {key}", f"has no column {key!r} ({name} has it)")
            elif key not in mine_cols:
                add(f"column {key}", f"has a column {key!r} that {name} lacks")
            elif mine_cols[key] != their_cols[key]:
                (dt_a, sh_a), (dt_b, sh_b) = mine_cols[key], their_cols[key]
                add(
                    f"column {key}", f"column {key!r} is {dt_b} {list(sh_b)}, {name}'s is {dt_a} {list(sh_a)}"
                )
    return found


def refuse_unlabelled(datasets: list[Any]) -> None:
    """Refuse Cosmos output folders: their videos carry no actions or states to merge.

    Only a LeRobot dataset holds IDM labels: ``rollout-studio idm prepare`` turns the folder into the
    IDM's input (a LeRobot v2.1 dataset with placeholder actions) and GR00T-Dreams' ``dump_idm_actions``
    writes the labelled dataset; both merge as LeRobot. The studio pairs no label files with the videos
    of a Cosmos folder, so such a folder is refused however it is labelled.
    """
    for dataset in datasets:
        if dataset.format is DatasetFormat.COSMOS_OUTPUTS:
            raise StudioError(
                "is a folder of Cosmos outputs: its videos have no actions or states to merge",
                dataset.path,
                "run `rollout-studio idm prepare` on it first, label that dataset "
                "with the IDM (dump_idm_actions) and merge the labelled LeRobot dataset",
            )


def check_merge(datasets: list[Any]) -> None:
    """Raise the first mismatch as a StudioError naming the dataset that differs."""
    refuse_unlabelled(datasets)
    found = mismatches(datasets)
    if found:
        raise found[0].error()

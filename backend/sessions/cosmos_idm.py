"""What the Cosmos and IDM wizards decide without Qt: whether an input will do, the output they
propose, and the embodiment preset as edited in the kit wizard's form."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from backend.cosmos.selection import parse_indices
from backend.errors import StudioError
from backend.sessions.wizard import Check

HDF5_SUFFIXES = (".hdf5", ".h5", ".he5")
SLICE_GROUPS = ("state", "action")


def safe_name(text: str) -> str:
    """A name usable as a file or folder name ('data' when nothing is left)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "data"


def is_dataset(path: Path) -> bool:
    return (path.is_dir() and (path / "meta" / "info.json").is_file()) or (
        path.is_file() and path.suffix.lower() in HDF5_SUFFIXES
    )


def dataset_check(path: str) -> Check:
    if not path:
        return False, "drop a dataset"
    if not Path(path).exists():
        return False, f"{path} does not exist"
    if not is_dataset(Path(path)):
        return False, "not a LeRobot dataset folder (meta/info.json) or a LeIsaac .hdf5"
    return True, ""


def cosmos_outputs_check(cosmos: str, source: str = "", metadata: str = "") -> Check:
    if not cosmos:
        return False, "drop the Cosmos output folder"
    if not Path(cosmos).is_dir():
        return False, f"{cosmos} is not a folder"
    if not any(Path(cosmos).glob("*.mp4")):
        return False, "the folder has no <name>.mp4"
    for label, path in (("source dataset", source), ("metadata folder", metadata)):
        if path and not Path(path).exists():
            return False, f"the {label} does not exist"
    return True, ""


def trainset_out(workspace: Path, dataset: str) -> Path:
    return workspace / "cosmos" / f"{safe_name(Path(dataset).stem)}_trainset"


def batch_out(workspace: Path, dataset: str) -> Path:
    return workspace / "cosmos" / f"{safe_name(Path(dataset).stem)}_batch.jsonl"


def prepare_out(workspace: Path, cosmos: str, embodiment: str, split_tasks: bool) -> Path:
    name = safe_name(Path(cosmos).name.replace(".", "_"))
    if split_tasks:
        return workspace / "idm" / f"{name}_idm_inputs"
    return workspace / "idm" / f"{embodiment or 'so101'}.{name}"


def kit_out(workspace: Path, key: str) -> Path:
    return workspace / "idm" / f"{safe_name(key or 'embodiment')}_kit"


def indices_text(values: list[int]) -> str:
    """[0, 1, ..., 15] -> '0-15'; [0, 16] -> '0,16'."""
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ",".join(str(v) for v in values)


def preset_from_form(
    base: dict[str, Any],
    rows: list[list[str]],
    key: str,
    deltas: dict[str, str],
    normalization: str,
    relative: bool,
    cameras: list[str],
) -> dict[str, Any]:
    """The preset as edited: ``rows`` of (group, name, start, end) texts, delta index texts per
    group. Raises ValueError saying which row or field is wrong."""
    preset = json.loads(json.dumps(base))
    groups: dict[str, dict[str, list[int]]] = {group: {} for group in SLICE_GROUPS}
    for number, cells in enumerate(rows, start=1):
        group, name, start, end = (cell.strip() for cell in cells)
        if group not in groups:
            raise ValueError(f"row {number}: group must be state or action, not {group!r}")
        if not name:
            raise ValueError(f"row {number}: the slice needs a name")
        try:
            groups[group][name] = [int(start), int(end)]
        except ValueError as error:
            raise ValueError(f"row {number}: start and end must be integers") from error
    preset["state_slices"], preset["action_slices"] = groups["state"], groups["action"]
    preset.pop("joints", None)
    preset["key"] = key.strip()
    delta = {}
    for group, text in deltas.items():
        try:
            values = parse_indices(text.strip())
        except StudioError as error:
            raise ValueError(f"{group} delta indices: {error.problem}") from error
        delta[group] = values or []
    preset["delta_indices"] = delta
    preset["normalization"] = normalization
    preset["action_absolute"] = not relative
    if cameras:
        preset["video_keys"] = list(cameras)
    return preset

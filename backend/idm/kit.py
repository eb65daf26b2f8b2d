"""IDM embodiment kit: modality.json, stats.json, the DataConfig class and experiment_cfg/conf.yaml.

Everything seed 000 has users write by hand for a custom GR00T-Dreams embodiment, generated from a
LeRobot dataset and an embodiment preset (resources/embodiments/<key>.json, or an edited copy), and
checked: slices must not overlap and must fit the vector width, keys must exist in the dataset,
delta indices must be sane.

A preset names its joints (one vector slot each, in order) or gives explicit slices
(``state_slices`` / ``action_slices``: {name: [start, end]}) for joints wider than one slot.
stats.json is what GR00T computes itself when it loads a dataset (and what users copy into
``IDM_dump/global_metadata/<key>/``): per parquet column (action, observation.state and the index
columns) mean, std, min, max, q01 and q99 over every frame, computed in float32.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import asdict, dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from backend.atomic import atomic_dir, atomic_file, check_output, studio_wrote
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.model import Dataset, DatasetFormat, FeatureKind
from backend.progress import Progress, ensure_progress

STAT_KEYS = ("mean", "std", "min", "max", "q01", "q99")
LEROBOT_FORMATS = (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30)
SCALAR_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")
REQUIRED_PRESET_KEYS = ("key", "state_key", "action_key", "video_keys", "delta_indices")
GROUPS = ("state", "action")


def presets_dir() -> Path:
    return Path(str(importlib_resources.files("resources"))) / "embodiments"


def builtin_presets() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.json"))


def load_preset(preset: str | Path | dict[str, Any]) -> dict[str, Any]:
    """A built-in preset by key ('so101'), a user's preset JSON file, or a preset dict (checked)."""
    if isinstance(preset, dict):
        return check_preset(copy.deepcopy(preset))
    path = Path(preset)
    if not path.suffix:
        path = presets_dir() / f"{preset}.json"
    if not path.is_file():
        raise StudioError(
            f"no embodiment preset {str(preset)!r}", path, f"built-in presets: {builtin_presets()}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise StudioError(f"preset is not valid JSON ({error})", path) from error
    return check_preset(data, path)


def check_preset(preset: Any, path: Path | None = None) -> dict[str, Any]:
    if not isinstance(preset, dict):
        raise StudioError("a preset is a JSON object", path)
    for required in REQUIRED_PRESET_KEYS:
        if required not in preset:
            raise StudioError(f"preset lacks {required!r}", path)
    if "joints" not in preset and not (preset.get("state_slices") and preset.get("action_slices")):
        raise StudioError("preset needs 'joints' or 'state_slices' + 'action_slices'", path)
    key = str(preset["key"])
    if not key or "." in key or "/" in key or key != key.strip():
        raise StudioError(f"embodiment key {key!r} must be a plain name without dots", path)
    if not preset["video_keys"]:
        raise StudioError("preset has no video key", path)
    return preset


def slices(preset: dict[str, Any], group: str) -> dict[str, tuple[int, int]]:
    """{name: (start, end)} of the state or action vector."""
    explicit = preset.get(f"{group}_slices")
    if explicit:
        return {str(name): (int(v[0]), int(v[1])) for name, v in explicit.items()}
    return {str(j): (i, i + 1) for i, j in enumerate(preset["joints"])}


def vector_width(preset: dict[str, Any], group: str) -> int:
    return max((end for _, end in slices(preset, group).values()), default=0)


# -- modality.json ---------------------------------------------------------------------------------
def build_modality(preset: dict[str, Any], video_keys: list[str] | None = None) -> dict[str, Any]:
    state = {name: {"start": s, "end": e} for name, (s, e) in slices(preset, "state").items()}
    action: dict[str, dict[str, Any]] = {
        name: {"start": s, "end": e} for name, (s, e) in slices(preset, "action").items()
    }
    if preset.get("action_absolute") is False:
        for entry in action.values():
            entry["absolute"] = False
    videos = video_keys or preset["video_keys"]
    return {
        "state": state,
        "action": action,
        "video": {v: {"original_key": f"observation.images.{v}"} for v in videos},
        "annotation": {k: {"original_key": v} for k, v in preset.get("annotation", {}).items()},
    }


def check_modality(
    modality: dict[str, Any], widths: dict[str, int], cameras: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """(problems, warnings) of a modality.json: overlapping slices, slices beyond the vector width,
    unknown videos (problems); vector slots no slice covers (warnings)."""
    problems: list[str] = []
    warnings: list[str] = []
    for group, width in widths.items():
        entries = modality.get(group, {})
        if not entries:
            problems.append(f"{group}: no slice")
            continue
        spans = []
        for name, value in entries.items():
            start, end = value.get("start"), value.get("end")
            if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
                problems.append(f"{group}.{name}: start/end must be integers")
                continue
            spans.append((start, end, name))
        spans.sort()
        for start, end, name in spans:
            if not 0 <= start < end:
                problems.append(f"{group}.{name}: slice {start}:{end} is empty or negative")
            if end > width:
                problems.append(f"{group}.{name}: slice {start}:{end} exceeds the vector width {width}")
        for (s1, e1, n1), (s2, e2, n2) in zip(spans, spans[1:], strict=False):
            if s2 < e1:
                problems.append(f"{group}: slices {n1} ({s1}:{e1}) and {n2} ({s2}:{e2}) overlap")
        covered = set()
        for start, end, _ in spans:
            covered.update(range(max(0, start), min(end, width)))
        missing = sorted(set(range(width)) - covered)
        if missing and not problems:
            warnings.append(
                f"{group}: slots {missing} of the {width}-wide vector are in no slice (the IDM ignores them)"
            )
    if cameras is not None:
        for name, entry in modality.get("video", {}).items():
            key = entry.get("original_key", "")
            if key.removeprefix("observation.images.") not in cameras:
                problems.append(f"video.{name}: {key} is not a camera of the dataset ({sorted(cameras)})")
    return problems, warnings


def check_delta_indices(delta: dict[str, list[int]]) -> list[str]:
    problems = []
    for group in ("video", "state", "action"):
        if group not in delta:
            problems.append(f"delta_indices.{group} is missing")
    for group, values in delta.items():
        if not isinstance(values, list) or not values:
            problems.append(f"delta_indices.{group} is empty")
            continue
        if any((not isinstance(v, int)) or isinstance(v, bool) or v < 0 for v in values):
            problems.append(f"delta_indices.{group} must be non-negative integers: {values}")
            continue
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            problems.append(f"delta_indices.{group} must be strictly increasing: {values}")
    action = delta.get("action") or []
    if action and isinstance(action[0], int) and action[0] != 0:
        problems.append("delta_indices.action must start at 0 (the IDM predicts from the current frame)")
    video = delta.get("video") or []
    if video and action and all(isinstance(v, int) for v in video + action) and video[-1] > action[-1] + 1:
        problems.append(f"the last video index {video[-1]} lies beyond the action horizon {action[-1] + 1}")
    return problems


# -- stats.json ------------------------------------------------------------------------------------
def stats_of(values: np.ndarray) -> dict[str, list[float]]:
    """GR00T's statistics of a (frames, width) array, computed in float32 as GR00T does."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 1:
        values = values[:, None]
    return {
        "mean": np.mean(values, axis=0).tolist(),
        "std": np.std(values, axis=0).tolist(),
        "min": np.min(values, axis=0).tolist(),
        "max": np.max(values, axis=0).tolist(),
        "q01": np.quantile(values, 0.01, axis=0).tolist(),
        "q99": np.quantile(values, 0.99, axis=0).tolist(),
    }


def stats_columns(dataset: Dataset, state_key: str, action_key: str) -> list[str]:
    """The columns GR00T takes statistics of: the vectors and every numeric per-frame column."""
    columns = [action_key, state_key]
    scalars = [
        k
        for k, f in dataset.features.items()
        if f.kind is FeatureKind.SCALAR
        and not k.startswith("annotation.")
        and k not in columns
        and f.dtype not in ("string",)
    ]
    return columns + (scalars or list(SCALAR_COLUMNS))


def build_stats(
    dataset: Dataset, state_key: str, action_key: str, progress: Progress | None = None
) -> dict[str, Any]:
    """GR00T stats.json of ``dataset``: {column: {mean, std, min, max, q01, q99}} (lists, one per slot)."""
    progress = ensure_progress(progress)
    for key in (state_key, action_key):
        if key not in dataset.features:
            raise StudioError(
                f"the dataset has no {key!r} column for stats.json",
                dataset.path,
                "use the LeRobot dataset the IDM is trained on",
            )
    names = stats_columns(dataset, state_key, action_key)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in names}
    offset = 0
    task_of = {t: i for i, t in enumerate(dataset.tasks)}
    for number, episode in enumerate(dataset.episodes):
        progress.report(number, dataset.num_episodes, f"stats of episode {episode.index}")
        length = episode.length
        for name in names:
            if name in dataset.features:
                values = np.asarray(episode.array(name), dtype=np.float32).reshape(length, -1)
            else:  # a format without LeRobot's bookkeeping columns (HDF5): what LeRobot would write
                frame = np.arange(length, dtype=np.float64)
                values = {
                    "timestamp": frame / dataset.fps,
                    "frame_index": frame,
                    "episode_index": np.full(length, episode.index, dtype=np.float64),
                    "index": offset + frame,
                    "task_index": np.full(length, task_of.get(episode.task or "", 0), dtype=np.float64),
                }[name].astype(np.float32)[:, None]
            columns[name].append(values)
        offset += length
        episode.unload()
    return {name: stats_of(np.concatenate(parts)) for name, parts in columns.items() if parts}


# -- DataConfig class and conf.yaml ----------------------------------------------------------------
def class_name(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace("-", "_").split("_")) + "DataConfig"


def modality_keys(preset: dict[str, Any], video_keys: list[str]) -> dict[str, list[str]]:
    return {
        "video": [f"video.{v}" for v in video_keys],
        "state": [f"state.{n}" for n in slices(preset, "state")],
        "action": [f"action.{n}" for n in slices(preset, "action")],
        "language": [f"annotation.{k}" for k in preset.get("annotation", {})],
    }


def build_data_config_source(preset: dict[str, Any], video_keys: list[str]) -> str:
    keys = modality_keys(preset, video_keys)
    delta = preset["delta_indices"]
    vt = preset.get("video_transforms", {})
    jitter = vt.get("color_jitter", {})
    resize = vt.get("resize", [224, 224])
    norm = preset.get("normalization", "min_max")
    action_indices = delta["action"]
    action_expr = (
        f"list(range({len(action_indices)}))"
        if action_indices == list(range(len(action_indices)))
        else repr(action_indices)
    )
    lines = [
        f"class {class_name(preset['key'])}(BaseDataConfig):",
        f"    video_keys = {keys['video']!r}",
        f"    state_keys = {keys['state']!r}",
        f"    action_keys = {keys['action']!r}",
        f"    language_keys = {keys['language']!r}",
        f"    observation_indices = {delta['state']!r}",
        f"    action_indices = {action_expr}",
        "",
        "    def modality_config(self) -> dict[str, ModalityConfig]:",
        "        return {",
        f'            "video": ModalityConfig(delta_indices={delta["video"]!r}, modality_keys=self.video_keys),',
        '            "state": ModalityConfig(delta_indices=self.observation_indices, modality_keys=self.state_keys),',
        '            "action": ModalityConfig(delta_indices=self.action_indices, modality_keys=self.action_keys),',
        f'            "language": ModalityConfig(delta_indices={delta.get("language", [0])!r}, '
        "modality_keys=self.language_keys),",
        "        }",
        "",
        "    def transform(self) -> ModalityTransform:",
        "        transforms = [",
        "            VideoToTensor(apply_to=self.video_keys),",
        f"            VideoCrop(apply_to=self.video_keys, scale={vt.get('crop_scale', 0.95)!r}),",
        f'            VideoResize(apply_to=self.video_keys, height={resize[0]}, width={resize[1]}, interpolation="linear"),',
        "            VideoColorJitter(apply_to=self.video_keys"
        + "".join(f", {k}={v!r}" for k, v in jitter.items())
        + "),",
        "            VideoToNumpy(apply_to=self.video_keys),",
        "            StateActionToTensor(apply_to=self.state_keys),",
        "            StateActionTransform(",
        f"                apply_to=self.state_keys, normalization_modes={{key: {norm!r} for key in self.state_keys}}",
        "            ),",
        "            StateActionToTensor(apply_to=self.action_keys),",
        "            StateActionTransform(",
        f"                apply_to=self.action_keys, normalization_modes={{key: {norm!r} for key in self.action_keys}}",
        "            ),",
        "            ConcatTransform(",
        "                video_concat_order=self.video_keys,",
        "                state_concat_order=self.state_keys,",
        "                action_concat_order=self.action_keys,",
        "            ),",
        "            GR00TIDMTransform(",
        "                state_horizon=len(self.observation_indices),",
        "                action_horizon=len(self.action_indices),",
        f"                max_state_dim={preset.get('max_state_dim', 64)},",
        f"                max_action_dim={preset.get('max_action_dim', 32)},",
        "            ),",
        "        ]",
        "        return ComposedModalityTransform(transforms=transforms)",
        "",
    ]
    return "\n".join(lines)


def data_config_map_line(preset: dict[str, Any]) -> str:
    return f'    "{preset["key"]}": {class_name(preset["key"])}(),'


def build_conf(preset: dict[str, Any], video_keys: list[str]) -> dict[str, Any]:
    key = preset["key"]
    keys = modality_keys(preset, video_keys)
    videos, states, actions = keys["video"], keys["state"], keys["action"]
    delta = preset["delta_indices"]
    vt = preset.get("video_transforms", {})
    resize = vt.get("resize", [224, 224])
    norm = preset.get("normalization", "min_max")

    def modality(indices: list[int], names: list[str]) -> dict[str, Any]:
        return {
            "_target_": "gr00t.data.dataset.ModalityConfig",
            "delta_indices": list(indices),
            "modality_keys": list(names),
        }

    transforms = [
        {"_target_": "gr00t.data.transform.video.VideoToTensor", "apply_to": list(videos)},
        {
            "_target_": "gr00t.data.transform.video.VideoCrop",
            "apply_to": list(videos),
            "scale": vt.get("crop_scale", 0.95),
        },
        {
            "_target_": "gr00t.data.transform.video.VideoResize",
            "apply_to": list(videos),
            "height": resize[0],
            "width": resize[1],
            "interpolation": "linear",
        },
        {
            "_target_": "gr00t.data.transform.video.VideoColorJitter",
            "apply_to": list(videos),
            **vt.get("color_jitter", {}),
        },
        {"_target_": "gr00t.data.transform.video.VideoToNumpy", "apply_to": list(videos)},
        {"_target_": "gr00t.data.transform.state_action.StateActionToTensor", "apply_to": list(states)},
        {
            "_target_": "gr00t.data.transform.state_action.StateActionTransform",
            "apply_to": list(states),
            "normalization_modes": {s: norm for s in states},
        },
        {"_target_": "gr00t.data.transform.state_action.StateActionToTensor", "apply_to": list(actions)},
        {
            "_target_": "gr00t.data.transform.state_action.StateActionTransform",
            "apply_to": list(actions),
            "normalization_modes": {a: norm for a in actions},
        },
        {
            "_target_": "gr00t.data.transform.concat.ConcatTransform",
            "video_concat_order": list(videos),
            "state_concat_order": list(states),
            "action_concat_order": list(actions),
        },
        {
            "_target_": "gr00t.model.transforms_idm.GR00TIDMTransform",
            "state_horizon": len(delta["state"]),
            "action_horizon": len(delta["action"]),
            "max_state_dim": preset.get("max_state_dim", 64),
            "max_action_dim": preset.get("max_action_dim", 32),
        },
    ]
    return {
        "modality_configs": {
            key: {
                "video": modality(delta["video"], videos),
                "state": modality(delta["state"], states),
                "action": modality(delta["action"], actions),
                "language": modality(delta.get("language", [0]), keys["language"]),
            }
        },
        "all_transforms": {
            key: {"_target_": "gr00t.data.transform.base.ComposedModalityTransform", "transforms": transforms}
        },
        "metadata_versions": {key: preset.get("metadata_version", "v2.1")},
    }


class _NoAliasDumper(yaml.SafeDumper):
    """Plain YAML: repeated lists are written out, never as &id001 anchors and *id001 aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def conf_yaml_text(preset: dict[str, Any], video_keys: list[str]) -> str:
    header = (
        f"# IDM experiment config for embodiment '{preset['key']}'"
        + (f" ({preset['description']})" if preset.get("description") else "")
        + ".\n"
        "# Written by Rollout Studio: IDM training does not write this file itself.\n\n"
    )
    body = yaml.dump(
        build_conf(preset, video_keys),
        Dumper=_NoAliasDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
    )
    return header + body


# -- the kit ---------------------------------------------------------------------------------------
@dataclass
class KitOptions:
    embodiment: str | dict[str, Any] = "so101"  # preset key, preset file, or an (edited) preset dict
    cameras: list[str] | None = None
    checkpoint: str | None = None  # a checkpoint folder that gets experiment_cfg/conf.yaml
    overwrite_conf: bool = False
    overwrite: bool = False  # replace an earlier kit of the studio (never anything else)


@dataclass
class KitSummary:
    out: str
    files: list[str] = field(default_factory=list)
    conf_yaml: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _kit_inputs(
    dataset: Dataset, preset: dict[str, Any], cameras: list[str] | None
) -> tuple[list[str], dict[str, Any], list[str], list[str]]:
    """(cameras, modality, problems, warnings) for ``dataset`` and ``preset``."""
    problems: list[str] = []
    warnings: list[str] = []
    widths: dict[str, int] = {}
    if dataset.format not in LEROBOT_FORMATS:
        problems.append(
            f"the IDM trains on a LeRobot dataset and this is {dataset.format.value}: convert it first "
            "(rollout-studio convert hdf5-to-lerobot, or Convert › HDF5 to LeRobot)"
        )
        return [], {}, problems, warnings
    vectors = sorted(k for k, f in dataset.features.items() if f.kind is FeatureKind.VECTOR)
    for group, role_key in (("state", preset["state_key"]), ("action", preset["action_key"])):
        feature = dataset.features.get(role_key)
        if feature is None or feature.kind is not FeatureKind.VECTOR:
            problems.append(
                f"the dataset has no {role_key!r} vector (the preset's {group} key); it has {vectors[:8]}"
            )
            continue
        widths[group] = int(np.prod(feature.shape))
    chosen = (
        [c.removeprefix("observation.images.") for c in cameras]
        if cameras
        else [c for c in preset["video_keys"] if c in dataset.cameras] or list(dataset.cameras)[:1]
    )
    if not chosen:
        problems.append("the dataset has no camera")
    missing_presets = [c for c in preset["video_keys"] if c not in dataset.cameras]
    if missing_presets and not cameras:
        warnings.append(f"preset cameras {missing_presets} are not in the dataset; using {chosen}")
    modality = build_modality(preset, chosen)
    slice_problems, slice_warnings = check_modality(modality, widths, list(dataset.cameras))
    problems += slice_problems + check_delta_indices(preset["delta_indices"])
    warnings += slice_warnings
    for group in ("state", "action"):
        names = list(slices(preset, group))
        if len(set(names)) != len(names):
            problems.append(f"{group}: names repeat")
    for name, original in preset.get("annotation", {}).items():
        if original not in dataset.features:
            problems.append(f"annotation.{name}: the dataset has no {original!r} column")
    if dataset.format is not DatasetFormat.LEROBOT_V21:
        warnings.append(
            f"GR00T-Dreams trains on LeRobot v2.1 and this dataset is {dataset.format.value}: convert it "
            "(Convert › LeRobot versions) before IDM training; the kit's statistics stay the same"
        )
    for camera in chosen:
        feature = dataset.features.get(dataset.cameras.get(camera, ""))
        codec = feature.video.codec if feature is not None and feature.video is not None else None
        if codec not in (None, "h264"):
            warnings.append(f"camera {camera} is {codec}: the IDM's video decoder needs H.264 (transcode it)")
    min_len = min((e.length for e in dataset.episodes), default=0)
    horizon = max(max(v) for v in preset["delta_indices"].values() if v) + 1 if preset["delta_indices"] else 0
    if dataset.episodes and min_len < horizon:
        warnings.append(
            f"the shortest episode has {min_len} frames, fewer than the {horizon}-frame window "
            "the delta indices need"
        )
    return chosen, modality, problems, warnings


def plan_kit(dataset_path: str | Path, options: KitOptions | None = None) -> dict[str, Any]:
    """Preview of ``build_kit``: modality.json, the DataConfig source, conf.yaml text, problems."""
    options = options or KitOptions()
    try:
        preset = load_preset(options.embodiment)
    except StudioError as error:
        return {"errors": [error.message], "warnings": []}
    with open_dataset(dataset_path) as dataset:
        cameras, modality, problems, warnings = _kit_inputs(dataset, preset, options.cameras)
        widths = {
            g: int(np.prod(dataset.features[k].shape))
            for g, k in (("state", preset["state_key"]), ("action", preset["action_key"]))
            if k in dataset.features
        }
        dataset_cameras = sorted(dataset.cameras)
    if options.checkpoint:
        checkpoint_errors, checkpoint_warnings = checkpoint_problems(
            options.checkpoint, options.overwrite_conf
        )
        problems += checkpoint_errors
        warnings += checkpoint_warnings
    result: dict[str, Any] = {
        "preset": preset,
        "cameras": cameras,
        "dataset_cameras": dataset_cameras,
        "widths": widths,
        "modality": modality,
        "errors": problems,
        "warnings": warnings,
    }
    if not problems:
        result["data_config"] = build_data_config_source(preset, cameras)
        result["conf_yaml"] = conf_yaml_text(preset, cameras)
    return result


def checkpoint_problems(checkpoint: str | Path, overwrite: bool) -> tuple[list[str], list[str]]:
    folder = Path(checkpoint)
    if folder.exists() and not folder.is_dir():
        return [f"checkpoint {folder} is a file, not a checkpoint folder"], []
    if not folder.is_dir():
        return [f"checkpoint folder {folder} does not exist"], []
    warnings = []
    target = folder / "experiment_cfg" / "conf.yaml"
    if target.exists() and not overwrite:
        return [f"{target} already exists (allow overwriting it)"], []
    if target.exists():
        warnings.append(f"{target} will be replaced")
    if not any(folder.glob("*.safetensors")) and not (folder / "config.json").is_file():
        warnings.append(f"{folder.name} has no config.json or *.safetensors: is it a checkpoint-N folder?")
    return [], warnings


def build_kit(
    dataset_path: str | Path,
    out: str | Path,
    options: KitOptions | None = None,
    progress: Progress | None = None,
) -> KitSummary:
    options = options or KitOptions()
    preset = load_preset(options.embodiment)
    progress = ensure_progress(progress)
    check_output(out, [dataset_path, options.checkpoint], options.overwrite)
    if options.checkpoint:
        problems, _ = checkpoint_problems(options.checkpoint, options.overwrite_conf)
        if problems:
            raise StudioError(
                problems[0],
                options.checkpoint,
                "pass --overwrite-conf to replace it" if "exists" in problems[0] else None,
            )
    with open_dataset(dataset_path) as dataset:
        cameras, modality, problems, warnings = _kit_inputs(dataset, preset, options.cameras)
        if problems:
            raise StudioError("embodiment kit would be invalid: " + "; ".join(problems), dataset_path)
        stats = build_stats(dataset, preset["state_key"], preset["action_key"], progress)
    key = preset["key"]
    summary = KitSummary(out=str(Path(out).absolute()), warnings=warnings)
    conf_text = conf_yaml_text(preset, cameras)
    with atomic_dir(out, overwrite=options.overwrite, inputs=[dataset_path, options.checkpoint]) as tmp:
        meta = tmp / "global_metadata" / key
        meta.mkdir(parents=True)
        (meta / "modality.json").write_text(json.dumps(modality, indent=4) + "\n", encoding="utf-8")
        (meta / "stats.json").write_text(json.dumps(stats, indent=4) + "\n", encoding="utf-8")
        (tmp / "data_config_idm.py").write_text(
            "# Paste into gr00t/experiment/data_config_idm.py (its imports are already there)\n\n"
            + build_data_config_source(preset, cameras)
            + "\n\n# ...and add this entry to DATA_CONFIG_MAP:\n#     "
            + data_config_map_line(preset).strip()
            + "\n",
            encoding="utf-8",
        )
        (tmp / "conf.yaml").write_text(conf_text, encoding="utf-8")
        (tmp / "preset.json").write_text(json.dumps(preset, indent=2) + "\n", encoding="utf-8")
        (tmp / "README.txt").write_text(_kit_readme(key), encoding="utf-8")
        summary.files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    if options.checkpoint:
        summary.conf_yaml = str(install_conf(options.checkpoint, conf_text, options.overwrite_conf))
    for warning in warnings:
        progress.warn(warning)
    return summary


def install_conf(checkpoint: str | Path, conf_text: str, overwrite: bool = False) -> Path:
    checkpoint = Path(checkpoint)
    if not checkpoint.is_dir():
        raise StudioError("checkpoint folder does not exist", checkpoint)
    target = checkpoint / "experiment_cfg" / "conf.yaml"
    if target.exists() and not overwrite:
        raise StudioError("conf.yaml already exists", target, "pass --overwrite-conf to replace it")
    if target.exists() and studio_wrote(target) is not None:
        # not ours: kept beside, never deleted
        kept = target.with_name(f"conf.yaml.before-rollout-studio-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(target, kept)
    with atomic_file(target, overwrite=True) as tmp:
        tmp.write_text(conf_text, encoding="utf-8")
    return target


def _kit_readme(key: str) -> str:
    return (
        f"IDM embodiment kit for '{key}'\n\n"
        f"global_metadata/{key}/   copy to GR00T-Dreams/IDM_dump/global_metadata/{key}/\n"
        "                         and copy modality.json to <your LeRobot dataset>/meta/\n"
        "data_config_idm.py       the DataConfig class and its DATA_CONFIG_MAP line for\n"
        "                         gr00t/experiment/data_config_idm.py\n"
        "conf.yaml                goes to <checkpoint>/experiment_cfg/conf.yaml (--checkpoint does it)\n"
        "preset.json              the embodiment preset these files were made from\n"
    )

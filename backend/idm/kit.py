"""IDM embodiment kit: modality.json, stats.json, the DataConfig class and experiment_cfg/conf.yaml.

Everything seed 000 has users write by hand for a custom GR00T-Dreams embodiment, generated from a
LeRobot dataset and an embodiment preset (resources/embodiments/<key>.json), and checked:
slices must not overlap and must fit the vector width, keys must exist in the dataset, delta
indices must be sane.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from backend.atomic import atomic_dir, write_text_atomic
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.model import Dataset
from backend.progress import Progress, ensure_progress

STAT_KEYS = ("mean", "std", "min", "max", "q01", "q99")
SCALAR_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def presets_dir() -> Path:
    return Path(str(importlib_resources.files("resources"))) / "embodiments"


def load_preset(key_or_path: str) -> dict[str, Any]:
    """A built-in preset by key ('so101') or a user's preset JSON file."""
    path = Path(key_or_path)
    if not path.suffix:
        path = presets_dir() / f"{key_or_path}.json"
    if not path.is_file():
        known = sorted(p.stem for p in presets_dir().glob("*.json"))
        raise StudioError(f"no embodiment preset {key_or_path!r}", path, f"built-in presets: {known}")
    try:
        preset = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise StudioError(f"preset is not valid JSON ({error})", path) from error
    for required in ("key", "joints", "state_key", "action_key", "video_keys", "delta_indices"):
        if required not in preset:
            raise StudioError(f"preset lacks {required!r}", path)
    return preset


# -- modality.json ---------------------------------------------------------------------------------
def build_modality(preset: dict[str, Any], video_keys: list[str] | None = None) -> dict[str, Any]:
    joints = preset["joints"]
    state = {j: {"start": i, "end": i + 1} for i, j in enumerate(joints)}
    action = {j: {"start": i, "end": i + 1} for i, j in enumerate(joints)}
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


def check_modality(modality: dict[str, Any], widths: dict[str, int], cameras: list[str] | None = None) -> list[str]:
    """Problems with a modality.json: overlapping slices, slices beyond the vector width, unknown videos."""
    problems = []
    for group, width in widths.items():
        slices = sorted((v["start"], v["end"], k) for k, v in modality.get(group, {}).items())
        for start, end, name in slices:
            if not 0 <= start < end:
                problems.append(f"{group}.{name}: slice {start}:{end} is empty or negative")
            if end > width:
                problems.append(f"{group}.{name}: slice {start}:{end} exceeds the vector width {width}")
        for (s1, e1, n1), (s2, e2, n2) in zip(slices, slices[1:], strict=False):
            if s2 < e1:
                problems.append(f"{group}: slices {n1} ({s1}:{e1}) and {n2} ({s2}:{e2}) overlap")
    if cameras is not None:
        for name, entry in modality.get("video", {}).items():
            key = entry.get("original_key", "")
            if key.removeprefix("observation.images.") not in cameras:
                problems.append(f"video.{name}: {key} is not a camera of the dataset ({sorted(cameras)})")
    return problems


def check_delta_indices(delta: dict[str, list[int]]) -> list[str]:
    problems = []
    for group, values in delta.items():
        if not values:
            problems.append(f"delta_indices.{group} is empty")
            continue
        if any((not isinstance(v, int)) or v < 0 for v in values):
            problems.append(f"delta_indices.{group} must be non-negative integers: {values}")
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            problems.append(f"delta_indices.{group} must be strictly increasing: {values}")
    if delta.get("action") and delta["action"][0] != 0:
        problems.append("delta_indices.action must start at 0 (the IDM predicts from the current frame)")
    if delta.get("video") and delta.get("action") and delta["video"][-1] > delta["action"][-1] + 1:
        problems.append("the last video index lies beyond the action horizon")
    return problems


# -- stats.json ------------------------------------------------------------------------------------
def _stats(values: np.ndarray) -> dict[str, list[float]]:
    values = values.astype(np.float64)
    return {
        "mean": values.mean(axis=0).tolist(),
        "std": values.std(axis=0).tolist(),
        "min": values.min(axis=0).tolist(),
        "max": values.max(axis=0).tolist(),
        "q01": np.quantile(values, 0.01, axis=0).tolist(),
        "q99": np.quantile(values, 0.99, axis=0).tolist(),
    }


def build_stats(dataset: Dataset, state_key: str, action_key: str, progress: Progress | None = None) -> dict[str, Any]:
    """GR00T stats.json: per feature (action, observation.state and the index columns) 6 stats per slot."""
    progress = ensure_progress(progress)
    columns: dict[str, list[np.ndarray]] = {action_key: [], state_key: [], **{c: [] for c in SCALAR_COLUMNS}}
    offset = 0
    task_of = {t: i for i, t in enumerate(dataset.tasks)}
    for number, episode in enumerate(dataset.episodes):
        progress.report(number, dataset.num_episodes, f"stats of episode {episode.index}")
        length = episode.length
        for key in (action_key, state_key):
            columns[key].append(np.asarray(episode.array(key), dtype=np.float64).reshape(length, -1))
        frame = np.arange(length, dtype=np.float64)
        columns["timestamp"].append((frame / dataset.fps)[:, None])
        columns["frame_index"].append(frame[:, None])
        columns["episode_index"].append(np.full((length, 1), episode.index, dtype=np.float64))
        columns["index"].append((offset + frame)[:, None])
        columns["task_index"].append(np.full((length, 1), task_of.get(episode.task or "", 0), dtype=np.float64))
        offset += length
        episode.unload()
    return {key: _stats(np.concatenate(parts)) for key, parts in columns.items() if parts}


# -- DataConfig class and conf.yaml ----------------------------------------------------------------
def class_name(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace("-", "_").split("_")) + "DataConfig"


def build_data_config_source(preset: dict[str, Any], video_keys: list[str]) -> str:
    joints = preset["joints"]
    delta = preset["delta_indices"]
    vt = preset.get("video_transforms", {})
    jitter = vt.get("color_jitter", {})
    resize = vt.get("resize", [224, 224])
    lines = [
        f"class {class_name(preset['key'])}(BaseDataConfig):",
        f"    video_keys = {[f'video.{v}' for v in video_keys]!r}",
        f"    state_keys = {[f'state.{j}' for j in joints]!r}",
        f"    action_keys = {[f'action.{j}' for j in joints]!r}",
        f"    language_keys = {['annotation.' + k for k in preset.get('annotation', {})]!r}",
        f"    observation_indices = {delta['state']!r}",
        f"    action_indices = {delta['action']!r}",
        "",
        "    def modality_config(self) -> dict[str, ModalityConfig]:",
        "        return {",
        f"            \"video\": ModalityConfig(delta_indices={delta['video']!r}, modality_keys=self.video_keys),",
        "            \"state\": ModalityConfig(delta_indices=self.observation_indices, modality_keys=self.state_keys),",
        "            \"action\": ModalityConfig(delta_indices=self.action_indices, modality_keys=self.action_keys),",
        f"            \"language\": ModalityConfig(delta_indices={delta.get('language', [0])!r}, modality_keys=self.language_keys),",
        "        }",
        "",
        "    def transform(self) -> ModalityTransform:",
        "        norm = " + repr(preset.get("normalization", "min_max")),
        "        return ComposedModalityTransform(transforms=[",
        "            VideoToTensor(apply_to=self.video_keys),",
        f"            VideoCrop(apply_to=self.video_keys, scale={vt.get('crop_scale', 0.95)!r}),",
        f"            VideoResize(apply_to=self.video_keys, height={resize[0]}, width={resize[1]}, interpolation=\"linear\"),",
        "            VideoColorJitter(apply_to=self.video_keys, "
        + ", ".join(f"{k}={v!r}" for k, v in jitter.items()) + "),",
        "            VideoToNumpy(apply_to=self.video_keys),",
        "            StateActionToTensor(apply_to=self.state_keys),",
        "            StateActionTransform(apply_to=self.state_keys, normalization_modes={k: norm for k in self.state_keys}),",
        "            StateActionToTensor(apply_to=self.action_keys),",
        "            StateActionTransform(apply_to=self.action_keys, normalization_modes={k: norm for k in self.action_keys}),",
        "            ConcatTransform(video_concat_order=self.video_keys, state_concat_order=self.state_keys,",
        "                            action_concat_order=self.action_keys),",
        "            GR00TIDMTransform(state_horizon=len(self.observation_indices), action_horizon=len(self.action_indices),",
        f"                              max_state_dim={preset.get('max_state_dim', 64)}, max_action_dim={preset.get('max_action_dim', 32)}),",
        "        ])",
        "",
    ]
    return "\n".join(lines)


def data_config_map_line(preset: dict[str, Any]) -> str:
    return f'    "{preset["key"]}": {class_name(preset["key"])}(),'


def build_conf(preset: dict[str, Any], video_keys: list[str]) -> dict[str, Any]:
    key = preset["key"]
    joints = preset["joints"]
    delta = preset["delta_indices"]
    vt = preset.get("video_transforms", {})
    resize = vt.get("resize", [224, 224])
    videos = [f"video.{v}" for v in video_keys]
    states = [f"state.{j}" for j in joints]
    actions = [f"action.{j}" for j in joints]
    norm = preset.get("normalization", "min_max")

    def modality(indices: list[int], keys: list[str]) -> dict[str, Any]:
        return {"_target_": "gr00t.data.dataset.ModalityConfig", "delta_indices": list(indices), "modality_keys": keys}

    transforms = [
        {"_target_": "gr00t.data.transform.video.VideoToTensor", "apply_to": videos},
        {"_target_": "gr00t.data.transform.video.VideoCrop", "apply_to": videos, "scale": vt.get("crop_scale", 0.95)},
        {"_target_": "gr00t.data.transform.video.VideoResize", "apply_to": videos, "height": resize[0],
         "width": resize[1], "interpolation": "linear"},
        {"_target_": "gr00t.data.transform.video.VideoColorJitter", "apply_to": videos, **vt.get("color_jitter", {})},
        {"_target_": "gr00t.data.transform.video.VideoToNumpy", "apply_to": videos},
        {"_target_": "gr00t.data.transform.state_action.StateActionToTensor", "apply_to": states},
        {"_target_": "gr00t.data.transform.state_action.StateActionTransform", "apply_to": states,
         "normalization_modes": {s: norm for s in states}},
        {"_target_": "gr00t.data.transform.state_action.StateActionToTensor", "apply_to": actions},
        {"_target_": "gr00t.data.transform.state_action.StateActionTransform", "apply_to": actions,
         "normalization_modes": {a: norm for a in actions}},
        {"_target_": "gr00t.data.transform.concat.ConcatTransform", "video_concat_order": videos,
         "state_concat_order": states, "action_concat_order": actions},
        {"_target_": "gr00t.model.transforms_idm.GR00TIDMTransform", "state_horizon": len(delta["state"]),
         "action_horizon": len(delta["action"]), "max_state_dim": preset.get("max_state_dim", 64),
         "max_action_dim": preset.get("max_action_dim", 32)},
    ]
    return {
        "modality_configs": {
            key: {
                "video": modality(delta["video"], videos),
                "state": modality(delta["state"], states),
                "action": modality(delta["action"], actions),
                "language": modality(delta.get("language", [0]),
                                     [f"annotation.{k}" for k in preset.get("annotation", {})]),
            }
        },
        "all_transforms": {key: {"_target_": "gr00t.data.transform.base.ComposedModalityTransform",
                                 "transforms": transforms}},
        "metadata_versions": {key: preset.get("metadata_version", "v2.1")},
    }


# -- the kit ---------------------------------------------------------------------------------------
@dataclass
class KitOptions:
    embodiment: str = "so101"
    cameras: list[str] | None = None
    checkpoint: str | None = None  # a checkpoint folder that gets experiment_cfg/conf.yaml
    overwrite_conf: bool = False


@dataclass
class KitSummary:
    out: str
    files: list[str] = field(default_factory=list)
    conf_yaml: str | None = None
    warnings: list[str] = field(default_factory=list)


def build_kit(dataset_path: str | Path, out: str | Path, options: KitOptions | None = None,
              progress: Progress | None = None) -> KitSummary:
    options = options or KitOptions()
    preset = load_preset(options.embodiment)
    progress = ensure_progress(progress)
    with open_dataset(dataset_path) as dataset:
        for role_key in (preset["state_key"], preset["action_key"]):
            if role_key not in dataset.features:
                raise StudioError(f"dataset has no {role_key!r} feature (the preset needs it)", dataset_path)
        widths = {
            "state": int(np.prod(dataset.features[preset["state_key"]].shape)),
            "action": int(np.prod(dataset.features[preset["action_key"]].shape)),
        }
        cameras = options.cameras or [c for c in preset["video_keys"] if c in dataset.cameras] or list(dataset.cameras)[:1]
        modality = build_modality(preset, cameras)
        problems = check_modality(modality, widths, list(dataset.cameras)) + check_delta_indices(preset["delta_indices"])
        if problems:
            raise StudioError("embodiment kit would be invalid: " + "; ".join(problems), dataset_path)
        stats = build_stats(dataset, preset["state_key"], preset["action_key"], progress)
    key = preset["key"]
    summary = KitSummary(out=str(Path(out).absolute()))
    with atomic_dir(out, overwrite=True) as tmp:
        meta = tmp / "global_metadata" / key
        meta.mkdir(parents=True)
        (meta / "modality.json").write_text(json.dumps(modality, indent=4) + "\n", encoding="utf-8")
        (meta / "stats.json").write_text(json.dumps(stats, indent=4) + "\n", encoding="utf-8")
        (tmp / "data_config_idm.py").write_text(
            "# Paste into gr00t/experiment/data_config_idm.py (imports are already there).\n\n"
            + build_data_config_source(preset, cameras)
            + "\n# ...and register it in DATA_CONFIG_MAP:\n# " + data_config_map_line(preset).strip() + "\n",
            encoding="utf-8",
        )
        conf_text = _conf_header(preset) + yaml.safe_dump(build_conf(preset, cameras), sort_keys=False)
        (tmp / "conf.yaml").write_text(conf_text, encoding="utf-8")
        (tmp / "README.txt").write_text(_kit_readme(key), encoding="utf-8")
        summary.files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    if options.checkpoint:
        summary.conf_yaml = str(install_conf(options.checkpoint, conf_text, options.overwrite_conf))
    return summary


def _conf_header(preset: dict[str, Any]) -> str:
    return (f"# IDM experiment config for embodiment '{preset['key']}' ({preset.get('description', '')}).\n"
            "# Written by Rollout Studio: IDM training does not write this file itself.\n\n")


def install_conf(checkpoint: str | Path, conf_text: str, overwrite: bool = False) -> Path:
    checkpoint = Path(checkpoint)
    if not checkpoint.is_dir():
        raise StudioError("checkpoint folder does not exist", checkpoint)
    target = checkpoint / "experiment_cfg" / "conf.yaml"
    if target.exists() and not overwrite:
        raise StudioError("conf.yaml already exists", target, "pass --overwrite-conf to replace it")
    write_text_atomic(target, conf_text)
    return target


def _kit_readme(key: str) -> str:
    return (
        f"IDM embodiment kit for '{key}'\n\n"
        f"global_metadata/{key}/   copy to GR00T-Dreams/IDM_dump/global_metadata/{key}/\n"
        "                         and copy modality.json to <your LeRobot dataset>/meta/\n"
        "data_config_idm.py       the DataConfig class and its DATA_CONFIG_MAP line\n"
        "conf.yaml                goes to <checkpoint>/experiment_cfg/conf.yaml (--checkpoint does it)\n"
    )



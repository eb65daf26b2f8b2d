"""IDM embodiment kit: modality.json, stats.json, DataConfig and conf.yaml, field by field against seed 000."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from backend.errors import StudioError
from backend.idm.kit import (
    KitOptions,
    build_kit,
    build_modality,
    check_delta_indices,
    load_preset,
    plan_kit,
)

REAL = "lerobot061_so101_v30_h264"
JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
STATES = [f"state.{j}" for j in JOINTS]
ACTIONS = [f"action.{j}" for j in JOINTS]
VIDEOS = ["video.front"]
STAT_NAMES = ["mean", "std", "min", "max", "q01", "q99"]


def seed_modality() -> dict:
    """The SO-101 modality.json of seed 000, step 3.2.1."""
    return {
        "state": {j: {"start": i, "end": i + 1} for i, j in enumerate(JOINTS)},
        "action": {j: {"start": i, "end": i + 1, "absolute": False} for i, j in enumerate(JOINTS)},
        "video": {"front": {"original_key": "observation.images.front"}},
        "annotation": {"human.task_description": {"original_key": "task_index"}},
    }


def seed_conf() -> dict:
    """The structure of seed 000's checkpoint-10000/experiment_cfg/conf.yaml (step 3.3.1)."""

    def modality(indices: list[int], keys: list[str]) -> dict:
        return {
            "_target_": "gr00t.data.dataset.ModalityConfig",
            "delta_indices": indices,
            "modality_keys": keys,
        }

    video, state_action, concat = (
        "gr00t.data.transform.video.",
        "gr00t.data.transform.state_action.",
        "gr00t.data.transform.concat.ConcatTransform",
    )
    transforms = [
        {"_target_": video + "VideoToTensor", "apply_to": VIDEOS},
        {"_target_": video + "VideoCrop", "apply_to": VIDEOS, "scale": 0.95},
        {
            "_target_": video + "VideoResize",
            "apply_to": VIDEOS,
            "height": 224,
            "width": 224,
            "interpolation": "linear",
        },
        {
            "_target_": video + "VideoColorJitter",
            "apply_to": VIDEOS,
            "brightness": 0.3,
            "contrast": 0.4,
            "saturation": 0.5,
            "hue": 0.08,
        },
        {"_target_": video + "VideoToNumpy", "apply_to": VIDEOS},
        {"_target_": state_action + "StateActionToTensor", "apply_to": STATES},
        {
            "_target_": state_action + "StateActionTransform",
            "apply_to": STATES,
            "normalization_modes": {s: "min_max" for s in STATES},
        },
        {"_target_": state_action + "StateActionToTensor", "apply_to": ACTIONS},
        {
            "_target_": state_action + "StateActionTransform",
            "apply_to": ACTIONS,
            "normalization_modes": {a: "min_max" for a in ACTIONS},
        },
        {
            "_target_": concat,
            "video_concat_order": VIDEOS,
            "state_concat_order": STATES,
            "action_concat_order": ACTIONS,
        },
        {
            "_target_": "gr00t.model.transforms_idm.GR00TIDMTransform",
            "state_horizon": 2,
            "action_horizon": 16,
            "max_state_dim": 64,
            "max_action_dim": 32,
        },
    ]
    return {
        "modality_configs": {
            "so101": {
                "video": modality([0, 16], VIDEOS),
                "state": modality([0, 16], STATES),
                "action": modality(list(range(16)), ACTIONS),
                "language": modality([0], ["annotation.human.task_description"]),
            }
        },
        "all_transforms": {
            "so101": {
                "_target_": "gr00t.data.transform.base.ComposedModalityTransform",
                "transforms": transforms,
            }
        },
        "metadata_versions": {"so101": "v2.1"},
    }


@pytest.fixture(scope="module")
def kit(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("kit")
    checkpoint = root / "idm_out" / "checkpoint-10000"
    checkpoint.mkdir(parents=True)
    (checkpoint / "config.json").write_text("{}", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "idm",
            "kit",
            str(shared_data / REAL),
            "--embodiment",
            "so101",
            "--out",
            str(root / "kit"),
            "--checkpoint",
            str(checkpoint),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return {"out": root / "kit", "checkpoint": checkpoint, "summary": json.loads(result.stdout), "root": root}


def test_files_of_the_kit(kit: dict) -> None:
    assert kit["summary"]["files"] == [
        "README.txt",
        "conf.yaml",
        "data_config_idm.py",
        "global_metadata/so101/modality.json",
        "global_metadata/so101/stats.json",
        "preset.json",
    ]
    assert kit["summary"]["conf_yaml"] == str(kit["checkpoint"] / "experiment_cfg" / "conf.yaml")


def test_modality_json_equals_the_seed_example(kit: dict) -> None:
    modality = json.loads(
        (kit["out"] / "global_metadata" / "so101" / "modality.json").read_text(encoding="utf-8")
    )
    assert modality == seed_modality()
    assert list(modality) == ["state", "action", "video", "annotation"]
    assert list(modality["state"]) == JOINTS


def test_conf_yaml_equals_the_seed_structure(kit: dict) -> None:
    text = (kit["out"] / "conf.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == seed_conf()
    assert "&id" not in text and "*id" not in text  # plain YAML, no anchors
    installed = kit["checkpoint"] / "experiment_cfg" / "conf.yaml"
    assert installed.read_text(encoding="utf-8") == text


def test_stats_json_is_gr00ts_statistics_of_the_dataset(kit: dict, shared_data: Path) -> None:
    stats = json.loads((kit["out"] / "global_metadata" / "so101" / "stats.json").read_text(encoding="utf-8"))
    columns = [
        "action",
        "observation.state",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    ]
    assert list(stats) == columns
    # the same layout as GR00T-Dreams' own global_metadata (so100)
    so100 = json.loads(
        (shared_data / "gr00t_dreams_idm_global_metadata" / "so100" / "stats.json").read_text()
    )
    assert list(so100) == columns
    for column in columns:
        assert list(stats[column]) == STAT_NAMES == list(so100[column])
        assert {len(v) for v in stats[column].values()} == {len(so100[column]["mean"])}
    # values: numpy over every frame of the parquet, in float32 (as GR00T computes them)
    table = pq.read_table(shared_data / REAL / "data" / "chunk-000" / "file-000.parquet")
    for column in columns:
        values = np.vstack([np.asarray(v, dtype=np.float32).reshape(-1) for v in table[column].to_pylist()])
        expected = {
            "mean": values.mean(axis=0),
            "std": values.std(axis=0),
            "min": values.min(axis=0),
            "max": values.max(axis=0),
            "q01": np.quantile(values, 0.01, axis=0),
            "q99": np.quantile(values, 0.99, axis=0),
        }
        for name in STAT_NAMES:
            np.testing.assert_allclose(
                stats[column][name], expected[name], rtol=1e-6, atol=1e-6, err_msg=f"{column}.{name}"
            )
    assert stats["index"]["max"] == [119.0] and stats["task_index"]["mean"] == [0.5]
    assert stats["timestamp"]["max"] == pytest.approx([59 / 30])


class _Recorder:
    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs


def test_data_config_class_matches_conf_yaml(kit: dict) -> None:
    source = (kit["out"] / "data_config_idm.py").read_text(encoding="utf-8")
    ast.parse(source)
    assert '#     "so101": So101DataConfig(),' in source
    names = [
        "VideoToTensor",
        "VideoCrop",
        "VideoResize",
        "VideoColorJitter",
        "VideoToNumpy",
        "StateActionToTensor",
        "StateActionTransform",
        "ConcatTransform",
        "GR00TIDMTransform",
        "ComposedModalityTransform",
        "ModalityConfig",
    ]
    namespace: dict = {name: type(name, (_Recorder,), {}) for name in names}
    namespace.update(BaseDataConfig=object, ModalityTransform=object)
    exec(compile(source, "data_config_idm.py", "exec"), namespace)  # noqa: S102 - our own generated class
    config = namespace["So101DataConfig"]()
    conf = seed_conf()
    modality = config.modality_config()
    for group, expected in conf["modality_configs"]["so101"].items():
        assert modality[group].kwargs == {
            "delta_indices": expected["delta_indices"],
            "modality_keys": expected["modality_keys"],
        }
    composed = config.transform()
    got = [(type(t).__name__, t.kwargs) for t in composed.kwargs["transforms"]]
    want = [
        (t["_target_"].rsplit(".", 1)[1], {k: v for k, v in t.items() if k != "_target_"})
        for t in conf["all_transforms"]["so101"]["transforms"]
    ]
    assert got == want


def test_existing_conf_needs_overwrite(kit: dict, shared_data: Path) -> None:
    with pytest.raises(StudioError, match="already exists"):
        build_kit(shared_data / REAL, kit["root"] / "again", KitOptions(checkpoint=str(kit["checkpoint"])))
    assert not (kit["root"] / "again").exists()
    summary = build_kit(
        shared_data / REAL,
        kit["root"] / "again",
        KitOptions(checkpoint=str(kit["checkpoint"]), overwrite_conf=True),
    )
    assert summary.conf_yaml


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"action_slices": {"arm": [0, 5], "gripper": [4, 6]}}, "slices arm (0:5) and gripper (4:6) overlap"),
        ({"state_slices": {"arm": [0, 5], "gripper": [5, 7]}}, "slice 5:7 exceeds the vector width 6"),
        ({"state_key": "observation.joints"}, "no 'observation.joints' vector"),
        ({"video_keys": ["top"]}, "observation.images.top is not a camera of the dataset"),
        (
            {"delta_indices": {"video": [16, 0], "state": [0, 16], "action": list(range(16))}},
            "delta_indices.video must be strictly increasing",
        ),
        (
            {"delta_indices": {"video": [0, 16], "state": [0, 16], "action": list(range(1, 17))}},
            "delta_indices.action must start at 0",
        ),
    ],
)
def test_invalid_presets_are_refused(shared_data: Path, tmp_path: Path, edit: dict, message: str) -> None:
    preset = {**load_preset("so101"), **edit}
    if "state_slices" in edit:
        preset["action_slices"] = {j: [i, i + 1] for i, j in enumerate(JOINTS)}
    if "action_slices" in edit:
        preset["state_slices"] = {j: [i, i + 1] for i, j in enumerate(JOINTS)}
    plan = plan_kit(shared_data / REAL, KitOptions(embodiment=preset, cameras=edit.get("video_keys")))
    assert any(message in error for error in plan["errors"]), plan["errors"]
    with pytest.raises(StudioError, match="embodiment kit would be invalid"):
        build_kit(
            shared_data / REAL,
            tmp_path / "kit",
            KitOptions(embodiment=preset, cameras=edit.get("video_keys")),
        )
    assert not (tmp_path / "kit").exists()


def test_edited_preset_wider_slices_and_wrist_camera(shared_data: Path, tmp_path: Path) -> None:
    preset = {
        **load_preset("so101"),
        "key": "so101_wrist",
        "video_keys": ["wrist"],
        "state_slices": {"arm": [0, 5], "gripper": [5, 6]},
        "action_slices": {"arm": [0, 5], "gripper": [5, 6]},
        "action_absolute": True,
    }
    preset.pop("joints")
    summary = build_kit(shared_data / REAL, tmp_path / "kit", KitOptions(embodiment=preset))
    modality = json.loads(
        (tmp_path / "kit" / "global_metadata" / "so101_wrist" / "modality.json").read_text()
    )
    assert modality["state"] == {"arm": {"start": 0, "end": 5}, "gripper": {"start": 5, "end": 6}}
    assert modality["action"] == {"arm": {"start": 0, "end": 5}, "gripper": {"start": 5, "end": 6}}
    assert modality["video"] == {"wrist": {"original_key": "observation.images.wrist"}}
    conf = yaml.safe_load((tmp_path / "kit" / "conf.yaml").read_text())
    assert list(conf["modality_configs"]) == ["so101_wrist"]
    assert conf["modality_configs"]["so101_wrist"]["state"]["modality_keys"] == ["state.arm", "state.gripper"]
    assert conf["metadata_versions"] == {"so101_wrist": "v2.1"}
    assert (
        "class So101WristDataConfig(BaseDataConfig):" in (tmp_path / "kit" / "data_config_idm.py").read_text()
    )
    assert summary.warnings == [
        "GR00T-Dreams trains on LeRobot v2.1 and this dataset is lerobot_v3.0: convert it (Convert › LeRobot "
        "versions) before IDM training; the kit's statistics stay the same"
    ]


def test_uncovered_slots_warn_and_delta_checks() -> None:
    preset = load_preset("so101")
    from backend.idm.kit import check_modality

    problems, warnings = check_modality(
        build_modality({**preset, "joints": JOINTS[:5]}), {"state": 6, "action": 6}
    )
    assert problems == [] and warnings == [
        "state: slots [5] of the 6-wide vector are in no slice (the IDM ignores them)",
        "action: slots [5] of the 6-wide vector are in no slice (the IDM ignores them)",
    ]
    assert check_delta_indices(preset["delta_indices"]) == []
    assert check_delta_indices({"video": [0, 40], "state": [0, 40], "action": list(range(16))}) == [
        "the last video index 40 lies beyond the action horizon 16"
    ]

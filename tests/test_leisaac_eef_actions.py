"""A LeIsaac HDF5 whose 8-D actions are end-effector poses (joint -> EEF's output, a MimicGen file)
reads with the names x, y, z, qw, qx, qy, qz, gripper and validates without the "not joint positions"
warning; an 8-D keyboard IK recording keeps both its generic names and the warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import pytest

from backend.convert import eef
from backend.formats import open_dataset, validate_path
from backend.formats.leisaac_hdf5._common import PROVENANCE_ATTR
from tests.recordings import DemoSpec, RecordingSpec, write_recording

EEF = ["x", "y", "z", "qw", "qx", "qy", "qz", "gripper"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("eef_actions")
    spec = RecordingSpec([DemoSpec(20), DemoSpec(20)], cameras=("front",))
    joints = write_recording(folder / "joints.hdf5", spec)
    out = folder / "eef.hdf5"
    eef.run(joints, eef.JointToEefOptions(out=out))
    # the same file as MimicGen writes it: no studio provenance, datagen_info beside the actions
    mimic = folder / "mimic.hdf5"
    shutil.copyfile(out, mimic)
    with h5py.File(mimic, "r+") as f:
        del f["data"].attrs[PROVENANCE_ATTR]
        assert "obs/datagen_info/eef_pose/so101_follower" in f["data/demo_0"]
    # a Mimic task's recording: the env says so, no datagen_info yet
    mimic_env = write_recording(
        folder / "mimic_env.hdf5",
        RecordingSpec([DemoSpec(20)], cameras=(), action_width=8, env_name="LeIsaac-SO101-LiftCube-Mimic-v0"),
    )
    keyboard = write_recording(
        folder / "keyboard.hdf5", RecordingSpec([DemoSpec(20)], cameras=(), action_width=8)
    )
    return {"eef": out, "mimic": mimic, "mimic_env": mimic_env, "keyboard": keyboard}


def _not_joints(path: Path) -> list[str]:
    return [p.problem for p in validate_path(path) if p.code == "actions_not_joints"]


@pytest.mark.parametrize("name", ["eef", "mimic", "mimic_env"])
def test_eef_actions_are_named_and_not_flagged(files: dict[str, Path], name: str) -> None:
    with open_dataset(files[name]) as dataset:
        actions = dataset.features["actions"]
        assert actions.shape == (8,) and actions.names == EEF
        assert actions.space is not None and not actions.space.is_so101  # never rescaled as joints
    assert _not_joints(files[name]) == []


def test_keyboard_ik_actions_keep_generic_names_and_the_warning(files: dict[str, Path]) -> None:
    with open_dataset(files["keyboard"]) as dataset:
        assert dataset.features["actions"].names == [f"actions[{i}]" for i in range(8)]
    problems = _not_joints(files["keyboard"])
    assert len(problems) == 1 and "width 8" in problems[0] and "not joint positions" in problems[0]


def test_provenance_names_the_conversion(files: dict[str, Path]) -> None:
    with h5py.File(files["eef"], "r") as f:
        assert json.loads(f["data"].attrs[PROVENANCE_ATTR])["conversion"] == "joint_to_eef"

"""The demo dataset: written by `rollout-studio demo-data DIR`, a valid LeIsaac HDF5 with six plausible
SO-101 pick-and-place demos (one failure), two 640x480 cameras, states and initial states."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend import demo_data
from backend.formats import detect_format, open_dataset, validate_path
from backend.model import Dataset, DatasetFormat
from backend.units import SO101_JOINTS, SO101_RANGES, Unit
from tests.demo_file import shared_demo_file


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, folder, printed = shared_demo_file(tmp_path_factory)  # the command, run once for the whole run
    assert printed.strip() == str((folder / "data" / "so101_pick_orange.hdf5").absolute())
    return path


@pytest.fixture()
def dataset(demo_file: Path):
    with open_dataset(demo_file) as ds:
        yield ds


def test_file_is_small_valid_and_complete(demo_file: Path, dataset: Dataset) -> None:
    assert demo_file.stat().st_size < 60e6
    assert detect_format(demo_file)[0] is DatasetFormat.LEISAAC_HDF5
    assert validate_path(demo_file) == []
    assert dataset.num_episodes == 6
    assert [e.success for e in dataset.episodes] == [True, True, True, False, True, True]
    assert all(90 <= e.length <= 150 for e in dataset.episodes)
    assert dataset.info["total"] == dataset.num_frames
    assert dataset.info["env_args"] == {"env_name": "LeIsaac-SO101-PickOrange-v0", "type": 2}
    assert dataset.cameras == {"front": "obs/front", "wrist": "obs/wrist"}
    assert (dataset.camera_info("front").width, dataset.camera_info("front").height) == (640, 480)
    assert dataset.roles == {"action": "actions", "state": "obs/joint_pos"}
    assert len({e.extra["seed"] for e in dataset.episodes}) == 6
    for key in (
        "obs/joint_vel",
        "obs/ee_frame_state",
        "states/articulation/robot/joint_position",
        "states/rigid_object/orange/root_pose",
        "processed_actions",
        "obs/actions",
    ):
        assert key in dataset.features, key
    initial = dataset.reader.read_initial_state(dataset.episodes[0])
    assert initial["articulation"]["robot"]["joint_position"].shape == (1, 6)
    assert set(initial["rigid_object"]) == {"orange", "plate"}


def test_motion_is_plausible_so101(dataset: Dataset) -> None:
    low = np.array([SO101_RANGES[j][0][0] for j in SO101_JOINTS])
    high = np.array([SO101_RANGES[j][0][1] for j in SO101_JOINTS])
    for episode in dataset.episodes:
        actions = episode.joints("action")
        assert actions.unit is Unit.RADIANS
        degrees = actions.to(Unit.SIM_DEGREES).values
        assert np.all(degrees >= low) and np.all(degrees <= high)
        steps = np.abs(np.diff(degrees, axis=0))
        assert (
            steps[:, :5].max() < 12.0 and steps[:, 5].max() < 25.0
        )  # smooth at 30 fps; grippers snap faster
        gripper = degrees[:, 5]
        middle = gripper[len(gripper) // 3 : 2 * len(gripper) // 3]
        assert gripper.max() > 60 and middle.min() < 20  # opens to reach, closes mid-way
        state = episode.array("obs/joint_pos")
        after = episode.array("states/articulation/robot/joint_position")
        np.testing.assert_array_equal(state[1:], after[:-1])  # obs before the step, states after it
        np.testing.assert_array_equal(episode.array("obs/actions")[1:], episode.array("actions")[:-1])
        orange_z = episode.array("states/rigid_object/orange/root_pose")[:, 2]
        lifted = orange_z.max() - orange_z[0] > 0.05
        assert lifted == bool(episode.success)  # the failed grasp never lifts the orange


def test_cameras_follow_the_motion(dataset: Dataset) -> None:
    episode = dataset.episodes[0]
    gripper = episode.array("obs/joint_pos")[:, 5]
    front, wrist = episode.stream("front"), episode.stream("wrist")
    first, later = front.frame(0), front.frame(episode.length // 3)
    assert first.shape == (480, 640, 3) and first.dtype == np.uint8
    orange = (first[..., 0] > 200) & (first[..., 1] > 100) & (first[..., 1] < 170) & (first[..., 2] < 80)
    assert orange.sum() > 200  # the orange is on the table
    assert np.mean(np.any(first != later, axis=-1)) > 0.01  # the arm moved
    opened, closed = int(np.argmax(gripper)), int(np.argmin(gripper[10:])) + 10
    jaw_row = wrist.frame(opened)[470], wrist.frame(closed)[470]

    def jaw_centre(row: np.ndarray) -> float:
        light = np.where((row[:, 0] > 200) & (row[:, 2] > 180) & (row[:, 2] < 215))[0]
        return float(light.mean())

    assert jaw_centre(jaw_row[0]) > jaw_centre(jaw_row[1]) + 50  # the moving jaw opens to the right


def test_generation_is_deterministic() -> None:
    plan = demo_data._plans()[2]
    a, b = demo_data.simulate(plan), demo_data.simulate(plan)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.orange, b.orange)

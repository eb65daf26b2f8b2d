"""SO-101 forward/inverse kinematics (backend/ik.py) and the MimicGen subtask signals, without files."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.convert.eef_to_joint import round_trip
from backend.convert.mimic_signals import gripper_events, signal_name, signals_from_boundaries
from backend.ik import (
    TCP_LINK,
    ArmChain,
    matrices_from_quaternions,
    poses_from_vectors,
    rotation_angles,
    rotation_log,
    solve_pose,
    solve_trajectory,
)
from backend.kinematics import default_model, quaternion_wxyz

CHAIN = ArmChain()
UNIT = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


def _reachable(unit: list[float]) -> np.ndarray:
    middle, half = (CHAIN.lower + CHAIN.upper) / 2, (CHAIN.upper - CHAIN.lower) / 2
    return middle + 0.9 * half * np.asarray(unit)


@settings(max_examples=40, deadline=None)
@given(st.lists(UNIT, min_size=5, max_size=5), st.lists(UNIT, min_size=5, max_size=5))
def test_ik_reaches_random_reachable_poses(unit, offset):
    """A pose forward kinematics made is reached again from a seed up to 0.2 rad away per joint."""
    q = _reachable(unit)
    seed = np.clip(q + 0.2 * np.asarray(offset), CHAIN.lower, CHAIN.upper)
    pose = CHAIN.fk(q)
    answer, position_error, rotation_error, _ = solve_pose(CHAIN, pose, seed)
    reached = CHAIN.fk(answer)
    assert position_error < 1e-6 and np.linalg.norm(reached[:3, 3] - pose[:3, 3]) < 1e-6
    assert rotation_error < 1e-5
    assert np.all(answer >= CHAIN.lower - 1e-12) and np.all(answer <= CHAIN.upper + 1e-12)


def test_chain_matches_the_model_and_ee_frame_state():
    rng = np.random.default_rng(3)
    q = np.array([_reachable(rng.uniform(-1, 1, 5)) for _ in range(20)])
    links = default_model().link_transforms(np.c_[q, np.zeros(len(q))])
    for chain, link in ((CHAIN, "gripper_link"), (ArmChain(tip=TCP_LINK), TCP_LINK)):
        single = np.stack([chain.fk(row) for row in q])
        many = chain.fk_many(q)
        assert np.abs(single - many).max() < 1e-12 and np.abs(many - links[link]).max() < 1e-12
    state = default_model().ee_frame_state(np.c_[q, np.zeros(len(q))])  # the tool point
    assert np.abs(poses_from_vectors(state) - links[TCP_LINK]).max() < 1e-12
    assert np.allclose(np.linalg.norm(state[:, 3:], axis=1), 1.0) and np.all(state[:, 3] >= 0)


def test_quaternions_and_rotation_logs():
    rng = np.random.default_rng(4)
    quats = rng.normal(size=(50, 4))
    rotations = matrices_from_quaternions(quats)
    assert np.abs(matrices_from_quaternions(quaternion_wxyz(rotations)) - rotations).max() < 1e-12
    assert np.abs(rotation_angles(rotations, rotations)).max() < 1e-7
    half_turn = np.diag([1.0, -1.0, -1.0])  # pi about x
    assert np.allclose(np.abs(rotation_log(half_turn)), [np.pi, 0, 0])
    small = matrices_from_quaternions(np.array([[np.cos(0.005), 0, np.sin(0.005), 0]]))[0]
    assert np.allclose(rotation_log(small), [0, 0.01, 0])


def test_trajectory_round_trip_is_exact_and_warm_started():
    t = np.linspace(0, 1, 50)[:, None]
    q = 0.6 * np.sin(2 * np.pi * t * np.array([1, 0.7, 0.5, 1.3, 0.9]) + np.arange(5))
    result = solve_trajectory(CHAIN.fk_many(q), q[0])
    assert result.position_error_m.max() < 1e-6 and result.rotation_error_rad.max() < 1e-5
    assert np.abs(result.q - q).max() < 1e-4
    assert result.iterations.mean() < 8  # the previous frame is a good start
    stats = round_trip(q)
    assert stats["max_position_error_mm"] < 1e-3 and stats["max_joint_error_deg"] < 0.01


def test_gripper_events_with_and_without_objects():
    gripper = np.r_[np.full(10, 1.2), np.full(15, 0.2), np.full(2, 1.2), np.full(3, 0.2), np.full(10, 1.2)]
    # the 2-frame opening is noise: one grasp at 10, one release at 30
    assert gripper_events(gripper) == [(10, "grasp"), (30, "release")]
    eef = np.zeros((len(gripper), 3))
    far = {"cube": np.full((len(gripper), 3), 0.5)}
    near = {"cube": np.full((len(gripper), 3), 0.01)}
    assert gripper_events(gripper, eef, far) == []
    assert gripper_events(gripper, eef, near) == [(10, "grasp"), (30, "release")]


def test_signals_from_boundaries_and_names():
    signals, problems = signals_from_boundaries(8, [3], ["grasp", "release"])
    assert signals["grasp"].tolist() == [False] * 3 + [True] * 5
    assert not signals["release"].any() and problems == ["signal 'release' has no boundary (found 1)"]
    _, problems = signals_from_boundaries(8, [0], ["grasp"])
    assert "outside 1..7" in problems[0]
    assert signal_name("Grasp the cube!", "s1") == "grasp_the_cube" and signal_name("  ", "s1") == "s1"


def test_trajectory_keeps_its_branch_where_the_previous_answer_alone_flips():
    """The test recordings' demo 0: with the previous answer as the only seed, IK flipped to the
    other elbow branch at frame 44 (same pose, 14 degrees off); the velocity seed keeps the branch."""
    from tests.recordings import joint_targets

    q = joint_targets(0, 230, 6)[:, :5].astype(np.float64)
    result = solve_trajectory(CHAIN.fk_many(q), q[0])
    assert result.position_error_m.max() < 1e-6
    assert np.degrees(np.abs(result.q - q).max()) < 0.1


def test_round_trip_on_the_real_so101_dataset(shared_data):
    """The LeRobot 0.6.1 SO-101 recording: its joint actions (radians) -> pose -> IK -> joints."""
    from backend.formats import open_dataset
    from backend.kinematics import joint_angles_rad

    with open_dataset(shared_data / "lerobot061_so101_v30_h264") as dataset:
        for episode in dataset.episodes:
            values = episode.joints("action")
            stats = round_trip(joint_angles_rad(values.values, values.space))
            assert stats["max_position_error_mm"] < 0.001 and stats["max_rotation_error_deg"] < 0.001
            assert stats["max_joint_error_deg"] < 0.01

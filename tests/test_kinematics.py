"""SO-101 forward kinematics against reference poses from the arm's public MuJoCo model.

The references come from a second, independent description of the same arm: TheRobotStudio
SO-ARM100 ``Simulation/SO101/so101_new_calib.xml`` (commit 07be617), whose bodies are given as
position + quaternion (not URDF rpy). Composing those here with quaternion algebra must land every
link where the URDF-based ``backend.kinematics`` puts it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.kinematics import POINT_NAMES, RESOURCE, TIP, ArmModel, default_model, joint_angles_rad
from backend.units import JointSpace, Unit

# body name, pos, quat (w, x, y, z) of so101_new_calib.xml; each body's hinge is its local z axis
MJCF_BODIES = [
    ("shoulder_link", (0.0388353, -8.97657e-09, 0.0624), (3.56167e-16, 1.22818e-15, -1, -4.14635e-16)),
    ("upper_arm_link", (-0.0303992, -0.0182778, -0.0542), (0.5, -0.5, -0.5, -0.5)),
    ("lower_arm_link", (-0.11257, -0.028, 1.73763e-16), (0.707107, -5.98613e-17, -2.58051e-17, 0.707107)),
    ("wrist_link", (-0.1349, 0.0052, 3.62355e-17), (0.707107, 9.58722e-16, -7.51313e-16, -0.707107)),
    ("gripper_link", (5.55112e-17, -0.0611, 0.0181), (0.0172091, -0.0172091, 0.706897, 0.706897)),
]
MJCF_GRIPPER_SITE = (-0.0079, -0.000218121, -0.0981274)  # site "gripperframe" in the gripper body
MJCF_JAW = ((0.0202, 0.0188, -0.0234), (0.707107, 0.707107, -1.85362e-08, 1.85362e-08))


def quat_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    n = np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def rot_z(q: float) -> np.ndarray:
    c, s = np.cos(q), np.sin(q)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def mjcf_reference(q: np.ndarray) -> dict[str, np.ndarray]:
    rotation, position = np.eye(3), np.zeros(3)
    out = {"base_link": position.copy()}
    for (name, pos, quat), angle in zip(MJCF_BODIES, q[:5], strict=True):
        position = position + rotation @ np.array(pos)
        rotation = rotation @ quat_matrix(*quat) @ rot_z(angle)
        out[name] = position.copy()
    out["gripper_frame_link"] = position + rotation @ np.array(MJCF_GRIPPER_SITE)
    out["moving_jaw_so101_v1_link"] = position + rotation @ np.array(MJCF_JAW[0])
    return out


POSES = {
    "zero": np.zeros(6),
    "reach": np.radians([30.0, -45.0, 60.0, -20.0, 90.0, 40.0]),
    "rest": np.radians([0.0, -98.0, 88.0, 72.0, 0.0, -5.0]),
    "random": np.random.default_rng(3).uniform(-1.6, 1.6, 6),
}


@pytest.mark.parametrize("pose", sorted(POSES))
def test_link_positions_match_the_mujoco_model(pose):
    q = POSES[pose]
    points = default_model().points(q[None])[0]
    reference = mjcf_reference(q)
    for name, expected in reference.items():
        got = points[POINT_NAMES.index(name)]
        # the two files round their numbers differently (6 significant digits): a few micrometres
        assert np.linalg.norm(got - expected) < 1e-5, (pose, name, got, expected)


def test_zero_pose_reference_numbers():
    """New calibration zero: upper arm up, forearm and gripper pointing forward (+x)."""
    points = default_model().points(np.zeros((1, 6)))[0]
    assert points[POINT_NAMES.index("shoulder_link")] == pytest.approx([0.0388353, 0.0, 0.0624], abs=1e-6)
    assert points[TIP] == pytest.approx([0.39139, 0.0, 0.22654], abs=1e-4)
    assert (
        points[TIP][0]
        > points[POINT_NAMES.index("wrist_link")][0]
        > points[POINT_NAMES.index("upper_arm_link")][0]
    )


def test_vectorised_over_time_and_rigid_links():
    rng = np.random.default_rng(11)
    q = rng.uniform(-1.5, 1.5, (200, 6))
    model = default_model()
    points = model.points(q)
    assert points.shape == (200, len(POINT_NAMES), 3)
    for k in (0, 57, 199):
        assert points[k] == pytest.approx(model.points(q[k : k + 1])[0], abs=1e-12)
    # distances between consecutive joint origins are link lengths: the same in every pose
    data = json.loads(RESOURCE.read_text())
    lengths = {j["child"]: np.linalg.norm(j["xyz"]) for j in data["joints"]}
    for parent, child in [
        ("shoulder_link", "upper_arm_link"),
        ("upper_arm_link", "lower_arm_link"),
        ("lower_arm_link", "wrist_link"),
        ("wrist_link", "gripper_link"),
    ]:
        d = np.linalg.norm(points[:, POINT_NAMES.index(child)] - points[:, POINT_NAMES.index(parent)], axis=1)
        assert d == pytest.approx(np.full(200, lengths[child]), abs=1e-9)


def test_pan_turns_the_arm_about_the_vertical_pan_axis():
    model = default_model()
    q = np.radians([[0.0, -30.0, 40.0, 10.0, 0.0, 20.0], [90.0, -30.0, 40.0, 10.0, 0.0, 20.0]])
    before, after = model.points(q)
    axis = before[POINT_NAMES.index("shoulder_link"), :2]
    for k in range(2, len(POINT_NAMES)):
        # the URDF rounds pi to 3.14159: the pan axis is vertical to within ~3e-6 rad
        assert after[k, 2] == pytest.approx(before[k, 2], abs=2e-6)  # heights unchanged
        r0, r1 = before[k, :2] - axis, after[k, :2] - axis
        assert np.linalg.norm(r1) == pytest.approx(np.linalg.norm(r0), abs=2e-6)
        if np.linalg.norm(r0) > 1e-2:
            angle = np.degrees(np.arctan2(r0[0] * r1[1] - r0[1] * r1[0], np.dot(r0, r1)))
            assert abs(abs(angle) - 90.0) < 0.01


def test_gripper_closed_tips_meet_and_open_apart():
    model = default_model()
    closed, opened = model.points(np.radians([[0, 0, 0, 0, 0, -10.0], [0, 0, 0, 0, 0, 100.0]]))
    jaw = POINT_NAMES.index("jaw_tip")
    assert np.linalg.norm(closed[jaw] - closed[TIP]) < 1e-3
    assert np.linalg.norm(opened[jaw] - opened[TIP]) > 0.05


def test_joint_angles_from_any_so101_unit_and_order():
    names = (
        "wrist_roll.pos",
        "gripper.pos",
        "shoulder_pan.pos",
        "shoulder_lift.pos",
        "elbow_flex.pos",
        "wrist_flex.pos",
    )
    space = JointSpace(names, Unit.LEROBOT_RANGE)
    mid = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])  # LeRobot mid-range ...
    rad = joint_angles_rad(mid, space)
    # ... is the middle of each sim range: 0 except elbow_flex (-5 deg) and the gripper (45 deg)
    assert np.degrees(rad[0]) == pytest.approx([0.0, 0.0, -5.0, 0.0, 0.0, -10.0], abs=1e-9)
    assert joint_angles_rad(mid, JointSpace(tuple(f"x{i}" for i in range(6)), Unit.OTHER)) is None
    assert joint_angles_rad(np.zeros((1, 12)), JointSpace.so101(Unit.RADIANS, ("left_", "right_"))) is None


def test_resource_names_its_source():
    data = json.loads(RESOURCE.read_text())
    assert "TheRobotStudio/SO-ARM100" in data["source"]["repository"]
    assert data["source"]["file"].endswith("so101_new_calib.urdf")
    assert ArmModel(data).actuated == [
        "shoulder_pan",
        "shoulder_lift",
        "elbow_flex",
        "wrist_flex",
        "wrist_roll",
        "gripper",
    ]


def _matrix_of(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def test_quaternions_of_known_and_random_rotations() -> None:
    from backend.kinematics import axis_angle_matrices, quaternion_wxyz

    half_turn_x = axis_angle_matrices(np.array([1.0, 0.0, 0.0]), np.array([np.pi]))
    quarter_z = axis_angle_matrices(np.array([0.0, 0.0, 1.0]), np.array([np.pi / 2]))
    known = quaternion_wxyz(np.concatenate([np.eye(3)[None], half_turn_x, quarter_z]))
    np.testing.assert_allclose(known[0], [1, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(known[1], [0, 1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(known[2], [np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)], atol=1e-12)
    rng = np.random.default_rng(5)
    axes = rng.normal(size=(200, 3))
    angles = rng.uniform(-np.pi, np.pi, size=200)
    rotations = np.stack(
        [
            axis_angle_matrices(a / np.linalg.norm(a), np.array([t]))[0]
            for a, t in zip(axes, angles, strict=True)
        ]
    )
    quats = quaternion_wxyz(rotations)
    assert np.all(quats[:, 0] >= 0)
    for q, r in zip(quats, rotations, strict=True):
        np.testing.assert_allclose(_matrix_of(q), r, atol=1e-9)


def test_ee_frame_state_is_the_gripper_frame_pose() -> None:
    from backend.kinematics import default_model

    model = default_model()
    q = np.random.default_rng(2).uniform(-1.0, 1.0, size=(20, 6))
    state = model.ee_frame_state(q)
    assert state.shape == (20, 7)
    np.testing.assert_allclose(state[:, :3], model.tip(q), atol=1e-12)
    frames = model.link_transforms(q)["gripper_frame_link"]
    for row, frame in zip(state, frames, strict=True):
        np.testing.assert_allclose(_matrix_of(row[3:]), frame[:3, :3], atol=1e-9)


def test_bi_arm_values_give_two_stick_figures_side_by_side() -> None:
    from backend.kinematics import BI_ARM_SPACING_M, SO101_JOINTS, arm_angles_rad, stick_figures

    names = tuple(f"{side}_{j}.pos" for side in ("left", "right") for j in SO101_JOINTS)
    space = JointSpace(names, Unit.SIM_DEGREES)
    rng = np.random.default_rng(4)
    values = rng.uniform(-40, 40, size=(5, 12))
    arms = arm_angles_rad(values, space)
    assert arms is not None and len(arms) == 2
    np.testing.assert_allclose(arms[0], np.radians(values[:, :6]))
    np.testing.assert_allclose(arms[1], np.radians(values[:, 6:]))
    points = stick_figures(values, space)
    k = len(POINT_NAMES)
    assert points.shape == (5, 2 * k, 3)
    model = default_model()
    np.testing.assert_allclose(points[:, :k], model.points(arms[0]) + [0, BI_ARM_SPACING_M / 2, 0])
    np.testing.assert_allclose(points[:, k:], model.points(arms[1]) - [0, BI_ARM_SPACING_M / 2, 0])
    single = JointSpace(tuple(f"{j}.pos" for j in SO101_JOINTS), Unit.SIM_DEGREES)
    assert stick_figures(values[:, :6], single).shape == (5, k, 3)
    assert stick_figures(values, JointSpace(names, Unit.OTHER)) is None

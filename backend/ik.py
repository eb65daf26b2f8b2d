"""SO-101 inverse kinematics: damped least squares on the end-effector pose, numpy only.

The end effector is a link of ``backend.kinematics``' model: ``gripper_link`` by default (LeIsaac's
``gripper`` body: its Mimic environments' IK action term and its ``ee_frame`` "gripper" target, "no
offset for ik convert"), or ``gripper_frame_link`` (the URDF's point between the jaws). The arm
(shoulder_pan .. wrist_roll) has five joints for a six-dimensional pose, so a pose that forward
kinematics made is reached exactly and any other pose (a MimicGen-warped one) as closely as the
weighting allows: position first, orientation weighted by ``orientation_weight`` metres per radian. Each frame starts from the previous answers
moved on at their last velocity (the first from ``q0``), so a trajectory stays on one branch of the
arm, through the straight-elbow singularity too, and takes a few iterations a frame.

    chain = ArmChain()                      # the chain of default_model()
    pose = chain.fk(q5)                     # (4, 4) end-effector pose in the base frame
    result = solve_trajectory(poses, q0)    # poses (T, 4, 4) or (T, 7) xyz + qw qx qy qz
    result.q, result.position_error_m, result.rotation_error_rad

Angles are radians in ``SO101_JOINTS`` order without the gripper (the gripper does not move the frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.kinematics import ArmModel, default_model
from backend.units import SO101_JOINTS

ARM_JOINTS = SO101_JOINTS[:5]  # what moves the end effector
TIP_LINK = "gripper_link"  # LeIsaac's "gripper" body
TCP_LINK = "gripper_frame_link"  # the URDF's tool point between the jaws
MAX_STEP_RAD = 0.3  # largest change of one joint in one iteration


def matrices_from_quaternions(quaternions: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations of (T, 4) quaternions (w, x, y, z); they are normalised first."""
    q = np.asarray(quaternions, dtype=np.float64).reshape(-1, 4)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=1),
        ],
        axis=1,
    )


def poses_from_vectors(vectors: np.ndarray) -> np.ndarray:
    """(T, 4, 4) homogeneous poses of (T, 7) rows ``x, y, z, qw, qx, qy, qz``."""
    v = np.asarray(vectors, dtype=np.float64).reshape(-1, 7)
    poses = np.broadcast_to(np.eye(4), (len(v), 4, 4)).copy()
    poses[:, :3, :3] = matrices_from_quaternions(v[:, 3:7])
    poses[:, :3, 3] = v[:, :3]
    return poses


def rotation_log(rotation: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle, radians) of one 3x3 rotation; exact near half turns too."""
    r = np.asarray(rotation, dtype=np.float64)
    cos = float(np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0))
    vee = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    angle = float(np.arccos(cos))
    if angle < 1e-7:
        return 0.5 * vee
    if np.pi - angle > 1e-4:
        return vee * (angle / (2.0 * np.sin(angle)))
    # near a half turn: the axis from the diagonal of R = 2 a a^T - I
    axis = np.sqrt(np.clip((np.diag(r) + 1.0) / 2.0, 0.0, None))
    k = int(np.argmax(axis))
    for i in range(3):
        if i != k:
            axis[i] = np.copysign(axis[i], r[k, i] + r[i, k])
    axis /= np.linalg.norm(axis)
    return axis * angle


def rotation_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,) angles in radians between rotations a (T, 3, 3) and b (T, 3, 3)."""
    rel = np.einsum("tji,tjk->tik", np.asarray(a, np.float64), np.asarray(b, np.float64))
    cos = (np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0
    # arccos loses precision near 0: use the sine part as well
    sin = 0.5 * np.linalg.norm(
        np.stack(
            [rel[:, 2, 1] - rel[:, 1, 2], rel[:, 0, 2] - rel[:, 2, 0], rel[:, 1, 0] - rel[:, 0, 1]], axis=1
        ),
        axis=1,
    )
    return np.arctan2(sin, np.clip(cos, -1.0, 1.0))


def _axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    x, y, z = axis
    s, c = np.sin(angle), np.cos(angle)
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


class ArmChain:
    """The serial chain base_link -> ``tip`` of an ``ArmModel``, for one frame at a time."""

    def __init__(self, model: ArmModel | None = None, tip: str = TIP_LINK) -> None:
        model = model or default_model()
        by_child = {j.child: j for j in model.joints}
        chain = []
        link = tip
        while link != model.root:
            joint = by_child[link]
            chain.append(joint)
            link = joint.parent
        chain.reverse()
        # (origin rotation, origin translation, unit axis or None, column in ARM_JOINTS)
        self._steps: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, int]] = []
        lower, upper = [], []
        for joint in chain:
            if joint.type == "fixed":
                self._steps.append((joint.origin[:3, :3], joint.origin[:3, 3], None, -1))
                continue
            column = ARM_JOINTS.index(joint.name)
            axis = joint.axis / np.linalg.norm(joint.axis)
            self._steps.append((joint.origin[:3, :3], joint.origin[:3, 3], axis, column))
            low, high = joint.limits if joint.limits else (-np.pi, np.pi)
            lower.append((column, low))
            upper.append((column, high))
        self.lower = np.array([v for _, v in sorted(lower)])
        self.upper = np.array([v for _, v in sorted(upper)])
        self._model = model
        self._tip = tip

    def _forward(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Tip rotation, tip position, joint axes (5, 3) and joint positions (5, 3), world frame."""
        rot = np.eye(3)
        pos = np.zeros(3)
        axes = np.zeros((len(ARM_JOINTS), 3))
        points = np.zeros((len(ARM_JOINTS), 3))
        for o_rot, o_pos, axis, column in self._steps:
            pos = pos + rot @ o_pos
            rot = rot @ o_rot
            if axis is not None:
                axes[column] = rot @ axis
                points[column] = pos
                rot = rot @ _axis_rotation(axis, float(q[column]))
        return rot, pos, axes, points

    def fk(self, q: np.ndarray) -> np.ndarray:
        """(4, 4) end-effector pose for five arm angles (radians)."""
        rot, pos, _, _ = self._forward(np.asarray(q, dtype=np.float64))
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = rot, pos
        return pose

    def fk_many(self, q: np.ndarray) -> np.ndarray:
        """(T, 4, 4) poses for (T, 5) or (T, 6) angles, vectorised through ``ArmModel``."""
        q = np.atleast_2d(np.asarray(q, dtype=np.float64))
        full = np.zeros((len(q), len(SO101_JOINTS)))
        full[:, : q.shape[1]] = q[:, : len(SO101_JOINTS)]
        return self._model.link_transforms(full)[self._tip]


RESTART_M = 1e-4  # a frame further than this from its pose is tried again from other seeds
RESTART_RAD = 1e-3


def _restart_seeds(chain: ArmChain) -> list[np.ndarray]:
    middle = (chain.lower + chain.upper) / 2.0
    half = (chain.upper - chain.lower) / 2.0
    signs = np.array([[0, 0, 0, 0, 0], [0, 1, -1, 0, 0], [0, -1, 1, 0, 0], [0, 1, 1, -1, 0]], float)
    return [middle + 0.4 * half * s for s in signs]


@dataclass
class IKResult:
    q: np.ndarray  # (T, 5) radians, ARM_JOINTS order
    position_error_m: np.ndarray  # (T,) distance between the reached and the asked position
    rotation_error_rad: np.ndarray  # (T,) angle between the reached and the asked orientation
    iterations: np.ndarray  # (T,) iterations each frame took


def solve_pose(
    chain: ArmChain,
    target: np.ndarray,
    q0: np.ndarray,
    orientation_weight: float = 0.05,
    damping: float = 1e-3,
    max_iterations: int = 60,
    tolerance_m: float = 1e-7,
) -> tuple[np.ndarray, float, float, int]:
    """One pose (4, 4): damped least squares (Levenberg-Marquardt damping) from ``q0``; returns
    (q, position error m, rotation error rad, iterations). Joint limits hold after every step."""
    q = np.clip(np.asarray(q0, dtype=np.float64).copy(), chain.lower, chain.upper)
    t_rot, t_pos = target[:3, :3], target[:3, 3]
    weights = np.array([1.0, 1.0, 1.0, orientation_weight, orientation_weight, orientation_weight])
    eye = np.eye(len(q))

    def residual(angles: np.ndarray) -> tuple[np.ndarray, tuple]:
        rot, pos, axes, points = chain._forward(angles)
        error = np.concatenate([t_pos - pos, rotation_log(t_rot @ rot.T)]) * weights
        return error, (pos, axes, points)

    error, (pos, axes, points) = residual(q)
    size = float(np.linalg.norm(error))
    lam = damping
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported
        if size < tolerance_m:
            break
        jac = np.empty((6, len(q)))
        jac[:3] = np.cross(axes, pos - points).T
        jac[3:] = axes.T
        jac *= weights[:, None]
        normal, gradient = jac.T @ jac, jac.T @ error
        # Levenberg-Marquardt: more damping while a step does not reduce the error, less once it does
        while True:
            step = np.linalg.solve(normal + (lam**2) * eye, gradient)
            largest = float(np.max(np.abs(step)))
            if largest > MAX_STEP_RAD:
                step *= MAX_STEP_RAD / largest
            q_next = np.clip(q + step, chain.lower, chain.upper)
            error_next, state = residual(q_next)
            size_next = float(np.linalg.norm(error_next))
            if size_next < size:
                q, error, size, (pos, axes, points) = q_next, error_next, size_next, state
                lam = max(lam / 3.0, damping)
                break
            lam *= 4.0
            if lam > 1e3:
                break
        if lam > 1e3:
            break
    rot, pos, _, _ = chain._forward(q)
    rot_error = float(np.linalg.norm(rotation_log(t_rot @ rot.T)))
    return q, float(np.linalg.norm(t_pos - pos)), rot_error, iterations


def solve_trajectory(
    poses: np.ndarray,
    q0: np.ndarray | None = None,
    chain: ArmChain | None = None,
    orientation_weight: float = 0.05,
) -> IKResult:
    """Joint angles (T, 5) reaching ``poses`` ((T, 4, 4) or (T, 7) rows xyz + wxyz), each frame
    warm-started from the previous answers (the first from ``q0``, default zeros): frame t starts
    from ``2 q[t-1] - q[t-2]``; a frame left far from its pose is tried again from other seeds."""
    chain = chain or ArmChain()
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim == 2 and poses.shape[1] == 7:
        poses = poses_from_vectors(poses)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4):
        raise ValueError(f"poses of shape {poses.shape}: expected (T, 4, 4) or (T, 7)")
    start = np.zeros(len(ARM_JOINTS)) if q0 is None else np.asarray(q0, dtype=np.float64)[: len(ARM_JOINTS)]
    count = len(poses)
    q = np.zeros((count, len(ARM_JOINTS)))
    pos_err = np.zeros(count)
    rot_err = np.zeros(count)
    its = np.zeros(count, dtype=np.int64)
    last_miss = 0.0
    for t in range(count):
        if t >= 2:  # the previous answer moved on at its last velocity: carries a trajectory through
            # the straight-elbow singularity on its own branch (the previous answer alone may flip)
            seed = np.clip(2.0 * q[t - 1] - q[t - 2], chain.lower, chain.upper)
        else:
            seed = q[0] if t == 1 else start
        answer = solve_pose(chain, poses[t], seed, orientation_weight)
        miss = answer[1] + orientation_weight * answer[2]
        # far from the pose, and much further than the frame before (an unreachable pose of a warped
        # trajectory stays as far): lost, so try the previous answer itself, then fixed seeds
        if (answer[1] > RESTART_M or answer[2] > RESTART_RAD) and (
            t == 0 or miss > 2.0 * last_miss + RESTART_M
        ):
            for other_seed in ([q[t - 1]] if t else []) + _restart_seeds(chain):
                other = solve_pose(chain, poses[t], other_seed, orientation_weight)
                if other[1] + orientation_weight * other[2] < miss:
                    answer = (other[0], other[1], other[2], answer[3] + other[3])
                    miss = other[1] + orientation_weight * other[2]
        q[t], pos_err[t], rot_err[t], its[t] = answer
        last_miss = miss
    return IKResult(q, pos_err, rot_err, its)

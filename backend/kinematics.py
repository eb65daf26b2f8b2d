"""SO-101 forward kinematics from the public URDF's joint origins (resources/so101/).

The chain (base_link -> shoulder_pan -> ... -> wrist_roll -> gripper_frame, plus the moving jaw) is
read from ``resources/so101/so101_kinematics.json``, a trimmed copy of TheRobotStudio's
``so101_new_calib.urdf`` (joint origins, axes, limits; the file says where each number comes from).

Joint angles are the simulator's (LeIsaac) joint positions in radians: SIM_DEGREES * pi / 180, with
zero in the middle of each joint's range ("new calibration"). Everything is vectorised over time:
``ArmModel.points(q)`` with ``q`` of shape (T, 6) returns (T, K, 3) positions in metres in the
base_link frame (x forward, z up).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from backend.errors import StudioError
from backend.units import SO101_JOINTS, JointSpace, Unit, base_joint_name

RESOURCE = Path(__file__).resolve().parents[1] / "resources" / "so101" / "so101_kinematics.json"

# Points the stick figure draws, in this order (names of links or extra drawing points).
POINT_NAMES = (
    "base_link",
    "shoulder_link",
    "upper_arm_link",
    "lower_arm_link",
    "wrist_link",
    "gripper_link",
    "gripper_frame_link",
    "moving_jaw_so101_v1_link",
    "jaw_tip",
)
# Segments between points (indices into POINT_NAMES).
SKELETON = ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (5, 7), (7, 8))
TIP = POINT_NAMES.index("gripper_frame_link")


def rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """URDF convention: R = Rz(yaw) @ Ry(pitch) @ Rx(roll) (fixed axes X, then Y, then Z)."""
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def axis_angle_matrices(axis: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotations (T, 3, 3) about a unit ``axis`` by each angle (Rodrigues)."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    s = np.sin(angles)[:, None, None]
    c = np.cos(angles)[:, None, None]
    return np.eye(3)[None] + s * k[None] + (1.0 - c) * (k @ k)[None]


@dataclass(frozen=True)
class JointDef:
    name: str
    type: str  # "revolute" | "fixed"
    parent: str
    child: str
    origin: np.ndarray  # (4, 4) parent -> joint frame at zero angle
    axis: np.ndarray  # (3,)
    limits: tuple[float, float] | None


class ArmModel:
    """A serial tree of joints read from the kinematics resource."""

    def __init__(self, data: dict) -> None:
        self.source = data.get("source", {})
        self.root = data.get("root_link", "base_link")
        self.joints: list[JointDef] = []
        for j in data["joints"]:
            origin = np.eye(4)
            origin[:3, :3] = rpy_matrix(*j.get("rpy", (0.0, 0.0, 0.0)))
            origin[:3, 3] = j.get("xyz", (0.0, 0.0, 0.0))
            limits = tuple(j["limits_rad"]) if "limits_rad" in j else None
            self.joints.append(
                JointDef(
                    j["name"],
                    j["type"],
                    j["parent"],
                    j["child"],
                    origin,
                    np.asarray(j["axis"], float),
                    limits,
                )
            )
        self.extra_points: dict[str, tuple[str, np.ndarray]] = {}
        for name, item in data.get("drawing", {}).items():
            if isinstance(item, dict) and "link" in item:
                self.extra_points[name] = (item["link"], np.asarray(item["xyz"], dtype=np.float64))
        self.actuated = [j.name for j in self.joints if j.type != "fixed"]
        missing = [n for n in SO101_JOINTS if n not in self.actuated]
        if missing:
            raise StudioError(f"kinematics resource lacks joints {missing}", RESOURCE)

    @classmethod
    def load(cls, path: str | Path | None = None) -> ArmModel:
        path = Path(path) if path else RESOURCE
        try:
            return cls(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as error:
            raise StudioError(f"cannot read the SO-101 kinematics ({error})", path) from error

    def limits(self) -> dict[str, tuple[float, float]]:
        return {j.name: j.limits for j in self.joints if j.limits is not None}

    def link_transforms(self, q: np.ndarray) -> dict[str, np.ndarray]:
        """World (base_link) transforms (T, 4, 4) of every link for joint angles ``q`` (T, 6) in rad.

        Columns of ``q`` follow ``SO101_JOINTS`` (shoulder_pan ... gripper).
        """
        q = np.atleast_2d(np.asarray(q, dtype=np.float64))
        if q.shape[-1] != len(SO101_JOINTS):
            raise StudioError(f"forward kinematics needs {len(SO101_JOINTS)} joint angles, got {q.shape[-1]}")
        steps = q.shape[0]
        column = {name: i for i, name in enumerate(SO101_JOINTS)}
        world: dict[str, np.ndarray] = {self.root: np.broadcast_to(np.eye(4), (steps, 4, 4)).copy()}
        pending = list(self.joints)
        while pending:
            progressed = False
            for joint in list(pending):
                if joint.parent not in world:
                    continue
                pose = world[joint.parent] @ joint.origin
                if joint.type != "fixed":
                    motion = np.broadcast_to(np.eye(4), (steps, 4, 4)).copy()
                    motion[:, :3, :3] = axis_angle_matrices(joint.axis, q[:, column[joint.name]])
                    pose = pose @ motion
                world[joint.child] = pose
                pending.remove(joint)
                progressed = True
            if not progressed:
                raise StudioError("kinematics resource has joints not connected to the root", RESOURCE)
        return world

    def points(self, q: np.ndarray) -> np.ndarray:
        """Positions (T, len(POINT_NAMES), 3) in metres of the stick figure's points."""
        world = self.link_transforms(q)
        out = []
        for name in POINT_NAMES:
            if name in world:
                out.append(world[name][:, :3, 3])
            else:
                link, xyz = self.extra_points[name]
                pose = world[link]
                out.append(pose[:, :3, :3] @ xyz + pose[:, :3, 3])
        return np.stack(out, axis=1)

    def tip(self, q: np.ndarray) -> np.ndarray:
        """Gripper frame positions (T, 3) in metres."""
        return self.link_transforms(q)["gripper_frame_link"][:, :3, 3]

    def ee_frame_state(self, q: np.ndarray) -> np.ndarray:
        """(T, 7) poses of ``gripper_frame_link`` (the URDF's tool point between the jaws) in the base
        frame, xyz (m) + quaternion wxyz (w >= 0). Not LeIsaac's ``obs/ee_frame_state``: that is the
        pose of its ``gripper`` body (``gripper_link``, ``backend.ik.TIP_LINK``); for that frame take
        ``link_transforms(q)["gripper_link"]``, as ``convert joint-to-eef`` does by default."""
        pose = self.link_transforms(q)["gripper_frame_link"]
        return np.concatenate([pose[:, :3, 3], quaternion_wxyz(pose[:, :3, :3])], axis=1)


def quaternion_wxyz(rotations: np.ndarray) -> np.ndarray:
    """(T, 4) unit quaternions (w, x, y, z), w >= 0, of rotation matrices (T, 3, 3).

    Shepperd's method: each row uses the largest of w, x, y, z to divide by, so it stays exact near
    half turns."""
    m = np.asarray(rotations, dtype=np.float64).reshape(-1, 3, 3)
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    candidates = np.stack([trace, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=1)
    pick = np.argmax(candidates, axis=1)
    q = np.empty((len(m), 4))
    for case in range(4):
        rows = pick == case
        if not rows.any():
            continue
        r = m[rows]
        if case == 0:
            s = np.sqrt(1.0 + trace[rows]) * 2.0
            q[rows] = np.stack(
                [
                    0.25 * s,
                    (r[:, 2, 1] - r[:, 1, 2]) / s,
                    (r[:, 0, 2] - r[:, 2, 0]) / s,
                    (r[:, 1, 0] - r[:, 0, 1]) / s,
                ],
                axis=1,
            )
            continue
        i = case - 1
        j, k = (i + 1) % 3, (i + 2) % 3
        s = np.sqrt(1.0 + r[:, i, i] - r[:, j, j] - r[:, k, k]) * 2.0
        out = np.empty((len(r), 4))
        out[:, 0] = (r[:, k, j] - r[:, j, k]) / s
        out[:, 1 + i] = 0.25 * s
        out[:, 1 + j] = (r[:, j, i] + r[:, i, j]) / s
        out[:, 1 + k] = (r[:, k, i] + r[:, i, k]) / s
        q[rows] = out
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q[q[:, 0] < 0] *= -1.0
    return q


@lru_cache(maxsize=1)
def default_model() -> ArmModel:
    return ArmModel.load()


def joint_angles_rad(values: np.ndarray, space: JointSpace) -> np.ndarray | None:
    """(T, 6) radians in SO101_JOINTS order from any single-arm SO-101 joint array; None otherwise."""
    if space.unit is Unit.OTHER or not space.is_so101:
        return None
    bases = [base_joint_name(n) for n in space.names]
    if sorted(bases) != sorted(SO101_JOINTS) or len(bases) != len(SO101_JOINTS):
        return None
    rad = space.convert(values, Unit.RADIANS)
    order = [bases.index(n) for n in SO101_JOINTS]
    return rad[:, order]


BI_ARM_SPACING_M = 0.40  # drawing only: the two bases this far apart along y (left at +y)


def arm_angles_rad(values: np.ndarray, space: JointSpace) -> list[np.ndarray] | None:
    """Per arm, (T, 6) radians in SO101_JOINTS order: one arm, or left and right of a bi-arm
    (names ``left_*`` / ``right_*``); None when the values are not SO-101 joint positions."""
    single = joint_angles_rad(values, space)
    if single is not None:
        return [single]
    if space.unit is Unit.OTHER or not space.is_so101 or space.width != 2 * len(SO101_JOINTS):
        return None
    arms = []
    for side in ("left_", "right_"):
        columns = [i for i, n in enumerate(space.names) if n.split(".")[0].startswith(side)]
        if len(columns) != len(SO101_JOINTS):
            return None
        half = JointSpace(tuple(space.names[i] for i in columns), space.unit)
        angles = joint_angles_rad(np.asarray(values)[:, columns], half)
        if angles is None:
            return None
        arms.append(angles)
    return arms


def stick_figures(values: np.ndarray, space: JointSpace) -> np.ndarray | None:
    """(T, K * arms, 3) stick-figure points of every arm (see ``POINT_NAMES``; a bi-arm's left arm
    first, bases ``BI_ARM_SPACING_M`` apart); None when the values are not SO-101 joints."""
    arms = arm_angles_rad(values, space)
    if arms is None:
        return None
    model = default_model()
    if len(arms) == 1:
        return model.points(arms[0])
    shifts = (np.array([0.0, BI_ARM_SPACING_M / 2, 0.0]), np.array([0.0, -BI_ARM_SPACING_M / 2, 0.0]))
    return np.concatenate([model.points(q) + shift for q, shift in zip(arms, shifts, strict=True)], axis=1)


def degrees_to_rad_so101(values_deg: np.ndarray, names: tuple[str, ...]) -> np.ndarray | None:
    """(T, 6) radians in SO101_JOINTS order from sim-degree values with joint ``names``."""
    return joint_angles_rad(np.asarray(values_deg), JointSpace(tuple(names), Unit.SIM_DEGREES))

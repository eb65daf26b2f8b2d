"""A small, realistic LeIsaac-style sample dataset for the demo, the docs and the tests.

``write_demo_dataset(out_dir)`` writes ``<out_dir>/so101_pick_orange.hdf5``: six teleoperated-looking
SO-101 "pick the orange, place it on the plate" demos (90-150 steps at 30 fps, one of them a
failure) with every key a LeIsaac recording has (actions, obs/*, states/*, initial_state, seed,
env_args) and two 640x480 cameras, ``front`` and ``wrist``, rendered with OpenCV.

Motion: keyframes (rest, above the orange, grasp, lift, above the plate, release, rest) are solved
with inverse kinematics of the SO-101 URDF chain and joined with minimum-jerk segments plus a little
operator tremor; the follower tracks the leader with a first-order lag, the gripper stalls on the
orange. Everything is deterministic (fixed seeds): regenerating gives the same file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.leisaac_hdf5 import LeIsaacHDF5Writer, default_provenance
from backend.model import Feature, FeatureKind
from backend.progress import Progress, ensure_progress
from backend.units import SO101_JOINTS, SO101_RANGES, JointSpace, Unit

FILE_NAME = "so101_pick_orange.hdf5"
ENV_NAME = "LeIsaac-SO101-PickOrange-v0"
TASK = "Pick up the orange and place it on the plate."
FPS = 30.0
WIDTH, HEIGHT = 640, 480
NUM_DEMOS = 6
FAILED_DEMO = 3

# SO-101 kinematic chain (joint origins xyz [m] and rpy [rad] of TheRobotStudio SO-ARM100
# Simulation/SO101/so101_new_calib.urdf, Apache-2.0); every revolute axis is local +Z.
_CHAIN = (
    ((0.0388353, 0.0, 0.0624), (3.14159, 0.0, -3.14159)),  # shoulder_pan
    ((-0.0303992, -0.0182778, -0.0542), (-1.5708, -1.5708, 0.0)),  # shoulder_lift
    ((-0.11257, -0.028, 0.0), (0.0, 0.0, 1.5708)),  # elbow_flex
    ((-0.1349, 0.0052, 0.0), (0.0, 0.0, -1.5708)),  # wrist_flex
    ((0.0, -0.0611, 0.0181), (1.5708, 0.0486795, 3.14159)),  # wrist_roll
)
_TIP = ((-0.0079, -0.000218121, -0.0981274), (0.0, 3.14159, 0.0))  # gripper_frame_link (fixed jaw tip)
_JAW = ((0.0202, 0.0188, -0.0234), (1.5708, 0.0, 0.0))  # gripper joint (moving jaw)
_JAW_TIP = np.array([-0.0147, -0.0785, 0.019, 1.0])

ROBOT_ROOT = np.array([0.33, -0.28, 0.76, 1.0, 0.0, 0.0, 0.0])  # env frame pose of the robot base
ORANGE_R = 0.033
PLATE = np.array([0.17, 0.19, 0.0])  # base frame; positive pan turns the arm towards -y
PLATE_R = 0.075
TABLE = (-0.30, 0.50, -0.45, 0.45)  # x0, x1, y0, y1 in the base frame, surface at z = 0

REST = np.radians([0.0, -100.0, 88.0, 72.0, 0.0, 1.0]) * np.array([1, 0.98, 1, 1, 1, 1])
GRIP_OPEN, GRIP_CONTACT, GRIP_SQUEEZE = 1.25, 0.42, 0.12

_LOW = np.radians([SO101_RANGES[j][0][0] for j in SO101_JOINTS]) + np.radians(3.0)
_HIGH = np.radians([SO101_RANGES[j][0][1] for j in SO101_JOINTS]) - np.radians(3.0)


# -- kinematics -----------------------------------------------------------------------------------
def _rpy(r: float, p: float, y: float) -> np.ndarray:
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def _transform(xyz: tuple[float, ...], rpy: tuple[float, ...]) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = _rpy(*rpy)
    m[:3, 3] = xyz
    return m


def _rot_z(q: float) -> np.ndarray:
    m = np.eye(4)
    c, s = math.cos(q), math.sin(q)
    m[:2, :2] = [[c, -s], [s, c]]
    return m


_CHAIN_T = [_transform(*j) for j in _CHAIN]
_TIP_T = _transform(*_TIP)
_JAW_T = _transform(*_JAW)


def forward(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drawing points (base, joints..., fixed jaw tip, moving jaw root, moving jaw tip) and the
    4x4 pose of the gripper frame, in the robot base frame."""
    m = np.eye(4)
    points = [np.zeros(3)]
    for i, t in enumerate(_CHAIN_T):
        m = m @ t @ _rot_z(float(q[i]))
        points.append(m[:3, 3].copy())
    tip = m @ _TIP_T
    jaw = m @ _JAW_T @ _rot_z(float(q[5]))
    points += [tip[:3, 3].copy(), jaw[:3, 3].copy(), (jaw @ _JAW_TIP)[:3]]
    return np.array(points), tip


def _quat_wxyz(r: np.ndarray) -> np.ndarray:
    w = math.sqrt(max(0.0, 1.0 + r[0, 0] + r[1, 1] + r[2, 2])) / 2.0
    x = math.copysign(math.sqrt(max(0.0, 1.0 + r[0, 0] - r[1, 1] - r[2, 2])) / 2.0, r[2, 1] - r[1, 2])
    y = math.copysign(math.sqrt(max(0.0, 1.0 - r[0, 0] + r[1, 1] - r[2, 2])) / 2.0, r[0, 2] - r[2, 0])
    z = math.copysign(math.sqrt(max(0.0, 1.0 - r[0, 0] - r[1, 1] + r[2, 2])) / 2.0, r[1, 0] - r[0, 1])
    return np.array([w, x, y, z])


def solve_ik(target: np.ndarray, approach: np.ndarray, guess: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """Joint angles (pan, lift, elbow, wrist_flex) putting the gripper tip at ``target`` with its
    approach axis near ``approach``: damped least squares on a numerical Jacobian."""
    q = guess.copy()
    q[4] = roll
    approach = approach / np.linalg.norm(approach)

    def error(qq: np.ndarray) -> np.ndarray:
        _, tip = forward(qq)
        return np.concatenate([(tip[:3, 3] - target) * 10.0, (tip[:3, 2] - approach) * 0.4])

    for _ in range(60):
        e = error(q)
        if np.linalg.norm(e[:3]) < 1e-4:
            break
        jac = np.zeros((6, 4))
        for i in range(4):
            dq = q.copy()
            dq[i] += 1e-5
            jac[:, i] = (error(dq) - e) / 1e-5
        step = np.linalg.solve(jac.T @ jac + 1e-4 * np.eye(4), jac.T @ e)
        q[:4] = np.clip(q[:4] - step, _LOW[:4], _HIGH[:4])
    return q


# -- trajectories ---------------------------------------------------------------------------------
@dataclass
class DemoPlan:
    index: int
    seed: int
    orange: np.ndarray  # base frame centre on the table
    speed: float
    success: bool


def _min_jerk(s: np.ndarray) -> np.ndarray:
    return s * s * s * (10 - 15 * s + 6 * s * s)


def _leader_trajectory(plan: DemoPlan, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, int]]:
    """Operator (leader arm) joint targets in radians, (T, 6), and the step of each phase."""
    down = np.array([0.0, 0.0, -1.0])
    grasp_at = plan.orange + np.array([0.0, 0.0, 0.004])
    if not plan.success:  # operator misjudges depth: the jaws close beside the orange
        grasp_at = grasp_at + np.array([0.035, -0.03, 0.012])
    towards = np.array([plan.orange[0], plan.orange[1], 0.0])
    approach = 0.55 * down + 0.45 * towards / np.linalg.norm(towards)
    place_dir = 0.6 * down + 0.4 * PLATE / np.linalg.norm(PLATE)
    roll = float(rng.uniform(-0.25, 0.25))
    above = solve_ik(grasp_at + [0, 0, 0.075], approach, REST.copy(), roll)
    grasp = solve_ik(grasp_at, approach, above, roll)
    lift = solve_ik(grasp_at + [0, 0, 0.11], approach, grasp, roll)
    over_plate = solve_ik(PLATE + [0, 0, 0.12], place_dir, lift, roll * 0.5)
    release = solve_ik(PLATE + [0, 0, 0.075], place_dir, over_plate, roll * 0.5)
    rest = REST + np.radians(rng.normal(0, 1.0, 6)) * [1, 1, 1, 1, 1, 0]
    keys = [
        ("rest", rest, GRIP_SQUEEZE * 0.5, 6),
        ("reach", above, GRIP_OPEN, 28),
        ("descend", grasp, GRIP_OPEN, 12),
        ("close", grasp, GRIP_SQUEEZE, 9),
        ("lift", lift, GRIP_SQUEEZE, 13),
        ("transport", over_plate, GRIP_SQUEEZE, 24),
        ("lower", release, GRIP_SQUEEZE, 9),
        ("open", release, GRIP_OPEN * 0.8, 7),
        ("retreat", rest, GRIP_SQUEEZE * 0.5, 24),
    ]
    rows: list[np.ndarray] = []
    phases: dict[str, int] = {}
    previous = np.concatenate([rest[:5], [keys[0][2]]])
    for name, pose, grip, steps in keys:
        steps = max(3, int(round(steps * plan.speed)))
        phases[name] = len(rows)
        goal = np.concatenate([pose[:5], [grip]])
        s = _min_jerk(np.linspace(0.0, 1.0, steps + 1)[1:])[:, None]
        rows.extend(previous + (goal - previous) * s)
        previous = goal
    leader = np.array(rows)
    t = np.arange(len(leader)) / FPS
    for j in range(6):  # hand tremor: a few slow sines per joint, below a degree
        for _ in range(3):
            f, a, p = rng.uniform(0.3, 1.6), np.radians(rng.uniform(0.1, 0.45)), rng.uniform(0, 2 * np.pi)
            leader[:, j] += a * np.sin(2 * np.pi * f * t + p)
    return np.clip(leader, _LOW, _HIGH), phases


@dataclass
class Rollout:
    actions: np.ndarray  # (T, 6) leader targets
    joint_pos: np.ndarray  # (T + 1, 6) follower, before each step and after the last
    orange: np.ndarray  # (T + 1, 3) base frame orange centre
    held: np.ndarray  # (T + 1,) bool
    tips: list[np.ndarray]  # (T + 1) gripper frame poses
    success: bool


def simulate(plan: DemoPlan) -> Rollout:
    rng = np.random.default_rng(plan.seed)
    actions, phases = _leader_trajectory(plan, rng)
    steps = len(actions)
    q = np.zeros((steps + 1, 6))
    q[0] = np.concatenate([REST[:5] + np.radians(rng.normal(0, 0.3, 5)), [0.02]])
    orange = np.zeros((steps + 1, 3))
    orange[0] = plan.orange
    held = np.zeros(steps + 1, dtype=bool)
    tips: list[np.ndarray] = [forward(q[0])[1]]
    offset = np.zeros(3)
    falling = 0.0
    for t in range(steps):
        nxt = q[t] + 0.42 * (actions[t] - q[t])
        if held[t]:
            nxt[5] = max(nxt[5], GRIP_CONTACT)  # the orange stalls the jaws
        q[t + 1] = nxt
        _, tip = forward(nxt)
        tips.append(tip)
        centre = orange[t].copy()
        between = tip[:3, 3] - tip[:3, 2] * 0.012
        grasping = phases["close"] <= t < phases["open"] + 2 and nxt[5] < GRIP_CONTACT + 0.25
        if not held[t] and grasping and np.linalg.norm(between - centre) < 0.03 and plan.success:
            held[t + 1] = True
            offset = tip[:3, :3].T @ (centre - tip[:3, 3])
        elif held[t] and actions[t][5] > GRIP_CONTACT + 0.2:
            held[t + 1] = False  # released: falls onto the plate or table
        else:
            held[t + 1] = held[t]
        if held[t + 1]:
            centre = tip[:3, :3] @ offset + tip[:3, 3]
            falling = 0.0
        else:
            floor = ORANGE_R + (0.012 if np.linalg.norm(centre[:2] - PLATE[:2]) < PLATE_R else 0.0)
            if centre[2] > floor:
                falling += 9.81 / FPS
                centre[2] = max(floor, centre[2] - falling / FPS)
        orange[t + 1] = centre
    on_plate = np.linalg.norm(orange[-1, :2] - PLATE[:2]) < PLATE_R and orange[-1, 2] < ORANGE_R + 0.03
    return Rollout(actions, q, orange, held, tips, bool(on_plate))


# -- rendering ------------------------------------------------------------------------------------
def _look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rows: camera right, down, forward (world -> camera rotation)."""
    forward_axis = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward_axis, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward_axis, right)
    return np.stack([right, down, forward_axis])


class _Camera:
    def __init__(self, eye: np.ndarray, rotation: np.ndarray, focal: float) -> None:
        self.eye = eye
        self.rotation = rotation
        self.focal = focal

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pc = (np.atleast_2d(points) - self.eye) @ self.rotation.T
        depth = pc[:, 2]
        safe = np.where(depth > 1e-3, depth, 1e-3)
        uv = np.stack(
            [self.focal * pc[:, 0] / safe + WIDTH / 2, self.focal * pc[:, 1] / safe + HEIGHT / 2], axis=1
        )
        return uv, depth


_FRONT_EYE = np.array([0.50, 0.26, 0.36])
FRONT = _Camera(
    _FRONT_EYE, _look_at(_FRONT_EYE, np.array([0.10, 0.02, 0.07]), np.array([0.0, 0.0, 1.0])), 520.0
)
WALL = (214, 219, 226)
FLOOR = (92, 96, 104)
WOOD = (176, 134, 92)
PLATE_RGB = (236, 238, 240)
ORANGE_RGB = (246, 132, 24)
ARM_RGB = (238, 232, 212)
MOTOR_RGB = (40, 42, 48)


def _circle_points(centre: np.ndarray, radius: float, n: int = 40) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack(
        [centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a), np.full(n, centre[2])], axis=1
    )


def _front_background() -> np.ndarray:
    image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    rows = np.linspace(0.0, 1.0, HEIGHT)[:, None]
    image[:] = (np.array(WALL)[None, :] * (1.0 - 0.18 * rows)).astype(np.uint8)[:, None, :]
    x0, x1, y0, y1 = TABLE
    corners = np.array([[x0, y0, 0], [x1, y0, 0], [x1, y1, 0], [x0, y1, 0]], float)
    uv, _ = FRONT.project(corners)
    cv2.fillPoly(image, [np.round(uv).astype(np.int32)], WOOD, cv2.LINE_AA)
    edge = np.array([[x1, y0, 0], [x1, y1, 0], [x1, y1, -0.03], [x1, y0, -0.03]], float)
    uv, _ = FRONT.project(edge)
    cv2.fillPoly(image, [np.round(uv).astype(np.int32)], (128, 94, 62), cv2.LINE_AA)
    plate_uv, _ = FRONT.project(_circle_points(PLATE + [0, 0, 0.004], PLATE_R))
    cv2.fillPoly(image, [np.round(plate_uv).astype(np.int32)], PLATE_RGB, cv2.LINE_AA)
    rim_uv, _ = FRONT.project(_circle_points(PLATE + [0, 0, 0.012], PLATE_R * 0.72))
    cv2.polylines(image, [np.round(rim_uv).astype(np.int32)], True, (200, 204, 210), 2, cv2.LINE_AA)
    base_uv, _ = FRONT.project(
        np.concatenate([_circle_points(np.zeros(3), 0.055), _circle_points([0, 0, 0.05], 0.05)])
    )
    cv2.fillConvexPoly(image, cv2.convexHull(np.round(base_uv).astype(np.int32)), (60, 62, 70), cv2.LINE_AA)
    return image


def _draw_orange(image: np.ndarray, camera: _Camera, centre: np.ndarray, scale: float = 1.0) -> None:
    uv, depth = camera.project(centre)
    if depth[0] < 0.02:
        return
    radius = camera.focal * ORANGE_R / depth[0] * scale
    if radius > 4 * WIDTH:
        return
    u, v = uv[0]
    if not (-radius < u < WIDTH + radius and -radius < v < HEIGHT + radius):
        return
    c = (int(round(u)), int(round(v)))
    cv2.circle(image, c, max(1, int(round(radius))), ORANGE_RGB, -1, cv2.LINE_AA)
    highlight = (int(round(u - radius * 0.35)), int(round(v - radius * 0.35)))
    cv2.circle(image, highlight, max(1, int(round(radius * 0.28))), (252, 186, 96), -1, cv2.LINE_AA)
    cv2.circle(
        image, (c[0], int(round(v - radius * 0.9))), max(1, int(round(radius * 0.12))), (70, 110, 40), -1
    )


def render_front(background: np.ndarray, q: np.ndarray, orange: np.ndarray, held: bool) -> np.ndarray:
    image = background.copy()
    points, _ = forward(q)
    uv, depth = FRONT.project(points)
    pix = np.round(uv).astype(np.int32)
    arm_depth = float(np.mean(depth[3:7]))
    _, orange_depth = FRONT.project(orange)
    orange_first = held or orange_depth[0] > arm_depth
    if orange_first:
        _draw_orange(image, FRONT, orange)
    chain = [pix[i] for i in (1, 2, 3, 4, 5)]
    width = max(6, int(round(FRONT.focal * 0.032 / max(arm_depth, 0.1))))
    for a, b in zip(chain[:-1], chain[1:], strict=True):
        cv2.line(image, tuple(a), tuple(b), MOTOR_RGB, width + 4, cv2.LINE_AA)
    for a, b in zip(chain[:-1], chain[1:], strict=True):
        cv2.line(image, tuple(a), tuple(b), ARM_RGB, width, cv2.LINE_AA)
    jaw_width = max(3, width // 2)
    for a, b in ((5, 6), (5, 7), (7, 8)):
        cv2.line(image, tuple(pix[a]), tuple(pix[b]), MOTOR_RGB, jaw_width + 3, cv2.LINE_AA)
    for a, b in ((5, 6), (5, 7), (7, 8)):
        cv2.line(image, tuple(pix[a]), tuple(pix[b]), ARM_RGB, jaw_width, cv2.LINE_AA)
    for i in (2, 3, 4, 5):
        cv2.circle(image, tuple(pix[i]), max(3, width // 2), MOTOR_RGB, -1, cv2.LINE_AA)
    if not orange_first:
        _draw_orange(image, FRONT, orange)
    return image


# low-resolution ray grid of the wrist camera (upscaled, so each frame costs ~1 ms)
_GRID_W, _GRID_H = 160, 120
_WRIST_FOCAL = 300.0
_gu, _gv = np.meshgrid(
    (np.arange(_GRID_W) + 0.5) * WIDTH / _GRID_W, (np.arange(_GRID_H) + 0.5) * HEIGHT / _GRID_H
)
_RAYS = np.stack(
    [(_gu - WIDTH / 2) / _WRIST_FOCAL, (_gv - HEIGHT / 2) / _WRIST_FOCAL, np.ones_like(_gu)], axis=-1
)


def _wrist_camera(tip: np.ndarray) -> _Camera:
    r = tip[:3, :3]
    forward_axis = r[:, 2]
    eye = tip[:3, 3] - 0.085 * forward_axis - 0.045 * r[:, 0]
    down = r[:, 0]  # from the lens towards the jaws
    right = np.cross(down, forward_axis)
    return _Camera(eye, np.stack([right, down, forward_axis]), _WRIST_FOCAL)


def render_wrist(tip: np.ndarray, gripper: float, orange: np.ndarray) -> np.ndarray:
    camera = _wrist_camera(tip)
    dirs = _RAYS @ camera.rotation  # camera -> world
    dz = dirs[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(dz < -1e-6, -camera.eye[2] / dz, np.inf)
    hx = camera.eye[0] + t * dirs[..., 0]
    hy = camera.eye[1] + t * dirs[..., 1]
    x0, x1, y0, y1 = TABLE
    small = np.empty((_GRID_H, _GRID_W, 3), np.uint8)
    small[:] = WALL
    hit = np.isfinite(t)
    small[hit] = FLOOR
    small[hit & (hx > x0) & (hx < x1) & (hy > y0) & (hy < y1)] = WOOD
    small[hit & ((hx - PLATE[0]) ** 2 + (hy - PLATE[1]) ** 2 < PLATE_R**2)] = PLATE_RGB
    image = cv2.resize(small, (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST)
    _draw_orange(image, camera, orange)
    # the jaws in front of the lens: the fixed one on the left, the moving one opens to the right
    fixed = np.array([[150, 480], [250, 480], [300, 300], [282, 262]], np.int32)
    cv2.fillConvexPoly(image, fixed, (70, 72, 80), cv2.LINE_AA)
    opening = float(np.clip((gripper + 0.17) / 1.9, 0.0, 1.0))
    shift = int(round(opening * 230))
    moving = np.array(
        [[430 + shift, 480], [520 + shift, 480], [352 + shift // 2, 262], [336 + shift // 2, 300]], np.int32
    )
    cv2.fillConvexPoly(image, moving, (226, 220, 200), cv2.LINE_AA)
    cv2.polylines(image, [moving], True, (70, 72, 80), 3, cv2.LINE_AA)
    return image


# -- the file -------------------------------------------------------------------------------------
def _plans() -> list[DemoPlan]:
    rng = np.random.default_rng(20260121)
    plans = []
    for i in range(NUM_DEMOS):
        orange = np.array([rng.uniform(0.2, 0.25), rng.uniform(-0.14, -0.06), ORANGE_R])
        plans.append(
            DemoPlan(
                i, int(rng.integers(0, 2**31 - 1)), orange, float(rng.uniform(0.70, 0.90)), i != FAILED_DEMO
            )
        )
    return plans


def _pose7(xyz: np.ndarray, quat: np.ndarray | None = None) -> np.ndarray:
    return np.concatenate([xyz, quat if quat is not None else [1.0, 0.0, 0.0, 0.0]])


def _spec() -> WriterSpec:
    joints = JointSpace.so101(Unit.RADIANS)
    other = JointSpace.so101(Unit.OTHER)

    def vec(key: str, width: int, space: JointSpace | None = None) -> Feature:
        return Feature(
            key, FeatureKind.VECTOR, "float32", (width,), list(space.names) if space else None, space
        )

    features = [
        vec("actions", 6, joints),
        vec("processed_actions", 6, joints),
        vec("obs/actions", 6, joints),
        vec("obs/joint_pos", 6, joints),
        vec("obs/joint_pos_target", 6, joints),
        vec("obs/joint_pos_rel", 6, other),
        vec("obs/joint_vel", 6, other),
        vec("obs/joint_vel_rel", 6, other),
        vec("obs/ee_frame_state", 7),
        vec("states/articulation/robot/joint_position", 6, joints),
        vec("states/articulation/robot/joint_velocity", 6, other),
        vec("states/articulation/robot/root_pose", 7),
        vec("states/articulation/robot/root_velocity", 6),
        vec("states/rigid_object/orange/root_pose", 7),
        vec("states/rigid_object/orange/root_velocity", 6),
        vec("states/rigid_object/plate/root_pose", 7),
        vec("states/rigid_object/plate/root_velocity", 6),
    ]
    return WriterSpec(
        fps=FPS,
        robot_type="so101_follower",
        features={f.key: f for f in features},
        cameras=[CameraSpec("front", WIDTH, HEIGHT), CameraSpec("wrist", WIDTH, HEIGHT)],
        options={"env_args": {"env_name": ENV_NAME, "type": 2}},
        provenance=default_provenance("demo_data", [], {"demos": NUM_DEMOS, "failed": [FAILED_DEMO]}),
    )


def _env(xyz: np.ndarray) -> np.ndarray:
    return xyz + ROBOT_ROOT[:3]


def write_demo_dataset(out_dir: Path, progress: Progress | None = None, overwrite: bool = True) -> Path:
    """Write ``<out_dir>/so101_pick_orange.hdf5`` (about 25 MB, a few seconds) and return its path."""
    progress = ensure_progress(progress)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / FILE_NAME
    plans = _plans()
    rollouts = [simulate(plan) for plan in plans]
    total = sum(len(r.actions) for r in rollouts)
    background = _front_background()
    default_pos = REST.astype(np.float32)
    done = 0
    progress.report(0, total, "rendering demos")
    with LeIsaacHDF5Writer(target, _spec(), overwrite=overwrite) as writer:
        for plan, roll in zip(plans, rollouts, strict=True):
            steps = len(roll.actions)
            q = roll.joint_pos
            vel = np.diff(q, axis=0) * FPS  # after each step
            vel_before = np.vstack([np.zeros((1, 6)), vel[:-1]])
            orange_vel = np.diff(roll.orange, axis=0) * FPS
            previous_action = np.vstack([np.zeros((1, 6)), roll.actions[:-1]])
            target_before = np.vstack([q[:1], roll.actions[:-1]])
            ee = np.array([np.concatenate([tip[:3, 3], _quat_wxyz(tip[:3, :3])]) for tip in roll.tips])
            root = np.tile(ROBOT_ROOT, (steps, 1))
            plate_pose = np.tile(_pose7(_env(PLATE)), (steps, 1))
            zeros6 = np.zeros((steps, 6))
            values = {
                "actions": roll.actions,
                "processed_actions": roll.actions,
                "obs/actions": previous_action,
                "obs/joint_pos": q[:-1],
                "obs/joint_pos_target": target_before,
                "obs/joint_pos_rel": q[:-1] - default_pos,
                "obs/joint_vel": vel_before,
                "obs/joint_vel_rel": vel_before,
                "obs/ee_frame_state": ee[:-1],
                "states/articulation/robot/joint_position": q[1:],
                "states/articulation/robot/joint_velocity": vel,
                "states/articulation/robot/root_pose": root,
                "states/articulation/robot/root_velocity": zeros6,
                "states/rigid_object/orange/root_pose": np.array([_pose7(_env(c)) for c in roll.orange[1:]]),
                "states/rigid_object/orange/root_velocity": np.hstack([orange_vel, np.zeros((steps, 3))]),
                "states/rigid_object/plate/root_pose": plate_pose,
                "states/rigid_object/plate/root_velocity": zeros6,
            }
            values = {k: np.asarray(v, dtype=np.float32) for k, v in values.items()}
            initial_state = {
                "articulation": {
                    "robot": {
                        "root_pose": ROBOT_ROOT[None].astype(np.float32),
                        "root_velocity": np.zeros((1, 6), np.float32),
                        "joint_position": q[:1].astype(np.float32),
                        "joint_velocity": np.zeros((1, 6), np.float32),
                    }
                },
                "rigid_object": {
                    "orange": {
                        "root_pose": _pose7(_env(roll.orange[0]))[None].astype(np.float32),
                        "root_velocity": np.zeros((1, 6), np.float32),
                    },
                    "plate": {
                        "root_pose": _pose7(_env(PLATE))[None].astype(np.float32),
                        "root_velocity": np.zeros((1, 6), np.float32),
                    },
                },
            }
            episode = writer.begin_episode(TASK, seed=plan.seed, initial_state=initial_state)
            for t in range(steps):  # obs are recorded before each step
                front = render_front(background, q[t], roll.orange[t], bool(roll.held[t]))
                wrist = render_wrist(roll.tips[t], float(q[t][5]), roll.orange[t])
                episode.add_frame({k: v[t] for k, v in values.items()}, {"front": front, "wrist": wrist})
                done += 1
                if done % 10 == 0:
                    progress.report(done, total, f"demo {plan.index}")
            episode.end(success=roll.success)
    progress.report(total, total, "done")
    return target.absolute()

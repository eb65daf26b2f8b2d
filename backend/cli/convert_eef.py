"""`convert joint-to-eef` and `convert eef-to-joint`: MimicGen-ready end-effector demos and back.

See backend/convert/eef.py and docs/mimicgen.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from backend.cli._common import path_type
from backend.convert.mimic_signals import DISTANCE_THRESHOLD_M, GRASP_THRESHOLD_RAD


def register(sub: argparse._SubParsersAction, common_flags: Callable, finish: Callable) -> None:
    p = sub.add_parser(
        "joint-to-eef",
        help="SO-101 joint actions -> 8-D end-effector actions + subtask signals for MimicGen (LeIsaac HDF5)",
    )
    p.add_argument("dataset", type=path_type, metavar="DATASET")
    p.add_argument("--out", required=True, type=path_type, help="output .hdf5 (must not exist)")
    p.add_argument("--eef-name", default="so101_follower", help="end-effector name of the Mimic env config")
    p.add_argument(
        "--signals",
        default=None,
        help="comma-separated subtask signal names, in order (default: grasp, or the curation segment texts)",
    )
    p.add_argument(
        "--subtasks",
        default="auto",
        choices=["auto", "gripper", "curation"],
        help="boundaries from the curation's subtask segments (auto: where an episode has them) or the gripper",
    )
    p.add_argument(
        "--grasp-threshold", type=float, default=GRASP_THRESHOLD_RAD, help="gripper closed below (rad)"
    )
    p.add_argument(
        "--distance-threshold", type=float, default=DISTANCE_THRESHOLD_M, help="gripper near an object (m)"
    )
    p.add_argument("--env-name", default=None, help="Mimic task id stored in env_args")
    p.add_argument(
        "--frame",
        default="gripper",
        choices=["gripper", "tcp"],
        help="the end effector: gripper (LeIsaac's gripper body, what its Mimic IK action moves) or tcp "
        "(the URDF's point between the jaws)",
    )
    p.add_argument("--include-failed", action="store_true", help="keep demos with success = False")
    common_flags(p)
    p.set_defaults(func=lambda args: _run_to_eef(args, finish))

    p = sub.add_parser(
        "eef-to-joint", help="8-D end-effector actions -> SO-101 joint actions (inverse kinematics)"
    )
    p.add_argument("dataset", type=path_type, metavar="DATASET.hdf5")
    p.add_argument("--out", required=True, type=path_type, help="output .hdf5 (must not exist)")
    p.add_argument(
        "--orientation-weight",
        type=float,
        default=0.05,
        help="metres of position error one radian of orientation error weighs (0.05)",
    )
    p.add_argument(
        "--frame",
        default=None,
        choices=["gripper", "tcp"],
        help="the end effector the poses are of (default: what joint-to-eef wrote, else gripper)",
    )
    common_flags(p)
    p.set_defaults(func=lambda args: _run_to_joint(args, finish))


def _names(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [t.strip() for t in text.split(",") if t.strip()] or None


def _run_to_eef(args: argparse.Namespace, finish: Callable) -> int:
    from backend.convert import eef

    options = eef.JointToEefOptions(
        out=args.out,
        eef_name=args.eef_name,
        signals=_names(args.signals),
        subtasks=args.subtasks,
        grasp_threshold=args.grasp_threshold,
        distance_threshold=args.distance_threshold,
        env_name=args.env_name,
        frame=args.frame,
        include_failed=args.include_failed,
        overwrite=args.overwrite,
        hash_mode=args.hash_mode,
    )
    return finish(args, eef, args.dataset, options, "joint -> eef")


def _run_to_joint(args: argparse.Namespace, finish: Callable) -> int:
    from backend.convert import eef_to_joint

    options = eef_to_joint.EefToJointOptions(
        out=args.out,
        orientation_weight=args.orientation_weight,
        frame=args.frame,
        overwrite=args.overwrite,
        hash_mode=args.hash_mode,
    )
    return finish(args, eef_to_joint, args.dataset, options, "eef -> joint")

"""`rollout-studio calibrate` (LeRobot's procedure, LeRobot-compatible JSON) and `rollout-studio ports`."""

from __future__ import annotations

import argparse
import sys
import time

from backend.cli._common import name_or_path_arg, path_arg, print_json
from backend.errors import StudioError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="calibrate an SO-101 arm (middle pose, sweep) and save LeRobot-compatible JSON",
        description="Calibrate an SO-101 leader or follower the way LeRobot does: torque off, hold the "
        "middle pose (homing offsets = raw - 2047), sweep every joint (ranges), write both to the servos "
        "and save the calibration JSON. --load writes an existing file to the servos; --show prints "
        "what the servos store.",
    )
    p.add_argument(
        "--port",
        required=True,
        type=name_or_path_arg,
        help="serial port (/dev/ttyACM0, /dev/leader, a virtual arm...)",
    )
    p.add_argument("--role", choices=("leader", "follower"), default="leader")
    p.add_argument("--id", dest="arm_id", help="arm id: the file name LeRobot uses (default so101_<role>)")
    p.add_argument(
        "--out",
        type=path_arg,
        help="where to save (default: LeRobot's calibration folder for the role and id)",
    )
    p.add_argument(
        "--full-turn",
        nargs="*",
        default=[],
        metavar="JOINT",
        help="joints given the full 0..4095 range (e.g. wrist_roll)",
    )
    p.add_argument("--no-prompt", action="store_true", help="do not wait for Enter: use the delays below")
    p.add_argument(
        "--middle-delay",
        type=float,
        default=3.0,
        help="with --no-prompt: seconds before the middle pose is read",
    )
    p.add_argument("--sweep-seconds", type=float, default=15.0, help="with --no-prompt: length of the sweep")
    p.add_argument(
        "--load",
        metavar="FILE",
        type=path_arg,
        help="write this LeRobot calibration file to the servos instead",
    )
    p.add_argument("--show", action="store_true", help="print the calibration stored in the servos")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)

    q = subparsers.add_parser("ports", help="list serial ports (likely SO-101 arms first)")
    q.add_argument("--probe", action="store_true", help="ping servo ids 1..6 on each likely port")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_ports)


def _gauges(snapshot, joints) -> str:
    parts = []
    for j in joints:
        raw = snapshot.raw.get(j)
        lo, hi = snapshot.mins.get(j), snapshot.maxs.get(j)
        span = f"{lo}..{hi}" if lo is not None else "-"
        parts.append(f"{j[:8]:>8} {raw if raw is not None else '-':>5} [{span}]")
    return " | ".join(parts)


def run(args: argparse.Namespace) -> int:
    from backend.teleop.arm import SO101Arm
    from backend.teleop.calibration import default_path, load_calibration, save_calibration
    from backend.teleop.calibration_procedure import CalibrationProcedure
    from backend.teleop.factory import DEFAULT_IDS

    arm_id = args.arm_id or DEFAULT_IDS[args.role]
    arm = SO101Arm(args.port, role=args.role).connect()
    try:
        if args.show:
            calibration = arm.read_calibration()
            print_json(calibration.to_dict())
            return 0
        if args.load:
            calibration = load_calibration(args.load)
            arm.apply_calibration(calibration)
            print(f"wrote {args.load} to the servos on {args.port}", file=sys.stderr)
            return 0
        out = args.out or str(default_path(args.role, arm_id))
        unknown = [j for j in args.full_turn if j not in arm.joints]
        if unknown:
            raise StudioError(f"unknown joints {unknown}", None, f"use {', '.join(arm.joints)}")
        proc = CalibrationProcedure(arm, full_turn=tuple(args.full_turn)).start()
        try:
            _step(
                args, "Move the arm to the middle of its range of motion", args.middle_delay, proc, arm.joints
            )
            offsets = proc.set_middle()
            print(f"homing offsets: {offsets}", file=sys.stderr)
            _step(
                args,
                "Move every joint through its full range of motion",
                args.sweep_seconds,
                proc,
                arm.joints,
            )
            calibration = proc.finish()
        finally:
            proc.stop()
        save_calibration(calibration, out)
        if args.json:
            print_json({"path": out, "calibration": calibration.to_dict()})
        else:
            print(out)
        return 0
    finally:
        arm.disconnect(disable_torque=False)


def _step(args, text: str, seconds: float, proc, joints) -> None:
    if not args.no_prompt:
        print(f"{text}, then press Enter.", file=sys.stderr)
        if sys.stdin.isatty():
            import select

            while True:
                ready, _, _ = select.select([sys.stdin], [], [], 0.2)
                sys.stderr.write("\r\x1b[2K" + _gauges(proc.snapshot(), joints)[:200])
                sys.stderr.flush()
                if ready:
                    sys.stdin.readline()
                    sys.stderr.write("\n")
                    return
        sys.stdin.readline()
        return
    print(f"{text} ({seconds:g} s)", file=sys.stderr)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(0.5, max(0.0, end - time.monotonic())))
        snap = proc.snapshot()
        if snap.error:
            print(f"warning: {snap.error}", file=sys.stderr)


def run_ports(args: argparse.Namespace) -> int:
    from backend.teleop.ports import list_arm_ports, probe

    ports = list_arm_ports()
    rows = []
    for port in ports:
        row = port.as_dict()
        if args.probe and port.likely_arm:
            row["servos"] = probe(port.device)
        rows.append(row)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no serial ports found (is the arm plugged in and powered?)", file=sys.stderr)
        return 0
    for row in rows:
        mark = "*" if row["likely_arm"] else " "
        servos = f" servos {sorted(row['servos'])}" if "servos" in row else ""
        print(f"{mark} {row['device']}  {row['description'] or row['kind']}{servos}")
    return 0

"""`rollout-studio virtual-arm`: a virtual SO-101 on a pseudo-terminal, for tests and the demo."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from backend.atomic import register_state_root, remove_path
from backend.cli._common import name_or_path_arg, path_arg
from backend.errors import StudioError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "virtual-arm",
        help="serve a virtual SO-101 (6 STS3215) on a pseudo-terminal",
        description="Serve a virtual SO-101 arm speaking the Feetech protocol on a pseudo-terminal. "
        "Prints the device path on the first line, then serves until stopped (Ctrl+C).",
    )
    p.add_argument(
        "--motion",
        default="wave",
        type=name_or_path_arg,
        help="still|wave|pick|sweep|calibrate or a .csv/.json/.hdf5 file",
    )
    p.add_argument("--name", default="leader", help="name shown in port lists (default leader)")
    p.add_argument(
        "--link", type=path_arg, help="also create this symlink to the device (stable across reconnects)"
    )
    p.add_argument("--assembly", type=int, default=0, choices=(0, 1), help="which built-in assembly offsets")
    p.add_argument("--calibrated", action="store_true", help="start with a calibration stored in the servos")
    p.add_argument(
        "--write-calibration",
        metavar="FILE",
        type=path_arg,
        help="write the arm's ideal LeRobot calibration JSON",
    )
    p.add_argument("--speed", type=float, default=1.0, help="motion speed factor")
    p.add_argument("--fault-rate", type=float, default=0.0, help="probability of a lost or corrupt reply")
    p.add_argument("--no-wire-delay", action="store_true", help="answer at once (no 1 Mbaud wire time)")
    p.add_argument(
        "--follow-tau", type=float, default=0.04, help="goal tracking time constant (s) with torque on"
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="serve with real-time priority when allowed (benchmarks: a servo needs no CPU time)",
    )
    p.add_argument("--start-on-connect", action="store_true", help="start the motion at the first request")
    p.add_argument("--seconds", type=float, help="stop after this long")
    p.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started it is gone (the studio's demo arms use this)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backend.teleop.calibration import save_calibration
    from backend.teleop.ports import register_virtual
    from backend.teleop.virtual_arm import VirtualSO101, ideal_calibration, preload_calibration

    if not 0.0 <= args.fault_rate <= 1.0:
        raise StudioError("--fault-rate must be between 0 and 1")
    arm = VirtualSO101(
        args.motion,
        speed=args.speed,
        assembly=args.assembly,
        fault_rate=args.fault_rate,
        wire_delay=not args.no_wire_delay,
        follow_tau=args.follow_tau,
        link=args.link,
        start_on_request=args.start_on_connect,
        realtime=args.realtime,
    )
    calibration = ideal_calibration(arm)
    if args.calibrated:
        preload_calibration(arm, calibration)
    if args.write_calibration:
        save_calibration(calibration, args.write_calibration)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    arm.start()
    entry = register_virtual(arm.device, args.name)
    try:
        print(arm.device, flush=True)
        print(
            f"virtual SO-101 '{args.name}' on {arm.port} (motion {args.motion}); Ctrl+C stops",
            file=sys.stderr,
        )
        parent = os.getppid()
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while not stop.wait(0.5):
            if args.exit_with_parent and os.getppid() != parent:
                break  # reparented: whoever started us died without stopping us
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        arm.stop()
        register_state_root(entry.parent)
        remove_path(entry)
    return 0

"""`rollout-studio record` (headless teleoperation recording) and `rollout-studio recover-recording`."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time

from backend.cli._common import name_or_path_arg, path_arg, print_json
from backend.errors import StudioError
from backend.task_text import check_task_text


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "record",
        help="record teleoperated SO-101 episodes to a LeIsaac HDF5 or a LeRobot dataset",
        description="Teleoperate and record: a control loop at --rate reads the leader (and drives a "
        "follower), takes camera frames and streams episodes to disk. With a keyboard: B starts an "
        "episode, N ends it as a success, R as a failure, Q (or Ctrl+C) quits. Without one, episodes "
        "start by themselves and end by the --episode-seconds timer as successes.",
    )
    p.add_argument(
        "--leader", required=True, metavar="PORT", type=name_or_path_arg, help="leader arm serial port"
    )
    p.add_argument(
        "--follower",
        metavar="PORT",
        type=name_or_path_arg,
        help="follower arm serial port (driven from the leader)",
    )
    p.add_argument(
        "--leader-calibration", metavar="FILE", type=path_arg, help="LeRobot calibration JSON of the leader"
    )
    p.add_argument(
        "--follower-calibration",
        metavar="FILE",
        type=path_arg,
        help="LeRobot calibration JSON of the follower",
    )
    p.add_argument("--leader-id", default="so101_leader", help="arm id to find the leader's calibration")
    p.add_argument(
        "--follower-id", default="so101_follower", help="arm id to find the follower's calibration"
    )
    p.add_argument(
        "--camera",
        action="append",
        default=[],
        metavar="NAME=SOURCE",
        help="camera: index, /dev path, video file or pattern[:WxH[@FPS]] (repeatable)",
    )
    p.add_argument(
        "--camera-size", metavar="WxH", help="frame size asked of device cameras (default 640x480)"
    )
    p.add_argument(
        "--camera-fps", type=float, help="frame rate asked of cameras (default 30; files: their own)"
    )
    p.add_argument("--out", required=True, type=path_arg, help="output .hdf5 file or LeRobot dataset folder")
    p.add_argument(
        "--format", dest="fmt", choices=("hdf5", "lerobot"), help="default: from --out (.hdf5 -> hdf5)"
    )
    p.add_argument("--rate", type=float, help="control loop rate in Hz (default 60 for hdf5, 30 for lerobot)")
    p.add_argument("--episodes", type=int, help="stop after this many kept episodes")
    p.add_argument("--episode-seconds", type=float, help="end each episode as a success after this long")
    p.add_argument("--reset-seconds", type=float, default=0.0, help="pause between episodes")
    p.add_argument("--task", default="", help="task text stored with each episode")
    p.add_argument("--env-name", default="", help="LeIsaac task id stored in env_args (hdf5)")
    p.add_argument(
        "--units",
        choices=("range", "degrees"),
        default="range",
        help="LeRobot output units: -100..100/0..100 (LeIsaac, default) or degrees (newer LeRobot)",
    )
    p.add_argument(
        "--on-disconnect",
        choices=("keep", "drop"),
        default="keep",
        help="an arm lost mid-episode: keep the episode as a failure, or drop it",
    )
    p.add_argument(
        "--recover",
        choices=("keep", "drop"),
        help="repair an output a crash left unfinished before recording into it",
    )
    p.add_argument("--no-keys", action="store_true", help="ignore the keyboard even on a terminal")
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    p.add_argument("--quiet", action="store_true", help="no status line")
    p.set_defaults(func=run)

    q = subparsers.add_parser(
        "recover-recording",
        help="repair a recording a crash left unfinished (HDF5 or LeRobot)",
        description="Close demos a crash left unfinished as interrupted (no success attribute, trimmed to "
        "the rows every dataset has), or drop them. For a LeRobot dataset the unfinished episode is dropped.",
    )
    q.add_argument("path", type=path_arg, help="the .hdf5 file or LeRobot dataset folder")
    q.add_argument("--drop", action="store_true", help="drop unfinished demos instead of keeping them")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_recover)


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError as error:
        raise StudioError(f"--camera-size {text!r} is not WxH", None, "e.g. 640x480") from error
    return w, h


def _camera_source(source: str) -> str:
    """A camera index or ``pattern...`` as given; a device or video file as an absolute path."""
    return source if source.isdigit() or source.startswith("pattern") else path_arg(source)


class _Keys:
    """B/N/R/Q from a terminal in cbreak mode (restored on exit)."""

    def __init__(self) -> None:
        import termios
        import tty

        self._fd = sys.stdin.fileno()
        self._old = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        self._termios = termios

    def read(self, timeout: float) -> str | None:
        import select

        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return None
        return os.read(self._fd, 1).decode(errors="ignore").lower()

    def close(self) -> None:
        self._termios.tcsetattr(self._fd, self._termios.TCSADRAIN, self._old)


def _status_line(snap) -> str:
    if snap is None:
        return "starting..."
    state = snap.state.upper() if snap.state == "recording" else snap.state
    parts = [f"{state} ep {snap.episode_index}"]
    if snap.state == "recording":
        parts.append(f"{snap.episode_elapsed:5.1f} s")
    parts.append(
        f"kept {snap.episodes_kept} (ok {snap.successes}, fail {snap.failures}, dropped {snap.dropped})"
    )
    parts.append(f"loop {snap.loop_hz:4.1f} Hz p99 {snap.period_p99_ms:4.1f} ms")
    for name, cam in snap.cameras.items():
        parts.append(f"{name} {cam.stats.fps:4.1f} fps")
    parts.append(f"{snap.disk_bytes_per_s / 1e6:4.1f} MB/s")
    return " | ".join(parts)


def run(args: argparse.Namespace) -> int:
    from backend.teleop.cameras import parse_camera_arg
    from backend.teleop.factory import RecordSettings, build_session
    from backend.teleop.session import SessionConfig

    fmt = args.fmt or ("hdf5" if args.out.lower().endswith((".hdf5", ".h5")) else "lerobot")
    rate = args.rate or (60.0 if fmt == "hdf5" else 30.0)
    if rate <= 0 or rate > 1000:
        raise StudioError(f"--rate {rate} is out of range", None, "use 30 or 60")
    cameras = {name: _camera_source(source) for name, source in map(parse_camera_arg, args.camera)}
    use_keys = sys.stdin.isatty() and not args.no_keys
    if not use_keys and args.episode_seconds is None:
        raise StudioError(
            "without a keyboard, episodes need --episode-seconds to end",
            None,
            "add --episode-seconds S (and --episodes N)",
        )
    config = SessionConfig(
        rate_hz=rate,
        task=check_task_text(args.task),
        episode_seconds=args.episode_seconds,
        reset_seconds=args.reset_seconds,
        auto_start=not use_keys,
        episodes=args.episodes,
        on_disconnect=args.on_disconnect,
        lerobot_units=args.units,
    )
    settings = RecordSettings(
        leader_port=args.leader,
        out=args.out,
        follower_port=args.follower,
        leader_calibration=args.leader_calibration,
        follower_calibration=args.follower_calibration,
        leader_id=args.leader_id,
        follower_id=args.follower_id,
        cameras=cameras,
        camera_size=_parse_size(args.camera_size),
        camera_fps=args.camera_fps,
        fmt=fmt,
        env_name=args.env_name,
        config=config,
    )
    session, notes = build_session(settings, args.recover)
    try:  # this thread only sleeps and prints, but it must not hold the GIL while preempted
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (OSError, AttributeError):
        pass
    for line in notes.get("recovered", []):
        print(f"recovered: {line}", file=sys.stderr)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    keys = _Keys() if use_keys else None
    tty = sys.stderr.isatty()
    started = time.monotonic()
    try:
        session.start()
        if keys:
            print("B start episode | N end as success | R end as failure | Q quit", file=sys.stderr)
        last_line = 0.0
        while not session.finished.is_set() and not stop.is_set():
            key = keys.read(0.1) if keys else (stop.wait(0.1) and None)
            if key == "b":
                session.begin_episode()
            elif key == "n":
                session.end_episode(True)
            elif key == "r":
                session.end_episode(False)
            elif key in ("q", "\x1b"):
                break
            now = time.monotonic()
            if not args.quiet and now - last_line >= (0.2 if tty else 2.0):
                last_line = now
                snap = session.snapshot()
                line = _status_line(snap)
                if snap is not None and snap.banners:
                    line += " | " + " | ".join(snap.banners)
                sys.stderr.write(("\r\x1b[2K" + line[:240]) if tty else line + "\n")
                sys.stderr.flush()
    except KeyboardInterrupt:
        pass
    finally:
        if keys:
            keys.close()
        session.stop()
        signal.signal(signal.SIGTERM, previous)
        if tty and not args.quiet:
            sys.stderr.write("\n")
    snap = session.snapshot()
    results = session.results()
    periods = session.periods
    summary = {
        "out": args.out,
        "format": fmt,
        "rate_hz": rate,
        "seconds": round(time.monotonic() - started, 3),
        "episodes": [
            {
                "name": r.name,
                "length": r.length,
                "success": r.success,
                "reason": r.reason,
                "finalize_s": round(r.finalize_s, 4),
            }
            for r in results
            if r.name
        ],
        "dropped": snap.dropped if snap else 0,
        "loop": {
            "period_p50_ms": snap.period_p50_ms if snap else 0.0,
            "period_p99_ms": snap.period_p99_ms if snap else 0.0,
            "ticks": len(periods) + 1,
            "overruns": snap.overruns if snap else 0,
        },
        "leader": snap.leader.__dict__ if snap else {},
        "cameras": {
            n: {"fps": c.stats.fps, "dropped": c.stats.dropped, "missed_by_loop": c.missed}
            for n, c in (snap.cameras.items() if snap else [])
        },
        "recorder_error": snap.recorder_error if snap else "",
        **{k: v for k, v in notes.items() if k != "recovered"},
    }
    if args.json:
        print_json(summary)
    else:
        kept = [e for e in summary["episodes"]]
        print(f"{len(kept)} episode(s) in {args.out}")
    if summary["recorder_error"]:
        raise StudioError(f"recording failed: {summary['recorder_error']}", args.out)
    return 0


def run_recover(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.teleop.hdf5_recorder import recover
    from backend.teleop.lerobot_recorder import recover_lerobot

    path = Path(args.path)
    if not path.exists():
        raise StudioError("no such file or folder", path)
    if path.is_dir():
        done = recover_lerobot(path)
    else:
        done = [
            f"{r.name}: {r.action} ({r.length} steps)" for r in recover(path, "drop" if args.drop else "keep")
        ]
    if args.json:
        print_json({"path": str(path), "actions": done})
    else:
        for line in done or ["nothing to recover"]:
            print(line)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0

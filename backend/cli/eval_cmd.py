"""`rollout-studio eval run|serve-reference|report`: evaluate a GR00T policy on the follower arm.

    rollout-studio eval run --server tcp://HOST:5555 --follower PORT --training DATASET --out EVAL.hdf5
                            [--camera front=/dev/video0 --camera wrist=/dev/video2] [--episodes 3]
                            [--episode-seconds 20] [--task TEXT] [--keys 0:40:s,1:30:f] [--report R.json]
    rollout-studio eval serve-reference --dataset DATASET [--episode N] [--port 5555 | --http --port 8000]
                            [--misbehave slow|nan|shape|range|dies --after N --delay S]
    rollout-studio eval report EVAL.hdf5 [--training DATASET] [--json]

Keys during a run (type the letter and Enter; or scripted with ``--keys EPISODE:TICK:KEY,...``):
``s`` success, ``f`` failure, ``a`` abort (holds the arm and ends the run). An episode that reaches
``--episode-seconds`` is labelled ``--default-label`` (failure).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

from backend.cli._common import TerminalProgress, path_arg, positive_int, print_json
from backend.errors import StudioError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a GR00T policy on the follower arm (and its report)")
    actions = parser.add_subparsers(dest="eval_action", metavar="ACTION", required=True)

    run = actions.add_parser("run", help="run evaluation episodes against a policy server, recording each")
    run.add_argument("--server", required=True, help="tcp://HOST:5555 (ZeroMQ) or http://HOST:8000 (HTTP)")
    run.add_argument("--follower", required=True, help="the follower arm's serial port")
    run.add_argument("--follower-calibration", type=path_arg, default=None)
    run.add_argument("--follower-id", default="so101_follower")
    run.add_argument("--training", type=path_arg, required=True,
                     help="the training dataset: fps, cameras, meta/modality.json, task; compared in the report")
    run.add_argument("--out", type=path_arg, required=True, help="evaluation recording (LeIsaac HDF5, appended)")
    run.add_argument("--camera", action="append", default=[], metavar="NAME=SOURCE")
    run.add_argument("--episodes", type=positive_int, default=3)
    run.add_argument("--episode-seconds", type=float, default=20.0)
    run.add_argument("--reset-seconds", type=float, default=0.0)
    run.add_argument("--fps", type=float, default=None, help="default: the training dataset's")
    run.add_argument("--task", default="", help="default: the training dataset's first task")
    run.add_argument("--default-label", choices=("success", "failure"), default="failure")
    run.add_argument("--keys", default=None, metavar="EP:TICK:KEY,...", help="scripted keys (demos, tests)")
    run.add_argument("--max-step", type=float, default=8.0, help="largest goal change per tick (action units)")
    run.add_argument("--hold-ms", type=float, default=250.0, help="watchdog: hold after this long without action")
    run.add_argument("--torque-off-ms", type=float, default=1500.0, help="watchdog: torque off after this long")
    run.add_argument("--first-chunk-s", type=float, default=15.0, help="wait for an episode's first chunk")
    run.add_argument("--timeout-ms", type=int, default=15000)
    run.add_argument("--api-token", default=None)
    run.add_argument("--report", type=path_arg, default=None, help="write the report JSON here")
    run.add_argument("--overwrite", action="store_true", help="replace an earlier report of the studio's")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=run_eval)

    serve = actions.add_parser("serve-reference", help="a policy server replaying a recorded episode")
    serve.add_argument("--dataset", type=path_arg, required=True)
    serve.add_argument("--episode", type=int, default=0)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5555, help="0: any free port")
    serve.add_argument("--http", action="store_true", help="the HTTP variant (POST /act, GET /health)")
    serve.add_argument("--horizon", type=positive_int, default=16)
    serve.add_argument("--misbehave", default="none",
                       choices=("none", "slow", "nan", "shape", "range", "dies"))
    serve.add_argument("--after", type=int, default=0, help="misbehave from this get_action call on")
    serve.add_argument("--delay", type=float, default=0.5, help="seconds late, for --misbehave slow")
    serve.add_argument("--seconds", type=float, default=None, help="stop after this long (default: never)")
    serve.add_argument("--exit-with-parent", action="store_true", help="stop when the process that started it dies")
    serve.add_argument("--raw", action="store_true",
                       help="answer every request with one fixed packed chunk, unread (benchmarks: bare round trip)")
    serve.set_defaults(func=run_serve)

    report = actions.add_parser("report", help="success rate, durations, latency, comparison to training")
    report.add_argument("recording", type=path_arg)
    report.add_argument("--training", type=path_arg, default=None)
    report.add_argument("--json", action="store_true")
    report.set_defaults(func=run_report)


def parse_keys(text: str | None) -> dict[int, tuple[int, str]]:
    script: dict[int, tuple[int, str]] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        try:
            episode, tick, key = part.strip().split(":")
            script[int(episode)] = (int(tick), key)
        except ValueError:
            raise StudioError(f"--keys entry {part!r} is not EPISODE:TICK:KEY", None, "e.g. 0:40:s,1:30:f") from None
        if key not in ("s", "f", "a"):
            raise StudioError(f"--keys entry {part!r}: the key must be s, f or a")
    return script


def _stdin_keys(keys: Any) -> None:
    def read() -> None:
        for line in sys.stdin:
            if line.strip():
                keys.press(line.strip()[0].lower())

    threading.Thread(target=read, name="eval-keys", daemon=True).start()


def run_eval(args: argparse.Namespace) -> int:
    from backend.policy.evaluation import EvalConfig, Keys, ScriptedKeys
    from backend.policy.report import build_report, format_report
    from backend.policy.run import EvalSettings, prepare, write_report
    from backend.policy.safety import SafetyConfig
    from backend.teleop.cameras import parse_camera_arg

    config = EvalConfig(episodes=args.episodes, episode_seconds=args.episode_seconds, fps=args.fps or 0.0,
                        task=args.task, reset_seconds=args.reset_seconds, default_label=args.default_label,
                        first_chunk_s=args.first_chunk_s)
    safety = SafetyConfig(max_step=args.max_step, hold_after_ms=args.hold_ms, torque_off_after_ms=args.torque_off_ms)
    settings = EvalSettings(args.server, args.follower, args.out, args.training, args.follower_calibration,
                            args.follower_id, dict(parse_camera_arg(c) for c in args.camera), config, safety,
                            args.timeout_ms, args.api_token)
    keys: Keys = ScriptedKeys(parse_keys(args.keys)) if args.keys else Keys()
    if not args.keys and sys.stdin.isatty():
        _stdin_keys(keys)
        print("keys: s success, f failure, a abort (then Enter)", file=sys.stderr)
    evaluation = prepare(settings, keys)
    try:
        result = evaluation.run(TerminalProgress("eval", quiet=args.json))
    finally:
        evaluation.close()
    if args.report:
        report = write_report(result, args.out, args.training, args.report, args.overwrite)
    else:
        report = build_report(args.out, args.training)
        report["run"] = result.to_json()
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    if result.fault:
        print(f"error: {result.fault} (arm {result.arm.replace('_', ' ')})", file=sys.stderr)
        return 1
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import os

    if args.exit_with_parent:
        from backend.children import die_with_parent

        die_with_parent()
    parent = os.getppid()
    from backend.policy.reference_server import ReferenceHttpServer, ReferencePolicy, ReferenceServer
    from backend.policy.run import episode_actions, training_info

    actions, _ = episode_actions(args.dataset, args.episode)
    info = training_info(args.dataset)
    policy = ReferencePolicy(actions, info.modality, args.horizon, args.misbehave, args.after, args.delay)
    if args.raw:
        from backend.policy import wire

        server: Any = ReferenceServer(policy, args.host, args.port, raw_reply=wire.pack(policy.modality.reply(
            policy.chunk(0))))
    else:
        server = (ReferenceHttpServer if args.http else ReferenceServer)(policy, args.host, args.port)
    print(f"listening on {server.address}", flush=True)
    server.start()
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while (deadline is None or time.monotonic() < deadline) and not policy.dead:
            if args.exit_with_parent and os.getppid() != parent:
                break  # reparented: whoever started us died without stopping us
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 3 if policy.dead else 0


def run_report(args: argparse.Namespace) -> int:
    from backend.policy.report import build_report, format_report

    report = build_report(args.recording, args.training)
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    return 0

"""`rollout-studio cosmos trainset|batch`: inputs for Cosmos-Predict 2.5."""

from __future__ import annotations

import argparse

from backend.cli._common import TerminalProgress, print_json
from backend.cosmos.batch import BatchOptions, build_batch, parse_setting
from backend.cosmos.selection import parse_indices
from backend.cosmos.trainset import DEFAULT_PROMPT_TEMPLATE, TrainsetOptions, build_trainset


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cosmos", help="Cosmos-Predict 2.5 training sets and batch files")
    sub = parser.add_subparsers(dest="cosmos_command", metavar="SUBCOMMAND", required=True)

    train = sub.add_parser("trainset", help="videos/<n>.mp4 + metas/<n>.txt for post-training")
    train.add_argument("dataset")
    train.add_argument("--out", required=True)
    train.add_argument("--camera", help="camera name (default: front, else the first)")
    train.add_argument("--prompt-template", default=DEFAULT_PROMPT_TEMPLATE, help="{task} is the episode's task")
    train.add_argument("--episodes", help="e.g. 0,2,5-9 (default: all)")
    train.add_argument("--keep-short", action="store_true", help="keep episodes of <= 93 frames")
    train.add_argument("--json", action="store_true")
    train.set_defaults(func=run_trainset)

    batch = sub.add_parser("batch", help="a JSONL batch inference file, one sample per episode")
    batch.add_argument("dataset")
    batch.add_argument("--out", required=True, help="FILE.jsonl")
    batch.add_argument("--camera")
    batch.add_argument("--episodes")
    batch.add_argument("--name-prefix", default="")
    batch.add_argument("--prompt-template", default=DEFAULT_PROMPT_TEMPLATE)
    batch.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a sample key: seed, guidance, resolution, num_output_frames, ...")
    batch.add_argument("--json", action="store_true")
    batch.set_defaults(func=run_batch)


def run_trainset(args: argparse.Namespace) -> int:
    options = TrainsetOptions(camera=args.camera, prompt_template=args.prompt_template,
                              episodes=parse_indices(args.episodes), keep_short=args.keep_short)
    summary = build_trainset(args.dataset, args.out, options, TerminalProgress("trainset"))
    if args.json:
        print_json(summary.to_dict())
    else:
        print(f"{summary.out}: {len(summary.written)} videos from camera {summary.camera}")
        for short in summary.too_short:
            print(f"  left out episode {short['episode']}: {short['frames']} frames (needs > 93)")
    return 0


def run_batch(args: argparse.Namespace) -> int:
    settings = dict(parse_setting(item) for item in args.set)
    options = BatchOptions(camera=args.camera, episodes=parse_indices(args.episodes), name_prefix=args.name_prefix,
                           prompt_template=args.prompt_template, settings=settings)
    result = build_batch(args.dataset, args.out, options, TerminalProgress("batch"))
    if args.json:
        print_json(result)
    else:
        print(f"{result['out']}: {result['samples']} samples")
    return 0

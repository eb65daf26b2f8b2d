"""`rollout-studio cosmos trainset|batch|check-batch`: inputs for Cosmos-Predict 2.5."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli._common import TerminalProgress, jobs_flag, path_arg, print_json
from backend.cosmos.batch import BatchOptions, build_batch, check_batch_file, parse_setting
from backend.cosmos.selection import parse_indices
from backend.cosmos.trainset import (
    DEFAULT_PROMPT_TEMPLATE,
    TRAIN_WINDOW_FRAMES,
    TrainsetOptions,
    build_trainset,
)
from backend.errors import StudioError


def _selection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--episodes", help="e.g. 0,2,5-9 (default: all)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--curated",
        action="store_true",
        help="apply the dataset's curation (excluded episodes, trims, task edits from Browse)",
    )
    group.add_argument(
        "--curation", metavar="FILE", type=path_arg, help="apply the curation decisions in FILE"
    )


def _curation(args: argparse.Namespace) -> bool | str | None:
    return args.curation or (True if args.curated else None)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cosmos", help="Cosmos-Predict 2.5 training sets and batch files")
    sub = parser.add_subparsers(dest="cosmos_command", metavar="SUBCOMMAND", required=True)

    train = sub.add_parser("trainset", help="videos/<n>.mp4 + metas/<n>.txt for post-training")
    train.add_argument("dataset", type=path_arg)
    train.add_argument("--out", required=True, type=path_arg)
    train.add_argument(
        "--overwrite", action="store_true", help="replace an earlier training set of the studio (only that)"
    )
    train.add_argument("--camera", help="camera name (default: front, else the first)")
    train.add_argument(
        "--prompt-template", default=DEFAULT_PROMPT_TEMPLATE, help="{task} is the episode's task"
    )
    _selection_args(train)
    train.add_argument(
        "--keep-short",
        action="store_true",
        help=f"keep episodes of <= {TRAIN_WINDOW_FRAMES} frames (the training window is {TRAIN_WINDOW_FRAMES})",
    )
    train.add_argument("--json", action="store_true")
    jobs_flag(train)
    train.set_defaults(func=run_trainset)

    batch = sub.add_parser("batch", help="a JSONL batch inference file, one sample per episode")
    batch.add_argument("dataset", type=path_arg)
    batch.add_argument(
        "--out", required=True, type=path_arg, help="FILE.jsonl (inputs that need writing go to FILE_inputs/)"
    )
    batch.add_argument("--camera")
    _selection_args(batch)
    batch.add_argument(
        "--name-prefix",
        default="",
        help="sample names are <prefix>_episode_<index> (default prefix: the dataset's name)",
    )
    batch.add_argument("--prompt-template", default=DEFAULT_PROMPT_TEMPLATE)
    batch.add_argument(
        "--per-subtask", action="store_true",
        help="one sample per subtask segment (from Browse), its text as {task} in the prompt",
    )
    batch.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a sample key: inference_type, seed, guidance, resolution, num_output_frames, "
        "num_steps, enable_autoregressive, chunk_size, chunk_overlap, negative_prompt, prompt",
    )
    batch.add_argument("--overwrite", action="store_true", help="replace an earlier batch file of the studio (never a file it did not write)")
    batch.add_argument("--json", action="store_true")
    batch.set_defaults(func=run_batch)

    check = sub.add_parser("check-batch", help="check a batch file the way Cosmos will read it")
    check.add_argument("file", type=path_arg)
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=run_check_batch)


def run_trainset(args: argparse.Namespace) -> int:
    options = TrainsetOptions(
        camera=args.camera,
        prompt_template=args.prompt_template,
        episodes=parse_indices(args.episodes),
        keep_short=args.keep_short,
        curation=_curation(args),
        overwrite=args.overwrite,
        jobs=args.jobs,
    )
    summary = build_trainset(args.dataset, args.out, options, TerminalProgress("trainset"))
    if args.json:
        print_json(summary.to_dict())
    else:
        print(f"{summary.out}: {len(summary.written)} videos from camera {summary.camera}")
        for item in summary.written:
            how = "copied" if item["copied"] else f"encoded from {item['source_codec'] or 'images'}"
            print(f"  {item['stem']}.mp4  episode {item['episode']}  {item['frames']} frames  {how}")
        for short in summary.too_short:
            state = "kept" if args.keep_short else "left out"
            print(
                f"  {state} episode {short['episode']}: {short['frames']} frames (needs > {TRAIN_WINDOW_FRAMES})"
            )
    return 0


def run_batch(args: argparse.Namespace) -> int:
    settings = dict(parse_setting(item) for item in args.set)
    options = BatchOptions(
        camera=args.camera,
        episodes=parse_indices(args.episodes),
        name_prefix=args.name_prefix,
        prompt_template=args.prompt_template,
        settings=settings,
        curation=_curation(args),
        overwrite=args.overwrite,
        per_subtask=args.per_subtask,
    )
    result = build_batch(args.dataset, args.out, options, TerminalProgress("batch"))
    if args.json:
        print_json(result)
    else:
        print(f"{result['out']}: {result['samples']} samples")
        if result["inputs_dir"]:
            print(f"  inputs in {result['inputs_dir']} (keep it beside the batch file)")
    return 0


def run_check_batch(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.exists():
        raise StudioError("no such file", path)
    if not path.is_file():
        raise StudioError("is a folder, not a batch file", path, "give the .jsonl / .json file")
    try:
        path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise StudioError(
            f"is not a text file ({error.reason})", path, "give the .jsonl batch file"
        ) from None
    errors, warnings = check_batch_file(args.file)
    if args.json:
        print_json({"file": args.file, "errors": errors, "warnings": warnings})
    else:
        for error in errors:
            print(f"error: {error}")
        for warning in warnings:
            print(f"warning: {warning}")
        print(
            f"{args.file}: "
            + ("clean" if not errors else f"{len(errors)} error(s)")
            + (f", {len(warnings)} warning(s)" if warnings else "")
        )
    return 1 if errors else 0

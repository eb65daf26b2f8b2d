"""`rollout-studio edit OPERATION ...`: dataset surgery, each operation writing a new dataset.

    rollout-studio edit merge A B ... --out M [--format v2.1|v3.0|hdf5]
    rollout-studio edit split D (--episodes 0,3-5 | --fraction 0.9 [--seed N]) --out A --out B
    rollout-studio edit delete|keep D --episodes 0,3-5 --out OUT
    rollout-studio edit trim D --frames EP:FIRST-LAST [--frames ...] --out OUT
    rollout-studio edit retask D --task TEXT [--episodes LIST | --pattern REGEX] --out OUT
    rollout-studio edit rename-feature D OLD NEW --out OUT
    rollout-studio edit remove-feature D NAME [NAME ...] --out OUT
    rollout-studio edit recompute-stats D --out OUT
    rollout-studio edit reencode D --codec h264|hevc|av1 [--crf N] --out OUT
    rollout-studio edit images-to-video D [--crf N] --out OUT

Every operation: ``--plan`` prints what would go where (sizes, video handling, warnings) and writes
nothing; ``--json`` prints the plan or the result as JSON; ``--overwrite`` replaces an output the
studio wrote. The inputs are never changed; each output is checked by ``validate --quick``.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from backend.cli._common import TerminalProgress, path_arg, print_json
from backend.errors import StudioError

FORMATS = {"hdf5": "leisaac_hdf5", "v2.1": "lerobot_v2.1", "v3.0": "lerobot_v3.0"}


def _common(parser: argparse.ArgumentParser, outs: bool = False) -> None:
    if outs:
        parser.add_argument(
            "--out",
            dest="outs",
            action="append",
            type=path_arg,
            required=True,
            help="an output dataset (give two)",
        )
    else:
        parser.add_argument("--out", type=path_arg, required=True, help="the new dataset (must not exist)")
    parser.add_argument("--plan", action="store_true", help="print the plan and write nothing")
    parser.add_argument("--json", action="store_true", help="print the plan or the result as JSON")
    parser.add_argument("--overwrite", action="store_true", help="replace an output the studio wrote")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edit", help="dataset surgery: merge, split, delete, keep, trim, retask, ..."
    )
    ops = parser.add_subparsers(dest="edit_action", metavar="OPERATION", required=True)

    merge = ops.add_parser("merge", help="merge datasets recorded the same way into one")
    merge.add_argument("inputs", nargs="+", type=path_arg, metavar="DATASET")
    merge.add_argument(
        "--format", choices=sorted(FORMATS), help="output version (default: the first input's)"
    )
    _common(merge)
    merge.set_defaults(func=run, build=_merge)

    split = ops.add_parser("split", help="split into two datasets (chosen episodes | the rest)")
    split.add_argument("dataset", type=path_arg)
    how = split.add_mutually_exclusive_group(required=True)
    how.add_argument("--episodes", help="episodes of the first output, like 0,3-5")
    how.add_argument("--fraction", type=float, help="share of episodes drawn at random for the first output")
    split.add_argument("--seed", type=int, default=0, help="random seed of --fraction (default 0)")
    _common(split, outs=True)
    split.set_defaults(func=run, build=_split)

    for name, text in (
        ("delete", "a copy without these episodes"),
        ("keep", "a copy with only these episodes"),
    ):
        sub = ops.add_parser(name, help=text)
        sub.add_argument("dataset", type=path_arg)
        sub.add_argument("--episodes", required=True, help="episodes like 0,3-5")
        _common(sub)
        sub.set_defaults(func=run, build=_delete if name == "delete" else _keep)

    trim = ops.add_parser("trim", help="keep a frame window of some episodes")
    trim.add_argument("dataset", type=path_arg)
    trim.add_argument(
        "--frames",
        action="append",
        required=True,
        metavar="EP:FIRST-LAST",
        help="episode EP keeps frames FIRST..LAST (inclusive); repeat for more episodes",
    )
    _common(trim)
    trim.set_defaults(func=run, build=_trim)

    retask = ops.add_parser("retask", help="change task texts (all, some episodes, or by pattern)")
    retask.add_argument("dataset", type=path_arg)
    retask.add_argument("--task", required=True, help="the new text (with --pattern it may use \\1 groups)")
    which = retask.add_mutually_exclusive_group()
    which.add_argument("--episodes", help="only these episodes, like 0,3-5")
    which.add_argument("--pattern", help="only episodes whose task matches this regular expression")
    _common(retask)
    retask.set_defaults(func=run, build=_retask)

    rename = ops.add_parser("rename-feature", help="rename a column or a camera")
    rename.add_argument("dataset", type=path_arg)
    rename.add_argument("old")
    rename.add_argument("new")
    _common(rename)
    rename.set_defaults(func=run, build=_rename)

    remove = ops.add_parser("remove-feature", help="drop columns or cameras")
    remove.add_argument("dataset", type=path_arg)
    remove.add_argument("names", nargs="+", metavar="NAME")
    _common(remove)
    remove.set_defaults(func=run, build=_remove)

    stats = ops.add_parser("recompute-stats", help="a copy with every statistic recomputed")
    stats.add_argument("dataset", type=path_arg)
    _common(stats)
    stats.set_defaults(func=run, build=_stats)

    reencode = ops.add_parser("reencode", help="a copy with every camera encoded again")
    reencode.add_argument("dataset", type=path_arg)
    reencode.add_argument("--codec", required=True, choices=["h264", "hevc", "av1"])
    reencode.add_argument("--crf", type=int, help="encoder quality (lower is better; default LeRobot's 30)")
    _common(reencode)
    reencode.set_defaults(func=run, build=_reencode)

    images = ops.add_parser("images-to-video", help="a copy with cameras stored as images encoded as video")
    images.add_argument("dataset", type=path_arg)
    images.add_argument("--crf", type=int, help="encoder quality (lower is better; default LeRobot's 30)")
    _common(images)
    images.set_defaults(func=run, build=_images)


# -- plans ------------------------------------------------------------------------------------------
def _merge(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import plan_merge

    return plan_merge(datasets, args.out, FORMATS[args.format] if args.format else None)


def _split(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import parse_episodes, plan_split

    episodes = parse_episodes(args.episodes, datasets[0]) if args.episodes else None
    return plan_split(datasets[0], args.outs, episodes, args.fraction, args.seed)


def _delete(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import parse_episodes, plan_delete

    return plan_delete(datasets[0], parse_episodes(args.episodes, datasets[0]), args.out)


def _keep(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import parse_episodes, plan_keep

    return plan_keep(datasets[0], parse_episodes(args.episodes, datasets[0]), args.out)


def _trim(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import plan_trim

    trims: dict[int, tuple[int, int]] = {}
    for text in args.frames:
        match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*-\s*(\d+)\s*", text)
        if match is None:
            raise StudioError(f"--frames {text!r} is not EP:FIRST-LAST", hint="like 3:10-250")
        trims[int(match[1])] = (int(match[2]), int(match[3]) + 1)
    return plan_trim(datasets[0], trims, args.out)


def _retask(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import parse_episodes, plan_retask

    episodes = parse_episodes(args.episodes, datasets[0]) if args.episodes else None
    return plan_retask(datasets[0], args.task, args.out, episodes, args.pattern)


def _rename(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import plan_rename_feature

    return plan_rename_feature(datasets[0], args.old, args.new, args.out)


def _remove(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import plan_remove_feature

    return plan_remove_feature(datasets[0], args.names, args.out)


def _stats(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import plan_recompute_stats

    return plan_recompute_stats(datasets[0], args.out)


def _reencode(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import plan_reencode

    return plan_reencode(datasets[0], args.codec, args.out, args.crf)


def _images(args: argparse.Namespace, datasets: list[Any]) -> Any:
    from backend.surgery import plan_images_to_video

    return plan_images_to_video(datasets[0], args.out, args.crf)


# -- run --------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    from backend.surgery import execute
    from backend.surgery.common import check_outputs, open_all

    inputs = list(args.inputs) if hasattr(args, "inputs") else [args.dataset]
    datasets = open_all(inputs)
    try:
        plan = args.build(args, datasets)
        check_outputs([o.path for o in plan.outputs], plan.inputs, args.overwrite)
        if args.plan:
            if args.json:
                print_json(plan.to_json())
            else:
                print(plan.text())
            return 0
        if not args.json:
            print(plan.text())
        progress = TerminalProgress(f"edit {plan.operation}", quiet=args.quiet or args.json)
        summary = execute(plan, overwrite=args.overwrite, progress=progress, datasets=datasets)
    finally:
        for dataset in datasets:
            dataset.close()
    if args.json:
        print_json(summary.to_json())
        return 0
    for output in summary.outputs:
        print(
            f"written {output['path']}: {output['episodes']} episodes, {output['frames']} frames; video windows "
            f"{output['videos_copied']} copied, {output.get('videos_spliced', 0)} spliced "
            f"({output.get('frames_reencoded', 0)} frame(s) re-encoded), {output['videos_encoded']} re-encoded; "
            "validate --quick: "
            f"{len(summary.validation.get(output['path'], []))} warning(s)"
        )
    return 0

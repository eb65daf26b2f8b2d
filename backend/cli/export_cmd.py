"""`rollout-studio export rerun|mcap DATASET[:EP] --out FILE`: episodes for the viewers people already use.

    rollout-studio export rerun DATASET[:EP] --out FILE.rrd [--overwrite] [--json]
    rollout-studio export mcap DATASET[:EP] --out FILE.mcap [--overwrite] [--json]

EP is one episode (``3``), a list (``0,2,5``) or a range (``1-4``); without it every episode is
written. Cameras, joints (state and action) and subtasks (from the curation sidecar) share one
timeline; see docs/export.md.
"""

from __future__ import annotations

import argparse

from backend.cli._common import TerminalProgress, path_arg, print_json
from backend.errors import StudioError

SUFFIX = {"rerun": ".rrd", "mcap": ".mcap"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="write episodes for Rerun (.rrd) or Foxglove (.mcap)")
    kinds = parser.add_subparsers(dest="export_kind", metavar="VIEWER", required=True)
    for kind, text in (("rerun", "a Rerun recording (.rrd)"), ("mcap", "an MCAP file Foxglove opens")):
        sub = kinds.add_parser(kind, help=f"episodes as {text}")
        sub.add_argument("target", metavar="DATASET[:EP]", help="dataset, optionally :EP (3, 0,2,5 or 1-4)")
        sub.add_argument("--out", required=True, type=path_arg, help=f"the {SUFFIX[kind]} file to write")
        sub.add_argument("--overwrite", action="store_true", help="replace a file the studio wrote")
        sub.add_argument("--json", action="store_true", help="print the summary as JSON")
        sub.add_argument("--quiet", action="store_true")
        sub.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backend.export.episodes import parse_target
    from backend.formats import open_dataset

    path, episodes = parse_target(args.target)
    if not str(args.out).endswith(SUFFIX[args.export_kind]):
        raise StudioError(f"a {args.export_kind} export must end in {SUFFIX[args.export_kind]}", args.out)
    if args.export_kind == "rerun":
        from backend.export.rerun import export_rerun as export
    else:
        from backend.export.mcap import export_mcap as export
    progress = TerminalProgress(f"export {args.export_kind}", quiet=args.quiet or args.json)
    with open_dataset(path_arg(str(path))) as dataset:
        summary = export(dataset, args.out, episodes, overwrite=args.overwrite, progress=progress)
    if args.json:
        print_json(summary)
    else:
        counts = ", ".join(f"{topic} {n}" for topic, n in sorted(summary["messages"].items()))
        print(f"wrote {summary['out']}: {len(summary['episodes'])} episodes, {summary['frames']} frames ({counts})")
    return 0

"""`rollout-studio demo-data DIR`: write the sample LeIsaac HDF5 (six SO-101 pick-orange demos)."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli._common import TerminalProgress, path_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo-data", help="write a small sample dataset (LeIsaac HDF5, 6 demos, front + wrist cameras)"
    )
    parser.add_argument("dir", type=path_arg, help="folder to write into (created if missing)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backend.demo_data import write_demo_dataset

    path = write_demo_dataset(Path(args.dir), TerminalProgress("demo data", quiet=args.quiet))
    print(path)
    return 0

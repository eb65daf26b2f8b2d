"""`rollout-studio inspect PATH [--json]`."""

from __future__ import annotations

import argparse

from backend.cli._common import path_arg, print_json
from backend.inspect import format_text, inspect_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inspect", help="summarise a dataset (format, fps, cameras, episodes)")
    parser.add_argument("path", type=path_arg, help="HDF5 file, LeRobot folder or Cosmos output folder")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summary = inspect_path(args.path)
    if args.json:
        print_json(summary)
    else:
        print(format_text(summary))
    return 0

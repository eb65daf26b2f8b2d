"""`rollout-studio validate PATH [--json]`: exit 0 clean, 1 problems found, 2 unreadable.

Unreadable: the path is missing or of no known format, or the dataset cannot be opened at all
(truncated HDF5, missing or broken meta files): one ``error:`` line saying why, exit 2, no problem
list and no summary (``--json`` still reports every finding, with ``readable: false``). A dataset
that opens lists one line per finding and exits 1 when any is an error.
"""

from __future__ import annotations

import argparse

from backend.cli._common import path_arg, print_json
from backend.errors import StudioError
from backend.formats import detect_format, open_dataset, validate_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="check a dataset's consistency (exit 1 on problems)")
    parser.add_argument("path", type=path_arg)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--strict", action="store_true", help="warnings count as problems too")
    parser.add_argument("--fix", action="store_true",
                        help="write a repaired copy to --out (never edits PATH); see backend/repair.py")
    parser.add_argument("--out", type=path_arg, metavar="NEW", help="with --fix: where the repaired copy goes")
    parser.add_argument("--overwrite", action="store_true",
                        help="with --fix: replace NEW if it is an earlier output of the studio")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.fix or args.out:
        from backend.cli._repair import run_fix

        return run_fix(args)
    fmt, _ = detect_format(args.path)
    problems = validate_path(args.path)
    errors = [p for p in problems if p.severity == "error" or args.strict]
    readable = True
    if errors:
        try:  # findings in a dataset that opens: 1; a path that cannot be read at all: 2
            open_dataset(args.path).close()
        except StudioError:
            if not args.json:
                raise  # one error line, no list and no summary
            readable = False
    if args.json:
        print_json({
            "path": args.path,
            "format": fmt.value,
            "ok": not errors,
            "readable": readable,
            "problems": [p.to_dict() for p in problems],
        })
    else:
        for problem in problems:
            print(f"{problem.severity}: {problem.line()}")
        print(f"{args.path}: {'clean' if not errors else f'{len(errors)} problem(s)'}"
              f"{f', {len(problems) - len(errors)} warning(s)' if len(problems) > len(errors) else ''}")
    if not readable:
        return 2
    return 1 if errors else 0

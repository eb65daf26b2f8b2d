"""`rollout-studio validate PATH [--json] [--quick] [--sample-frames N]`: exit 0 clean, 1 problems found, 2 unreadable.

The dataset doctor (backend/doctor.py, docs/validate.md): format checks plus signals over every
episode, one line per finding (severity, episode, file, what, fix, [code]).
Unreadable: the path is missing or of no known format, or the dataset cannot be opened at all
(truncated HDF5, missing or broken meta files): one ``error:`` line saying why, exit 2, no problem
list and no summary (``--json`` still reports every finding, with ``readable: false``). A dataset
that opens lists one line per finding and exits 1 when any is an error.
``--quick``: the format's checks only (metadata, indices, timestamps, stats; videos probed from their
headers, not decoded): seconds for a 10,000-episode LeRobot v3.0 dataset (backend/doctor_quick.py).
"""

from __future__ import annotations

import argparse
import sys

from backend.cli._common import TerminalProgress, path_arg, print_json
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.validation import DEFAULT_SAMPLE_FRAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="check a dataset's consistency (exit 1 on problems)")
    parser.add_argument("path", type=path_arg)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--strict", action="store_true", help="warnings count as problems too")
    parser.add_argument(
        "--quick", action="store_true",
        help="format checks only: metadata, indices, timestamps and stats; videos probed, not decoded",
    )
    parser.add_argument(
        "--sample-frames", type=int, default=DEFAULT_SAMPLE_FRAMES, metavar="N",
        help=f"frames decoded per episode per camera for the camera checks (each with the next one; "
        f"default {DEFAULT_SAMPLE_FRAMES}, 0: no decoding)",
    )
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
    if args.quick:
        from backend.doctor_quick import quick_diagnose

        report = quick_diagnose(args.path)
    else:
        from backend.doctor import DoctorOptions, diagnose  # heavy: loaded only to validate

        progress = TerminalProgress("validate", quiet=not sys.stderr.isatty())
        report = diagnose(args.path, DoctorOptions(sample_frames=max(args.sample_frames, 0)), progress)
    problems = report.findings
    counted = ("error", "warning") if args.strict else ("error",)
    errors = [p for p in problems if p.severity in counted]
    readable = report.readable  # findings in a dataset that opens: 1; a path that cannot be read at all: 2
    if not readable and not args.json:
        _raise_open_error(args.path)  # one error line, no list and no summary
    if args.json:
        print_json(report.to_dict(strict=args.strict))
    else:
        for line in report.lines():
            print(line)
        rest = [f"{n} {s}(s)" for s in ("warning", "info") if s not in counted and (n := report.count(s))]
        print(f"{args.path}: {'clean' if not errors else f'{len(errors)} problem(s)'}"
              f"{''.join(f', {r}' for r in rest)} ({report.seconds:.1f} s)")
    if not readable:
        return 2
    return 1 if errors else 0


def _raise_open_error(path: str) -> None:
    """Why ``path`` cannot be opened at all, as the one ``StudioError`` the CLI prints (exit 2)."""
    try:
        open_dataset(path).close()
    except StudioError:
        raise

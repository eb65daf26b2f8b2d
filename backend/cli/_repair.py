"""`rollout-studio validate PATH --fix --out NEW [--overwrite] [--json]`: write a repaired copy.

The input is never edited: the repaired dataset is a new folder (or HDF5 file) ``NEW``, written only
when at least one fix applies (else "nothing to fix" and the findings, exit as ``validate``). After
writing, the copy is checked again: one ``fixed:`` line per fix, ``not fixed:`` lines for what the
repair left alone and why, then the copy's remaining findings. Exit 0 when the copy (or, with nothing
to fix, the input) has no errors (with ``--strict``, no warnings either), 1 otherwise, 2 when the
input cannot be read or the output is refused.
"""

from __future__ import annotations

import argparse
import sys

from backend.cli._common import TerminalProgress, print_json
from backend.errors import StudioError


def run_fix(args: argparse.Namespace) -> int:
    from backend.doctor import DoctorOptions
    from backend.repair import repair

    if not args.out:
        raise StudioError(
            "--fix writes a repaired copy and needs --out NEW", args.path, "the input is never edited in place"
        )
    progress = TerminalProgress("repair", quiet=not sys.stderr.isatty())
    options = DoctorOptions(sample_frames=max(getattr(args, "sample_frames", 6), 0))
    report = repair(args.path, args.out, overwrite=args.overwrite, progress=progress, options=options)
    counted = ("error", "warning") if args.strict else ("error",)
    failing = [p for p in report.remaining if p.severity in counted]
    if args.json:
        print_json(report.to_dict())
    else:
        for fix in report.fixes:
            print(f"fixed: {fix.what} [{fix.code}]")
        for note in report.notes:
            print(f"not fixed: {note}")
        for problem in report.remaining:
            print(problem.text())
        state = "clean" if not failing else f"{len(failing)} problem(s) remain"
        if report.written:
            print(f"{report.source} -> {report.output}: {len(report.fixes)} fix(es), the copy is {state}"
                  if not failing else f"{report.source} -> {report.output}: {len(report.fixes)} fix(es), {state}")
        else:
            print(f"{report.source}: nothing to fix ({state}); no copy written")
    return 1 if failing else 0

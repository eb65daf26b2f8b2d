"""`rollout-studio <command>`: every backend operation, headless (no Qt is imported here).

Each command lives in its own module of this package exposing ``register(subparsers)``; the module
sets ``func`` on its parser, a callable taking the parsed args and returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from backend import __version__
from backend.errors import Cancelled, StudioError

# Order is the order shown in --help. A module that does not exist yet is simply not offered.
COMMAND_MODULES = [
    "inspect_cmd",
    "validate_cmd",
    "demo_data_cmd",
    "convert_cmd",
    "cosmos_cmd",
    "idm_cmd",
    "record_cmd",
    "virtual_arm_cmd",
    "calibrate_cmd",
    "jobs_cmd",
    "compare_cmd",
    "curate_cmd",
]

# The command words, known without importing the command modules (the GUI entry point uses them to
# route `rollout-studio WORD ...` quickly); tests/test_entry.py keeps it equal to the parser's.
COMMAND_WORDS = frozenset({
    "inspect", "validate", "demo-data", "convert", "cosmos", "idm", "record", "recover-recording",
    "virtual-arm", "calibrate", "ports", "jobs", "compare", "curate",
})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollout-studio",
        description="Rollout Studio: SO-101 data studio. Without a command the GUI opens.",
    )
    parser.add_argument("--version", action="version", version=f"rollout-studio {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        qualified = f"{__name__}.{name}"
        if importlib.util.find_spec(qualified) is None:
            continue
        importlib.import_module(qualified).register(subparsers)
    return parser


def command_names() -> set[str]:
    parser = build_parser()
    for action in parser._actions:  # argparse keeps subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except StudioError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except OSError as error:  # disk full, permissions, a file where a folder should be: not a crash
        where = os.fsdecode(error.filename) if error.filename is not None else None
        problem = error.strerror or str(error)
        print(f"error: {where}: {problem}" if where else f"error: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

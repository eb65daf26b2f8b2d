"""`rollout-studio <command>`: every backend operation, headless (no Qt is imported here).

Each command lives in its own module of this package exposing ``register(subparsers)``; the module
sets ``func`` on its parser, a callable taking the parsed args and returning the exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys
import traceback

from backend.errors import Cancelled, StudioError
from backend.output_faults import output_fault
from backend.versions import VersionAction

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
    "score_cmd",
    "export_cmd",
    "subtasks_cmd",
    "edit_cmd",
    "eval_cmd",
]

# Each command word and the module that registers it: the GUI entry point routes `rollout-studio WORD`
# without importing the command modules, and a command imports only its own module (a CLI run starts
# in about half the time); tests/test_entry.py keeps this equal to the full parser's words.
COMMAND_MODULE_OF = {
    "inspect": "inspect_cmd",
    "validate": "validate_cmd",
    "demo-data": "demo_data_cmd",
    "convert": "convert_cmd",
    "cosmos": "cosmos_cmd",
    "idm": "idm_cmd",
    "record": "record_cmd",
    "recover-recording": "record_cmd",
    "virtual-arm": "virtual_arm_cmd",
    "calibrate": "calibrate_cmd",
    "ports": "calibrate_cmd",
    "jobs": "jobs_cmd",
    "compare": "compare_cmd",
    "curate": "curate_cmd",
    "score": "score_cmd",
    "export": "export_cmd",
    "subtasks": "subtasks_cmd",
    "edit": "edit_cmd",
    "eval": "eval_cmd",
}
COMMAND_WORDS = frozenset(COMMAND_MODULE_OF)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``command``'s module only (what one run needs)."""
    parser = argparse.ArgumentParser(
        prog="rollout-studio",
        description="Rollout Studio: SO-101 data studio. Without a command the GUI opens.",
    )
    parser.add_argument("--version", action=VersionAction)  # version, commit, libraries (backend/versions.py)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = [COMMAND_MODULE_OF[command]] if command in COMMAND_MODULE_OF else COMMAND_MODULES
    for name in names:
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
    """Run one command. Exit codes: 0 done, 1 findings (validate, compare), 2 an error the user can
    act on (one ``error:`` line naming the file), 3 an unexpected error (a bug: one line too; set
    ``ROLLOUT_STUDIO_DEBUG=1`` for the traceback), 130 cancelled."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # without loading every command's module: a quick answer
        from backend.versions import collect, format_text

        with contextlib.suppress(BrokenPipeError):
            print(format_text(collect()), flush=True)
        return 0
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    debug = bool(os.environ.get(DEBUG_ENV))
    if not debug:  # HDF5 objects freed after a failed write complain on stderr: not for the user
        sys.unraisablehook = _quiet_unraisable
    try:
        return int(args.func(args) or 0)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except StudioError as error:
        _print_error(output_fault(error, _outputs(args)) or error)
        return 2
    except OSError as error:  # disk full, permissions, a file where a folder should be: not a crash
        fault = output_fault(error, _outputs(args))
        if fault is None:
            where = os.fsdecode(error.filename) if error.filename is not None else None
            problem = error.strerror or str(error)
            fault = StudioError(problem, where)
        _print_error(fault)
        return 2
    except Exception as error:  # noqa: BLE001 - HDF5 reports a full disk as RuntimeError; else a bug
        fault = output_fault(error, _outputs(args))
        if fault is not None:
            _print_error(fault)
            return 2
        if debug:
            traceback.print_exc()
        text = str(error).strip() or "(no message)"
        hint = f"a bug in rollout-studio; {DEBUG_ENV}=1 shows where"
        with contextlib.suppress(Exception):  # the traceback and versions for a bug report (backend/crash.py)
            from backend.crash import write_report

            hint += f"; report: {write_report(type(error), error, error.__traceback__, what='a CLI command failed')}"
        _print_error(StudioError(f"unexpected {type(error).__name__}: {text}", hint=hint))
        return 3


DEBUG_ENV = "ROLLOUT_STUDIO_DEBUG"


def _print_error(error: StudioError) -> None:
    """One line, whatever the message holds (HDF5 messages carry newlines)."""
    print("error: " + " ".join(error.message.split()), file=sys.stderr)


def _quiet_unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """Exceptions Python cannot raise (in ``__del__``) are dropped: never a traceback for the user."""


def _outputs(args: argparse.Namespace) -> list[str]:
    """What the command writes: its --out, --report, --decisions or --db; transcode in place: SRC."""
    found = [getattr(args, name, None) for name in ("out", "report", "decisions", "db")]
    if getattr(args, "conversion", None) == "transcode" and getattr(args, "out", None) is None:
        found.append(getattr(args, "source", None))
    return [os.fspath(path) for path in found if isinstance(path, (str, os.PathLike)) and str(path)]


if __name__ == "__main__":
    sys.exit(main())

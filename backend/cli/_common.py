"""Shared bits for CLI commands: path arguments, a terminal progress bar and JSON output."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from backend.jsonable import json_default
from backend.paths import looks_like_path, user_path
from backend.progress import Progress


# -- path arguments: absolute from the moment they are parsed ---------------------------------------
# Every argument naming a file or folder uses one of these as its argparse ``type``, so the command
# body, its threads, child processes and jobs only ever see absolute paths (``backend.paths``).
def path_arg(text: str) -> str:
    """A path argument as an absolute path string (``~`` expanded, the spelling otherwise kept)."""
    try:
        return str(user_path(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def path_type(text: str) -> Path:
    """``path_arg`` as a Path, for command bodies that take Paths."""
    return Path(path_arg(text))


def name_or_path_arg(text: str) -> str:
    """A value that is a built-in name or a file (a preset key or a JSON file, a motion name or a CSV
    file, a port or a link to one): made absolute only when it names a file (``looks_like_path``)."""
    return path_arg(text) if looks_like_path(text) else text


class TerminalProgress(Progress):
    """Draws a one-line bar on stderr when it is a terminal, sparse lines otherwise."""

    def __init__(self, label: str = "", quiet: bool = False) -> None:
        super().__init__(on_report=self._draw, on_warning=self._print_warning)
        self._label = label
        self._quiet = quiet
        self._tty = sys.stderr.isatty()
        self._last = 0.0

    def _draw(self, done: int, total: int, text: str) -> None:
        if self._quiet:
            return
        now = time.monotonic()
        if now - self._last < (0.1 if self._tty else 2.0) and done < total:
            return
        self._last = now
        pct = f"{100.0 * done / total:5.1f}%" if total else ""
        line = f"{self._label} {pct} {done}/{total} {text}".strip()
        if self._tty:
            sys.stderr.write("\r\x1b[2K" + line[:200])
            if total and done >= total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def _print_warning(self, message: str) -> None:
        if self._tty:
            sys.stderr.write("\r\x1b[2K")
        sys.stderr.write(f"warning: {message}\n")


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=json_default)
    sys.stdout.write("\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def jobs_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        default=None,
        metavar="N",
        help="episodes converted side by side in worker processes (default: one per core this process "
        "may use); the output is the same for any N",
    )

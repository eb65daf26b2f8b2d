"""Shared bits for CLI commands: a terminal progress bar and JSON output."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from backend.progress import Progress


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
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=_json_default)
    sys.stdout.write("\n")


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

"""Errors a user can fix: one clear message naming the file and the problem."""

from __future__ import annotations

from pathlib import Path


class StudioError(Exception):
    """A problem the user can act on. The CLI prints it on one line and exits 2."""

    def __init__(self, problem: str, path: str | Path | None = None, hint: str | None = None) -> None:
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.path}: {self.problem}" if self.path else self.problem
        if self.hint:
            text += f" ({self.hint})"
        return text


class FormatError(StudioError):
    """A file exists but is not what its format says (truncated, corrupt, inconsistent)."""


class UnknownFormatError(StudioError):
    """No reader recognises the path."""


class UnitError(StudioError):
    """A joint-space conversion that cannot be done exactly (unknown unit, missing calibration)."""


class Cancelled(Exception):
    """Raised inside long work when the caller asked to stop; outputs are rolled back."""

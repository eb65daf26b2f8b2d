"""The findings of a LeRobot check, collected as ``Problem`` records (one per file and finding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.validation import Problem


def ranges(indices: list[int]) -> str:
    """At most eight episode indices, then how many there are."""
    text = ", ".join(str(i) for i in indices[:8])
    return text + (f" ... ({len(indices)} episodes)" if len(indices) > 8 else "")


REWRITE = "rewrite it with the studio (convert to LeRobot v2.1 or v3.0), which regenerates the metadata"


class Report:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self._seen: set[Problem] = set()

    def add(
        self,
        file: Path | str,
        problem: str,
        fix: str,
        severity: str = "error",
        code: str = "format",
        episode: int | None = None,
        fixable: bool = False,
        frames: tuple[int, ...] = (),
    ) -> None:
        name = f"episode {episode}" if episode is not None else None
        found = Problem(str(file), problem, fix, severity, code, name, fixable, frames)
        if found not in self._seen:  # episodes sharing one broken file report it once
            self._seen.add(found)
            self.problems.append(found)

    def extend(self, problems: list[Problem]) -> None:
        for found in problems:
            if found not in self._seen:
                self._seen.add(found)
                self.problems.append(found)

    def error(self, file: Path | str, problem: str, fix: str, code: str = "format", **where: Any) -> None:
        self.add(file, problem, fix, "error", code, **where)

    def warn(self, file: Path | str, problem: str, fix: str, code: str = "format", **where: Any) -> None:
        self.add(file, problem, fix, "warning", code, **where)

    def from_error(self, error: StudioError, fix: str = REWRITE, code: str = "unreadable") -> None:
        self.error(error.path or self.root, error.problem, error.hint or fix, code)

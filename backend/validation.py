"""Findings of ``validate`` (the dataset doctor): where, what, what to do. One line each.

A finding carries a machine-readable ``code`` (listed in docs/validate.md with its severity and fix),
the episode it concerns in the format's own naming (``episode 3``, ``demo_3``, a Cosmos sample name;
None when it concerns the dataset), the frames where it shows, and whether ``fixable`` (a repair can
act on it without a human decision). Only genuine corruption is an ``error``; heuristics are
``warning``; ``info`` is for facts worth knowing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("error", "warning", "info")
# frames the doctor decodes per episode per camera (each with the next one); `validate --sample-frames`
DEFAULT_SAMPLE_FRAMES = 6


@dataclass(frozen=True)
class Problem:
    file: str  # path of the file (or folder) concerned
    problem: str  # what is wrong, with the numbers
    fix: str  # what to do about it
    severity: str = "error"  # "error", "warning" or "info" (only errors make validate exit 1)
    code: str = "format"  # stable machine-readable kind (docs/validate.md)
    episode: str | None = None  # "episode 3" / "demo_3" / sample name; None: the whole dataset
    fixable: bool = False  # a repair can fix it without a human decision
    frames: tuple[int, ...] = field(default=())  # frames (within the episode) where it shows

    def line(self) -> str:
        return f"{self.file}: {self.problem} -> {self.fix}"

    def text(self) -> str:
        """The doctor's line: severity, episode, file, what, fix, code."""
        episode = f"{self.episode}: " if self.episode else ""
        return f"{self.severity}: {episode}{self.line()} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "episode": self.episode,
            "file": self.file,
            "what": self.problem,
            "fix": self.fix,
            "fixable": self.fixable,
            "frames": list(self.frames),
        }


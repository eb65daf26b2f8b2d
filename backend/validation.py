"""Problems found by ``validate``: file, problem, what to do. One line each."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    file: str  # path of the file (or folder) concerned
    problem: str  # what is wrong, with the numbers
    fix: str  # what to do about it
    severity: str = "error"  # "error" or "warning" (warnings do not make validate exit 1)

    def line(self) -> str:
        return f"{self.file}: {self.problem} -> {self.fix}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

"""How a benchmark's time and peak memory grow from its smallest to its largest input.

``growth(points)`` takes (work, seconds, peak MB) for each input size (work: episodes, or
episode-frames) and says, between the smallest and the largest, how many times the work grew and how
many times the time and the peak memory did. ``time_per_work`` is the time factor over the work
factor: 1.0 is linear cost, below 1 the fixed costs (start-up, opening files) are spread over more
work, above 1 the cost per unit of work rises with the input. ``peak_factor`` near 1 is memory that
stays flat whatever the input.
"""

from __future__ import annotations

from typing import Any


def growth(points: list[tuple[float, float | None, float | None]], unit: str = "episodes") -> dict[str, Any]:
    """The growth between the smallest and the largest of ``points`` (work, seconds, peak MB)."""
    known = sorted(p for p in points if p[0] and p[1])
    if len(known) < 2 or known[0][0] == known[-1][0]:
        return {"note": "needs two input sizes"}
    (work0, sec0, peak0), (work1, sec1, peak1) = known[0], known[-1]
    work_factor = work1 / work0
    out: dict[str, Any] = {
        unit: [known[0][0], known[-1][0]],
        "seconds": [sec0, sec1],
        "work_factor": round(work_factor, 2),
        "time_factor": round(sec1 / sec0, 2),
        "time_per_work": round(sec1 / sec0 / work_factor, 3),
    }
    if peak0 and peak1:
        out["peak_mb"] = [peak0, peak1]
        out["peak_factor"] = round(peak1 / peak0, 3)
    return out

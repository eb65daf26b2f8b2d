"""Why two mp4 files differ: for an assertion message when outputs that must be identical are not.

Decodes each file twice, sequentially with PyAV (no seeking, no studio code), so a message tells an
encoding difference (the same decode both times, other pixels) from a decoding one (one file decodes
differently on a second pass), and shows each file's x264 settings (its SEI user data): a thread
count other than 1 would explain other bytes."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np

_X264_OPTIONS = re.compile(rb"options: ([ -~]*)")


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24").astype(np.int16) for frame in container.decode(video=0)]


def x264_options(path: Path) -> str:
    found = _X264_OPTIONS.search(Path(path).read_bytes())
    return found.group(1).decode() if found else "(no x264 SEI)"


def describe(a: Path, b: Path, limit: int = 6) -> str:
    """A few lines on how ``a`` and ``b`` differ (sizes, x264 options, decoded frames)."""
    lines = [f"{a} ({a.stat().st_size} B) vs {b} ({b.stat().st_size} B)"]
    options_a, options_b = x264_options(a), x264_options(b)
    if options_a != options_b:
        lines.append(f"x264 options differ:\n  a: {options_a}\n  b: {options_b}")
    first_a, first_b = _decode(a), _decode(b)
    again_a, again_b = _decode(a), _decode(b)
    for name, one, two in (("a", first_a, again_a), ("b", first_b, again_b)):
        if len(one) != len(two) or any(not np.array_equal(x, y) for x, y in zip(one, two, strict=False)):
            lines.append(f"{name} decodes differently on a second pass: the difference is in decoding")
    differing = [
        (i, int(np.abs(x - y).max())) for i, (x, y) in enumerate(zip(first_a, first_b, strict=False)) if (x != y).any()
    ]
    lines.append(f"frames {len(first_a)} vs {len(first_b)}; differing (frame, max |diff|): {differing[:limit]}")
    return "\n".join(lines)

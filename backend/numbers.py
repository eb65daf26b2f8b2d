"""Numbers as the studio shows them: never a "-0.000" (a value that rounds to zero has no sign).

fixed(-0.0001, ".3f")   # "0.000"
fixed(-0.0001, "+.3f")  # "+0.000"
fixed(None, ".3f")      # "–"
"""

from __future__ import annotations

import math

MISSING = "–"


def fixed(value: float | None, spec: str = ".3f", missing: str = MISSING) -> str:
    """``format(value, spec)`` where a value that rounds to zero is written as zero, without a minus."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    text = format(value, spec)
    if isinstance(value, float) and math.isinf(value):
        return text
    if text.lstrip().startswith("-") and not any(c in "123456789" for c in text.split("e")[0]):
        return format(0.0, spec)  # padded widths too: "   -0.0" -> "    0.0"
    return text

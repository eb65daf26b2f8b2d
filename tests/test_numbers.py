"""The one number formatter: a value that rounds to zero is shown without a minus, in every spec."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from backend.numbers import fixed


def test_negative_zero_never_shown() -> None:
    assert fixed(-0.0004, ".3f") == "0.000"
    assert fixed(-0.0, "7.1f") == "    0.0"
    assert fixed(-0.01, "+.1f") == "+0.0"
    assert fixed(-0.4, ".0f") == "0"
    assert fixed(-0.5, ".3f") == "-0.500"
    assert fixed(-1e-9, ".5g") == "-1e-09"
    assert fixed(None, ".3f") == "–" and fixed(math.nan, ".3f") == "–"
    assert fixed(-math.inf, ".1f") == "-inf"


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
       st.sampled_from([".0f", ".1f", ".3f", "7.2f", "+.2f", ".4f"]))
def test_sign_only_where_a_digit_is_not_zero(value: float, spec: str) -> None:
    text = fixed(value, spec)
    assert float(text) == float(format(value, spec))  # the same number as format() shows
    assert not text.strip().startswith("-") or any(c in "123456789" for c in text)

"""Guard against the PySide6 build that leaks a reference to None on every void call.

PySide6-Essentials 6.12.0 on CPython < 3.12 (None is not immortal there) drops one reference to
None per call of a Qt method returning void; a GUI process aborts with "none_dealloc" after about
10^4 calls. pyproject.toml excludes it; this test fails if such a build comes back.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_void_calls_keep_none_refcount(qtbot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    assert abs(sys.getrefcount(None) - before) < 50

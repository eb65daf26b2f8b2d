"""Pane-local keyboard shortcuts: active while focus is inside the pane (ui.md conventions)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def add_pane_shortcut(pane: QWidget, keys: str, slot: Callable[[], object]) -> QShortcut:
    shortcut = QShortcut(QKeySequence(keys), pane)
    shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    shortcut.activated.connect(slot)
    return shortcut


def add_transport_shortcuts(pane: QWidget, toggle_play, step, seek, last_frame) -> None:
    """Space play/pause, Left/Right one frame, Shift+Left/Right ten frames, Home/End."""
    add_pane_shortcut(pane, "Space", toggle_play)
    add_pane_shortcut(pane, "Left", lambda: step(-1))
    add_pane_shortcut(pane, "Right", lambda: step(1))
    add_pane_shortcut(pane, "Shift+Left", lambda: step(-10))
    add_pane_shortcut(pane, "Shift+Right", lambda: step(10))
    add_pane_shortcut(pane, "Home", lambda: seek(0))
    add_pane_shortcut(pane, "End", lambda: seek(last_frame()))

"""Window size and position that fit the screen the window is on.

The default size is 1480x920 where the screen allows it, otherwise 92% of the available area; a
restored geometry (saved on another, larger screen) is clamped into the current screen's available
area, so no control starts off-screen.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

DEFAULT_SIZE = QSize(1480, 920)
SCREEN_SHARE = 0.92


def available(widget: QWidget | None = None) -> QRect:
    """The available area (without panels and docks) of the widget's screen, or the primary one."""
    screen: QScreen | None = widget.screen() if widget is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1920, 1080)


def default_size(area: QRect) -> QSize:
    return QSize(
        min(DEFAULT_SIZE.width(), int(area.width() * SCREEN_SHARE)),
        min(DEFAULT_SIZE.height(), int(area.height() * SCREEN_SHARE)),
    )


def fit(rect: QRect, area: QRect) -> QRect:
    """``rect`` shrunk to fit ``area`` and moved inside it."""
    width, height = min(rect.width(), area.width()), min(rect.height(), area.height())
    left = min(max(rect.left(), area.left()), area.right() - width + 1)
    top = min(max(rect.top(), area.top()), area.bottom() - height + 1)
    return QRect(left, top, width, height)


def place_default(window: QWidget) -> None:
    """Size the window for its screen and centre it there."""
    area = available(window)
    size = default_size(area)
    rect = QRect(0, 0, size.width(), size.height())
    rect.moveCenter(area.center())
    window.setGeometry(fit(rect, area))


def clamp_to_screen(window: QWidget) -> None:
    """Move and shrink a restored window so that its frame lies inside the screen's available area."""
    if window.isMaximized() or window.isFullScreen():
        return
    area = available(window)
    frame = window.frameGeometry()
    extra_w = frame.width() - window.width()
    extra_h = frame.height() - window.height()
    inner = fit(frame, area)
    window.resize(max(1, inner.width() - extra_w), max(1, inner.height() - extra_h))
    window.move(inner.topLeft())

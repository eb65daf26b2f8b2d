"""A two-handle range slider (low..high integers), painted in the theme's colours.

Drag a handle (the nearer one to the click), or use the keyboard: Left/Right move the low handle,
Shift+Left/Right the high one. ``valueChanged((low, high))`` is emitted on every change.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from widgets import palette

_HANDLE = 7.0


class RangeSlider(QWidget):
    valueChanged = Signal(tuple)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min, self._max = 0, 1
        self._low, self._high = 0, 1
        self._dragging: str | None = None
        self.setMinimumHeight(22)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(160, 22)

    # -- values -----------------------------------------------------------------------------------
    def setRange(self, minimum: int, maximum: int) -> None:  # noqa: N802 - Qt naming
        self._min, self._max = int(minimum), max(int(maximum), int(minimum))
        self.setValue((self._low, self._high), emit=False)

    def minimum(self) -> int:
        return self._min

    def maximum(self) -> int:
        return self._max

    def value(self) -> tuple[int, int]:
        return self._low, self._high

    def setValue(self, value: tuple[int, int], emit: bool = True) -> None:  # noqa: N802 - Qt naming
        low = max(self._min, min(int(value[0]), self._max))
        high = max(self._min, min(int(value[1]), self._max))
        if low > high:
            low, high = high, low
        if (low, high) != (self._low, self._high):
            self._low, self._high = low, high
            self.update()
            if emit and not self.signalsBlocked():
                self.valueChanged.emit((low, high))
        else:
            self.update()

    # -- geometry ---------------------------------------------------------------------------------
    def _span(self) -> tuple[float, float]:
        return _HANDLE + 1, self.width() - _HANDLE - 1

    def _x(self, value: int) -> float:
        left, right = self._span()
        if self._max == self._min:
            return left
        return left + (right - left) * (value - self._min) / (self._max - self._min)

    def _value_at(self, x: float) -> int:
        left, right = self._span()
        frac = 0.0 if right <= left else (x - left) / (right - left)
        return int(round(self._min + max(0.0, min(1.0, frac)) * (self._max - self._min)))

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        mid = self.height() / 2
        left, right = self._span()
        enabled = self.isEnabled()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color("grid"))
        painter.drawRoundedRect(QRectF(left, mid - 2, right - left, 4), 2, 2)
        painter.setBrush(palette.color("accent" if enabled else "muted"))
        x0, x1 = self._x(self._low), self._x(self._high)
        painter.drawRoundedRect(QRectF(x0, mid - 2, max(1.0, x1 - x0), 4), 2, 2)
        painter.setPen(QPen(palette.color("window"), 1.5))
        for x in (x0, x1):
            painter.drawEllipse(QRectF(x - _HANDLE, mid - _HANDLE, 2 * _HANDLE, 2 * _HANDLE))
        painter.end()

    # -- input ------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        x = event.position().x()
        near_low = abs(x - self._x(self._low)) <= abs(x - self._x(self._high))
        if self._low == self._high:
            near_low = x < self._x(self._low)
        self._dragging = "low" if near_low else "high"
        self._drag_to(x)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._dragging:
            self._drag_to(event.position().x())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._dragging = None

    def _drag_to(self, x: float) -> None:
        value = self._value_at(x)
        if self._dragging == "low":
            self.setValue((min(value, self._high), self._high))
        else:
            self.setValue((self._low, max(value, self._low)))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}.get(Qt.Key(event.key()))
        if step is None:
            super().keyPressEvent(event)
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.setValue((self._low, max(self._low, self._high + step)))
        else:
            self.setValue((min(self._high, self._low + step), self._high))

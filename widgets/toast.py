"""Non-blocking notices: a short message over a window, with optional actions, that goes away by itself.

A notice lies inside its ``anchor`` (a viewer area, say; the host by default), in the first corner
(top right, bottom right, top left, bottom left) where it covers no control (button, field, list,
slider); where every corner would cover one it takes the corner that covers least. It times out after
a few seconds (longer with an action button); while the pointer rests on it, it waits.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextEdit,
    QToolButton,
    QWidget,
)

TIMEOUT_MS = 6000  # a plain notice
ACTION_TIMEOUT_MS = 15000  # a notice with a button to press
MARGIN = 12
_CONTROLS = (
    QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QAbstractSlider, QTextEdit, QAbstractItemView
)


class Toast(QFrame):
    def __init__(self, host: QWidget, anchor: QWidget | None = None) -> None:
        super().__init__(host)
        self.setObjectName("toast")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.host = host
        self.anchor = anchor or host
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(12, 8, 8, 8)
        self._layout.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Close this notice")
        close.clicked.connect(self.hide)
        self._close = close
        self._layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.timeout_ms = 0
        self.hide()
        host.installEventFilter(self)
        if self.anchor is not host:
            self.anchor.installEventFilter(self)

    def show_message(
        self,
        text: str,
        actions: list[tuple[str, Callable[[], None]]] | None = None,
        timeout_ms: int | None = None,
    ) -> None:
        """Show ``text`` (and a button per action) for ``timeout_ms`` (default: a few seconds)."""
        self.label.setText(text)
        for button in self._buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self._buttons = []
        for title, callback in actions or []:
            button = QPushButton(title)
            button.clicked.connect(lambda _=False, cb=callback: (self.hide(), cb()))
            self._layout.insertWidget(self._layout.count() - 1, button)
            self._buttons.append(button)
        if timeout_ms is None:
            timeout_ms = ACTION_TIMEOUT_MS if actions else TIMEOUT_MS
        self.timeout_ms = timeout_ms
        self._fit()
        self.show()
        self.raise_()
        if timeout_ms > 0:
            self._timer.start(timeout_ms)

    def action_titles(self) -> list[str]:
        return [b.text() for b in self._buttons]

    def trigger(self, title: str) -> None:
        for button in self._buttons:
            if button.text() == title:
                button.click()
                return
        raise KeyError(title)

    # -- where it goes ------------------------------------------------------------------------------
    def _area(self) -> QRect:
        """The anchor's rectangle in the host's coordinates."""
        if self.anchor is self.host or not self.anchor.isVisible():
            return self.host.rect()
        top_left = self.anchor.mapTo(self.host, QPoint(0, 0))
        return QRect(top_left, self.anchor.size()).intersected(self.host.rect())

    def _fit(self) -> None:
        area = self._area()
        self.setMaximumWidth(max(240, min(area.width() - 2 * MARGIN, max(360, self.host.width() // 2))))
        self.adjustSize()
        self._place()

    def _controls(self) -> list[QRect]:
        found = []
        for widget in self.host.findChildren(QWidget):
            if not isinstance(widget, _CONTROLS) or not widget.isVisible() or self.isAncestorOf(widget):
                continue
            if widget is self:
                continue
            found.append(QRect(widget.mapTo(self.host, QPoint(0, 0)), widget.size()))
        return found

    def _place(self) -> None:
        area, size = self._area(), self.size()
        left = area.left() + MARGIN
        right = area.right() - MARGIN - size.width() + 1
        top = area.top() + MARGIN
        bottom = area.bottom() - MARGIN - size.height() + 1
        corners = [QPoint(right, top), QPoint(right, bottom), QPoint(left, top), QPoint(left, bottom)]
        controls = self._controls()

        def covered(corner: QPoint) -> int:
            rect = QRect(corner, size)
            return sum(
                (rect.intersected(c).width() * rect.intersected(c).height()) for c in controls if rect.intersects(c)
            )

        best = min(corners, key=covered)  # min keeps the first of equals: top right when all are free
        self.move(best)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched in (self.host, self.anchor) and event.type() in (QEvent.Type.Resize, QEvent.Type.Move):
            if self.isVisible():
                self._fit()
        return False

    def enterEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._timer.stop()  # the user is reading it (or about to press its button)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.isVisible() and self.timeout_ms > 0:
            self._timer.start(min(self.timeout_ms, 4000))
        super().leaveEvent(event)

"""An editor of ``NAME=PATH`` lines (cameras) that shows long paths shortened in the middle
("/tmp/…/demo-media/front.mp4") while it is not being edited, the whole text in its tooltip; it
shows the whole text while it has the focus. ``value()`` is always the whole text."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFocusEvent, QResizeEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget


class PathLinesEdit(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._value = ""
        self._editing = False

    def value(self) -> str:
        """The whole text (what the user typed or the form holds), never the shortened one."""
        return self.toPlainText() if self._editing else self._value

    def set_value(self, text: str) -> None:
        self._value = text
        self.setToolTip(text)
        if self._editing:
            self.setPlainText(text)
        else:
            self._show_short()

    def shown_text(self) -> str:
        return self.toPlainText()

    def _show_short(self) -> None:
        metrics = self.fontMetrics()
        room = max(40, self.viewport().width() - 8)
        lines = []
        for line in self._value.splitlines():
            name, sep, source = line.partition("=")
            if not sep:
                lines.append(metrics.elidedText(line, Qt.TextElideMode.ElideMiddle, room))
                continue
            head = f"{name}="
            rest = max(20, room - metrics.horizontalAdvance(head))
            lines.append(head + metrics.elidedText(source, Qt.TextElideMode.ElideMiddle, rest))
        self.blockSignals(True)
        self.setPlainText("\n".join(lines))
        self.blockSignals(False)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        if not self._editing:
            self._editing = True
            self.blockSignals(True)
            self.setPlainText(self._value)
            self.blockSignals(False)
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        if self._editing:
            self._value = self.toPlainText()
            self._editing = False
            self.setToolTip(self._value)
            self._show_short()
        super().focusOutEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if not self._editing:
            self._show_short()
